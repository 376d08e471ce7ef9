package legacy_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/legacy"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

func put(t *testing.T, s storage.Store, key string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := s.Put(ctx, key, strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
}

func ev(user, sub, source string, attrs map[string]string) map[string]any {
	a := map[string]string{"sub": sub, "cognito:user_status": "CONFIRMED"}
	for k, v := range attrs {
		a[k] = v
	}
	return map[string]any{"version": "1", "triggerSource": source, "region": "eu-west-1", "userPoolId": "eu-west-1_Legacy001",
		"userName": user, "callerContext": map[string]string{"awsSdkVersion": "aws-sdk-js-3", "clientId": "abc"},
		"request": map[string]any{"userAttributes": a}, "response": map[string]any{}}
}

func TestImportLegacyBackup(t *testing.T) {
	src, _ := storage.NewDir(filepath.Join(t.TempDir(), "legacy"))
	put(t, src, "cognito_user_alice", ev("alice", "0b5c2c36-0000-4000-8000-000000000001", "PostConfirmation_ConfirmSignUp",
		map[string]string{"email": "alice@example.com", "email_verified": "true", "name": "Smith, Alice \"Al\""}))
	put(t, src, "cognito_user_bob", ev("bob", "0b5c2c36-0000-4000-8000-000000000002", "PostConfirmation_ConfirmForgotPassword",
		map[string]string{"email": "bob@example.com", "cognito:email_alias": "bob@example.com", "address": "1 Main St,\nApt 2"}))
	if err := src.Put(ctx, "cognito_user_broken", strings.NewReader("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := src.Put(ctx, "unrelated.txt", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	sum, err := legacy.Scan(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.PoolID != "eu-west-1_Legacy001" || sum.Objects != 2 || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0], "cognito_user_broken") {
		t.Fatalf("scan: %+v", sum)
	}
	cfg, _ := legacy.PoolConfig(sum.PoolID)
	dst, _ := storage.NewDir(filepath.Join(t.TempDir(), "repo"))
	m, err := backup.WriteSnapshot(ctx, dst, backup.Records{Pool: cfg, Users: legacy.Users(ctx, src)},
		backup.Options{PoolID: sum.PoolID, Region: sum.Region, ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Users != 2 {
		t.Fatalf("imported %d users", m.Counts.Users)
	}
	r := repo.New(dst)
	if res, err := r.Verify(ctx, m); err != nil || !res.OK() {
		t.Fatalf("verify: %v %+v", err, res)
	}
	got := map[string]snapshot.User{}
	for u, err := range r.Users(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		got[u.Username] = u
	}
	alice, bob := got["alice"], got["bob"]
	if v, _ := alice.Attr("name"); v != "Smith, Alice \"Al\"" {
		t.Fatalf("alice's name: %q", v)
	}
	if v, _ := bob.Attr("address"); v != "1 Main St,\nApt 2" {
		t.Fatalf("bob's address: %q", v)
	}
	if _, ok := bob.Attr("cognito:email_alias"); ok || bob.Status != "CONFIRMED" || bob.Sub == "" {
		t.Fatalf("bob: %+v", bob)
	}
}

func TestScanRefusesMixedPoolsAndEmptySources(t *testing.T) {
	src, _ := storage.NewDir(filepath.Join(t.TempDir(), "legacy"))
	if _, err := legacy.Scan(ctx, src); err == nil || !strings.Contains(err.Error(), "no cognito_user_") {
		t.Fatalf("empty: %v", err)
	}
	put(t, src, "cognito_user_a", ev("a", "s1", "PostConfirmation_ConfirmSignUp", nil))
	other := ev("b", "s2", "PostConfirmation_ConfirmSignUp", nil)
	other["userPoolId"] = "eu-west-1_Other0001"
	put(t, src, "cognito_user_b", other)
	if _, err := legacy.Scan(ctx, src); err == nil || !strings.Contains(err.Error(), "one pool at a time") {
		t.Fatalf("mixed pools: %v", err)
	}
}
