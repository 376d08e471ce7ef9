package restore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

func leaseRepo(t *testing.T) *repo.Repo {
	t.Helper()
	store, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return repo.New(store)
}

// Guards the restore lease (bug 2 of the steps review): while one run holds
// it, another is refused with the time it may try again; once released (or
// past its time and the grace), the next run takes it, and the late holder
// can no longer renew it.
func TestRestoreLeaseAdmitsOneRunAtATime(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	a, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, err = restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour))
	var busy *restore.BusyError
	if !errors.As(err, &busy) || !errors.Is(err, restore.ErrLeaseBusy) || busy.Until.Before(a.Until()) {
		t.Fatalf("second run while the first holds the lease: %v", err)
	}
	if _, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "other-snap", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("another restore's lease: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(-restore.LeaseGrace-time.Second))
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	// b's time (and grace) is over: a third run takes over, b cannot renew.
	if _, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("after the holder's time: %v", err)
	}
	if err := b.Renew(ctx, time.Now().Add(time.Hour)); !errors.Is(err, restore.ErrLeaseLost) {
		t.Fatalf("late holder renewed: %v", err)
	}
}

// Guards the create-once take: of many runs that find the lease free at
// once, exactly one gets it.
func TestRestoreLeaseHasOneWinnerAmongRacingTakers(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour))
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !errors.Is(err, restore.ErrLeaseBusy) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d runs took the lease at once", won)
	}
}

