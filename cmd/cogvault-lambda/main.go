// Command cogvault-lambda is cogvault's AWS Lambda function: the
// PostConfirmation trigger, the CloudTrail change capture, the scheduled
// snapshot and the manual restore, in one handler (internal/capture).
// Build it for the provided.al2023 runtime with `make lambda`:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./cmd/cogvault-lambda
//
// It is configured by its environment (see capture.FromEnv); the SDK's own
// AWS_ENDPOINT_URL* variables point it at local fakes.
package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/storage"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	l := newLazyHandler(func(ctx context.Context) (*capture.Handler, error) { return newHandler(ctx, log) }, log, os.Stdout)
	// Build during Lambda's init phase when that works within the trigger's
	// budget (a cold start then costs no invocation time); otherwise the
	// first invocation tries again (startup.go).
	if _, err := l.handler(context.Background(), true); err != nil {
		log.Error("cogvault start-up failed at init; retried on the first invocation", "error", err.Error())
	}
	lambda.Start(l.Handle)
}

func newHandler(ctx context.Context, log *slog.Logger) (*capture.Handler, error) {
	env, err := capture.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: os.Getenv("AWS_REGION")})
	if err != nil {
		return nil, err
	}
	store, err := storage.Open(ctx, env.Repo, storage.Options{AWS: cfg, KMSKeyID: env.KMSKeyID})
	if err != nil {
		return nil, err
	}
	// An encrypted repository needs only its public recipients to be
	// written; reading it back (stepped snapshots, restores) needs the age
	// identity, which only the worker holds (identity.go).
	ids, arn, err := workerIdentities(ctx, cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	r, err := openRepo(ctx, cfg, store, os.Getenv, log, ids)
	if err != nil {
		return nil, err
	}
	if err := checkIdentities(r.Config, ids, arn, log); err != nil {
		return nil, err
	}
	mig, err := newMigration(cfg, r, log)
	if err != nil {
		return nil, err
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	return capture.New(capture.Config{
		PoolID: env.PoolID, Region: cfg.Region, Repo: r, Cognito: cip.NewFromConfig(cfg),
		Retention: env.Retention, ImportRoleArn: env.ImportRoleArn, ImportLogs: cloudwatchlogs.NewFromConfig(cfg),
		ToolVersion: version, Log: log, Metrics: os.Stdout, Migration: mig, AgeIdentity: len(ids) > 0,
	})
}
