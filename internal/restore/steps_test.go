package restore_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/cogvault/cogvault/internal/restore"
)

// TestStoppedRestoreResumesInSteps: a restore that Options.Stop ends every
// few items returns ErrStopped, and runs with the same state file finish
// it: users and memberships both progress from step to step (memberships
// by the watermark the state records), so the number of steps is bounded,
// and the pool ends as the snapshot says.
func TestStoppedRestoreResumesInSteps(t *testing.T) {
	e := setup(t, 120, 4)
	const perStep = 15
	work := e.snap.Counts.Users + e.snap.Counts.Memberships
	var rep *restore.Report
	steps := 0
	for ; ; steps++ {
		if int64(steps) > work/perStep+10 {
			t.Fatalf("%d steps of %d items each for %d users and memberships: the restore does not progress", steps, perStep, work)
		}
		var asked atomic.Int64
		r, err := e.restore(t, restore.Options{Workers: 2, Stop: func() bool { return asked.Add(1) > perStep }})
		if errors.Is(err, restore.ErrStopped) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rep = r
		break
	}
	if steps < 3 {
		t.Fatalf("finished in %d steps: the test wants several", steps+1)
	}
	explained(t, e, rep)
	if n := e.srv.OpStats("AdminAddUserToGroup").Calls; n > e.snap.Counts.Memberships+int64(2*(steps+1)) {
		t.Fatalf("%d AdminAddUserToGroup calls for %d memberships in %d steps: steps repeat each other's work", n, e.snap.Counts.Memberships, steps+1)
	}
}
