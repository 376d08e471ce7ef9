package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// SnapshotResult is what the last step of the scheduled action returns
// (the steps before it answer snapshotStepAnswer, snapsteps.go).
type SnapshotResult struct {
	Done     bool            `json:"done"`
	Snapshot string          `json:"snapshot"`
	Counts   snapshot.Counts `json:"counts"`
	// Incomplete is what the snapshot lacks (the CLI's exit 3): it was
	// written and kept, but is not whole. Retention is not applied after
	// such a run, so that it never forgets a whole snapshot for it.
	Incomplete []snapshot.Gap `json:"incomplete,omitempty"`
	Forgotten  []string       `json:"forgotten"`
	// KeptForRestores are snapshots the policy would forget that a restore
	// still reads (repo.ReasonRestoring): kept until it finishes.
	KeptForRestores []string            `json:"keptForRestores,omitempty"`
	Prune           *repo.PruneReport   `json:"prune,omitempty"`
	Policy          string              `json:"policy,omitempty"`
	Took            string              `json:"took"`
	Manifest        *snapshot.Manifest  `json:"-"`
	Decisions       []snapshot.Decision `json:"-"`
}

// snapshot takes a full snapshot, in steps (snapsteps.go), then, in the
// last step, applies the retention policy to this pool's snapshots and
// prunes. raw is the request (or the scheduled event): only its "resume"
// is read.
func (h *Handler) snapshot(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	start := h.cfg.Now()
	var req struct {
		Resume *SnapshotResume `json:"resume"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, requestError{fmt.Errorf("snapshot request: %w (fields: action, resume)", err)}
	}
	if err := req.Resume.check(h.cfg.PoolID); err != nil {
		return nil, requestError{err}
	}
	m, ans, err := h.snapshotStep(ctx, req.Resume)
	if err != nil {
		h.metric("SnapshotFailures", 1)
		return nil, err
	}
	if m == nil {
		return ans, nil
	}
	res := SnapshotResult{Done: true, Snapshot: m.ID, Counts: m.Counts, Incomplete: m.Incomplete, Forgotten: []string{}, Manifest: m}
	h.cfg.Log.Info("snapshot written", "snapshot", m.ID, "users", m.Counts.Users, "groups", m.Counts.Groups)
	if !m.Complete() {
		h.metric("IncompleteSnapshots", 1)
		h.cfg.Log.Warn("snapshot is incomplete; retention not applied this run", "snapshot", m.ID, "gaps", len(m.Incomplete))
	}
	if !h.cfg.Retention.Empty() && m.Complete() {
		res.Policy = h.cfg.Retention.String()
		all, _, err := h.cfg.Repo.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		var mine []*snapshot.Manifest
		for _, s := range all {
			if s.PoolID == h.cfg.PoolID {
				mine = append(mine, s)
			}
		}
		if res.Decisions, err = snapshot.Apply(mine, h.cfg.Retention); err != nil {
			return nil, err
		}
		if res.Forgotten, err = h.cfg.Repo.Forget(ctx, res.Decisions, false); err != nil {
			return nil, err
		}
		res.Forgotten = append([]string{}, res.Forgotten...) // [] in JSON when none
		res.KeptForRestores = keptForRestores(res.Decisions)
		if res.Prune, err = h.cfg.Repo.Prune(ctx, repo.PruneOptions{Grace: h.cfg.PruneGrace, Now: h.cfg.Now}); err != nil {
			return nil, err
		}
		h.cfg.Log.Info("retention applied", "policy", res.Policy, "forgotten", len(res.Forgotten), "keptForRestores", len(res.KeptForRestores), "prunedObjects", res.Prune.DataObjects, "prunedEvents", res.Prune.JournalEvents)
	}
	res.Took = h.cfg.Now().Sub(start).Round(time.Millisecond).String()
	h.metric("Snapshots", 1)
	return json.Marshal(res)
}

// RestoreRequest is the manual invoke {"action": "restore", …}.
type RestoreRequest struct {
	Action string `json:"action"`
	// Snapshot is an id, a prefix or "latest" (default); At a time (RFC
	// 3339) instead: the newest snapshot finished by then plus the journal.
	Snapshot string `json:"snapshot"`
	At       string `json:"at"`
	// Target defaults to the function's own pool: re-create lost users,
	// leave existing ones alone (the seed design's restore Lambda).
	Target     string `json:"targetPoolId"`
	Via        string `json:"via"`
	OnExisting string `json:"onExisting"`
	DryRun     bool   `json:"dryRun"`
	// AllowTriggers lets the restore write users into a pool with Lambda
	// triggers, such as the pool whose PostConfirmation trigger is this
	// function (restore.Options.AllowTriggers).
	AllowTriggers bool `json:"allowTriggers"`
	// Resume is the "resume" of the previous step's answer (steps.go).
	Resume *RestoreResume `json:"resume,omitempty"`
}

func (h *Handler) restore(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var req RestoreRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, requestError{fmt.Errorf("restore request: %w (fields: snapshot, at, targetPoolId, via, onExisting, dryRun, allowTriggers, resume)", err)}
	}
	if req.Target == "" {
		req.Target = h.cfg.PoolID
	}
	if req.OnExisting == "" {
		req.OnExisting = restore.OnExistingSkip
	}
	if req.Via == "" {
		req.Via = restore.ViaAdmin
		if h.cfg.ImportRoleArn != "" {
			req.Via = restore.ViaImport
		}
	}
	if req.Via == restore.ViaImport && h.cfg.ImportRoleArn == "" && !req.DryRun {
		return nil, requestError{errors.New("restore request: via import needs COGVAULT_IMPORT_ROLE_ARN")}
	}
	if req.At != "" && req.Snapshot != "" {
		return nil, requestError{errors.New("restore request: give snapshot or at, not both")}
	}
	if err := h.readable("restore"); err != nil {
		return nil, err
	}
	if err := h.checkResumeState(ctx, req.Target, req.Resume); err != nil {
		return nil, err
	}
	tmp := os.TempDir()
	src, m, pin, cleanup, err := h.restoreSource(ctx, &req, tmp)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := req.Resume.check(m.ID); err != nil {
		return nil, requestError{err}
	}
	opts := restore.Options{
		Target: req.Target, Via: req.Via, OnExisting: req.OnExisting, DryRun: req.DryRun, AllowTriggers: req.AllowTriggers,
		Import: restore.ImportOptions{RoleArn: h.cfg.ImportRoleArn, Logs: h.cfg.ImportLogs, TempDir: tmp},
		Rand:   h.cfg.Rand,
	}
	if req.DryRun {
		rep, err := restore.Run(ctx, h.cfg.Cognito, src, m, opts, nil)
		if err != nil {
			return nil, err
		}
		return json.Marshal(newFinalAnswer(rep, ""))
	}
	ans, err := h.restoreStep(ctx, src, m, opts, req.Resume)
	if err == nil && pin != nil {
		// Stored once the first step ran (and stored its state), so that
		// a refused restore leaves no pin behind; its next step needs it.
		// Its own short context, as the step's checkpoint has.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err = pitr.SavePin(sctx, h.cfg.Repo, req.Target, *pin)
	}
	return ans, err
}

// restoreSource is the repository and snapshot a restore request restores
// (cleanup removes what it derived), and for the first step of a restore
// "at" T the pin to store once the step ran (restoreAt).
func (h *Handler) restoreSource(ctx context.Context, req *RestoreRequest, tmp string) (*repo.Repo, *snapshot.Manifest, *pitr.Pin, func(), error) {
	if req.At != "" {
		return h.restoreAt(ctx, req, tmp)
	}
	ref := req.Snapshot
	if ref == "" {
		ref = "latest"
	}
	if req.Resume != nil {
		// A step continues the snapshot the first step chose, even if
		// "latest" has moved on since.
		ref = req.Resume.Snapshot
	}
	m, err := h.cfg.Repo.Resolve(ctx, ref, h.cfg.PoolID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return h.cfg.Repo, m, nil, func() {}, nil
}
