package repo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// ForgottenObjectName is the marker Forget leaves among a forgotten
// snapshot's data: it tells Prune that the data belong to a backup that
// finished and was forgotten, so they go at once, while data without a
// manifest and without the marker may be a backup still running and wait
// for the grace period. It lives under data/<id>/ so that whoever may write
// and delete data (the worker role) may write and delete it too.
const ForgottenObjectName = "forgotten"

// Forget deletes the manifests of the snapshots the decisions do not keep:
// a snapshot ceases to exist when its manifest goes; its data become garbage
// for Prune. It returns the ids forgotten (or, with dryRun, that would be).
// A snapshot a restore still reads is kept, and its decision in decisions
// changed to say so (holdRestoring).
func (r *Repo) Forget(ctx context.Context, decisions []snapshot.Decision, dryRun bool) ([]string, error) {
	if err := r.holdRestoring(ctx, decisions); err != nil {
		return nil, err
	}
	var ids []string
	for _, d := range decisions {
		if d.Keep {
			continue
		}
		ids = append(ids, d.Manifest.ID)
		if dryRun {
			continue
		}
		if err := r.forget(ctx, d.Manifest.ID); err != nil {
			return ids[:len(ids)-1], err
		}
	}
	return ids, nil
}

// ReasonRestoring begins the reason Forget gives a snapshot it keeps for
// a restore; the checkpoint's name follows.
const ReasonRestoring = "a restore from it is running or unfinished"

// holdRestoring marks kept the decisions of snapshots an unfinished
// restore checkpoint (no report) names, itself or, for a restore "at" T,
// as its pin's base: the restore's next step reads it, and a forgotten
// snapshot's data go at once. Simpler and safer than guessing by age
// whether the restore still runs: a restore left unfinished holds its
// snapshot until it finishes or 'cogvault checkpoints remove' removes it.
func (r *Repo) holdRestoring(ctx context.Context, decisions []snapshot.Decision) error {
	if !slices.ContainsFunc(decisions, func(d snapshot.Decision) bool { return !d.Keep }) {
		return nil // nothing to forget: no need to list
	}
	cps, err := r.RestoreCheckpoints(ctx, map[string]bool{})
	if err != nil {
		return err
	}
	held := map[string]string{} // snapshot id → checkpoint
	for _, c := range cps {
		if c.Finished {
			continue
		}
		if c.pinErr != nil {
			return fmt.Errorf("forget: %w; which snapshot that restore reads is unknown, so nothing is forgotten", c.pinErr)
		}
		held[c.Snapshot] = c.Name()
		if c.Base != "" {
			held[c.Base] = c.Name()
		}
	}
	for i, d := range decisions {
		if cp, ok := held[d.Manifest.ID]; ok && !d.Keep {
			decisions[i].Keep = true
			decisions[i].Reasons = append(d.Reasons, fmt.Sprintf("%s (checkpoint %s%s)", ReasonRestoring, CheckpointPrefix, cp))
		}
	}
	return nil
}

// forget marks the data first, then deletes the manifest: a crash in
// between leaves a snapshot that still exists (Prune skips it) and a marker
// a second forget finds in place.
func (r *Repo) forget(ctx context.Context, id string) error {
	mark := snapshot.DataKey(id, ForgottenObjectName)
	if err := r.Store.Put(ctx, mark, strings.NewReader(id+"\n")); err != nil && !errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("forget snapshot %s: mark its data: %w", id, err)
	}
	if err := r.Store.Delete(ctx, snapshot.ManifestKey(id)); err != nil {
		return fmt.Errorf("forget snapshot %s: %w", id, err)
	}
	return nil
}

// DefaultGrace is how long Prune leaves the data of an unfinished backup
// alone unless told otherwise: longer than any backup runs.
const DefaultGrace = 24 * time.Hour

// PruneOptions configures Prune.
type PruneOptions struct {
	// Grace protects data of unfinished backups younger than this: a backup
	// that is running has written data but not yet its manifest. Zero means
	// zero; callers pass DefaultGrace for the usual day. Data of forgotten
	// snapshots go regardless.
	Grace  time.Duration
	DryRun bool
	Now    func() time.Time
}

