package capture_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// rivalStore runs another attempt of a snapshot step just before the
// step's own checkpoint PUT, once armed: the two attempts started from the
// same checkpoint, and the rival stores the next one first.
type rivalStore struct {
	storage.Store
	mu    sync.Mutex
	rival func() // run once, before the next PUT under prefix
	// prefix is the key prefix of the PUT the rival goes before: a
	// snapshot step's progress (step-NNNNNN.json, not the sub lists the
	// step stores before it) when empty.
	prefix string
}

func (s *rivalStore) Put(ctx context.Context, key string, r io.Reader) error {
	s.mu.Lock()
	rival := s.rival
	prefix := s.prefix
	if prefix == "" {
		prefix = repo.CheckpointPrefix + "snapshot/"
	}
	if strings.HasPrefix(key, prefix) && (s.prefix != "" || strings.Contains(key, "/step-")) {
		s.rival = nil
	} else {
		rival = nil
	}
	s.mu.Unlock()
	if rival != nil {
		rival()
	}
	return s.Store.Put(ctx, key, r)
}

// TestConcurrentSnapshotStepsAnswerWithTheStoredCheckpoint guards the
// minor of bug 1 of the review of issue 14: two attempts of one non-final
// snapshot step (a state machine retry beside the first attempt) start
// from the same checkpoint; the one whose checkpoint PUT is refused
// (create-once) answers with the other's, the newest, instead of failing
// the execution. The snapshot then finishes whole, and the loser's chunks,
// which no checkpoint names, are gone.
func TestConcurrentSnapshotStepsAnswerWithTheStoredCheckpoint(t *testing.T) {
	var rs *rivalStore
	e := setup(t, 6000, func(c *capture.Config) {
		rs = &rivalStore{Store: c.Repo.Store}
		c.Repo = repo.New(rs)
	})
	// Pages slow enough that a step of a second stops before the end.
	slow := e.srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultLatency, Latency: raceFactor * 400 * time.Millisecond})
	first := stepAnswer(t, e.h, `{"action":"snapshot"}`, time.Second)
	if first["done"] != false {
		t.Fatalf("the first step answered %v: want a snapshot of several steps", first)
	}
	req := `{"action":"snapshot","resume":` + string(first["resume"].(json.RawMessage)) + `}`
	var rivalAns map[string]any
	rs.rival = func() {
		other, err := capture.New(e.cfg) // another environment
		if err != nil {
			t.Error(err)
			return
		}
		rivalAns = stepAnswer(t, other, req, 1500*time.Millisecond) // lists more than the step it races
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
	ans := stepAnswer(t, e.h, req, time.Second)
	if rivalAns == nil || rivalAns["done"] != false {
		t.Fatalf("the rival attempt answered %v (the step %v): want a stopped step", rivalAns, ans)
	}
	for _, k := range []string{"done", "resume", "usersDone", "memberships"} {
		if string(jsonOf(ans[k])) != string(jsonOf(rivalAns[k])) {
			t.Fatalf("the attempt whose checkpoint was refused answered %s %s, want the stored checkpoint's %s", k, jsonOf(ans[k]), jsonOf(rivalAns[k]))
		}
	}

	slow()
	done := stepAnswer(t, e.h, `{"action":"snapshot","resume":`+string(ans["resume"].(json.RawMessage))+`}`, 0)
	if done["done"] != true {
		t.Fatalf("the step with no deadline answered %v, want done", done)
	}
	m, err := e.repo.Manifest(ctx, strings.Trim(string(jsonOf(done["snapshot"])), `"`))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.repo.Verify(ctx, m); err != nil || !res.OK() || m.Counts.Users != 6000 {
		t.Fatalf("snapshot %s: %d users, verify %v %+v; want the pool's 6000", m.ID, m.Counts.Users, err, res)
	}
	named := map[string]bool{}
	for _, o := range m.Objects {
		named[snapshot.DataKey(m.ID, o.Name)] = true
	}
	for o, err := range e.repo.Store.List(ctx, snapshot.DataKey(m.ID, "")) {
		if err != nil || !named[o.Key] {
			t.Fatalf("left under the finished snapshot: %s %v", o.Key, err)
		}
	}
}

