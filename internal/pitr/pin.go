package pitr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Pin is what one derivation used: the base snapshot, the time and the
// journal events applied. A restore "at" T in steps stores its first
// step's pin in its checkpoint (repo.RestorePinName) and every later step
// derives from exactly that (FromPin): an event observed before T that
// reaches the journal after the first step (capture lag, a replay of the
// dead-letter queue) would otherwise change the state, and with it the
// snapshot id the resume is pinned to. Such an event is left for the next
// restore at T.
type Pin struct {
	PoolID string    `json:"pool"`
	At     time.Time `json:"at"`
	Base   string    `json:"base"` // read by repo's prune and forget
	// Snapshot is the derived snapshot's id.
	Snapshot string   `json:"snapshot"`
	Keys     []string `json:"keys"` // the applied events' keys, oldest first
}

// Pin is the point's pin, for the derived snapshot snapshotID (Write's).
func (p *Point) Pin(snapshotID string) Pin {
	return Pin{PoolID: p.PoolID, At: p.At, Base: p.Base.ID, Snapshot: snapshotID, Keys: p.Keys}
}

// FromPin derives the point pin describes again: from its base, with
// exactly its journal events. It fails, naming what is gone, when the base
// snapshot or one of the events no longer exists.
func FromPin(ctx context.Context, r *repo.Repo, pin Pin) (*Point, error) {
	base, err := r.Manifest(ctx, pin.Base)
	if err != nil {
		return nil, fmt.Errorf("the state at %s was derived from snapshot %s: %w", pin.At.Format(time.RFC3339Nano), pin.Base, err)
	}
	if base.PoolID != pin.PoolID {
		return nil, fmt.Errorf("pin of %s: %w: its base %s is of pool %s, not %s", pin.Snapshot, snapshot.ErrDamaged, pin.Base, base.PoolID, pin.PoolID)
	}
	want := make(map[string]bool, len(pin.Keys))
	for _, k := range pin.Keys {
		want[k] = true
	}
	p, err := derive(ctx, r, pin.PoolID, pin.At, base, want)
	if err != nil {
		return nil, err
	}
	if len(p.Keys) != len(want) {
		return nil, fmt.Errorf("the state at %s applied %d journal events of which %d are gone from %s; it cannot be derived again", pin.At.Format(time.RFC3339Nano), len(want), len(want)-len(p.Keys), r.Store)
	}
	return p, nil
}

// SavePin stores pin as the pin of the restore of its snapshot into
// target. A pin already there is kept: the same snapshot id means the same
// base, time and events.
func SavePin(ctx context.Context, r *repo.Repo, target string, pin Pin) error {
	b, err := json.Marshal(pin)
	if err != nil {
		return err
	}
	err = r.PutCheckpoint(ctx, repo.RestorePinCheckpoint(target, pin.Snapshot), bytes.NewReader(b))
	if err != nil && !errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("save the pin of the restore of %s into %s: %w", pin.Snapshot, target, err)
	}
	return nil
}

// LoadPin reads the pin of the restore of snapshotID into target;
// storage.ErrNotExist wrapped when there is none.
func LoadPin(ctx context.Context, r *repo.Repo, target, snapshotID string) (Pin, error) {
	var pin Pin
	rc, err := r.GetCheckpoint(ctx, repo.RestorePinCheckpoint(target, snapshotID))
	if err != nil {
		return pin, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return pin, fmt.Errorf("read the pin of the restore of %s into %s: %w", snapshotID, target, err)
	}
	if err := json.Unmarshal(b, &pin); err != nil || pin.Snapshot != snapshotID || pin.Base == "" {
		return pin, fmt.Errorf("the pin of the restore of %s into %s: %w: not a pin of that snapshot (%v)", snapshotID, target, snapshot.ErrDamaged, err)
	}
	return pin, nil
}
