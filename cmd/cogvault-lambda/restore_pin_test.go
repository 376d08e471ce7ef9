package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// stepInFreshTmp invokes one step in a new handler with a fresh TMPDIR and
// a deadline of d, and returns its answer and error (invokeFresh fails the
// test on an error; these tests look at the error).
func stepInFreshTmp(t *testing.T, d time.Duration, req map[string]any) (map[string]any, error) {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	h, err := newHandler(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	b, _ := json.Marshal(req)
	out, err := h.Handle(ctx, b)
	if err != nil {
		return nil, err
	}
	var ans map[string]any
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatal(err)
	}
	return ans, nil
}

// restoreToEnd resumes orig from ans step by step until done, and returns
// the final answer.
func restoreToEnd(t *testing.T, orig, ans map[string]any) map[string]any {
	t.Helper()
	for i := 0; ans["done"] != true; i++ {
		if i > 50 {
			t.Fatalf("restore not done after 50 steps: %v", ans)
		}
		req := maps.Clone(orig)
		req["resume"] = ans["resume"]
		var err error
		if ans, err = stepInFreshTmp(t, 3*time.Second, req); err != nil {
			t.Fatalf("step %d: %v", i+2, err)
		}
	}
	return ans
}

// pinTestPools makes a source pool of 200 users with a snapshot, and an
// empty target; it returns the repository directory and the pool ids.
func pinTestPools(t *testing.T) (dir, srcPool, targetPool string) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 200, Groups: 3})
	if err != nil {
		t.Fatal(err)
	}
	target, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "restored"})
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	lambdaEnv(t, srv.URL, dir, src.PoolID)
	if ans := invokeFresh(t, time.Minute, map[string]any{"action": "snapshot"}); ans["done"] != true {
		t.Fatalf("snapshot answered %v", ans)
	}
	return dir, src.PoolID, target.PoolID
}

// TestRestoreAtPinsItsJournalEventsAcrossSteps guards the restore "at" T
// in steps against a journal event observed before T that lands after
// the first step (capture lag, a dead-letter replay): the later steps
// derive the state from the events the first step used (pinned in the
// restore's checkpoint), so the snapshot id stays and the resume is
// accepted; the late event is left for the next restore.
func TestRestoreAtPinsItsJournalEventsAcrossSteps(t *testing.T) {
	dir, srcPool, targetPool := pinTestPools(t)
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UTC()
	orig := map[string]any{"action": "restore", "targetPoolId": targetPool, "at": at.Format(time.RFC3339Nano)}
	ans := invokeFresh(t, 3*time.Second, orig)
	if ans["done"] != false {
		t.Fatalf("first step answered %v: want a restore of several steps", ans)
	}
	// A deletion observed a moment before T reaches the journal now.
	r := pinRepo(t, dir)
	m, err := r.Resolve(context.Background(), "latest", srcPool)
	if err != nil {
		t.Fatal(err)
	}
	var victim snapshot.User
	for u, err := range r.Users(context.Background(), m) {
		if err != nil {
			t.Fatal(err)
		}
		victim = u
	}
	if _, err := r.AppendEvent(context.Background(), &snapshot.Event{PoolID: srcPool, Kind: snapshot.EventUserDeleted,
		Time: at.Add(-time.Millisecond), Source: "AdminDeleteUser", EventID: "late-1", Sub: victim.Sub, Username: victim.Username}); err != nil {
		t.Fatal(err)
	}
	final := restoreToEnd(t, orig, ans)
	if final["snapshot"] != ans["snapshot"] {
		t.Fatalf("the restore ended with snapshot %v, its first step restored %v", final["snapshot"], ans["snapshot"])
	}
	// A new restore at the same T sees the late event: another state.
	pt, err := stepInFreshTmp(t, 3*time.Second, map[string]any{"action": "restore", "targetPoolId": targetPool, "at": at.Format(time.RFC3339Nano), "dryRun": true})
	if err != nil {
		t.Fatal(err)
	}
	if pt["snapshot"] == ans["snapshot"] {
		t.Fatalf("a new restore at T after the late event derived the pinned snapshot %v again", pt["snapshot"])
	}
}

// TestRestoreAtResumeRefusesAChangedTime guards the pin: a resume of a
// restore at T given with another "at" is refused, not derived anew.
func TestRestoreAtResumeRefusesAChangedTime(t *testing.T) {
	_, _, targetPool := pinTestPools(t)
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UTC()
	orig := map[string]any{"action": "restore", "targetPoolId": targetPool, "at": at.Format(time.RFC3339Nano)}
	ans := invokeFresh(t, 3*time.Second, orig)
	if ans["done"] != false {
		t.Fatalf("first step answered %v", ans)
	}
	req := maps.Clone(orig)
	req["at"] = at.Add(time.Second).Format(time.RFC3339Nano)
	req["resume"] = ans["resume"]
	if _, err := stepInFreshTmp(t, 3*time.Second, req); err == nil || !strings.Contains(err.Error(), "the request asks for") {
		t.Fatalf("a resume with another at: %v", err)
	}
}

