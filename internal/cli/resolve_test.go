package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestLatestIsPerPool drives every command that reads snapshots over one
// repository holding snapshots of two pools (the README's one bucket for all):
// "latest" without --pool is a usage error naming both pools, --pool picks
// that pool's newest, and a full id needs no --pool.
func TestLatestIsPerPool(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	a, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "pool-a", Users: 20, Groups: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "pool-b", Users: 12, Groups: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", t.TempDir() + "/repo"}
	cmd := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, ctx, append(args, common...)...)
	}
	backup := func(pool string) string {
		t.Helper()
		code, out, errOut := cmd("backup", "--pool", pool, "--output", "json")
		var sum struct{ Snapshot string }
		if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 {
			t.Fatalf("backup %s: exit %d, %v\n%s", pool, code, err, errOut)
		}
		return sum.Snapshot
	}
	a1 := backup(a.PoolID)
	b1 := backup(b.PoolID)
	a2 := backup(a.PoolID)

	// "latest" without --pool: exit 2, both pools listed.
	ambiguous := func(name string, args ...string) {
		t.Helper()
		code, out, errOut := cmd(args...)
		if code != 2 || !strings.Contains(errOut, a.PoolID) || !strings.Contains(errOut, b.PoolID) || !strings.Contains(errOut, "--pool") {
			t.Errorf("%s: exit %d, want 2 naming %s and %s and --pool\nstdout:\n%s\nstderr:\n%s", name, code, a.PoolID, b.PoolID, out, errOut)
		}
	}
	ambiguous("diff latest", "diff", "latest")
	ambiguous("diff SNAPSHOT latest", "diff", a1, "latest")
	ambiguous("verify latest", "verify", "latest")
	ambiguous("journal list", "journal", "list")
	ambiguous("journal compact", "journal", "compact")
	// --pool naming a pool without snapshots kept its old meaning (the live
	// pool compared with): the error says to use --to.
	code, _, errOut := cmd("diff", "latest", "--pool", "us-east-1_Target000")
	if code != 2 || !strings.Contains(errOut, a.PoolID) || !strings.Contains(errOut, "--to") {
		t.Errorf("diff latest --pool <live pool>: exit %d\n%s", code, errOut)
	}

	// snapshots lists every pool, or one with --pool.
	snapshots := func(args ...string) []string {
		t.Helper()
		code, out, errOut := cmd(append([]string{"snapshots", "--output", "json"}, args...)...)
		var list []struct{ ID, PoolID string }
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
			t.Fatalf("snapshots %v: exit %d, %v\n%s", args, code, err, errOut)
		}
		var ids []string
		for _, m := range list {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if got, want := strings.Join(snapshots(), " "), strings.Join([]string{a1, b1, a2}, " "); got != want {
		t.Errorf("snapshots = %s, want %s", got, want)
	}
	if got, want := strings.Join(snapshots("--pool", a.PoolID), " "), a1+" "+a2; got != want {
		t.Errorf("snapshots --pool A = %s, want %s", got, want)
	}

	// verify: --pool picks that pool's newest; a full id needs no --pool.
	verified := func(args ...string) []string {
		t.Helper()
		code, out, errOut := cmd(append([]string{"verify", "--output", "json"}, args...)...)
		var doc struct{ Snapshots []struct{ ID string } }
		if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
			t.Fatalf("verify %v: exit %d, %v\n%s", args, code, err, errOut)
		}
		var ids []string
		for _, s := range doc.Snapshots {
			ids = append(ids, s.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pool", a.PoolID, "latest"}, a2},
		{[]string{"--pool", b.PoolID, "latest"}, b1},
		{[]string{a1}, a1},
		{[]string{b1}, b1},
		{[]string{"--pool", a.PoolID}, a1 + " " + a2},
	} {
		if got := strings.Join(verified(tc.args...), " "); got != tc.want {
			t.Errorf("verify %v = %s, want %s", tc.args, got, tc.want)
		}
	}
	code, _, errOut = cmd("verify", "--pool", b.PoolID, a1)
	if want := "snapshot " + a1 + " is of pool " + a.PoolID + ", not " + b.PoolID; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("verify --pool B <id of A>: exit %d, want 2 and %q\n%s", code, want, errOut)
	}

	// diff: --pool picks the pool on both sides; --to names the live pool.
	diff := func(wantCode int, wantOut string, args ...string) {
		t.Helper()
		code, out, errOut := cmd(append([]string{"diff"}, args...)...)
		if code != wantCode || !strings.Contains(out, wantOut) {
			t.Errorf("diff %v: exit %d (want %d), want %q in\n%s\nstderr:\n%s", args, code, wantCode, wantOut, out, errOut)
		}
	}
	diff(0, "comparing snapshot "+a2+" with live pool "+a.PoolID, "--pool", a.PoolID, "latest")
	diff(0, "comparing snapshot "+b1+" with live pool "+b.PoolID, "--pool", b.PoolID, "latest")
	diff(0, "comparing snapshot "+a1+" with snapshot "+a2, "--pool", a.PoolID, a1, "latest")
	diff(0, "comparing snapshot "+b1+" with live pool "+b.PoolID, b1)
	diff(1, "comparing snapshot "+a2+" with live pool "+b.PoolID, "--pool", a.PoolID, "latest", "--to", b.PoolID)
	diff(1, "comparing snapshot "+a1+" with snapshot "+b1, a1, b1)
	if code, _, errOut := cmd("diff", "--pool", b.PoolID, a1, "latest"); code != 2 || !strings.Contains(errOut, "is of pool "+a.PoolID) {
		t.Errorf("diff --pool B <id of A> latest: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := cmd("diff", a1, a2, "--to", b.PoolID); code != 2 || !strings.Contains(errOut, "--to goes with one SNAPSHOT") {
		t.Errorf("diff two snapshots --to: exit %d\n%s", code, errOut)
	}

	// journal: --pool names the pool.
	if code, _, errOut := cmd("journal", "list", "--pool", a.PoolID); code != 0 {
		t.Errorf("journal list --pool A: exit %d\n%s", code, errOut)
	}
}
