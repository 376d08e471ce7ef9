package capture_test

import (
	"strings"
	"testing"
)

// TestSnapshotStepRefusesAResumeItCannotContinue: through Handle, a resume
// of another pool's snapshot, or of a snapshot with no checkpoint (finished
// or never begun), is refused with what to do, before anything is written.
func TestSnapshotStepRefusesAResumeItCannotContinue(t *testing.T) {
	e := setup(t, 10)
	for req, want := range map[string]string{
		`{"action":"snapshot","resume":{"pool":"us-east-1_other","snapshot":"20261130T000000.000Z-00000000","steps":1}}`:       "this function backs up",
		`{"action":"snapshot","resume":{"pool":"` + e.pool.PoolID + `","snapshot":"20261130T000000.000Z-00000000","steps":1}}`: "no checkpoint",
		`{"action":"snapshot","resume":{"steps":1}}`: `"resume" object`,
	} {
		if _, err := e.h.Handle(ctx, []byte(req)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", req, err, want)
		}
	}
	for o, err := range e.repo.Store.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(o.Key, "data/") || strings.HasPrefix(o.Key, "snapshots/") || strings.HasPrefix(o.Key, "checkpoints/") {
			t.Fatalf("a refused resume wrote %s", o.Key)
		}
	}
}
