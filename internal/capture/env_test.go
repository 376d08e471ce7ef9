package capture_test

import (
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/snapshot"
)

func TestFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	got, err := capture.FromEnv(env(map[string]string{
		"COGVAULT_REPO": "s3://b/p", "COGVAULT_POOL_ID": "us-east-1_A", "COGNITO_USER_POOL_ID": "us-east-1_Seed",
		"COGVAULT_KEEP_DAILY": "7", "COGVAULT_KEEP_LAST": "3", "COGNITO_IMPORT_USERS_ROLE_ARN": "arn:role",
	}))
	if err != nil || got.Repo != "s3://b/p" || got.PoolID != "us-east-1_A" || got.ImportRoleArn != "arn:role" ||
		got.Retention != (snapshot.Policy{Last: 3, Daily: 7}) {
		t.Errorf("FromEnv = %+v, %v", got, err)
	}
	// The seed design's variables alone are enough.
	got, err = capture.FromEnv(env(map[string]string{"COGNITO_BACKUP_BUCKET": "legacy-bucket", "COGNITO_USER_POOL_ID": "us-east-1_Seed"}))
	if err != nil || got.Repo != "s3://legacy-bucket" || got.PoolID != "us-east-1_Seed" {
		t.Errorf("seed variables: %+v, %v", got, err)
	}
	_, err = capture.FromEnv(env(map[string]string{"COGVAULT_KEEP_WEEKLY": "-1"}))
	for _, want := range []string{"COGVAULT_REPO is not set", "COGVAULT_POOL_ID is not set", `COGVAULT_KEEP_WEEKLY="-1"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}
