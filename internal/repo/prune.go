package repo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Forget deletes the manifests of the snapshots the decisions do not keep:
// a snapshot ceases to exist when its manifest goes; its data become garbage
// for Prune. It returns the ids forgotten (or, with dryRun, that would be).
func (r *Repo) Forget(ctx context.Context, decisions []snapshot.Decision, dryRun bool) ([]string, error) {
	var ids []string
	for _, d := range decisions {
		if d.Keep {
			continue
		}
		ids = append(ids, d.Manifest.ID)
		if dryRun {
			continue
		}
		if err := r.Store.Delete(ctx, snapshot.ManifestKey(d.Manifest.ID)); err != nil {
			return ids[:len(ids)-1], fmt.Errorf("forget snapshot %s: %w", d.Manifest.ID, err)
		}
	}
	return ids, nil
}

// PruneOptions configures Prune.
type PruneOptions struct {
	// Grace protects data younger than this (default 24h): a backup that is
	// running has written data but not yet its manifest.
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
	// Notes explain what was not pruned and why.
	Notes []string `json:"notes,omitempty"`
}

// Prune removes data no snapshot refers to, once older than the grace
// period, and journal events older than the start of their pool's oldest
// snapshot (no point in time before it can be computed). Data of a snapshot
// whose manifest exists but cannot be read are kept.
func (r *Repo) Prune(ctx context.Context, opts PruneOptions) (*PruneReport, error) {
	if opts.Grace == 0 {
		opts.Grace = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cutoff := opts.Now().Add(-opts.Grace)
	rep := &PruneReport{}

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

	var doomed []string
	garbage := map[string]bool{}
	young := map[string]bool{}
	for o, err := range r.Store.List(ctx, snapshot.DataPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", snapshot.DataPrefix, r.Store, err)
		}
		id, _, ok := strings.Cut(strings.TrimPrefix(o.Key, snapshot.DataPrefix), "/")
		if !ok || exists[id] {
			continue
		}
		started, err := snapshot.ParseID(id)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s is not a snapshot's data object; left alone", o.Key))
			continue
		}
		if o.ModTime.After(cutoff) || started.After(cutoff) {
			young[id] = true
			continue
		}
		garbage[id] = true
		rep.DataObjects++
		rep.DataBytes += o.Size
		doomed = append(doomed, o.Key)
	}
	// Delete after listing: a store need not list stably under deletes.
	if err := r.deleteAll(ctx, doomed, opts.DryRun); err != nil {
		return rep, err
	}
	// Writes killed mid-way leave files no listing shows.
	if sw, ok := r.Store.(storage.Sweeper); ok {
		for _, prefix := range []string{snapshot.DataPrefix, snapshot.JournalPrefix} {
			n, err := sw.Sweep(ctx, prefix, cutoff, opts.DryRun)
			rep.TempFiles += n
			if err != nil {
				return rep, err
			}
		}
	}
	for id := range garbage {
		if young[id] {
			continue // some of its objects are young: report it as young only
		}
		rep.Snapshots = append(rep.Snapshots, id)
	}
	for id := range young {
		rep.Young = append(rep.Young, id)
	}
	sort.Strings(rep.Snapshots)
	sort.Strings(rep.Young)

	if len(problems) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d manifest(s) could not be read, so no journal event was pruned; run 'cogvault verify'", len(problems)))
		return rep, nil
	}
	pools := make([]string, 0, len(oldest))
	for p := range oldest {
		pools = append(pools, p)
	}
	sort.Strings(pools)
	doomed = doomed[:0]
	for _, pool := range pools {
		before := oldest[pool].Start
		for o, err := range r.Store.List(ctx, snapshot.JournalPoolPrefix(pool)) {
			if err != nil {
				return rep, fmt.Errorf("list journal of %s in %s: %w", pool, r.Store, err)
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
	return rep, r.deleteAll(ctx, doomed, opts.DryRun)
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
