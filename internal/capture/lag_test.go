package capture_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/snapshot"
)

const hiddenName = "HIDDEN_DUE_TO_SECURITY_REASONS"

// A federated user who signed in a moment ago is not in ListUsers yet
// (eventual consistency) and does not answer AdminGetUser by sub. A change
// event naming only its sub must journal the user, found by a second listing
// after a pause, never a tombstone.
func TestChangeOfAUserTheListingLagsOnIsNoTombstone(t *testing.T) {
	e := setup(t, 10)
	e.srv.SetListingLag(3 * time.Second)
	cfg := e.cfg
	cfg.Sleep = func(_ context.Context, d time.Duration) error { e.clock.Advance(d); return nil }
	h, err := capture.New(cfg)
	must(t, err)
	username, sub, err := e.srv.SignInFederated(e.pool.PoolID, "Google", "1170000000042")
	must(t, err)
	if _, err := h.Handle(ctx, e.trail(t, fields{EventName: "AdminUpdateUserAttributes", Username: hiddenName, Sub: sub})); err != nil {
		t.Fatal(err)
	}
	events := e.journal(t)
	if len(events) != 1 || events[0].Kind != snapshot.EventUser || events[0].User.Username != username {
		for _, ev := range events {
			t.Logf("journaled %s %s %s", ev.Kind, ev.Sub, ev.Username)
		}
		t.Fatalf("want one user event for %s, got %d events", username, len(events))
	}
}

// Without time left for the second listing the absence stays unconfirmed:
// no tombstone, an error (Lambda retries the event later), a metric.
func TestUnconfirmedAbsenceWritesNoTombstone(t *testing.T) {
	e := setup(t, 10)
	e.srv.SetListingLag(time.Hour)
	_, sub, err := e.srv.SignInFederated(e.pool.PoolID, "Google", "1170000000043")
	must(t, err)
	short, cancel := context.WithTimeout(ctx, 3*time.Second) // < 2 × the 5 s re-check
	defer cancel()
	_, err = e.h.Handle(short, e.trail(t, fields{EventName: "AdminUpdateUserAttributes", Username: hiddenName, Sub: sub}))
	if err == nil {
		t.Fatal("an unconfirmed absence passed for journaled")
	}
	for _, ev := range e.journal(t) {
		if ev.Kind == snapshot.EventUserDeleted {
			t.Fatalf("tombstone for %s written on one empty listing", ev.Sub)
		}
	}
	if !strings.Contains(err.Error(), "AbsenceUnconfirmed") || !strings.Contains(e.metrics.String(), "UnresolvedEvents") {
		t.Fatalf("error %v, metrics %s: want AbsenceUnconfirmed counted as unresolved", err, e.metrics)
	}
}
