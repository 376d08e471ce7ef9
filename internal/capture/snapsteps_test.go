package capture

import (
	"strings"
	"testing"
)

// TestSnapshotResumeOfAnotherPoolIsRefused: a snapshot's resume object
// names the pool; another pool's, an empty one, or one whose snapshot id
// could leave its checkpoint directory is the caller's mistake.
func TestSnapshotResumeOfAnotherPoolIsRefused(t *testing.T) {
	var none *SnapshotResume
	if err := none.check("p1"); err != nil {
		t.Fatal(err)
	}
	if err := (&SnapshotResume{Pool: "p2", Snapshot: "s", Steps: 1}).check("p1"); err == nil || !strings.Contains(err.Error(), "p2") {
		t.Fatalf("resume of another pool: %v", err)
	}
	for _, r := range []*SnapshotResume{{Snapshot: "s", Steps: 1}, {Pool: "p1", Steps: 1}, {Pool: "p1", Snapshot: "s"}, {Pool: "p1", Snapshot: "../x", Steps: 1}} {
		if err := r.check("p1"); err == nil {
			t.Errorf("resume %+v accepted", r)
		}
	}
	if err := (&SnapshotResume{Pool: "p1", Snapshot: "s", Steps: 2}).check("p1"); err != nil {
		t.Fatal(err)
	}
}
