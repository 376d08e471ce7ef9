package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/migration"
)

// newMigration builds the UserMigration handler when
// COGVAULT_MIGRATION_SOURCE_POOL_ID is set, else returns nil. Its records
// go to the function's repository; target calls use the function's own
// credentials.
func newMigration(cfg aws.Config, records migration.Records, log *slog.Logger) (capture.TriggerHandler, error) {
	env, ok, err := migration.FromEnv(os.Getenv, cfg.Region)
	if err != nil || !ok {
		return nil, err // nil, not a typed nil *migration.Handler
	}
	src := cfg.Copy()
	src.Region = env.SourceRegion
	if env.SourceRoleARN != "" {
		// A source in another account: its calls sign with the assumed
		// role's credentials; STS is called with the function's own, in the
		// function's Region (target calls and the repository keep cfg).
		src.Credentials = migration.SourceCredentials(sts.NewFromConfig(cfg), env.SourceRoleARN)
	}
	return migration.New(migration.Config{
		SourcePoolID: env.SourcePoolID, SourceClientID: env.SourceClientID, Source: cip.NewFromConfig(src),
		LegacySubAttribute: env.LegacySubAttribute, Log: log,
		Records: records, Target: cip.NewFromConfig(cfg),
	})
}
