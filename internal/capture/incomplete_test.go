package capture_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// A scheduled snapshot whose UI-customization read IAM refuses is kept and
// answers what it lacks; retention forgets nothing on its account.
func TestScheduledSnapshotSaysItIsIncomplete(t *testing.T) {
	e := setup(t, 25, func(c *capture.Config) {
		c.Retention = snapshot.Policy{Last: 1}
		c.PruneGrace = time.Hour
	})
	first, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	e.clock.Advance(time.Hour)
	e.srv.InjectFault(cognitotest.Fault{Operation: "GetUICustomization", Kind: cognitotest.FaultError, Code: "AccessDeniedException"})
	out, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	if err != nil {
		t.Fatalf("a refused optional read failed the scheduled snapshot: %v", err)
	}
	var res capture.SnapshotResult
	must(t, json.Unmarshal(out, &res))
	if res.Counts.Users != 25 || len(res.Incomplete) != 1 || res.Incomplete[0].What != "poolConfig.ui" {
		t.Fatalf("answer %s", out)
	}
	if !strings.Contains(e.metrics.String(), "IncompleteSnapshots") || !strings.Contains(e.logs.String(), "poolConfig.ui") {
		t.Fatalf("no metric or warning:\n%s\n%s", e.metrics, e.logs)
	}
	var whole capture.SnapshotResult
	must(t, json.Unmarshal(first, &whole))
	all, _, err := e.repo.Snapshots(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != whole.Snapshot {
		t.Fatalf("retention forgot the whole snapshot for an incomplete one: %d left", len(all))
	}
}
