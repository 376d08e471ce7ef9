package capture

import (
	"testing"
	"time"
)

// TestStopAt: a step stops at the earlier of deadline − 60 s and 80 % of
// its time; with too little time for the margin, at 80 %.
func TestStopAt(t *testing.T) {
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	for left, want := range map[time.Duration]time.Duration{
		900 * time.Second: 720 * time.Second, // 80 % is earlier
		200 * time.Second: 140 * time.Second, // deadline − 60 s is earlier
		3 * time.Second:   2400 * time.Millisecond,
		61 * time.Second:  1 * time.Second,
	} {
		if got := stopAt(now, now.Add(left)).Sub(now); got != want {
			t.Errorf("%s left: stop after %s, want %s", left, got, want)
		}
	}
}

// TestResumeOfAnotherRestoreIsRefused: a resume object names the snapshot
// its restore pinned; another, or an empty one, is the caller's mistake.
func TestResumeOfAnotherRestoreIsRefused(t *testing.T) {
	var none *RestoreResume
	if err := none.check("s1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*RestoreResume{{Snapshot: "s2", Steps: 1}, {Snapshot: "", Steps: 1}, {Snapshot: "s1"}} {
		if err := r.check("s1"); err == nil {
			t.Errorf("resume %+v accepted for s1", r)
		}
	}
	if err := (&RestoreResume{Snapshot: "s1", Steps: 3}).check("s1"); err != nil {
		t.Fatal(err)
	}
}