// stepAnswer invokes h with req under a deadline d from now (none when 0)
// and decodes the answer's fields, raw.
func stepAnswer(t *testing.T, h *capture.Handler, req string, d time.Duration) map[string]any {
	t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	if d > 0 {
		sctx, cancel = context.WithTimeout(ctx, d*raceFactor)
	}
	defer cancel()
	out, err := h.Handle(sctx, []byte(req))
	if err != nil {
		t.Fatalf("step %s: %v", req, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	ans := map[string]any{}
	for k, v := range raw {
		ans[k] = v
		var b bool
		if json.Unmarshal(v, &b) == nil {
			ans[k] = b
		}
	}
	return ans
}

func jsonOf(v any) []byte {
	if r, ok := v.(json.RawMessage); ok {
		return r
	}
	b, _ := json.Marshal(v)
	return b
}

// TestSnapshotStepOutrunByAFinishedAttemptEndsDone: the other attempt of a
// step runs on to the end of the snapshot (and removes its checkpoints)
// before this one stores its checkpoint, which is then stale. This attempt
// sees the snapshot written and answers done with it, and removes the
// stale checkpoint and its own chunks (nothing else would: prune leaves a
// finished snapshot's data and checkpoints alone).
func TestSnapshotStepOutrunByAFinishedAttemptEndsDone(t *testing.T) {
	var rs *rivalStore
	e := setup(t, 6000, func(c *capture.Config) {
		rs = &rivalStore{Store: c.Repo.Store}
		c.Repo = repo.New(rs)
	})
	e.srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultLatency, Latency: raceFactor * 400 * time.Millisecond})
	first := stepAnswer(t, e.h, `{"action":"snapshot"}`, time.Second)
	if first["done"] != false {
		t.Fatalf("the first step answered %v: want a snapshot of several steps", first)
	}
	req := `{"action":"snapshot","resume":` + string(first["resume"].(json.RawMessage)) + `}`
	var rivalAns map[string]any
	rs.rival = func() {
		other, err := capture.New(e.cfg)
		if err != nil {
			t.Error(err)
			return
		}
		rivalAns = stepAnswer(t, other, req, 0) // runs to the end
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
	ans := stepAnswer(t, e.h, req, time.Second)
	if rivalAns == nil || rivalAns["done"] != true {
		t.Fatalf("the rival attempt answered %v: want done", rivalAns)
	}
	id := strings.Trim(string(jsonOf(rivalAns["snapshot"])), `"`)
	if ans["done"] != true || strings.Trim(string(jsonOf(ans["snapshot"])), `"`) != id {
		t.Fatalf("the outrun step answered %v, want done with the rival's snapshot %s", ans, id)
	}
	m, err := e.repo.Manifest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.repo.Verify(ctx, m); err != nil || !res.OK() || m.Counts.Users != 6000 {
		t.Fatalf("snapshot %s: %d users, verify %v %+v; want the pool's 6000", m.ID, m.Counts.Users, err, res)
	}
	if left, err := e.repo.Checkpoints(ctx, "snapshot/"); err != nil || len(left) != 0 {
		t.Fatalf("checkpoints left: %v %v", left, err)
	}
	named := map[string]bool{}
	for _, o := range m.Objects {
		named[snapshot.DataKey(m.ID, o.Name)] = true
	}
	for o, err := range e.repo.Store.List(ctx, snapshot.DataKey(m.ID, "")) {
		if err != nil || !named[o.Key] {
			t.Fatalf("left under the finished snapshot: %s %v", o.Key, err)
		}
	}
}

// TestConcurrentLastSnapshotStepsAnswerWithOneSnapshot: two attempts of the
// last step run at once; the other writes the manifest (and removes the
// checkpoints and the chunks it does not name, this attempt's among them)
// just before this one's manifest write, which is refused. This attempt
// answers done with that snapshot, which stays whole.
func TestConcurrentLastSnapshotStepsAnswerWithOneSnapshot(t *testing.T) {
	var rs *rivalStore
	e := setup(t, 6000, func(c *capture.Config) {
		rs = &rivalStore{Store: c.Repo.Store, prefix: snapshot.ManifestPrefix}
		c.Repo = repo.New(rs)
	})
	slow := e.srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultLatency, Latency: raceFactor * 400 * time.Millisecond})
	first := stepAnswer(t, e.h, `{"action":"snapshot"}`, time.Second)
	if first["done"] != false {
		t.Fatalf("the first step answered %v: want a snapshot of several steps", first)
	}
	slow()
	req := `{"action":"snapshot","resume":` + string(first["resume"].(json.RawMessage)) + `}`
	var rivalAns map[string]any
	rs.rival = func() {
		other, err := capture.New(e.cfg)
		if err != nil {
			t.Error(err)
			return
		}
		rivalAns = stepAnswer(t, other, req, 0)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
	ans := stepAnswer(t, e.h, req, 0)
	if rivalAns == nil || rivalAns["done"] != true {
		t.Fatalf("the rival attempt answered %v: want done", rivalAns)
	}
	id := strings.Trim(string(jsonOf(rivalAns["snapshot"])), `"`)
	if ans["done"] != true || strings.Trim(string(jsonOf(ans["snapshot"])), `"`) != id {
		t.Fatalf("the attempt whose manifest write was refused answered %v, want done with %s", ans, id)
	}
	m, err := e.repo.Manifest(ctx, id)
	if err != nil {
		t.Fatalf("the snapshot both attempts answered is gone: %v", err)
	}
	if res, err := e.repo.Verify(ctx, m); err != nil || !res.OK() || m.Counts.Users != 6000 {
		t.Fatalf("snapshot %s: %d users, verify %v %+v; want the pool's 6000", m.ID, m.Counts.Users, err, res)
	}
	if left, err := e.repo.Checkpoints(ctx, "snapshot/"); err != nil || len(left) != 0 {
		t.Fatalf("checkpoints left: %v %v", left, err)
	}
}
