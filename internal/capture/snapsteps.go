package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// A snapshot runs in steps like a restore (steps.go): each step lists
// until stopAt, closes the chunks it wrote, stores its progress (the
// chains' pagination tokens, the chunks written with their checksums, the
// counts) as a checkpoint in the repository, and answers {"done": false,
// "resume": {…}}; the last step writes the manifest, naming the objects of
// every step, and answers as before. The checkpoints live under
// checkpoints/snapshot/<pool>/<snapshot>/step-NNNNNN.json, written once
// each through the repository's own (signed, encrypted) write path, beside
// each stopped step's list of the subs it wrote (subs-sNNNN-<random>.bin.zst,
// stored by backup.RunStep before the progress that names it).

// SnapshotResume is what a snapshot step hands the next: the pool and the
// snapshot it is writing, and how many steps ran. The progress itself is
// in the repository's checkpoints.
type SnapshotResume struct {
	Pool     string `json:"pool"`
	Snapshot string `json:"snapshot"`
	Steps    int    `json:"steps"`
	// Stalls counts the steps in a row that got no further (a slow cold
	// start, a throttling storm): the snapshot fails at MaxStalls.
	Stalls int `json:"stalls,omitempty"`
}

// MaxStalls is how many steps in a row may get no further before the
// snapshot fails: one such step can be bad luck (its start-up or a slow
// service ate its time), three say the function's timeout is too short.
const MaxStalls = 3

// check refuses a resume object that does not belong to this function's
// pool.
func (r *SnapshotResume) check(poolID string) error {
	if r == nil {
		return nil
	}
	if r.Pool == "" || r.Snapshot == "" || r.Steps < 1 {
		return errors.New(`snapshot request: resume: want the "resume" object of the previous step's answer ({"pool": …, "snapshot": …, "steps": …})`)
	}
	if r.Pool != poolID {
		return fmt.Errorf("snapshot request: resume is for pool %s, this function backs up %s; resend the original request with the previous answer's resume", r.Pool, poolID)
	}
	if strings.ContainsAny(r.Snapshot, "/\\") {
		return fmt.Errorf("snapshot request: resume: %q is not a snapshot id", r.Snapshot)
	}
	return nil
}

// SnapshotCheckpoint is the checkpoint name prefix of a snapshot in steps.
func SnapshotCheckpoint(poolID, snapshotID string) string {
	return "snapshot/" + poolID + "/" + snapshotID + "/"
}

// snapshotStepAnswer is a snapshot step's answer while the work is not
// done: counts only, no user names.
type snapshotStepAnswer struct {
	Done          bool            `json:"done"`
	Resume        *SnapshotResume `json:"resume"`
	Snapshot      string          `json:"snapshot"`
	UsersDone     int64           `json:"usersDone"`
	UsersEstimate int64           `json:"usersEstimate"`
	Memberships   int64           `json:"memberships"`
}

// loadProgress reads the newest progress checkpoint of the snapshot resume
// names: a retried step (its answer lost after storing its checkpoint)
// continues from what it stored, not from what its request says.
func (h *Handler) loadProgress(ctx context.Context, r *SnapshotResume) (*backup.Progress, error) {
	prefix := SnapshotCheckpoint(r.Pool, r.Snapshot)
	names, err := h.cfg.Repo.Checkpoints(ctx, prefix)
	if err != nil {
		return nil, err
	}
	newest := ""
	for _, n := range names {
		if strings.HasPrefix(n, prefix+"step-") && strings.HasSuffix(n, ".json") {
			newest = n // names sort by step
		}
	}
	if newest == "" {
		return nil, requestError{fmt.Errorf("snapshot request: resume: %w of snapshot %s of %s in the repository (never begun, or abandoned and pruned); send the request without resume to take a new snapshot", errNoCheckpoint, r.Snapshot, r.Pool)}
	}
	rc, err := h.cfg.Repo.GetCheckpoint(ctx, newest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var p backup.Progress
	if err := json.NewDecoder(rc).Decode(&p); err != nil {
		return nil, fmt.Errorf("snapshot checkpoint %s: %w", newest, err)
	}
	if p.Snapshot != r.Snapshot {
		return nil, fmt.Errorf("snapshot checkpoint %s is of snapshot %s", newest, p.Snapshot)
	}
	return &p, nil
}

// errNoFurther: a snapshot step got no further than the steps before it
// (its text names no user, so the redacted error keeps it).
var errNoFurther = errors.New("the snapshot step got no further than the steps before it before its deadline (a chain whose pagination token expired is listed again from its start): give the function a longer timeout")

// errNoCheckpoint: a resumed snapshot has no checkpoint.
var errNoCheckpoint = errors.New("no checkpoint")

// saveProgress stores a stopped step's progress as the next checkpoint.
func (h *Handler) saveProgress(ctx context.Context, p *backup.Progress) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%sstep-%06d.json", SnapshotCheckpoint(p.PoolID, p.Snapshot), p.Steps)
	if err := h.cfg.Repo.PutCheckpoint(ctx, name, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("save snapshot progress: %w", err)
	}
	return nil
}

