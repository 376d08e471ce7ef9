package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// restoreAt derives the snapshot of a restore "at" req.At into a scratch
// store under tmp (cleanup removes it). The first step derives it from the
// journal as it is and returns the pin to store once the step ran; a
// resumed step derives it from the pin the first step stored, so that an
// event that reached the journal since does not change it (pitr.Pin).
func (h *Handler) restoreAt(ctx context.Context, req *RestoreRequest, tmp string) (src *repo.Repo, m *snapshot.Manifest, pin *pitr.Pin, cleanup func(), err error) {
	t, err := time.Parse(time.RFC3339Nano, req.At)
	if err != nil {
		return nil, nil, nil, nil, requestError{fmt.Errorf("restore request: at %q: want RFC 3339, e.g. 2026-11-24T10:00:00Z", req.At)}
	}
	pt, err := h.pointAt(ctx, req, t)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	dir, err := os.MkdirTemp(tmp, "cogvault-at-")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	scratch, err := storage.NewDir(dir)
	if err == nil {
		m, err = pt.Write(ctx, h.cfg.Repo, scratch, pitr.Options{ToolVersion: h.cfg.ToolVersion})
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, nil, err
	}
	if req.Resume == nil && !req.DryRun {
		p := pt.Pin(m.ID)
		pin = &p
	}
	return repo.New(scratch), m, pin, cleanup, nil
}

// pointAt is the point in time t: from the resumed restore's pin when it
// has one, else from the journal as it is (a first step, or a checkpoint
// begun before pins: its resume holds while no late event came).
func (h *Handler) pointAt(ctx context.Context, req *RestoreRequest, t time.Time) (*pitr.Point, error) {
	if req.Resume == nil {
		return pitr.At(ctx, h.cfg.Repo, h.cfg.PoolID, t)
	}
	pin, err := pitr.LoadPin(ctx, h.cfg.Repo, req.Target, req.Resume.Snapshot)
	if errors.Is(err, storage.ErrNotExist) {
		return pitr.At(ctx, h.cfg.Repo, h.cfg.PoolID, t)
	}
	if err != nil {
		return nil, err
	}
	if !pin.At.Equal(t) || pin.PoolID != h.cfg.PoolID {
		return nil, requestError{fmt.Errorf("restore request: resume is for the state of pool %s at %s, the request asks for %s at %s; resend the original request with the previous answer's resume",
			pin.PoolID, pin.At.Format(time.RFC3339Nano), h.cfg.PoolID, t.UTC().Format(time.RFC3339Nano))}
	}
	pt, err := pitr.FromPin(ctx, h.cfg.Repo, pin)
	if err == nil && pt.Late > 0 {
		h.cfg.Log.Warn("journal events from before the restore's time arrived after its first step; this restore leaves them out, a new restore at the same time applies them", "snapshot", pin.Snapshot, "late", pt.Late)
	}
	return pt, err
}

// checkResumeState refuses a resume whose restore has no state in the
// repository (its checkpoint was removed or pruned, or the resume is of
// another repository): a step that started over would take the users the
// earlier steps created for someone else's and lose their sub mapping.
func (h *Handler) checkResumeState(ctx context.Context, target string, resume *RestoreResume) error {
	if resume == nil || resume.Snapshot == "" {
		return nil // check() refuses a resume without a snapshot
	}
	prefix := restore.StateCheckpoint(target, resume.Snapshot)
	names, err := h.cfg.Repo.Checkpoints(ctx, prefix)
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "state-") {
			return nil
		}
	}
	return requestError{fmt.Errorf("restore request: resume: the restore of snapshot %s into %s has no state in the repository (checkpoint %s%s is gone: removed, or pruned); a new step would start over and take the users earlier steps created for existing ones. Start a new restore without resume (its users will be skipped as existing) or restore into a new pool", resume.Snapshot, target, repo.CheckpointPrefix, prefix)}
}

// keptForRestores are the ids Forget kept for a restore that reads them.
func keptForRestores(ds []snapshot.Decision) []string {
	var ids []string
	for _, d := range ds {
		if slices.ContainsFunc(d.Reasons, func(r string) bool { return strings.HasPrefix(r, repo.ReasonRestoring) }) {
			ids = append(ids, d.Manifest.ID)
		}
	}
	return ids
}
