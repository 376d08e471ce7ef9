package migration

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Env is the migration's configuration as the Lambda's environment gives
// it.
type Env struct {
	SourcePoolID   string
	SourceClientID string
	SourceRegion   string
	// SourceRoleARN, when set, is a role (in the source pool's account)
	// whose credentials sign the source calls (SourceCredentials).
	SourceRoleARN      string
	LegacySubAttribute string
}

// EnvVars are the variables FromEnv reads.
var EnvVars = []string{
	"COGVAULT_MIGRATION_SOURCE_POOL_ID", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID",
	"COGVAULT_MIGRATION_SOURCE_REGION", "COGVAULT_MIGRATION_SOURCE_ROLE_ARN",
	"COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE",
}

// poolIDPattern is a user pool id: "<region>_<id>" (UserPoolId pattern in
// the API reference, [\w-]+_[0-9a-zA-Z]+).
var poolIDPattern = regexp.MustCompile(`^([\w-]+)_[0-9a-zA-Z]+$`)

// roleARNPattern is an IAM role ARN, arn:<partition>:iam::<account>:role/
// [<path>/]<name> (IAM user guide, "IAM identifiers": role names are
// [\w+=,.@-], paths slash-separated).
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)

// FromEnv reads the configuration. ok is false when no source pool is set:
// the function then does not migrate (UserMigration events are ignored,
// so Cognito creates no user). The region defaults to the one in the
// source pool id, which is where that pool lives (docs/cognito-facts.md
// §16), and else to the function's.
func FromEnv(getenv func(string) string, functionRegion string) (e Env, ok bool, err error) {
	get := func(n string) string { return strings.TrimSpace(getenv(n)) }
	e = Env{
		SourcePoolID: get("COGVAULT_MIGRATION_SOURCE_POOL_ID"), SourceClientID: get("COGVAULT_MIGRATION_SOURCE_CLIENT_ID"),
		SourceRegion: get("COGVAULT_MIGRATION_SOURCE_REGION"), LegacySubAttribute: get("COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE"),
		SourceRoleARN: get("COGVAULT_MIGRATION_SOURCE_ROLE_ARN"),
	}
	if e.SourcePoolID == "" {
		if e.SourceClientID != "" {
			return e, false, errors.New("COGVAULT_MIGRATION_SOURCE_CLIENT_ID is set but COGVAULT_MIGRATION_SOURCE_POOL_ID is not: set the source user pool id, e.g. us-east-1_AbC123")
		}
		return e, false, nil
	}
	var errs []error
	m := poolIDPattern.FindStringSubmatch(e.SourcePoolID)
	if m == nil {
		errs = append(errs, fmt.Errorf("COGVAULT_MIGRATION_SOURCE_POOL_ID=%q: want a user pool id, e.g. us-east-1_AbC123", e.SourcePoolID))
	} else if e.SourceRegion == "" {
		e.SourceRegion = m[1]
	}
	if e.SourceRegion == "" {
		e.SourceRegion = functionRegion
	}
	if e.SourceClientID == "" {
		errs = append(errs, errors.New("COGVAULT_MIGRATION_SOURCE_CLIENT_ID is not set: an app client of the source pool that allows ALLOW_ADMIN_USER_PASSWORD_AUTH"))
	}
	if r := e.SourceRoleARN; r != "" && !roleARNPattern.MatchString(r) {
		errs = append(errs, fmt.Errorf("COGVAULT_MIGRATION_SOURCE_ROLE_ARN=%q: want the ARN of a role in the source pool's account, e.g. arn:aws:iam::111122223333:role/cogvault-migration-source", r))
	}
	if a := e.LegacySubAttribute; a != "" && !strings.HasPrefix(a, "custom:") {
		errs = append(errs, fmt.Errorf("COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE=%q: want a custom attribute of the target pool, e.g. custom:legacy_sub", a))
	}
	return e, len(errs) == 0, errors.Join(errs...)
}
