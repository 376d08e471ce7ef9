package cli_test

import (
	"context"
	"encoding/json"
	"testing"
)

// TestBenchReportsSharesOfTheCeiling checks the report's shape and that each
// step names its binding call and category; the numbers themselves are
// measurements, not assertions.
func TestBenchReportsSharesOfTheCeiling(t *testing.T) {
	isolateAWS(t)
	code, out, errOut := run(t, context.Background(), "bench", "--users", "600", "--groups", "3", "--restore-users", "40", "--quota-scale", "50", "--output", "json")
	if code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out, errOut)
	}
	var doc struct {
		QuotaScale float64
		Steps      []struct {
			Step, Operation, Category string
			Items, Calls, Throttles   int64
			CeilingCallsPerSecond     float64
			ShareOfCeiling            float64
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ceilings := map[string]float64{"UserList": 30, "UserAccountRecovery": 30, "UserUpdate": 25}
	want := map[string]string{"backup": "UserList", "restore users": "UserAccountRecovery", "restore memberships": "UserUpdate"}
	if doc.QuotaScale != 50 || len(doc.Steps) != len(want) {
		t.Fatalf("report %+v", doc)
	}
	for _, s := range doc.Steps {
		if want[s.Step] != s.Category || s.Items == 0 || s.Calls == 0 || s.ShareOfCeiling <= 0 || s.CeilingCallsPerSecond != 50*ceilings[s.Category] {
			t.Errorf("step %+v", s)
		}
	}
	if doc.Steps[0].Items < 600 {
		t.Errorf("the backup read %d items, want at least the 600 users", doc.Steps[0].Items)
	}
}
