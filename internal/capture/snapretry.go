package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Two attempts of one snapshot step may run: the state machine retries a
// step on Lambda.ServiceException, SdkClientException and
// ClientExecutionTimeoutException while the first attempt may still run,
// and an invocation killed after storing its work is retried with the
// same resume. Both attempts start from the same checkpoint and write
// chunks under names of their own; only one checkpoint of the next step,
// and one manifest, can be stored (create-once). The attempt that meets
// the other's answers with it instead of failing the execution: the
// newest checkpoint's resume for a step that stopped, the manifest for
// the last step (backup.settleManifest), and the snapshot for a step that
// begins, or stores its checkpoint, after the other attempt finished it
// (finishedSnapshot below). The chunks of the
// attempt whose progress is dropped are named by nothing: the last step's
// dropProgress removes them.

// finishedSnapshot is the manifest of the snapshot r continues when an
// attempt of its last step has written it (nil otherwise, or when it
// cannot be read: the step then runs, and its own manifest write settles
// it).
func (h *Handler) finishedSnapshot(ctx context.Context, r *SnapshotResume) *snapshot.Manifest {
	m, err := h.cfg.Repo.Manifest(ctx, r.Snapshot)
	if err != nil || m.PoolID != r.Pool {
		return nil
	}
	return m
}

// stepStored answers a stopped step whose checkpoint PUT was refused
// because another attempt of the same step stored its own first: with the
// newest checkpoint of the snapshot (or the snapshot, if that attempt has
// finished it since and removed the checkpoints).
func (h *Handler) stepStored(ctx context.Context, p *backup.Progress, putErr error) (*snapshot.Manifest, json.RawMessage, error) {
	if !errors.Is(putErr, storage.ErrExist) {
		return nil, nil, putErr
	}
	r := &SnapshotResume{Pool: p.PoolID, Snapshot: p.Snapshot, Steps: p.Steps}
	newest, err := h.loadProgress(ctx, r)
	if errors.Is(err, errNoCheckpoint) {
		// The other attempt went on, finished the snapshot and removed the
		// checkpoints since: answer done with it.
		if m := h.finishedSnapshot(ctx, r); m != nil {
			h.dropProgress(ctx, m)
			return m, nil, nil
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot %s step %d: another attempt of the step stored its checkpoint first, and the newest checkpoint cannot be read: %w", p.Snapshot, p.Steps, err)
	}
	h.cfg.Log.Info("another attempt of this snapshot step stored its checkpoint first; answering with the newest", "snapshot", p.Snapshot, "step", newest.Steps)
	ans, err := snapshotAnswer(newest, 0)
	return nil, ans, err
}

// snapshotAnswer is the answer of a step that stopped at p.
func snapshotAnswer(p *backup.Progress, stalls int) (json.RawMessage, error) {
	return json.Marshal(snapshotStepAnswer{Resume: &SnapshotResume{Pool: p.PoolID, Snapshot: p.Snapshot, Steps: p.Steps, Stalls: stalls},
		Snapshot: p.Snapshot, UsersDone: p.Users, UsersEstimate: p.UsersEstimate, Memberships: p.Memberships})
}
