package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestRetriedLastSnapshotStepAnswersDone guards the finished snapshot
// against a retry of its last step (review of issue 14, bug 1): the last
// step writes the manifest, then removes the checkpoints; killed in between
// (or run again by the state machine's retry), its retry finds the
// checkpoint still there. It must answer done with the snapshot the first
// attempt wrote, without listing the pool again, keep the snapshot whole,
// and remove the checkpoints. (Before the fix its manifest write was
// refused and its cleanup deleted the manifest: the snapshot was gone.)
func TestRetriedLastSnapshotStepAnswersDone(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 3000 * raceFactor, Groups: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lambdaEnv(t, srv.URL, dir, src.PoolID)
	orig := map[string]any{"action": "snapshot"}
	req := maps.Clone(orig)
	var saved map[string][]byte
	var last map[string]any
	for steps := 0; steps < 100 && last == nil; steps++ {
		ans := invokeFresh(t, raceFactor*time.Second, req)
		if ans["done"] == true {
			last = ans
			break
		}
		saved = checkpointFiles(t, dir) // what the next (maybe last) step starts from
		req = maps.Clone(orig)
		req["resume"] = ans["resume"]
	}
	if last == nil || req["resume"] == nil {
		t.Fatal("want a snapshot of several steps")
	}
	id := last["snapshot"].(string)
	// The last step was killed after its manifest, before its checkpoints
	// were removed: put them back.
	for p, b := range saved {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listed := listCalls(srv)
	again := invokeFresh(t, time.Minute, req)
	if again["done"] != true || again["snapshot"] != id {
		t.Fatalf("the retried last step answered %v, want done with %s", again, id)
	}
	if n := listCalls(srv) - listed; n != 0 {
		t.Errorf("the retried last step listed the pool again (%d list calls) for a snapshot already written", n)
	}
	store, _ := storage.NewDir(dir)
	r := repo.New(store)
	m, err := r.Manifest(context.Background(), id)
	if err != nil {
		t.Fatalf("snapshot %s, answered done by the last step, is gone after the retry: %v", id, err)
	}
	if res, err := r.Verify(context.Background(), m); err != nil || !res.OK() {
		t.Fatalf("snapshot %s does not verify after the retry: %v %+v", id, err, res)
	}
	if left, err := r.Checkpoints(context.Background(), "snapshot/"); err != nil || len(left) != 0 {
		t.Fatalf("checkpoints left after the retried last step: %v %v", left, err)
	}
}

// checkpointFiles reads every checkpoint file of a directory repository.
func checkpointFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	saved := map[string][]byte{}
	err := filepath.Walk(filepath.Join(dir, "checkpoints"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		saved[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

// listCalls counts the user and membership list calls the fake answered.
func listCalls(srv *cognitotest.Server) int64 {
	return srv.OpStats("ListUsers").Calls + srv.OpStats("ListUsersInGroup").Calls
}
