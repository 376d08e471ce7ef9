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

func keys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var out []string
	for o, err := range s.List(ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Key)
	}
	return out
}

func TestForgetAndPrune(t *testing.T) {
	root := t.TempDir()
	s, _ := storage.NewDir(root)
	r := repo.New(s)
	// The dir store stamps objects with the real time, so the test's times
	// are relative to it.
	now := time.Now().UTC()
	day := func(n int) time.Time { return now.Add(time.Duration(-n) * 24 * time.Hour) }
	put := func(key string) {
		t.Helper()
		if err := s.Put(ctx, key, strings.NewReader("data")); err != nil {
			t.Fatal(err)
		}
	}
	var ms []*snapshot.Manifest
	for i, d := range []int{10, 5, 2, 1} {
		m := putManifest(t, s, "us-east-1_A", day(d), byte(i+1))
		put(snapshot.DataKey(m.ID, snapshot.PoolObjectName))
		ms = append(ms, m)
	}
	other := putManifest(t, s, "us-east-1_B", day(10), 9)
	put(snapshot.DataKey(other.ID, snapshot.PoolObjectName))
	// A backup that never finished, two days ago, and one running now.
	dead, _ := snapshot.NewID(day(2), strings.NewReader("dead"))
	put(snapshot.DataKey(dead, "users-000001.jsonl.zst"))
	running, _ := snapshot.NewID(now.Add(-time.Minute), strings.NewReader("runn"))
	put(snapshot.DataKey(running, "users-000001.jsonl.zst"))
	// Journal events of A before and after its second-oldest snapshot, and
	// of a pool with no snapshot at all.
	for _, e := range []struct {
		pool string
		at   time.Time
	}{{"us-east-1_A", day(7)}, {"us-east-1_A", day(3)}, {"us-east-1_C", day(30)}} {
		if _, err := r.AppendEvent(ctx, &snapshot.Event{PoolID: e.pool, Kind: snapshot.EventUserDeleted, Sub: "s1", Time: e.at, Source: "test", EventID: "e"}); err != nil {
			t.Fatal(err)
		}
	}

	// Objects were written when their snapshot ran, except the running one.
	for _, k := range keys(t, s, snapshot.DataPrefix) {
		if id, _ := snapshot.IDFromManifestKey(snapshot.ManifestKey(strings.Split(k, "/")[1])); id != running {
			started, _ := snapshot.ParseID(id)
			if err := os.Chtimes(filepath.Join(root, k), started, started); err != nil {
				t.Fatal(err)
			}
		}
	}

	decisions, err := snapshot.Apply(append(slices.Clone(ms), other), snapshot.Policy{Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	dry, err := r.Forget(ctx, decisions, true)
	if err != nil || len(dry) != 2 || len(keys(t, s, snapshot.ManifestPrefix)) != 5 {
		t.Fatalf("dry-run forget: %v %v; manifests must all remain", dry, err)
	}
	forgotten, err := r.Forget(ctx, decisions, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ms[0].ID, ms[1].ID}; !slices.Equal(forgotten, want) {
		t.Fatalf("forgot %v, want %v (pool B's only snapshot is its newest)", forgotten, want)
	}

	dryRep, err := r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	// 7 data objects and the markers of the 2 forgotten snapshots.
	if got := len(keys(t, s, snapshot.DataPrefix)); got != 9 {
		t.Fatalf("dry-run prune deleted data: %d objects left, want 9", got)
	}
	rep, err := r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	if dryRep.DataObjects != rep.DataObjects || dryRep.JournalEvents != rep.JournalEvents {
		t.Errorf("dry run promised %+v, prune did %+v", dryRep, rep)
	}
	wantGone := []string{ms[0].ID, ms[1].ID, dead}
	slices.Sort(wantGone)
	if !slices.Equal(rep.Snapshots, wantGone) || rep.DataObjects != 3 {
		t.Errorf("pruned %v (%d objects), want %v", rep.Snapshots, rep.DataObjects, wantGone)
	}
	if !slices.Equal(rep.Young, []string{running}) {
		t.Errorf("young = %v, want the running backup %s", rep.Young, running)
	}
	left := keys(t, s, snapshot.DataPrefix)
	for _, id := range []string{ms[2].ID, ms[3].ID, other.ID, running} {
		if !slices.ContainsFunc(left, func(k string) bool { return strings.Contains(k, id) }) {
			t.Errorf("data of %s were pruned", id)
		}
	}
	// A's oldest snapshot is now 2 days old: the events of 7 and 3 days ago
	// can never be replayed. Pool C has no snapshot: its journal stays.
	if rep.JournalEvents != 2 {
		t.Errorf("pruned %d journal events, want 2", rep.JournalEvents)
	}
	if got := keys(t, s, snapshot.JournalPrefix); len(got) != 1 || !strings.Contains(got[0], "us-east-1_C") {
		t.Errorf("journal left: %v", got)
	}
}

func TestPruneKeepsDataOfUnreadableManifests(t *testing.T) {
	s, _ := storage.NewDir(t.TempDir())
	r := repo.New(s)
	id, _ := snapshot.NewID(time.Now().Add(-72*time.Hour), strings.NewReader("bad!"))
	if err := s.Put(ctx, snapshot.ManifestKey(id), strings.NewReader("{damaged")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, snapshot.DataKey(id, snapshot.PoolObjectName), strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Prune(ctx, repo.PruneOptions{Grace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DataObjects != 0 || len(keys(t, s, snapshot.DataPrefix)) != 1 {
		t.Errorf("pruned the data of a snapshot whose manifest exists but is damaged: %+v", rep)
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "verify") {
		t.Errorf("notes = %v, want one saying journal pruning was skipped", rep.Notes)
	}
}

// A snapshot forgotten a minute after it was taken loses its data at once;
// an unfinished backup of the same age waits for the grace period, and a
// grace of zero is zero, not the default.
func TestPruneForgottenAtOnceUnfinishedAfterGrace(t *testing.T) {
	s, _ := storage.NewDir(t.TempDir())
	r := repo.New(s)
	now := time.Now().UTC()
	fresh := putManifest(t, s, "us-east-1_A", now.Add(-time.Minute), 1)
	newest := putManifest(t, s, "us-east-1_A", now.Add(-30*time.Second), 2)
	unfinished, _ := snapshot.NewID(now.Add(-time.Minute), strings.NewReader("dead"))
	for _, id := range []string{fresh.ID, newest.ID, unfinished} {
		if err := s.Put(ctx, snapshot.DataKey(id, snapshot.PoolObjectName), strings.NewReader("data")); err != nil {
			t.Fatal(err)
		}
	}
	decisions, err := snapshot.Apply([]*snapshot.Manifest{fresh, newest}, snapshot.Policy{Last: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Forget(ctx, decisions, false); err != nil {
		t.Fatal(err)
	}
	// A second forget of the same snapshot (a rerun after a crash between
	// marker and manifest delete) finds its marker in place.
	if err := s.Put(ctx, snapshot.ManifestKey(fresh.ID), strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Forget(ctx, decisions, false); err != nil {
		t.Fatalf("forget again: %v", err)
	}
	rep, err := r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Snapshots, []string{fresh.ID}) || rep.DataObjects != 1 || !slices.Equal(rep.Young, []string{unfinished}) {
		t.Fatalf("prune: %+v; want %s's data removed and %s left as young", rep, fresh.ID, unfinished)
	}
	if left := keys(t, s, snapshot.DataPrefix+fresh.ID+"/"); len(left) != 0 {
		t.Errorf("left of the forgotten snapshot: %v", left)
	}
	rep, err = r.Prune(ctx, repo.PruneOptions{Grace: 0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Snapshots, []string{unfinished}) || len(rep.Young) != 0 {
		t.Fatalf("prune --grace 0: %+v; want the unfinished backup's data removed", rep)
	}
	if got := keys(t, s, snapshot.DataPrefix); len(got) != 1 || !strings.Contains(got[0], newest.ID) {
		t.Errorf("data left: %v, want only the kept snapshot's", got)
	}
	if _, err := r.Prune(ctx, repo.PruneOptions{Grace: -time.Second}); err == nil {
		t.Error("a negative grace period was accepted")
	}
}

// TestPruneKeepsDataOfASnapshotStillInSteps: the data of a snapshot in
// steps whose objects are older than the grace period stay while its last
// step's checkpoint is within it; once that is old too, data and
// checkpoints go together.
func TestPruneKeepsDataOfASnapshotStillInSteps(t *testing.T) {
	root := t.TempDir()
	s, _ := storage.NewDir(root)
	r := repo.New(s)
	now := time.Now().UTC()
	old := now.Add(-72 * time.Hour)
	id, _ := snapshot.NewID(old, strings.NewReader("steps"))
	data := snapshot.DataKey(id, "users-s0001-00000000-000001.jsonl.zst")
	if err := s.Put(ctx, data, strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(root, data), old, old); err != nil {
		t.Fatal(err)
	}
	cp := "snapshot/us-east-1_A/" + id + "/step-000007.json"
	if err := r.PutCheckpoint(ctx, cp, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Snapshots) != 0 || !slices.Equal(rep.Young, []string{id}) {
		t.Fatalf("prune: %+v; want the data of %s left alone: its last step is recent", rep, id)
	}
	rep, err = r.Prune(ctx, repo.PruneOptions{Grace: repo.DefaultGrace, Now: func() time.Time { return now.Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Snapshots, []string{id}) {
		t.Fatalf("prune two days later: %+v; want %s's data removed", rep, id)
	}
	if left := keys(t, s, ""); len(left) != 0 {
		t.Fatalf("left after pruning an abandoned snapshot in steps: %v", left)
	}
}
