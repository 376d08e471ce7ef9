package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/sign/kmstest"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestWiredFromTheEnvironment builds the handler exactly as the Lambda does,
// from environment variables, against the fake Cognito and a directory
// repository, and runs a scheduled snapshot through it.
func TestWiredFromTheEnvironment(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	pool, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 25, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for k, v := range map[string]string{
		"COGNITO_BACKUP_BUCKET": "", "COGVAULT_REPO": dir, "COGNITO_USER_POOL_ID": pool.PoolID, "COGVAULT_KEEP_LAST": "1",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	var logs bytes.Buffer
	h, err := newHandler(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		if _, err := h.Handle(ctx, json.RawMessage(`{"action":"snapshot"}`)); err != nil {
			t.Fatal(err)
		}
	}
	store, _ := storage.NewDir(dir)
	all, _, err := repo.New(store).Snapshots(ctx)
	if err != nil || len(all) != 1 || all[0].Counts.Users != 25 || all[0].PoolID != pool.PoolID {
		t.Fatalf("after two scheduled runs with COGVAULT_KEEP_LAST=1: %d snapshots (%v)", len(all), err)
	}
}

func TestMisconfiguredNeverBlocksSignUps(t *testing.T) {
	cause := errors.New("COGVAULT_REPO is not set")
	var metrics bytes.Buffer
	h := newLazyHandler(func(context.Context) (*capture.Handler, error) { return nil, cause },
		slog.New(slog.NewTextHandler(io.Discard, nil)), &metrics)
	trigger := json.RawMessage(`{"triggerSource":"PostConfirmation_ConfirmSignUp","userPoolId":"p","userName":"u","request":{"userAttributes":{}},"response":{}}`)
	if out, err := h.Handle(context.Background(), trigger); err != nil || !bytes.Equal(out, trigger) {
		t.Errorf("trigger while misconfigured: %s, %v; want the event back", out, err)
	}
	if _, err := h.Handle(context.Background(), json.RawMessage(`{"action":"snapshot"}`)); !errors.Is(err, cause) {
		t.Errorf("snapshot while misconfigured: %v", err)
	}
	if n := strings.Count(metrics.String(), `"CaptureFailures":1`); n != 2 {
		t.Errorf("%d CaptureFailures lines for two failed start-ups:\n%s", n, metrics.String())
	}
	t.Setenv("COGVAULT_REPO", "")
	t.Setenv("COGNITO_BACKUP_BUCKET", "")
	t.Setenv("COGVAULT_POOL_ID", "")
	t.Setenv("COGNITO_USER_POOL_ID", "")
	if _, err := newHandler(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "COGVAULT_REPO") {
		t.Errorf("newHandler without configuration: %v", err)
	}
}

// TestColdStartIsBoundedAndRetried: the repository's S3 endpoint never
// answers. The trigger still gets its event back (start-up gave up at its
// budget, not the function's timeout), the failure is counted, and once S3
// works the next invocation starts the handler and runs.
func TestColdStartIsBoundedAndRetried(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	pool, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 3, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hung.Close()
	for k, v := range map[string]string{
		"COGNITO_BACKUP_BUCKET": "", "COGVAULT_REPO": "s3://bucket/cogvault", "COGNITO_USER_POOL_ID": pool.PoolID, "COGVAULT_KEEP_LAST": "",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.URL, "AWS_ENDPOINT_URL_S3": hung.URL, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var metrics bytes.Buffer
	h := newLazyHandler(func(ctx context.Context) (*capture.Handler, error) { return newHandler(ctx, log) }, log, &metrics)
	h.budgets = [2]time.Duration{200 * time.Millisecond, 200 * time.Millisecond}
	// The invocation's own deadline is far away: only the start-up budget
	// can end the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	trigger := json.RawMessage(`{"version":"1","triggerSource":"PostConfirmation_ConfirmSignUp","region":"us-east-1","userPoolId":"` + pool.PoolID + `","userName":"nobody","callerContext":{},"request":{"userAttributes":{}},"response":{}}`)
	if out, err := h.Handle(ctx, trigger); err != nil || !bytes.Equal(out, trigger) {
		t.Fatalf("trigger during a hung start-up: %s, %v; want the event back", out, err)
	}
	if _, err := h.Handle(ctx, json.RawMessage(`{"action":"snapshot"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("snapshot during a hung start-up: %v, want the start-up deadline", err)
	}
	if !strings.Contains(metrics.String(), `"CaptureFailures":1`) || !strings.Contains(metrics.String(), pool.PoolID) {
		t.Fatalf("no CaptureFailures for the pool: %s", metrics.String())
	}
	dir := t.TempDir()
	t.Setenv("COGVAULT_REPO", dir)
	if _, err := h.Handle(ctx, json.RawMessage(`{"action":"snapshot"}`)); err != nil {
		t.Fatalf("the next invocation, the repository reachable again: %v", err)
	}
	store, _ := storage.NewDir(dir)
	if all, _, err := repo.New(store).Snapshots(ctx); err != nil || len(all) != 1 {
		t.Fatalf("after the retried start-up: %d snapshots, %v", len(all), err)
	}
}

// TestLambdaSignsWithKMS wires the Lambda as Terraform does: a KMS signing
// key (COGVAULT_SIGNING_KEY=kms:ARN, through the real KMS client against
// the KMS fake) and the key's public key as aws_kms_public_key gives it
// (COGVAULT_REPO_KEY, base64 DER). What it writes verifies with that key
// alone; a Lambda pinned to another key refuses the repository.
func TestLambdaSignsWithKMS(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	pool, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 5, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	kf := kmstest.New(t)
	key := kf.CreateKey("")
	dir := t.TempDir()
	for k, v := range map[string]string{
		"COGNITO_BACKUP_BUCKET": "", "COGVAULT_REPO": dir, "COGNITO_USER_POOL_ID": pool.PoolID, "COGVAULT_KEEP_LAST": "",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.URL, "AWS_ENDPOINT_URL_KMS": kf.URL, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"COGVAULT_SIGNING_KEY": "kms:" + key.ARN, "COGVAULT_REPO_KEY": base64.StdEncoding.EncodeToString(key.PublicDER()),
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	h, err := newHandler(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, json.RawMessage(`{"action":"snapshot"}`)); err != nil {
		t.Fatal(err)
	}
	if kf.Signs.Load() < 2 {
		t.Fatalf("%d KMS signatures, want config.json and the manifest", kf.Signs.Load())
	}
	if n := kf.PublicKeys.Load(); n != 0 {
		t.Fatalf("%d GetPublicKey calls: with COGVAULT_REPO_KEY set the role needs kms:Sign alone", n)
	}
	store, _ := storage.NewDir(dir)
	r, _, err := repo.Open(ctx, store, repo.OpenOptions{RepoKey: key.Public()})
	if err != nil || !r.Trust.Signed {
		t.Fatalf("open with the KMS key's public key: %v (signed %v)", err, r != nil && r.Trust.Signed)
	}
	if all, _, err := r.Snapshots(ctx); err != nil || len(all) != 1 {
		t.Fatalf("snapshots: %d, %v", len(all), err)
	}
	// A cold start pinned to another key refuses the repository.
	other := kf.CreateKey("")
	t.Setenv("COGVAULT_REPO_KEY", base64.StdEncoding.EncodeToString(other.PublicDER()))
	if _, err := newHandler(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil))); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("a Lambda pinned to another key: %v", err)
	}
}
