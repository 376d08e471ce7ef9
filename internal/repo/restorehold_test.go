package repo_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// holdFixture is a repository with four snapshots of one pool, oldest
// first, and a helper that writes restore checkpoint objects aged age.
func holdFixture(t *testing.T) (*repo.Repo, []*snapshot.Manifest, func(target, snap, name, body string, age time.Duration)) {
	root := t.TempDir()
	s, _ := storage.NewDir(root)
	r := repo.New(s)
	now := time.Now().UTC()
	var ms []*snapshot.Manifest
	for i := range 4 {
		ms = append(ms, putManifest(t, s, "us-east-1_A", now.Add(time.Duration(i-4)*time.Hour), byte(i+1)))
	}
	put := func(target, snap, name, body string, age time.Duration) {
		t.Helper()
		n := repo.RestoreCheckpointPrefix + target + "/" + snap + "/" + name
		if err := r.PutCheckpoint(ctx, n, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		at := now.Add(-age)
		if err := os.Chtimes(filepath.Join(root, repo.CheckpointPrefix+n), at, at); err != nil {
			t.Fatal(err)
		}
	}
	return r, ms, put
}

// TestForgetKeepsSnapshotsUnfinishedRestoresRead guards retention against
// removing a restore's source between two of its steps: Forget keeps the
// snapshot of an unfinished restore checkpoint, and the base its pin names
// for a restore "at" T, however old the checkpoint, and says why in the
// decision; a finished restore holds nothing.
func TestForgetKeepsSnapshotsUnfinishedRestoresRead(t *testing.T) {
	r, ms, put := holdFixture(t)
	const derived = "20261101T000000.000Z-0000dddd"
	put("us-east-1_T", ms[0].ID, "state-000001", "{}", 72*time.Hour)                       // unfinished, days old: holds ms[0]
	put("us-east-1_T", derived, "state-000001", "{}", time.Hour)                           // unfinished at-T restore
	put("us-east-1_T", derived, repo.RestorePinName, `{"base":"`+ms[1].ID+`"}`, time.Hour) // ... from ms[1]
	put("us-east-1_U", ms[2].ID, "state-000001", "{}", time.Hour)                          // finished: holds nothing
	put("us-east-1_U", ms[2].ID, repo.RestoreReportName, "{}", time.Hour)
	ds, err := snapshot.Apply(ms, snapshot.Policy{Last: 1})
	if err != nil {
		t.Fatal(err)
	}
	forgotten, err := r.Forget(ctx, ds, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(forgotten, []string{ms[2].ID}) {
		t.Fatalf("forgot %v, want only %s (the others are read by restores, or newest)", forgotten, ms[2].ID)
	}
	for i, d := range ds[:2] {
		if !d.Keep || !strings.HasPrefix(d.Reasons[len(d.Reasons)-1], repo.ReasonRestoring) {
			t.Fatalf("decision %d: %+v, want kept for a restore", i, d)
		}
	}
	if !strings.Contains(ds[1].Reasons[0], "restore/us-east-1_T/"+derived+"/") {
		t.Fatalf("the reason does not name the checkpoint: %v", ds[1].Reasons)
	}
	if _, err := r.Manifest(ctx, ms[1].ID); err != nil {
		t.Fatalf("the at-T restore's base: %v", err)
	}
}

// TestPruneTreatsARestoreAtCheckpointAsItsBases guards the prune rule of a
// restore "at" T, whose own snapshot is never stored: its checkpoint is
// kept, finished or not, while the base its pin names exists, and goes by
// the usual rule (grace period) once the base is gone; one whose pin
// cannot be read is kept, with a note, and Forget refuses to guess.
func TestPruneTreatsARestoreAtCheckpointAsItsBases(t *testing.T) {
	r, ms, put := holdFixture(t)
	const kept, gone, damaged = "20261101T000000.000Z-0000aaaa", "20261101T000000.000Z-0000bbbb", "20261101T000000.000Z-0000cccc"
	old := 72 * time.Hour
	put("us-east-1_T", kept, "state-000001", "{}", old) // finished, base exists: kept
	put("us-east-1_T", kept, "submap.json", "[]", old)
	put("us-east-1_T", kept, repo.RestoreReportName, "{}", old)
	put("us-east-1_T", kept, repo.RestorePinName, `{"base":"`+ms[0].ID+`"}`, old)
	put("us-east-1_T", gone, "state-000001", "{}", old) // base gone: removed
	put("us-east-1_T", gone, repo.RestorePinName, `{"base":"20261001T000000.000Z-00000000"}`, old)
	put("us-east-1_T", damaged, "state-000001", "{}", old) // pin unreadable: kept
	put("us-east-1_T", damaged, repo.RestorePinName, `not json`, old)
	rep, err := r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Checkpoints, []string{"restore/us-east-1_T/" + gone + "/"}) {
		t.Fatalf("prune removed %v, want only the one whose base is gone", rep.Checkpoints)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], damaged) {
		t.Fatalf("notes %v, want one on the unreadable pin", rep.Notes)
	}
	if rc, err := r.GetCheckpoint(ctx, "restore/us-east-1_T/"+kept+"/submap.json"); err != nil {
		t.Fatalf("the finished at-T restore's sub mapping: %v", err)
	} else {
		rc.Close()
	}
	ds, _ := snapshot.Apply(ms, snapshot.Policy{Last: 1})
	if ids, err := r.Forget(ctx, ds, false); err == nil || !strings.Contains(err.Error(), damaged) {
		t.Fatalf("forget with an unreadable pin of an unfinished restore: forgot %v, error %v", ids, err)
	}
}