// snapshotLimits are a snapshot step's Stop and Cut for an invocation with
// ctx's deadline (none without one: run to the end): it stops handing out
// pages at stopAt, and abandons list calls still in flight half-way from
// there to the deadline, so that its chunks and checkpoint are stored in
// time.
func snapshotLimits(ctx context.Context) (func() bool, time.Time) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, time.Time{}
	}
	at := stopAt(time.Now(), deadline)
	return func() bool { return !time.Now().Before(at) }, at.Add(deadline.Sub(at) / 2)
}

// snapshotStep runs one step of a snapshot: the last returns the manifest
// it wrote, the others their answer.
func (h *Handler) snapshotStep(ctx context.Context, resume *SnapshotResume) (*snapshot.Manifest, json.RawMessage, error) {
	opts := backup.Options{
		PoolID: h.cfg.PoolID, Region: h.cfg.Region, ToolVersion: h.cfg.ToolVersion, Now: h.cfg.Now, Rand: h.cfg.Rand,
		Warn: func(msg string) { h.cfg.Log.Warn(msg) }, Reread: h.cfg.Repo, SubLists: subLists{h.cfg.Repo, h.cfg.PoolID},
	}
	if resume != nil {
		m, p, err := h.resumeSnapshot(ctx, resume)
		if m != nil || err != nil {
			return m, nil, err
		}
		opts.Resume = p
	}
	if h.cfg.AgeIdentity || h.cfg.Repo.Config == nil || h.cfg.Repo.Config.Encryption != repo.EncryptionAge {
		opts.Stop, opts.Cut = snapshotLimits(ctx)
	} else {
		// A resumed step reads back its checkpoint and the users earlier
		// steps wrote; without the worker's age identity (facts §18, §29)
		// the snapshot in an encrypted repository runs in one invocation,
		// to its deadline, as before.
		h.cfg.Log.Info("encrypted repository and no age identity (COGVAULT_AGE_IDENTITY_SECRET_ARN): the snapshot runs in one invocation, not in steps")
	}
	stats := &backup.Stats{}
	m, p, err := backup.RunStep(ctx, h.cfg.Cognito, h.cfg.Repo.Store, opts, stats)
	if err == nil {
		h.dropProgress(ctx, m)
		return m, nil, nil
	}
	if !errors.Is(err, backup.ErrStopped) {
		return nil, nil, err
	}
	return h.stopped(ctx, resume, p, stats)
}

// resumeSnapshot is the progress a resumed step continues from, or the
// snapshot an earlier attempt of the last step finished already.
func (h *Handler) resumeSnapshot(ctx context.Context, resume *SnapshotResume) (*snapshot.Manifest, *backup.Progress, error) {
	if m := h.finishedSnapshot(ctx, resume); m != nil {
		// An attempt of the last step wrote the snapshot and was killed
		// before removing its checkpoints (snapretry.go).
		h.dropProgress(ctx, m)
		return m, nil, nil
	}
	p, err := h.loadProgress(ctx, resume)
	if errors.Is(err, errNoCheckpoint) {
		// The last step finished (and removed its checkpoints) but its
		// answer was lost, and the state machine retried it: answer again
		// for the snapshot it wrote.
		if m, merr := h.cfg.Repo.Manifest(ctx, resume.Snapshot); merr == nil && m.PoolID == resume.Pool {
			return m, nil, nil
		}
	}
	return nil, p, err
}