// PruneReport says what Prune removed (or would remove).
type PruneReport struct {
	// Snapshots are the ids whose data were removed: forgotten or never
	// finished.
	Snapshots     []string `json:"snapshots"`
	DataObjects   int      `json:"dataObjects"`
	DataBytes     int64    `json:"dataBytes"`
	JournalEvents int      `json:"journalEvents"`
	// TempFiles are files of writes killed mid-way (directory stores only).
	TempFiles int `json:"tempFiles,omitempty"`
	// Young are ids without a manifest left alone because they are within
	// the grace period (a backup may still be writing them).
	Young []string `json:"young,omitempty"`
	// Checkpoints are the restore checkpoints removed (restore/<target>/
	// <snapshot>/): their snapshot is gone and they wrote nothing within
	// the grace period; YoungCheckpoints those left alone because they did
	// (a restore may be running). See restorecp.go.
	Checkpoints      []string `json:"checkpoints,omitempty"`
	YoungCheckpoints []string `json:"youngCheckpoints,omitempty"`
	// Notes explain what was not pruned and why.
	Notes []string `json:"notes,omitempty"`
}

// Prune removes the data of forgotten snapshots at once, data of backups
// that never finished once older than the grace period, and journal events
// older than the start of their pool's oldest snapshot (no point in time
// before it can be computed), and the checkpoints of restores whose
// snapshot is gone once older than the grace period. Data of a snapshot
// whose manifest exists but cannot be read are kept.
func (r *Repo) Prune(ctx context.Context, opts PruneOptions) (*PruneReport, error) {
	if opts.Grace < 0 {
		return nil, fmt.Errorf("prune: grace period %s is negative", opts.Grace)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cutoff := opts.Now().Add(-opts.Grace)
	rep := &PruneReport{Snapshots: []string{}} // [] in JSON when none

	manifests, problems, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	oldest := map[string]*snapshot.Manifest{}
	for _, m := range manifests {
		exists[m.ID] = true
		if o := oldest[m.PoolID]; o == nil || m.Start.Before(o.Start) {
			oldest[m.PoolID] = m
		}
	}
	for _, p := range problems {
		if id, ok := snapshot.IDFromManifestKey(p.Key); ok {
			exists[id] = true
		}
	}
	if err := r.pruneData(ctx, exists, cutoff, opts.DryRun, rep); err != nil {
		return rep, err
	}
	if err := r.pruneRestoreCheckpoints(ctx, exists, cutoff, opts.DryRun, rep); err != nil {
		return rep, err
	}
	if len(problems) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d manifest(s) could not be read, so no journal event was pruned; run 'cogvault verify'", len(problems)))
		return rep, nil
	}
	return rep, r.pruneJournal(ctx, oldest, opts.DryRun, rep)
}

