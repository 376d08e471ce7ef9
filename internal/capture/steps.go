package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// Long work runs in steps (issue 14): an invocation lives at most 900 s
// (Lambda developer guide, "Configure Lambda function timeout"; facts §18), so
// a restore stops before its deadline, keeps its progress in the
// repository (never /tmp: the next invocation may run in a fresh
// environment) and answers {"done": false, "resume": {…}}; the caller
// (the Step Functions state machine, deploy/terraform) invokes it again
// with the original request plus that "resume", until {"done": true, …}.

// stepMargin is what a step leaves of its time for finishing the users in
// flight and storing its checkpoint; stepShare the most of its time it
// uses, so that short deadlines (tests, a small function timeout) work too.
const (
	stepMargin = 60 * time.Second
	stepShare  = 0.8
)

// stopAt is when a step given the time until deadline stops handing out
// work: the earlier of deadline − 60 s and 80 % of the time left, the
// first dropped when the time left is too short for it to be positive.
func stopAt(now, deadline time.Time) time.Time {
	left := deadline.Sub(now)
	use := time.Duration(float64(left) * stepShare)
	if left > stepMargin && left-stepMargin < use {
		use = left - stepMargin
	}
	return now.Add(use)
}

// stepLimits are the restore's Stop for an invocation with ctx's deadline
// (nil without one: run to the end) and the context it runs in, which is
// cancelled half-way between the stop and the deadline: users still in
// flight then (waiting out throttling) are abandoned as a crash would
// abandon them, which the state's intent records make safe to resume, so
// that the checkpoint is always stored before the deadline.
func stepLimits(ctx context.Context) (func() bool, context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, ctx, func() {}
	}
	now := time.Now()
	at := stopAt(now, deadline)
	rctx, cancel := context.WithDeadline(ctx, at.Add(deadline.Sub(at)/2))
	return func() bool { return !time.Now().Before(at) }, rctx, cancel
}

// RestoreResume is what a restore step hands the next: the snapshot it
// restores (pinned, as "latest" may move on) and how many steps ran. The
// progress itself is in the repository's checkpoints.
type RestoreResume struct {
	Snapshot string `json:"snapshot"`
	Steps    int    `json:"steps"`
	// Generation is the state generation the restore works on (0: not
	// known, from a step that waited for the lease or an older cogvault):
	// a finished restore run again starts a new one (restore.StartGeneration).
	Generation int `json:"generation,omitempty"`
	// Fresh says no step of this request has run yet (the first waited for
	// the lease): the next is still a new request, not a resume.
	Fresh bool `json:"fresh,omitempty"`
}

// check refuses a resume object that does not belong to this restore.
func (r *RestoreResume) check(snapshotID string) error {
	if r == nil {
		return nil
	}
	if r.Snapshot == "" || r.Steps < 1 {
		return errors.New(`restore request: resume: want the "resume" object of the previous step's answer ({"snapshot": …, "steps": …})`)
	}
	if r.Snapshot != snapshotID {
		return fmt.Errorf("restore request: resume is for snapshot %s, the request restores %s; resend the original request with the previous answer's resume", r.Snapshot, snapshotID)
	}
	return nil
}

// stepAnswer is a step's answer while the work is not done.
type stepAnswer struct {
	Done        bool           `json:"done"`
	Resume      *RestoreResume `json:"resume"`
	Snapshot    string         `json:"snapshot"`
	Target      string         `json:"target"`
	UsersDone   int64          `json:"usersDone"`
	UsersTotal  int64          `json:"usersTotal"`
	Memberships int64          `json:"memberships"`
	// Waiting says why a step did nothing: another run held the lease.
	Waiting string `json:"waiting,omitempty"`
}

// finalAnswer is the last step's answer: the report, done. Its item lists
// are counted by (what, reason), without usernames; the full report is in
// the repository (ReportCheckpoint). The answer lands in the state
// machine's execution history, which is a log (nothing personal in logs),
// and Step Functions fails a state whose output passes 256 KiB (Step
// Functions developer guide, "Step Functions service quotas"), which a
// report listing every user of a large pool would.
type finalAnswer struct {
	Done bool `json:"done"`
	*restore.Report
	NotRestored      []itemCount `json:"notRestored"`
	Changed          []itemCount `json:"changed"`
	ReportCheckpoint string      `json:"reportCheckpoint,omitempty"`
}

