package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Restore checkpoints (checkpoints/restore/<target>/<snapshot>/: the state
// segments, the sub mapping, the report) outlive their restore on purpose:
// the sub mapping (old sub → new sub) is what apps keyed on sub need after
// a restore, and nothing tells when they are done with it. So:
//   - Prune removes the checkpoint of a restore whose snapshot no longer
//     exists (forgotten or removed), once its newest object is older than
//     the grace period: a restore still running writes every step, and is
//     never touched. A restore "at" T restores a point-in-time snapshot
//     that is never stored: its checkpoint goes by the rule of the base
//     snapshot its pin names (RestorePinName), so a finished one's sub
//     mapping is kept as any other's, and an unfinished one resumed after
//     a weekend finds its state;
//   - Forget keeps a snapshot (or a pin's base) an unfinished restore
//     checkpoint names (holdRestoring): its next step reads it;
//   - the rest a person removes with 'cogvault checkpoints remove', which
//     refuses a restore that has no report yet and wrote within the grace
//     period (it may be running) unless forced.

// RestoreCheckpointPrefix is where restores keep their checkpoints, under
// CheckpointPrefix.
const RestoreCheckpointPrefix = "restore/"

// RestoreReportName is the object a finished restore stores its report in,
// beside its state.
const RestoreReportName = "report.json"

// RestorePinName is the object a restore "at" T keeps beside its state:
// what its first step derived the point in time from (pitr.Pin: the base
// snapshot, the time, the journal keys), so that later steps derive the
// same snapshot, and prune and forget know which stored snapshot it reads.
const RestorePinName = "pin.json"

// RestorePinCheckpoint names the pin of the restore of snapshotID (a
// derived one) into target.
func RestorePinCheckpoint(target, snapshotID string) string {
	return RestoreCheckpointPrefix + target + "/" + snapshotID + "/" + RestorePinName
}

// RestoreCheckpoint is the checkpoint of one restore of Snapshot into
// Target.
type RestoreCheckpoint struct {
	Target   string `json:"target"`
	Snapshot string `json:"snapshot"`
	// Finished says the restore stored its report: it ran to its end.
	Finished bool `json:"finished"`
	// SnapshotExists says the snapshot's manifest is in the repository.
	SnapshotExists bool `json:"snapshotExists"`
	// Base is the stored snapshot a restore "at" T derived its snapshot
	// from (its pin), and BaseExists whether it is in the repository: such
	// a checkpoint is kept as one of its base.
	Base       string    `json:"base,omitempty"`
	BaseExists bool      `json:"baseExists,omitempty"`
	Objects    int       `json:"objects"`
	Bytes      int64     `json:"bytes"`
	Newest     time.Time `json:"newest"`
	keys       []string
	pinned     bool  // it has a pin (RestorePinName)
	pinErr     error // why its pin could not be read
}

// Name is the checkpoint's name: restore/<target>/<snapshot>/.
func (c *RestoreCheckpoint) Name() string {
	return RestoreCheckpointPrefix + c.Target + "/" + c.Snapshot + "/"
}

// RestoreCheckpoints lists the restore checkpoints, by target and snapshot.
// exists says which snapshot ids have a manifest (nil: read them).
func (r *Repo) RestoreCheckpoints(ctx context.Context, exists map[string]bool) ([]*RestoreCheckpoint, error) {
	if exists == nil {
		var err error
		if exists, err = r.snapshotIDs(ctx); err != nil {
			return nil, err
		}
	}
	byName := map[string]*RestoreCheckpoint{}
	prefix := CheckpointPrefix + RestoreCheckpointPrefix
	for o, err := range r.Store.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", prefix, r.Store, err)
		}
		parts := strings.SplitN(strings.TrimPrefix(o.Key, prefix), "/", 3)
		if len(parts) < 3 {
			continue // not a restore's object
		}
		name := parts[0] + "/" + parts[1]
		c := byName[name]
		if c == nil {
			c = &RestoreCheckpoint{Target: parts[0], Snapshot: parts[1], SnapshotExists: exists[parts[1]]}
			byName[name] = c
		}
		c.Objects++
		c.Bytes += o.Size
		c.keys = append(c.keys, o.Key)
		if o.ModTime.After(c.Newest) {
			c.Newest = o.ModTime
		}
		switch parts[2] {
		case RestoreReportName:
			c.Finished = true
		case RestorePinName:
			c.pinned = true
		}
	}
	out := make([]*RestoreCheckpoint, 0, len(byName))
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		c := byName[n]
		if c.pinned {
			c.pinErr = r.readPinBase(ctx, c, exists)
		}
		out = append(out, c)
	}
	return out, nil
}

