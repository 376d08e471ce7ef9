package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestForgetKeepsTheSnapshotARestoreReads guards the CLI's retention
// against removing the source of a restore that has not finished (a
// Lambda restore in steps, a --state-in-repo run): forget keeps it and
// says why, naming the checkpoint, in text and in JSON; once the restore
// stored its report, forget forgets it.
func TestForgetKeepsTheSnapshotARestoreReads(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	pool, err := srv.Populate(cognitotest.PopulateOptions{Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir() + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", root}
	var ids []string
	for range 2 {
		code, out, errOut := run(t, context.Background(), append([]string{"backup", "--pool", pool.PoolID, "--output", "json"}, common...)...)
		var sum struct{ Snapshot string }
		if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
			t.Fatalf("backup: exit %d\n%s\n%s", code, out, errOut)
		}
		ids = append(ids, sum.Snapshot)
	}
	// An unfinished restore of the older snapshot: its state, no report.
	cp := filepath.Join(root, "checkpoints/restore/us-east-1_T", ids[0])
	if err := os.MkdirAll(cp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cp, "state-000001"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, context.Background(), append([]string{"forget", "--keep-last", "1", "--prune"}, common...)...)
	if code != 0 || !strings.Contains(out, "keep: a restore from it is running or unfinished (checkpoint checkpoints/restore/us-east-1_T/"+ids[0]+"/)") ||
		!strings.Contains(out, "0 snapshot(s) forgotten, 2 kept") {
		t.Fatalf("forget while a restore reads the older snapshot: exit %d\n%s\n%s", code, out, errOut)
	}
	if err := os.WriteFile(filepath.Join(cp, "report.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, context.Background(), append([]string{"forget", "--keep-last", "1", "--output", "json"}, common...)...)
	var res struct{ Forgotten []string }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Forgotten) != 1 || res.Forgotten[0] != ids[0] {
		t.Fatalf("forget once the restore finished: exit %d\n%s\n%s", code, out, errOut)
	}
}
