package capture_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/capture"
)

// spentContext says its deadline has passed but is never cancelled: a
// step under it stops before its first list page (Stop is due at once,
// the list calls are cut) while its reads and writes of the repository
// still work. No timing is involved.
type spentContext struct{ context.Context }

func (spentContext) Deadline() (time.Time, bool) { return time.Now().Add(-time.Hour), true }

// TestSnapshotStepThatGetsNoFurtherFails: resumed snapshot steps that stop
// before getting any further than the steps before them (here: their time
// is spent before their first page) are tried again up to capture.MaxStalls in a
// row (a slow cold start is bad luck), then the snapshot fails, naming the
// remedy, instead of answering "done": false for a state machine that
// would loop on it.
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
	resume := first.Resume
	for stall := 1; stall < capture.MaxStalls; stall++ {
		ans, err = e.h.Handle(sctx, []byte(`{"action":"snapshot","resume":`+string(resume)+`}`))
		var next struct {
			Done   bool `json:"done"`
			Resume *capture.SnapshotResume
		}
		if err != nil || json.Unmarshal(ans, &next) != nil || next.Done || next.Resume == nil || next.Resume.Stalls != stall {
			t.Fatalf("stalled step %d: %s, %v; want done false with stalls %d", stall, ans, err, stall)
		}
		resume, _ = json.Marshal(next.Resume)
	}
	ans, err = e.h.Handle(sctx, []byte(`{"action":"snapshot","resume":`+string(resume)+`}`))
	if err == nil || !strings.Contains(err.Error(), "got no further") || !strings.Contains(err.Error(), "longer timeout") {
		t.Fatalf("step %d in a row that got no further: %s, %v; want an error naming a longer timeout", capture.MaxStalls, ans, err)
	}
}