// TestRetentionKeepsTheSnapshotARestoreReads guards retention against
// removing the source of a restore in steps between two steps: the
// scheduled snapshot's Forget keeps a snapshot an unfinished restore
// checkpoint names, and lets it go once that restore finished.
func TestRetentionKeepsTheSnapshotARestoreReads(t *testing.T) {
	dir, srcPool, targetPool := pinTestPools(t)
	orig := map[string]any{"action": "restore", "targetPoolId": targetPool}
	ans := invokeFresh(t, 3*time.Second, orig)
	if ans["done"] != false {
		t.Fatalf("first step answered %v: want a restore of several steps", ans)
	}
	t.Setenv("COGVAULT_KEEP_LAST", "1")
	a := invokeFresh(t, time.Minute, map[string]any{"action": "snapshot"})
	if a["done"] != true || len(a["forgotten"].([]any)) != 0 || !reflect.DeepEqual(a["keptForRestores"], []any{ans["snapshot"]}) {
		t.Fatalf("the snapshot during the restore answered %v: want done, nothing forgotten, %v kept for the restore", a, ans["snapshot"])
	}
	restoreToEnd(t, orig, ans)
	// Finished: the next retention forgets it.
	a = invokeFresh(t, time.Minute, map[string]any{"action": "snapshot"})
	if got := a["forgotten"].([]any); !slices.Contains(got, any(ans["snapshot"])) {
		t.Fatalf("after the restore finished, retention forgot %v, want %v among them", got, ans["snapshot"])
	}
	r := pinRepo(t, dir)
	if _, err := r.Resolve(context.Background(), ans["snapshot"].(string), srcPool); err == nil {
		t.Fatalf("snapshot %v still exists after retention forgot it", ans["snapshot"])
	}
}

// TestResumeWithoutStateIsRefused guards a resume whose restore
// checkpoint is gone (here: an at-T one pruned two days later by a
// prune that does not know the derived snapshot): the step refuses,
// naming the checkpoint, instead of starting over and taking the users
// the earlier steps created for someone else's.
func TestResumeWithoutStateIsRefused(t *testing.T) {
	dir, _, targetPool := pinTestPools(t)
	orig := map[string]any{"action": "restore", "targetPoolId": targetPool}
	ans := invokeFresh(t, 3*time.Second, orig)
	if ans["done"] != false {
		t.Fatalf("first step answered %v", ans)
	}
	r := pinRepo(t, dir)
	if err := r.DeleteCheckpoints(context.Background(), "restore/"); err != nil {
		t.Fatal(err)
	}
	req := maps.Clone(orig)
	req["resume"] = ans["resume"]
	out, err := stepInFreshTmp(t, 3*time.Second, req)
	if err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("a resume whose restore checkpoint is gone: answer %v, error %v", out, err)
	}
}

// TestPruneKeepsARestoreAtCheckpointWhileItsBaseExists guards the rule
// that an at-T restore's checkpoint is pruned as one of its base
// snapshot: two days without writes do not remove it (a failed execution
// resumed after a weekend goes on), and a finished one's sub mapping
// stays as any other's.
func TestPruneKeepsARestoreAtCheckpointWhileItsBaseExists(t *testing.T) {
	dir, _, targetPool := pinTestPools(t)
	time.Sleep(20 * time.Millisecond)
	orig := map[string]any{"action": "restore", "targetPoolId": targetPool, "at": time.Now().UTC().Format(time.RFC3339Nano)}
	ans := invokeFresh(t, 3*time.Second, orig)
	if ans["done"] != false {
		t.Fatalf("first step answered %v", ans)
	}
	r := pinRepo(t, dir)
	later := func() time.Time { return time.Now().Add(48 * time.Hour) }
	rep, err := r.Prune(context.Background(), repo.PruneOptions{Grace: repo.DefaultGrace, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checkpoints) != 0 {
		t.Fatalf("prune removed restore checkpoints %v while their base snapshot exists", rep.Checkpoints)
	}
	final := restoreToEnd(t, orig, ans)
	// Every user restored has its sub mapping: none of the first step's
	// were taken for existing ones, as a restore started over would.
	want := 200.0
	for _, n := range final["notRestored"].([]any) {
		want -= n.(map[string]any)["count"].(float64)
	}
	if final["subMappings"] != want {
		t.Fatalf("the restore resumed after the prune has %v sub mappings, want %v: %v", final["subMappings"], want, final)
	}
	if _, err := r.Prune(context.Background(), repo.PruneOptions{Grace: repo.DefaultGrace, Now: later}); err != nil {
		t.Fatal(err)
	}
	rc, err := r.GetCheckpoint(context.Background(), "restore/"+targetPool+"/"+final["snapshot"].(string)+"/submap.json")
	if err != nil {
		t.Fatalf("the finished at-T restore's sub mapping after prune: %v", err)
	}
	rc.Close()
}

// pinRepo opens the directory repository dir.
func pinRepo(t *testing.T, dir string) *repo.Repo {
	t.Helper()
	store, err := storage.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return repo.New(store)
}
