package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestRetriedLastStepAnswersWithTheSnapshotItFinds guards the create-once
// manifest of a snapshot in steps (review of issue 14, bug 1): the last
// step run again from the same progress (its invocation killed after the
// manifest, before its checkpoints were dropped; or a Step Functions retry
// running beside the first attempt) meets the other attempt's manifest. It
// must never delete it: it answers with that manifest, the snapshot still
// verifies, and the retry's own chunks, which no manifest names, are gone.
func TestRetriedLastStepAnswersWithTheSnapshotItFinds(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 300, 2, awsx.Options{})
	r := repo.New(e.store)
	opts := backup.Options{PoolID: e.pool.PoolID, Region: "us-east-1", ToolVersion: "test", Reread: r, Workers: 4,
		SubLists: checkpointSubLists{r, e.pool.PoolID}}
	var resumeJSON []byte
	var m *snapshot.Manifest
	for step := 1; step < 500 && m == nil; step++ {
		var calls atomic.Int64
		opts.Stop = func() bool { return calls.Add(1) > 3 }
		opts.Resume = resumed(t, resumeJSON)
		got, p, err := backup.RunStep(ctx, e.api, e.store, opts, &backup.Stats{})
		if err == nil {
			m = got
			break
		}
		if !errors.Is(err, backup.ErrStopped) {
			t.Fatalf("step %d: %v", step, err)
		}
		resumeJSON, _ = json.Marshal(p)
	}
	if m == nil || resumeJSON == nil {
		t.Fatal("want a snapshot of several steps")
	}
	before := dataKeys(t, e, m.ID)

	opts.Resume = resumed(t, resumeJSON)
	opts.Stop = func() bool { return false }
	again, _, err := backup.RunStep(ctx, e.api, e.store, opts, &backup.Stats{})
	if err != nil {
		t.Fatalf("the retried last step failed: %v", err)
	}
	if again.ID != m.ID || again.Counts != m.Counts || len(again.Objects) != len(m.Objects) {
		t.Fatalf("the retried last step answered snapshot %s %+v, want the first attempt's %s %+v", again.ID, again.Counts, m.ID, m.Counts)
	}
	stored, err := r.Manifest(ctx, m.ID)
	if err != nil {
		t.Fatalf("the snapshot the first attempt of the last step wrote is gone after its retry: %v", err)
	}
	if res, err := r.Verify(ctx, stored); err != nil || !res.OK() {
		t.Fatalf("the snapshot does not verify after the retry: %v %+v", err, res)
	}
	if after := dataKeys(t, e, m.ID); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("the retry left chunks no manifest names: %d data objects before it, %d after", len(before), len(after))
	}
}

// resumed decodes a stopped step's progress, as the next step receives it.
func resumed(t *testing.T, b []byte) *backup.Progress {
	t.Helper()
	if b == nil {
		return nil
	}
	p := new(backup.Progress)
	if err := json.Unmarshal(b, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// dataKeys lists the data objects stored under a snapshot id.
func dataKeys(t *testing.T, e *env, id string) []string {
	t.Helper()
	var keys []string
	for o, err := range e.store.List(ctx, snapshot.DataKey(id, "")) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// lostAnswerStore stores the manifest and then fails the write, as a PUT
// whose answer is lost does; with getFails, the manifest cannot be read
// back either.
type lostAnswerStore struct {
	storage.Store
	getFails bool
}

var errLostAnswer = errors.New("connection reset before the answer")

func (s lostAnswerStore) Put(ctx context.Context, key string, r io.Reader) error {
	err := s.Store.Put(ctx, key, r)
	if err == nil && strings.HasPrefix(key, snapshot.ManifestPrefix) {
		return errLostAnswer
	}
	return err
}

func (s lostAnswerStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if s.getFails && strings.HasPrefix(key, snapshot.ManifestPrefix) {
		return nil, errors.New("read refused")
	}
	return s.Store.Get(ctx, key)
}

// TestManifestWriteWithALostAnswerKeepsTheSnapshot guards the same rule for
// a failed manifest write whose object was stored: the backup reads it
// back and answers with it; when it cannot read it back it fails, and
// deletes neither the manifest nor the data the manifest names (an earlier
// cleanup removed the manifest, which may be another attempt's).
func TestManifestWriteWithALostAnswerKeepsTheSnapshot(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 200, 2, awsx.Options{})
	r := repo.New(e.store)
	m, err := backup.Run(ctx, e.api, lostAnswerStore{Store: e.store}, backup.Options{PoolID: e.pool.PoolID, ChunkRecords: 50}, nil)
	if err != nil {
		t.Fatalf("a manifest stored but its answer lost: %v, want the snapshot", err)
	}
	if res, err := r.Verify(ctx, m); err != nil || !res.OK() {
		t.Fatalf("snapshot %s: %v %+v", m.ID, err, res)
	}

	_, err = backup.Run(ctx, e.api, lostAnswerStore{Store: e.store, getFails: true}, backup.Options{PoolID: e.pool.PoolID, ChunkRecords: 50}, nil)
	if !errors.Is(err, backup.ErrInterrupted) || !errors.Is(err, errLostAnswer) {
		t.Fatalf("a manifest not read back: %v, want the write's error", err)
	}
	snaps, _, err := r.Snapshots(ctx)
	if err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots after a manifest not read back: %d %v, want both kept", len(snaps), err)
	}
	for _, s := range snaps {
		if res, err := r.Verify(ctx, s); err != nil || !res.OK() {
			t.Fatalf("snapshot %s lost data: %v %+v", s.ID, err, res)
		}
	}
}

// squatterStore has another pool's manifest under the id the backup writes
// (a repository shared by mistake, or a damaged one): the backup's
// create-once manifest write is refused.
type squatterStore struct{ storage.Store }

func (s squatterStore) Put(ctx context.Context, key string, r io.Reader) error {
	if _, ok := snapshot.IDFromManifestKey(key); !ok {
		return s.Store.Put(ctx, key, r)
	}
	own, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	other, err := snapshot.ParseManifest(own, key)
	if err != nil {
		return err
	}
	other.PoolID = "us-east-1_other"
	body, err := other.Marshal()
	if err != nil {
		return err
	}
	if err := s.Store.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return err
	}
	return s.Store.Put(ctx, key, bytes.NewReader(own))
}

// TestManifestOfAnotherPoolUnderTheIDIsNotTheAnswer: a manifest met under
// the snapshot's id answers the backup only when it is this pool's; another
// pool's fails the backup, naming it, and is left alone.
func TestManifestOfAnotherPoolUnderTheIDIsNotTheAnswer(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 50, 1, awsx.Options{})
	_, err := backup.Run(ctx, e.api, squatterStore{e.store}, backup.Options{PoolID: e.pool.PoolID}, nil)
	if err == nil || !strings.Contains(err.Error(), "us-east-1_other") {
		t.Fatalf("backup meeting another pool's manifest under its id: %v, want an error naming that pool", err)
	}
	snaps, _, _ := repo.New(e.store).Snapshots(ctx)
	if len(snaps) != 1 || snaps[0].PoolID != "us-east-1_other" {
		t.Fatalf("snapshots after the refusal: %d, want the other pool's kept", len(snaps))
	}
}
