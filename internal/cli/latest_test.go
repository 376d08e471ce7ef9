package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// In a repository holding two pools, "latest" names no snapshot until --pool
// says whose (issue 12, §5): every command that reads snapshots exits 2,
// lists both pools, and writes nothing; with --pool it goes ahead.
func TestLatestOfTwoPoolsNeedsPool(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	a, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "a", Users: 20, Groups: 2, Seed: 11})
	b, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "b", Users: 20, Groups: 2, Seed: 12})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 13})
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	snap := map[string]string{}
	for _, p := range []string{a.PoolID, b.PoolID} {
		code, out, errOut := run(t, context.Background(), append([]string{"backup", "--pool", p, "--output", "json"}, common...)...)
		var sum struct{ Snapshot string }
		if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 {
			t.Fatalf("backup %s: exit %d %v %s", p, code, err, errOut)
		}
		snap[p] = sum.Snapshot
	}
	restore := []string{"restore", "latest", "--to", tgt.PoolID, "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}
	for _, args := range [][]string{
		restore,
		{"diff", "latest", "--to", tgt.PoolID},
		{"verify", "latest"},
		{"restore", "--at", "2030-01-01T00:00:00Z", "--to", tgt.PoolID, "--state-file", dir + "/state2", "--mapping-file", dir + "/subs2"},
	} {
		code, _, errOut := run(t, context.Background(), append(args, common...)...)
		if code != 2 || !strings.Contains(errOut, "--pool") || !strings.Contains(errOut, a.PoolID) || !strings.Contains(errOut, b.PoolID) {
			t.Fatalf("%v without --pool: exit %d, want 2 naming --pool and both pools\n%s", args[:2], code, errOut)
		}
	}
	if n := srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("a refused restore created %d users", n)
	}
	code, out, errOut := run(t, context.Background(), append(append(restore, "--pool", b.PoolID, "--output", "json"), common...)...)
	if code != 0 && code != 3 {
		t.Fatalf("restore latest --pool: exit %d\n%s", code, errOut)
	}
	var res struct{ Report struct{ Snapshot string } }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Report.Snapshot != snap[b.PoolID] {
		t.Fatalf("restore latest --pool %s restored snapshot %q, want %s (%v)", b.PoolID, res.Report.Snapshot, snap[b.PoolID], err)
	}
}