// itemCount counts report items of one kind and reason.
type itemCount struct {
	What   string `json:"what"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

func newFinalAnswer(rep *restore.Report, checkpoint string) finalAnswer {
	return finalAnswer{Done: true, Report: rep, NotRestored: countItems(rep.NotRestored), Changed: countItems(rep.Changed), ReportCheckpoint: checkpoint}
}

// countItems counts items by (what, reason), in the order first seen.
func countItems(items []restore.Item) []itemCount {
	keys, n := tally(items, func(it restore.Item) [2]string { return [2]string{it.What, it.Reason} })
	out := make([]itemCount, 0, len(keys))
	for _, k := range keys {
		out = append(out, itemCount{What: k[0], Reason: k[1], Count: n[k]})
	}
	return out
}

// tally counts xs by key; keys are in the order first seen.
func tally[T any, K comparable](xs []T, key func(T) K) ([]K, map[K]int) {
	var keys []K
	n := map[K]int{}
	for _, x := range xs {
		k := key(x)
		if n[k] == 0 {
			keys = append(keys, k)
		}
		n[k]++
	}
	return keys, n
}

// restoreStep runs one step of a restore whose state lives in the
// repository (checkpoints/restore/<target>/<snapshot>/). It holds the
// restore's lease while it runs: a retried step that starts while the first
// attempt still runs waits for it (restore.AcquireLease).
func (h *Handler) restoreStep(ctx context.Context, src *repo.Repo, m *snapshot.Manifest, opts restore.Options, resume *RestoreResume) (json.RawMessage, error) {
	lease, waited, err := h.restoreLease(ctx, opts.Target, m.ID)
	var busy *restore.BusyError
	if errors.As(err, &busy) {
		return h.busyAnswer(m.ID, opts.Target, resume, busy)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			h.cfg.Log.Warn("restore step could not release its lease; the next step waits for its time", "snapshot", m.ID, "target", opts.Target, "err", err)
		}
	}()
	gen, ans, err := h.restoreGeneration(ctx, opts.Target, m.ID, resume)
	if ans != nil || err != nil {
		return ans, err
	}
	return h.runRestoreStep(ctx, src, m, opts, resume, gen, waited)
}

// leaseWait is how often a step waiting for the lease looks again.
const leaseWait = 250 * time.Millisecond

// restoreLease takes the restore's lease until the step's deadline (the
// invocation ends then; without one, 15 minutes, Lambda's longest), waiting
// for another holder up to half the step's working time. waited says it
// waited: its step may then have had no time left to work.
func (h *Handler) restoreLease(ctx context.Context, target, snapshotID string) (*restore.Lease, bool, error) {
	now := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(15 * time.Minute)
	}
	giveUp := now.Add(stopAt(now, deadline).Sub(now) / 2)
	return restore.WaitLease(ctx, h.cfg.Repo, target, snapshotID, deadline, giveUp, leaseWait)
}

// busyAnswer answers a step that could not take the lease: not done, the
// same resume, so that the state machine invokes the next step, which
// waits again. The holder's time is bounded (its invocation's deadline, or
// a CLI run's renewals), so this ends.
func (h *Handler) busyAnswer(snapshotID, target string, resume *RestoreResume, busy *restore.BusyError) (json.RawMessage, error) {
	next := &RestoreResume{Snapshot: snapshotID, Steps: 1, Fresh: true}
	if resume != nil {
		next.Steps, next.Generation, next.Fresh = resume.Steps+1, resume.Generation, resume.Fresh
	}
	h.cfg.Log.Info("restore step found another run of the restore holding its lease", "snapshot", snapshotID, "target", target, "until", busy.Until)
	return json.Marshal(stepAnswer{Resume: next, Snapshot: snapshotID, Target: target, Waiting: busy.Error()})
}

// restoreGeneration picks the state generation the step works on. A new
// request (no resume) of a finished restore starts a new generation (the
// finished one's sub mapping and report are kept under gen-N/): it must
// re-create the users lost since, not continue a finished state. A resume
// of a generation that finished (its answer was lost) is answered from its
// stored report.
func (h *Handler) restoreGeneration(ctx context.Context, target, snapshotID string, resume *RestoreResume) (int, json.RawMessage, error) {
	if resume == nil || resume.Fresh {
		gen, err := restore.StartGeneration(ctx, h.cfg.Repo, target, snapshotID)
		return gen, nil, err
	}
	cur, finished, err := restore.Generation(ctx, h.cfg.Repo, target, snapshotID)
	if err != nil {
		return 0, nil, err
	}
	stored := func(gen int) (int, json.RawMessage, error) {
		ans, err := h.storedAnswer(ctx, target, snapshotID, gen)
		return 0, ans, err
	}
	switch g := resume.Generation; {
	case g > cur:
		return 0, nil, fmt.Errorf("restore request: resume is for generation %d of the restore of %s into %s, the repository's newest is %d (its checkpoint was removed?); send the request without resume to start over", g, snapshotID, target, cur)
	case g != 0 && g < cur:
		return stored(g)
	case finished:
		return stored(0)
	}
	return cur, nil, nil
}

// storedAnswer answers again for a finished generation (0: the current).
func (h *Handler) storedAnswer(ctx context.Context, target, snapshotID string, gen int) (json.RawMessage, error) {
	rep, err := restore.ReadReport(ctx, h.cfg.Repo, target, snapshotID, gen)
	if err != nil {
		return nil, fmt.Errorf("restore request: the resumed restore finished, but its report cannot be read: %w", err)
	}
	name := restore.ReportCheckpoint(target, snapshotID)
	if gen > 0 {
		name = restore.GenerationCheckpoint(target, snapshotID, gen) + repo.RestoreReportName
	}
	return json.Marshal(newFinalAnswer(rep, name))
}

// runRestoreStep runs the restore, holding the lease, from the state the
// repository has, and stores what it did.
func (h *Handler) runRestoreStep(ctx context.Context, src *repo.Repo, m *snapshot.Manifest, opts restore.Options, resume *RestoreResume, gen int, waited bool) (json.RawMessage, error) {
	st, err := restore.FetchState(ctx, h.cfg.Repo, opts.Target, m.ID, os.TempDir())
	if err != nil {
		return nil, err
	}
	defer st.Remove()
	stop, rctx, cancelRun := stepLimits(ctx)
	defer cancelRun()
	opts.StatePath, opts.Stop = st.Path(), stop
	stats := &restore.Stats{}
	rep, err := restore.Run(rctx, h.cfg.Cognito, src, m, opts, stats)
	// Cut short by the step's own limit, not by the caller: a stop.
	cut := err != nil && rctx.Err() != nil && ctx.Err() == nil
	// Store the progress whatever happened: users created before a failure
	// are known to the next attempt. A cancelled ctx may not write, so the
	// checkpoint gets its own short one.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	saved, serr := st.Save(sctx)
	if serr != nil {
		return nil, errors.Join(err, serr)
	}
	if cut && saved == 0 && !waited {
		// Another step would end the same way: fail instead of looping.
		return nil, fmt.Errorf("restore step made no progress before its deadline (it spends it reading the snapshot and the target): give the function a longer timeout: %w", err)
	}
	steps := 1
	if resume != nil {
		steps = resume.Steps + 1
	}
	switch {
	case errors.Is(err, restore.ErrStopped) || cut:
		h.cfg.Log.Info("restore step stopped before its deadline", "snapshot", m.ID, "target", opts.Target, "step", steps, "users", stats.Users.Load())
		return json.Marshal(stepAnswer{Resume: &RestoreResume{Snapshot: m.ID, Steps: steps, Generation: gen}, Snapshot: m.ID, Target: opts.Target,
			UsersDone: stats.Users.Load(), UsersTotal: stats.UsersTotal.Load(), Memberships: stats.Memberships.Load()})
	case err != nil:
		h.metric("RestoreFailures", 1)
		return nil, err
	}
	if err := st.SaveMappings(sctx, rep.Mappings); err != nil {
		return nil, err
	}
	if err := st.SaveReport(sctx, rep); err != nil {
		return nil, err
	}
	return json.Marshal(newFinalAnswer(rep, restore.ReportCheckpoint(opts.Target, m.ID)))
}
