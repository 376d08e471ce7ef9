package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// A restore with --state-in-repo leaves its checkpoint: 'checkpoints list'
// shows it finished, 'prune' keeps it while its snapshot exists, and
// 'checkpoints remove' takes it away (after a dry run that does not).
func TestCheckpointsListAndRemoveAfterARestore(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 20, Groups: 2})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "restored"})
	repoDir := t.TempDir() + "/repo"
	aws := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	if code, _, e := run(t, ctx, append([]string{"backup", "--pool", src.PoolID}, aws...)...); code != 0 {
		t.Fatalf("backup: %d %s", code, e)
	}
	if code, _, e := run(t, ctx, append([]string{"restore", "latest", "--pool", src.PoolID, "--to", tgt.PoolID, "--state-in-repo"}, aws...)...); code != 0 && code != 3 {
		t.Fatalf("restore: %d %s", code, e)
	}
	list := func() []struct {
		Target, Snapshot         string
		Finished, SnapshotExists bool
	} {
		t.Helper()
		code, out, e := run(t, ctx, append([]string{"checkpoints", "list", "--output", "json"}, aws...)...)
		var doc struct {
			Restores []struct {
				Target, Snapshot         string
				Finished, SnapshotExists bool
			}
		}
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("checkpoints list: %d %s %s", code, out, e)
		}
		return doc.Restores
	}
	cps := list()
	if len(cps) != 1 || cps[0].Target != tgt.PoolID || !cps[0].Finished || !cps[0].SnapshotExists {
		t.Fatalf("checkpoints: %+v", cps)
	}
	if code, out, e := run(t, ctx, append([]string{"prune", "--grace", "0s"}, aws...)...); code != 0 || strings.Contains(out, "checkpoint") {
		t.Fatalf("prune: %d %s %s", code, out, e)
	}
	if len(list()) != 1 {
		t.Fatal("prune removed the checkpoint of a snapshot that exists")
	}
	if code, out, e := run(t, ctx, append([]string{"checkpoints", "remove", tgt.PoolID, cps[0].Snapshot, "--dry-run"}, aws...)...); code != 0 || !strings.Contains(out, "would remove") || len(list()) != 1 {
		t.Fatalf("remove --dry-run: %d %s %s", code, out, e)
	}
	if code, out, e := run(t, ctx, append([]string{"checkpoints", "remove", tgt.PoolID, cps[0].Snapshot}, aws...)...); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %d %s %s", code, out, e)
	}
	if len(list()) != 0 {
		t.Fatal("the checkpoint is still listed after remove")
	}
	if code, _, e := run(t, ctx, append([]string{"checkpoints", "remove", tgt.PoolID, cps[0].Snapshot}, aws...)...); code != 1 || !strings.Contains(e, "checkpoints list") {
		t.Fatalf("removing it again: exit %d, %s", code, e)
	}
}