// stopped stores a stopped step's progress and answers for it: done false
// with the next resume, or done with the snapshot another attempt
// finished meanwhile; a step that got no further than the ones before it
// MaxStalls times in a row fails.
func (h *Handler) stopped(ctx context.Context, resume *SnapshotResume, p *backup.Progress, stats *backup.Stats) (*snapshot.Manifest, json.RawMessage, error) {
	// The checkpoint gets its own short context: the step is near its end.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := h.saveProgress(sctx, p); err != nil {
		return h.stepStored(sctx, p, err)
	}
	if m := h.finishedSnapshot(sctx, &SnapshotResume{Pool: p.PoolID, Snapshot: p.Snapshot, Steps: p.Steps}); m != nil {
		// Another attempt finished the snapshot while this one ran: the
		// checkpoint just stored is stale (snapretry.go).
		h.dropProgress(sctx, m)
		return m, nil, nil
	}
	stalls := 0
	if !p.Advanced() && p.Steps > 1 && resume != nil {
		// More steps would likely end the same way: fail instead of
		// looping, once it has happened MaxStalls times in a row.
		if stalls = resume.Stalls + 1; stalls >= MaxStalls {
			return nil, nil, fmt.Errorf("snapshot step %d (%d list pages read; %d steps in a row): %w", p.Steps, stats.Pages.Load(), stalls, errNoFurther)
		}
		h.cfg.Log.Warn("snapshot step got no further than the steps before it; the next step tries again", "snapshot", p.Snapshot, "step", p.Steps, "stalls", stalls)
	}
	h.cfg.Log.Info("snapshot step stopped before its deadline", "snapshot", p.Snapshot, "step", p.Steps, "users", p.Users)
	ans, err := snapshotAnswer(p, stalls)
	return nil, ans, err
}

// dropProgress removes a finished snapshot's checkpoints and the chunks
// under its data that its manifest does not name (an attempt of a step
// killed before it stored its checkpoint; nothing else would ever remove
// them, as prune leaves the data of a snapshot with a manifest alone).
// What is left (a delete refused) is only clutter: logged, not failed.
func (h *Handler) dropProgress(ctx context.Context, m *snapshot.Manifest) {
	err := h.cfg.Repo.DeleteCheckpoints(ctx, SnapshotCheckpoint(m.PoolID, m.ID))
	named := map[string]bool{}
	for _, o := range m.Objects {
		named[snapshot.DataKey(m.ID, o.Name)] = true
	}
	for o, lerr := range h.cfg.Repo.Store.List(ctx, snapshot.DataKey(m.ID, "")) {
		if lerr != nil {
			err = errors.Join(err, lerr)
			break
		}
		if !named[o.Key] {
			err = errors.Join(err, h.cfg.Repo.Store.Delete(ctx, o.Key))
		}
	}
	if err != nil {
		h.cfg.Log.Warn("the finished snapshot's checkpoints or stray chunks were not all removed", "snapshot", m.ID, "error", err.Error())
	}
}

var _ backup.Rereader = (*repo.Repo)(nil)

// subLists keeps a snapshot step's sub lists as checkpoints beside its
// progress, so that they are signed and encrypted as the progress is and
// removed with it.
type subLists struct {
	r    *repo.Repo
	pool string
}

func (s subLists) PutSubList(ctx context.Context, snapshotID, name string, r io.Reader) error {
	return s.r.PutCheckpoint(ctx, SnapshotCheckpoint(s.pool, snapshotID)+name, r)
}

func (s subLists) GetSubList(ctx context.Context, snapshotID, name string) (io.ReadCloser, error) {
	return s.r.GetCheckpoint(ctx, SnapshotCheckpoint(s.pool, snapshotID)+name)
}