// Guards Keep: a holder whose lease another run took stops (its context
// ends with ErrLeaseLost) instead of writing beside the new holder.
func TestRestoreLeaseKeepStopsAHolderThatLostIt(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	l, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	kept, stop := l.Keep(ctx, 200*time.Millisecond)
	defer stop()
	// Another run takes the next lease number (as after a missed renewal).
	next := restore.StateCheckpoint("us-east-1_T", "snap") + "lease-000002"
	if err := rp.PutCheckpoint(ctx, next, strings.NewReader(`{"holder":"other","until":"2999-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-kept.Done():
	case <-time.After(20 * time.Second): // renewals every 50 ms: it never noticed
		t.Fatal("the holder goes on after another run took its lease")
	}
	if !errors.Is(context.Cause(kept), restore.ErrLeaseLost) {
		t.Fatalf("kept context ended with %v", context.Cause(kept))
	}
}

// Guards the segment numbering: a state segment whose number another run
// took (one whose lease ran out and stored late) is not lost: Save takes
// the next number and FetchState reads both.
func TestRepoStateSaveKeepsASegmentAnotherRunStored(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	prefix := restore.StateCheckpoint("us-east-1_T", "snap")
	st, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Remove()
	if err := rp.PutCheckpoint(ctx, prefix+"state-000001", strings.NewReader("{\"e\":\"intent\",\"u\":\"late\"}\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.Path(), []byte("{\"e\":\"intent\",\"u\":\"mine\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Save(ctx); err != nil {
		t.Fatalf("save beside a taken number: %v", err)
	}
	again, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Remove()
	b, _ := os.ReadFile(again.Path())
	if !strings.Contains(string(b), `"late"`) || !strings.Contains(string(b), `"mine"`) {
		t.Fatalf("state read back: %s", b)
	}
}

func readJSON(t *testing.T, rp *repo.Repo, name string, v any) {
	t.Helper()
	rc, err := rp.GetCheckpoint(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// finishedRestore stores a restore that finished: a state segment, its sub
// mapping and its report.
func finishedRestore(t *testing.T, rp *repo.Repo, users ...string) {
	t.Helper()
	ctx := context.Background()
	st, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Remove()
	var maps []restore.SubMapping
	for _, u := range users {
		maps = append(maps, restore.SubMapping{Username: u, OldSub: "old-" + u, NewSub: "new-" + u})
	}
	if err := os.WriteFile(st.Path(), []byte("{\"e\":\"begin\",\"target\":\"us-east-1_T\",\"snapshot\":\"snap\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveMappings(ctx, maps); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveReport(ctx, &restore.Report{Target: "us-east-1_T", SubMappings: len(maps)}); err != nil {
		t.Fatal(err)
	}
}

// Guards restore generations (bug 6 of the steps review): a finished
// restore run again starts from an empty state, and the finished one's sub
// mapping and report are kept under gen-000001/; an unfinished one is
// continued, not restarted.
func TestStartGenerationKeepsTheFinishedRestoresMapping(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	finishedRestore(t, rp, "alice", "bob")
	gen, err := restore.StartGeneration(ctx, rp, "us-east-1_T", "snap")
	if err != nil || gen != 2 {
		t.Fatalf("StartGeneration: %d, %v", gen, err)
	}
	var maps []restore.SubMapping
	readJSON(t, rp, restore.GenerationCheckpoint("us-east-1_T", "snap", 1)+"submap.json", &maps)
	if len(maps) != 2 {
		t.Fatalf("archived mapping: %+v", maps)
	}
	names, _ := rp.Checkpoints(ctx, restore.StateCheckpoint("us-east-1_T", "snap"))
	for _, n := range names {
		rel := strings.TrimPrefix(n, restore.StateCheckpoint("us-east-1_T", "snap"))
		if strings.HasPrefix(rel, "state-") || rel == "submap.json" || rel == "report.json" {
			t.Fatalf("the finished generation's %s is still current", rel)
		}
	}
	st, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Remove()
	if b, _ := os.ReadFile(st.Path()); len(b) != 0 {
		t.Fatalf("the new generation starts with state %s", b)
	}
	if gen, err := restore.StartGeneration(ctx, rp, "us-east-1_T", "snap"); err != nil || gen != 2 {
		t.Fatalf("StartGeneration of an unfinished generation: %d, %v", gen, err)
	}
	if rep, err := restore.ReadReport(ctx, rp, "us-east-1_T", "snap", 1); err != nil || rep.SubMappings != 2 {
		t.Fatalf("archived report: %+v, %v", rep, err)
	}
}

// Guards replace (minor of bug 6): storing the sub mapping again writes the
// new one before removing the old, so a run killed in between leaves
// submap.json.next, which the next generation's archive still finds.
func TestReplacedMappingSurvivesAKillBetweenDeleteAndPut(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	finishedRestore(t, rp, "alice")
	prefix := restore.StateCheckpoint("us-east-1_T", "snap")
	finishedRestore(t, rp, "alice", "bob") // replaced: no leftover .next
	if _, err := rp.GetCheckpoint(ctx, prefix+"submap.json.next"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("replace left its new copy: %v", err)
	}
	// A replace killed after its delete: only the new copy is there.
	rc, err := rp.GetCheckpoint(ctx, prefix+"submap.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if err := rp.Store.Delete(ctx, repo.CheckpointPrefix+prefix+"submap.json"); err != nil {
		t.Fatal(err)
	}
	if err := rp.PutCheckpoint(ctx, prefix+"submap.json.next", strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.StartGeneration(ctx, rp, "us-east-1_T", "snap"); err != nil {
		t.Fatal(err)
	}
	var maps []restore.SubMapping
	readJSON(t, rp, restore.GenerationCheckpoint("us-east-1_T", "snap", 1)+"submap.json", &maps)
	if len(maps) != 2 {
		t.Fatalf("archived mapping after a cut replace: %+v", maps)
	}
}

// failingPut is a store whose Put of one key fails, as a run killed there.
type failingPut struct {
	storage.Store
	key string
}

func (f failingPut) Put(ctx context.Context, key string, r io.Reader) error {
	if key == f.key {
		return errors.New("killed")
	}
	return f.Store.Put(ctx, key, r)
}

// Guards replace's order (minor of bug 6): a replace of the sub mapping cut
// after it removed the old one still leaves the new one (as .next), never
// no mapping at all.
func TestReplaceCutShortLeavesAMapping(t *testing.T) {
	ctx := context.Background()
	store, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	finishedRestore(t, repo.New(store), "alice")
	prefix := restore.StateCheckpoint("us-east-1_T", "snap")
	rp := repo.New(failingPut{Store: store, key: repo.CheckpointPrefix + prefix + "submap.json"})
	st, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Remove()
	if err := st.SaveMappings(ctx, []restore.SubMapping{{Username: "alice"}, {Username: "bob"}}); err == nil {
		t.Fatal("the cut replace succeeded")
	}
	if _, err := rp.GetCheckpoint(ctx, prefix+"submap.json"); err == nil {
		t.Fatal("test setup: the old mapping was not removed")
	}
	var maps []restore.SubMapping
	readJSON(t, rp, prefix+"submap.json.next", &maps)
	if len(maps) != 2 {
		t.Fatalf("mapping left by the cut replace: %+v", maps)
	}
}

// Guards the read-back in Save: a save whose put landed though it was
// reported failed (a timeout after S3 stored it) is not stored again under
// the next number when retried: its records would be read twice.
func TestRepoStateSaveRetriedAfterALandedPutStoresItOnce(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	prefix := restore.StateCheckpoint("us-east-1_T", "snap")
	st, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Remove()
	line := "{\"e\":\"intent\",\"u\":\"mine\"}\n"
	if err := os.WriteFile(st.Path(), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	// The earlier attempt's put landed; its answer was lost.
	if err := rp.PutCheckpoint(ctx, prefix+"state-000001", strings.NewReader(line)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Save(ctx); err != nil {
		t.Fatal(err)
	}
	names, _ := rp.Checkpoints(ctx, prefix+"state-")
	if len(names) != 1 {
		t.Fatalf("segments after the retried save: %v", names)
	}
}

// Guards WaitLease: it takes the lease once the holder releases it, and
// gives up with the holder's time when its own comes first.
func TestWaitLeaseTakesAReleasedLeaseAndGivesUpInTime(t *testing.T) {
	ctx := context.Background()
	rp := leaseRepo(t)
	held, err := restore.AcquireLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, waited, err := restore.WaitLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour), time.Now(), time.Millisecond)
	var busy *restore.BusyError
	if !errors.As(err, &busy) || !waited {
		t.Fatalf("waiting past its own limit: waited %v, %v", waited, err)
	}
	got := make(chan error, 1)
	go func() {
		_, _, err := restore.WaitLease(ctx, rp, "us-east-1_T", "snap", time.Now().Add(time.Hour), time.Now().Add(time.Hour), 5*time.Millisecond)
		got <- err
	}()
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting for a released lease: %v", err)
	}
}
