package capture_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cogvault/cogvault/internal/capture"
)

// triggerRecorder is a TriggerHandler that says what it was given.
type triggerRecorder struct{ sources []string }

func (r *triggerRecorder) Handle(_ context.Context, ev json.RawMessage) (json.RawMessage, error) {
	var s struct {
		TriggerSource string `json:"triggerSource"`
	}
	_ = json.Unmarshal(ev, &s)
	r.sources = append(r.sources, s.TriggerSource)
	return ev, nil
}

// TestPostAuthenticationGoesToTheMigration: with a migration configured,
// PostAuthentication_Authentication reaches it (it finishes migrations);
// without one the event goes back unchanged and nothing is journaled.
func TestPostAuthenticationGoesToTheMigration(t *testing.T) {
	ev := json.RawMessage(`{"version":"1","triggerSource":"PostAuthentication_Authentication","region":"us-east-1","userPoolId":"us-east-1_X","userName":"u","callerContext":{"awsSdkVersion":"x","clientId":"c"},"request":{"userAttributes":{"sub":"s"},"newDeviceUsed":false},"response":{}}`)
	mig := &triggerRecorder{}
	e := setup(t, 0, func(c *capture.Config) { c.Migration = mig })
	if out, err := e.h.Handle(ctx, ev); err != nil || string(out) != string(ev) || len(mig.sources) != 1 || mig.sources[0] != "PostAuthentication_Authentication" {
		t.Errorf("with a migration: %v, handled %v", err, mig.sources)
	}
	plain := setup(t, 0)
	if out, err := plain.h.Handle(ctx, ev); err != nil || string(out) != string(ev) {
		t.Errorf("without a migration: %v, event changed %v", err, string(out) != string(ev))
	}
	for o := range plain.repo.Store.List(ctx, "journal/") {
		t.Errorf("without a migration, PostAuthentication journaled %s", o.Key)
	}
}
