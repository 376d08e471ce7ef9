package pitr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// derivedID writes p to a scratch store and returns the snapshot id.
func derivedID(t *testing.T, r *repo.Repo, p *pitr.Point) string {
	t.Helper()
	scratch, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Write(context.Background(), r, scratch, pitr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// TestFromPinIgnoresLateEventsAndNamesWhatIsGone guards the pin a restore
// "at" T in steps derives from: an event before T that reached the journal
// after the pin is not applied (the same snapshot id comes out, as the
// resume needs), a pinned event that is gone or a base that is gone fails
// with a message naming it, and a pin round-trips through its checkpoint.
func TestFromPinIgnoresLateEventsAndNamesWhatIsGone(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	alice := user("alice", "aaaaaaaa-0000-4000-8000-000000000001", t0.Add(-time.Hour))
	b := base(t, r, t0, t0.Add(time.Minute), []snapshot.User{alice}, nil, nil)
	at := t0.Add(time.Hour)
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t0.Add(10 * time.Minute), User: ptr(user("bob", "bbbbbbbb-0000-4000-8000-000000000002", t0.Add(10*time.Minute)))})
	p, err := pitr.At(ctx, r, pool, at)
	if err != nil {
		t.Fatal(err)
	}
	id := derivedID(t, r, p)
	pin := p.Pin(id)
	if err := pitr.SavePin(ctx, r, "us-east-1_T", pin); err != nil {
		t.Fatal(err)
	}
	// Alice's deletion, observed before T, arrives late.
	event(t, r, snapshot.Event{Kind: snapshot.EventUserDeleted, Time: t0.Add(20 * time.Minute), Sub: alice.Sub, Username: "alice"})
	if now, _ := pitr.At(ctx, r, pool, at); derivedID(t, r, now) == id {
		t.Fatal("the late event does not change the state derived from the journal: the test shows nothing")
	}
	loaded, err := pitr.LoadPin(ctx, r, "us-east-1_T", id)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pitr.FromPin(ctx, r, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if again.Late != 1 {
		t.Fatalf("derived from the pin: %d late events, want 1", again.Late)
	}
	if got := derivedID(t, r, again); got != id {
		t.Fatalf("derived from the pin: %s, want the pinned %s", got, id)
	}
	if _, err := pitr.LoadPin(ctx, r, "us-east-1_T", "20261101T000000.000Z-0000aaaa"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("a pin that is not there: %v", err)
	}
	// A pinned event that is gone.
	missing := loaded
	missing.Keys = append([]string{"journal/" + pool + "/2026/11/20/1-x-y.json"}, loaded.Keys...)
	if _, err := pitr.FromPin(ctx, r, missing); err == nil || !strings.Contains(err.Error(), "1 are gone") {
		t.Fatalf("a pin with an event that is gone: %v", err)
	}
	if err := r.Store.Delete(ctx, snapshot.ManifestKey(b.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := pitr.FromPin(ctx, r, loaded); !errors.Is(err, repo.ErrNoSnapshot) || !strings.Contains(err.Error(), b.ID) {
		t.Fatalf("a pin whose base is gone: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