// pruneData removes the data of ids without a manifest: forgotten ones at
// once, unfinished ones past cutoff; then the files of killed writes.
func (r *Repo) pruneData(ctx context.Context, exists map[string]bool, cutoff time.Time, dryRun bool, rep *PruneReport) error {
	orphans, err := r.orphans(ctx, exists, rep)
	if err != nil {
		return err
	}
	if err := r.snapshotCheckpoints(ctx, orphans); err != nil {
		return err
	}
	var doomed []string
	for _, id := range slices.Sorted(maps.Keys(orphans)) {
		o := orphans[id]
		// A forgotten snapshot finished: nothing writes its data any more.
		if !o.forgotten && (o.newest.After(cutoff) || o.started.After(cutoff)) {
			rep.Young = append(rep.Young, id)
			continue
		}
		rep.Snapshots = append(rep.Snapshots, id)
		rep.DataObjects += len(o.keys)
		if o.forgotten {
			rep.DataObjects-- // the marker is not data
		}
		rep.DataBytes += o.bytes
		doomed = append(doomed, o.checkpoints...)
		doomed = append(doomed, o.keys...)
	}
	sort.Strings(rep.Snapshots)
	sort.Strings(rep.Young)
	// Delete after listing: a store need not list stably under deletes.
	if err := r.deleteAll(ctx, doomed, dryRun); err != nil {
		return err
	}
	// Writes killed mid-way leave files no listing shows.
	if sw, ok := r.Store.(storage.Sweeper); ok {
		for _, prefix := range []string{snapshot.DataPrefix, snapshot.JournalPrefix} {
			n, err := sw.Sweep(ctx, prefix, cutoff, dryRun)
			rep.TempFiles += n
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// pruneJournal removes journal events older than the start of their pool's
// oldest snapshot: no point in time before it can be computed.
func (r *Repo) pruneJournal(ctx context.Context, oldest map[string]*snapshot.Manifest, dryRun bool, rep *PruneReport) error {
	var doomed []string
	for _, pool := range slices.Sorted(maps.Keys(oldest)) {
		before := oldest[pool].Start
		for o, err := range r.Store.List(ctx, snapshot.JournalPoolPrefix(pool)) {
			if err != nil {
				return fmt.Errorf("list journal of %s in %s: %w", pool, r.Store, err)
			}
			t, ok := snapshot.JournalKeyTime(o.Key)
			if !ok {
				continue
			}
			if t.After(before) {
				break // keys sort by time within a day, and days by date
			}
			rep.JournalEvents++
			doomed = append(doomed, o.Key)
		}
	}
	return r.deleteAll(ctx, doomed, dryRun)
}

// orphan is the data of one snapshot id that has no manifest.
type orphan struct {
	started   time.Time
	newest    time.Time // newest object's time
	forgotten bool      // Forget left its marker
	keys      []string  // the marker last, so a failed prune can be rerun
	bytes     int64
	// checkpoints are a snapshot in steps' progress: removed with its data,
	// as no step can continue without them.
	checkpoints []string
}

// snapshotCheckpoints counts the progress checkpoints of a snapshot in
// steps (checkpoints/snapshot/<pool>/<id>/, written by each step) as
// activity of its unfinished data: a long snapshot whose data objects
// are old but whose last step is recent is still running, and its data
// stay until the grace period passes after its last step.
func (r *Repo) snapshotCheckpoints(ctx context.Context, orphans map[string]*orphan) error {
	prefix := CheckpointPrefix + "snapshot/"
	for o, err := range r.Store.List(ctx, prefix) {
		if err != nil {
			return fmt.Errorf("list %s in %s: %w", prefix, r.Store, err)
		}
		parts := strings.Split(strings.TrimPrefix(o.Key, prefix), "/") // <pool>/<id>/<name>
		if len(parts) != 3 || orphans[parts[1]] == nil {
			continue
		}
		g := orphans[parts[1]]
		if o.ModTime.After(g.newest) {
			g.newest = o.ModTime
		}
		g.checkpoints = append(g.checkpoints, o.Key)
	}
	return nil
}

// orphans lists the data of ids without a manifest, by id.
func (r *Repo) orphans(ctx context.Context, exists map[string]bool, rep *PruneReport) (map[string]*orphan, error) {
	out := map[string]*orphan{}
	for o, err := range r.Store.List(ctx, snapshot.DataPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", snapshot.DataPrefix, r.Store, err)
		}
		id, name, ok := strings.Cut(strings.TrimPrefix(o.Key, snapshot.DataPrefix), "/")
		if !ok || exists[id] {
			continue
		}
		started, err := snapshot.ParseID(id)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s is not a snapshot's data object; left alone", o.Key))
			continue
		}
		g := out[id]
		if g == nil {
			g = &orphan{started: started}
			out[id] = g
		}
		if o.ModTime.After(g.newest) {
			g.newest = o.ModTime
		}
		if name == ForgottenObjectName {
			g.forgotten = true
			continue
		}
		g.bytes += o.Size
		g.keys = append(g.keys, o.Key)
	}
	for id, g := range out {
		if g.forgotten {
			g.keys = append(g.keys, snapshot.DataKey(id, ForgottenObjectName))
		}
	}
	return out, nil
}

func (r *Repo) deleteAll(ctx context.Context, keys []string, dryRun bool) error {
	if dryRun {
		return nil
	}
	for _, k := range keys {
		if err := r.Store.Delete(ctx, k); err != nil {
			return fmt.Errorf("prune %s: %w", k, err)
		}
	}
	return nil
}
