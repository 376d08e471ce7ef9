package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// A backup whose MFA-configuration read IAM refuses keeps every user, warns,
// exits 3; snapshots and restore say the snapshot is incomplete.
func TestBackupWithARefusedOptionalReadExits3(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 120, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(cognitotest.Fault{Operation: "GetUserPoolMfaConfig", Kind: cognitotest.FaultError, Code: "AccessDeniedException"})
	repoDir := t.TempDir() + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	code, out, errOut := run(t, context.Background(), append([]string{"backup", "--pool", res.PoolID, "--output", "json"}, common...)...)
	var sum struct {
		Snapshot   string
		Users      int
		Incomplete []struct{ What, Why string }
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 3 {
		t.Fatalf("backup: exit %d (want 3), %v\n%s\n%s", code, err, out, errOut)
	}
	if sum.Users != 120 || len(sum.Incomplete) != 1 || sum.Incomplete[0].What != "poolConfig.mfa" {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(errOut, "warning: poolConfig.mfa") || !strings.Contains(errOut, "AccessDeniedException") {
		t.Fatalf("no warning on stderr:\n%s", errOut)
	}
	code, out, _ = run(t, context.Background(), append([]string{"snapshots"}, common...)...)
	if code != 0 || !strings.Contains(out, sum.Snapshot) || !strings.Contains(out, "incomplete: poolConfig.mfa (AccessDeniedException)") {
		t.Fatalf("snapshots: %d\n%s", code, out)
	}
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	dir := t.TempDir()
	code, _, errOut = run(t, context.Background(), append([]string{"restore", "latest", "--to", tgt.PoolID, "--dry-run",
		"--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)...)
	if code == 1 || !strings.Contains(errOut, "snapshot "+sum.Snapshot+" is incomplete: poolConfig.mfa") {
		t.Fatalf("restore: exit %d\n%s", code, errOut)
	}
}