// readPinBase fills in the base snapshot of a pinned (restore "at" T)
// checkpoint. Only the pin's "base" is read: its format is pitr.Pin's.
func (r *Repo) readPinBase(ctx context.Context, c *RestoreCheckpoint, exists map[string]bool) error {
	name := RestorePinCheckpoint(c.Target, c.Snapshot)
	rc, err := r.GetCheckpoint(ctx, name)
	if err != nil {
		return fmt.Errorf("read the pin of restore checkpoint %s: %w", c.Name(), err)
	}
	defer rc.Close()
	var pin struct {
		Base string `json:"base"`
	}
	if err := json.NewDecoder(io.LimitReader(rc, 1<<30)).Decode(&pin); err != nil || pin.Base == "" {
		return fmt.Errorf("restore checkpoint %s: %w: its %s names no base snapshot (%v); remove the checkpoint with 'cogvault checkpoints remove'", c.Name(), snapshot.ErrDamaged, RestorePinName, err)
	}
	c.Base, c.BaseExists = pin.Base, exists[pin.Base]
	return nil
}

// snapshotIDs says which snapshot ids have a manifest, readable or not.
func (r *Repo) snapshotIDs(ctx context.Context) (map[string]bool, error) {
	ms, problems, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range ms {
		out[m.ID] = true
	}
	for _, p := range problems {
		if id, ok := snapshot.IDFromManifestKey(p.Key); ok {
			out[id] = true
		}
	}
	return out, nil
}

// pruneRestoreCheckpoints removes the checkpoints of restores whose
// snapshot does not exist and that wrote nothing since cutoff.
func (r *Repo) pruneRestoreCheckpoints(ctx context.Context, exists map[string]bool, cutoff time.Time, dryRun bool, rep *PruneReport) error {
	cps, err := r.RestoreCheckpoints(ctx, exists)
	if err != nil {
		return err
	}
	var doomed []string
	for _, c := range cps {
		switch {
		case c.SnapshotExists || c.BaseExists:
			continue // its sub mapping may be wanted: 'checkpoints remove'
		case c.pinErr != nil:
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s; kept", c.pinErr))
			continue // which base it belongs to is unknown: keep it
		case c.Newest.After(cutoff):
			rep.YoungCheckpoints = append(rep.YoungCheckpoints, c.Name())
			continue // a restore may still be running
		}
		rep.Checkpoints = append(rep.Checkpoints, c.Name())
		doomed = append(doomed, c.deleteOrder()...)
	}
	return r.deleteAll(ctx, doomed, dryRun)
}

// deleteOrder is the checkpoint's keys with the report last, so that a
// removal cut short leaves an unfinished-looking checkpoint, which prune
// and remove treat with more care, never a finished one without state.
func (c *RestoreCheckpoint) deleteOrder() []string {
	var keys []string
	var last []string
	for _, k := range c.keys {
		if strings.HasSuffix(k, "/"+RestoreReportName) {
			last = append(last, k)
			continue
		}
		keys = append(keys, k)
	}
	return append(keys, last...)
}

// ErrRestoreMayRun refuses to remove the checkpoint of a restore that may
// still be running.
var ErrRestoreMayRun = errors.New("the restore has no report yet and wrote within the grace period: it may still be running")

// RemoveRestoreCheckpoint removes the checkpoint of the restore of
// snapshotID into target and returns what it removed (storage.ErrNotExist
// wrapped when there is none). It refuses one without a report whose
// newest object is younger than grace, unless force.
func (r *Repo) RemoveRestoreCheckpoint(ctx context.Context, target, snapshotID string, grace time.Duration, force, dryRun bool) (*RestoreCheckpoint, error) {
	cps, err := r.RestoreCheckpoints(ctx, map[string]bool{})
	if err != nil {
		return nil, err
	}
	for _, c := range cps {
		if c.Target != target || c.Snapshot != snapshotID {
			continue
		}
		if !c.Finished && !force && time.Since(c.Newest) < grace {
			return c, fmt.Errorf("checkpoint %s%s: %w (last write %s ago); wait until it ends, or pass --force if you know it stopped for good",
				CheckpointPrefix, c.Name(), ErrRestoreMayRun, time.Since(c.Newest).Round(time.Second))
		}
		return c, r.deleteAll(ctx, c.deleteOrder(), dryRun)
	}
	return nil, fmt.Errorf("no checkpoint of a restore of snapshot %s into %s in %s (see 'cogvault checkpoints list'): %w", snapshotID, target, r.Store, storage.ErrNotExist)
}
