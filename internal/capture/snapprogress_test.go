package capture_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// spentContext says its deadline has passed but is never cancelled: a
// step under it stops before its first list page (Stop is due at once,
// the list calls are cut) while its reads and writes of the repository
// still work. No timing is involved.
type spentContext struct{ context.Context }

func (spentContext) Deadline() (time.Time, bool) { return time.Now().Add(-time.Hour), true }

// TestSnapshotStepThatGetsNoFurtherFails: a resumed snapshot step that
// stops before getting any further than the steps before it (here: its
// time is spent before its first page) fails, naming the remedy, instead
// of answering "done": false for a state machine that would loop on it.
func TestSnapshotStepThatGetsNoFurtherFails(t *testing.T) {
	e := setup(t, 50)
	sctx := spentContext{ctx}
	ans, err := e.h.Handle(sctx, []byte(`{"action":"snapshot"}`))
	if err != nil {
		t.Fatalf("first step: %v", err)
	}
	var first struct {
		Done   bool            `json:"done"`
		Resume json.RawMessage `json:"resume"`
	}
	if err := json.Unmarshal(ans, &first); err != nil || first.Done || first.Resume == nil {
		t.Fatalf("first step answered %s (%v): want done false, with a resume", ans, err)
	}
	ans, err = e.h.Handle(sctx, []byte(`{"action":"snapshot","resume":`+string(first.Resume)+`}`))
	if err == nil || !strings.Contains(err.Error(), "got no further") || !strings.Contains(err.Error(), "longer timeout") {
		t.Fatalf("a step that got no further: %s, %v; want an error naming a longer timeout", ans, err)
	}
}
