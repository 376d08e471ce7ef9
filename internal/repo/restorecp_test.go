package repo_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestPruneRemovesRestoreCheckpointsOfGoneSnapshotsOnly: prune removes the
// checkpoint of a restore whose snapshot is gone once it is older than the
// grace period, finished or not; it keeps every checkpoint of a snapshot
// that exists (its sub mapping may be wanted), and one that wrote within
// the grace period even when its snapshot is gone (a restore may run).
// 'checkpoints remove' refuses an unfinished young one unless forced.
func TestPruneRemovesRestoreCheckpointsOfGoneSnapshotsOnly(t *testing.T) {
	root := t.TempDir()
	s, _ := storage.NewDir(root)
	r := repo.New(s)
	now := time.Now().UTC()
	kept := putManifest(t, s, "us-east-1_A", now.Add(-72*time.Hour), 1).ID
	const gone, running = "20261101T000000.000Z-0000aaaa", "20261102T000000.000Z-0000bbbb"
	put := func(target, snap, name string, age time.Duration) {
		t.Helper()
		n := repo.RestoreCheckpointPrefix + target + "/" + snap + "/" + name
		if err := r.PutCheckpoint(ctx, n, strings.NewReader("{}")); err != nil {
			t.Fatal(err)
		}
		at := now.Add(-age)
		if err := os.Chtimes(filepath.Join(root, repo.CheckpointPrefix+n), at, at); err != nil {
			t.Fatal(err)
		}
	}
	old := 48 * time.Hour
	put("us-east-1_T", kept, "state-000001", old) // finished, snapshot exists: kept
	put("us-east-1_T", kept, "report.json", old)
	put("us-east-1_T", gone, "state-000001", old) // finished, snapshot gone: removed
	put("us-east-1_T", gone, "submap.json", old)
	put("us-east-1_T", gone, "report.json", old)
	put("us-east-1_U", gone, "state-000001", old)            // unfinished, old, snapshot gone: removed
	put("us-east-1_U", running, "state-000001", old)         // unfinished, snapshot gone, but
	put("us-east-1_U", running, "state-000002", time.Minute) // it wrote a minute ago: kept

	rep, err := r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"restore/us-east-1_T/" + gone + "/", "restore/us-east-1_U/" + gone + "/"}
	if !slices.Equal(rep.Checkpoints, want) || !slices.Equal(rep.YoungCheckpoints, []string{"restore/us-east-1_U/" + running + "/"}) {
		t.Fatalf("prune removed checkpoints %v, left young %v; want %v and the running one", rep.Checkpoints, rep.YoungCheckpoints, want)
	}
	left, err := r.RestoreCheckpoints(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range left {
		names = append(names, c.Name())
	}
	if !slices.Equal(names, []string{"restore/us-east-1_T/" + kept + "/", "restore/us-east-1_U/" + running + "/"}) {
		t.Fatalf("left %v", names)
	}
	if !left[0].Finished || !left[0].SnapshotExists || left[1].Finished || left[1].Objects != 2 {
		t.Fatalf("listing: %+v %+v", left[0], left[1])
	}

	// A person removes the rest; a restore that may be running is refused.
	if _, err := r.RemoveRestoreCheckpoint(ctx, "us-east-1_U", running, repo.DefaultGrace, false, false); !errors.Is(err, repo.ErrRestoreMayRun) {
		t.Fatalf("removing a young unfinished checkpoint: %v, want ErrRestoreMayRun", err)
	}
	if _, err := r.RemoveRestoreCheckpoint(ctx, "us-east-1_T", "nope", repo.DefaultGrace, false, false); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("removing a checkpoint that is not there: %v", err)
	}
	if _, err := r.RemoveRestoreCheckpoint(ctx, "us-east-1_T", kept, repo.DefaultGrace, false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RemoveRestoreCheckpoint(ctx, "us-east-1_U", running, repo.DefaultGrace, true, false); err != nil {
		t.Fatal(err)
	}
	if k := keys(t, s, repo.CheckpointPrefix); len(k) != 0 {
		t.Fatalf("left %v", k)
	}
}
