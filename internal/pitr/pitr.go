// Package pitr computes the state of a pool at a point in time: the newest
// snapshot that finished by then, rolled forward with the journal events
// observed up to that moment. The result is written as an ordinary snapshot
// (into a scratch store for restore --at, into the repository for journal
// compact), so everything that reads snapshots reads it too.
//
// Rules, in order:
//   - the base is the newest snapshot of the pool whose End ≤ T;
//   - events observed in (base.Start, T] apply, oldest first, the last per
//     user (by sub) and per group (by name) winning; a deletion is final, as
//     Cognito never gives a sub back;
//   - an event observed while the base snapshot was being taken replaces the
//     snapshot's record only when its user was modified at least as recently
//     (the snapshot may have read the user after the event);
//   - usernames are unique in a pool, so a base user whose username now
//     belongs to another sub was deleted even if that event was missed, and
//     a deletion known only by username removes whoever held the name then;
//   - memberships follow the user's latest known groups and only ever name
//     groups that exist at T.
//
// It imports repo, backup and snapshot; it must not import cli or cobra.
package pitr

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// ErrNoBase means no snapshot of the pool finished by the requested time.
var ErrNoBase = errors.New("no snapshot to start from")

// Point is the state of one pool at one moment, before it is written.
type Point struct {
	PoolID string
	At     time.Time
	Base   *snapshot.Manifest
	// Events is the number of journal events applied; Users and Groups the
	// distinct users and groups they touched.
	Events int64
	Keys   []string // the applied events' keys, oldest first
	// Late counts the events of (base.Start, At] a derivation from a pin
	// left out: they reached the journal after the pin was taken.
	Late int

	users map[string]*snapshot.Event // by sub: the winning user event
	// deletedNames are usernames deleted when the capture could not learn
	// the sub: whoever held the name then is gone.
	deletedNames map[string]time.Time
	byName       map[string]string          // username → sub of overlay users that exist at T
	groups       map[string]*snapshot.Event // by name
}

// Users is the number of distinct users the applied events touched.
func (p *Point) Users() int { return len(p.users) }

// Groups is the number of distinct groups the applied events touched.
func (p *Point) Groups() int { return len(p.groups) }

// At finds the base snapshot of poolID for time t and reads the events to
// apply. It holds one event per touched user in memory, not the pool.
func At(ctx context.Context, r *repo.Repo, poolID string, t time.Time) (*Point, error) {
	base, err := baseAt(ctx, r, poolID, t)
	if err != nil {
		return nil, err
	}
	return derive(ctx, r, poolID, t, base, nil)
}

// baseAt is the newest snapshot of poolID that finished by t.
func baseAt(ctx context.Context, r *repo.Repo, poolID string, t time.Time) (*snapshot.Manifest, error) {
	all, _, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var base *snapshot.Manifest
	var oldest *snapshot.Manifest
	for _, m := range all {
		if m.PoolID != poolID {
			continue
		}
		if oldest == nil {
			oldest = m
		}
		if !m.End.After(t) {
			base = m
		}
	}
	switch {
	case base == nil && oldest == nil:
		return nil, fmt.Errorf("%w: the repository %s has no snapshot of pool %s; run 'cogvault backup --pool %s' (events alone do not hold the users that never changed)", ErrNoBase, r.Store, poolID, poolID)
	case base == nil:
		return nil, fmt.Errorf("%w: no snapshot of pool %s finished by %s; the oldest (%s) finished at %s", ErrNoBase, poolID, t.UTC().Format(time.RFC3339), oldest.ID, oldest.End.UTC().Format(time.RFC3339))
	}
	return base, nil
}

// derive reads the journal events of (base.Start, t] into a Point; only
// the keys in want when want is not nil (a Pin's).
func derive(ctx context.Context, r *repo.Repo, poolID string, t time.Time, base *snapshot.Manifest, want map[string]bool) (*Point, error) {
	p := &Point{PoolID: poolID, At: t.UTC(), Base: base, users: map[string]*snapshot.Event{}, deletedNames: map[string]time.Time{}, byName: map[string]string{}, groups: map[string]*snapshot.Event{}}
	for ent, err := range r.Journal(ctx, poolID, base.Start, t) {
		if err != nil {
			return nil, err
		}
		if want != nil && !want[ent.Key] {
			p.Late++
			continue // arrived after the pin: left for the next derivation
		}
		p.add(ent)
	}
	p.impliedDeletions()
	return p, nil
}

// add applies one journal event to the point.
func (p *Point) add(ent repo.JournalEntry) {
	p.Events++
	p.Keys = append(p.Keys, ent.Key)
	e := ent.Event
	switch e.Kind {
	case snapshot.EventUser:
		if prev := p.users[e.User.Sub]; prev != nil && prev.Kind == snapshot.EventUserDeleted {
			return // a sub is never reused: an event after its deletion is a late read
		}
		p.users[e.User.Sub] = e
	case snapshot.EventUserDeleted:
		if e.Sub == "" {
			p.deletedNames[e.Username] = e.Time
			return
		}
		p.users[e.Sub] = e
	case snapshot.EventGroup, snapshot.EventGroupDeleted:
		p.groups[e.Group.Name] = e
	}
}

// impliedDeletions settles two live subs with one username: the earlier
// was deleted unseen.
func (p *Point) impliedDeletions() {
	for _, sub := range slices.Sorted(maps.Keys(p.users)) {
		e := p.users[sub]
		if e.Kind != snapshot.EventUser {
			continue
		}
		name := e.User.Username
		if del, ok := p.deletedNames[name]; ok && !e.Time.After(del) {
			p.users[sub] = impliedDeletion(e)
			continue
		}
		if other, ok := p.byName[name]; ok {
			o := p.users[other]
			if o.Time.After(e.Time) {
				p.users[sub] = impliedDeletion(e)
				continue
			}
			p.users[other] = impliedDeletion(o)
		}
		p.byName[name] = sub
	}
}

func impliedDeletion(e *snapshot.Event) *snapshot.Event {
	return &snapshot.Event{FormatVersion: e.FormatVersion, PoolID: e.PoolID, Kind: snapshot.EventUserDeleted, Time: e.Time, Sub: e.User.Sub, Username: e.User.Username, Source: "implied"}
}

// Records streams the state at p.At as snapshot records: the base snapshot's
// records with the events applied. Users must be consumed before
// Memberships (backup.WriteSnapshot does).
func (p *Point) Records(ctx context.Context, r *repo.Repo) (backup.Records, error) {
	cfg, err := r.Pool(ctx, p.Base)
	if err != nil {
		return backup.Records{}, err
	}
	groups := map[string]snapshot.Group{}
	for _, g := range cfg.Groups {
		groups[g.Name] = g
	}
	for name, e := range p.groups {
		if e.Kind == snapshot.EventGroupDeleted {
			delete(groups, name)
		} else {
			groups[name] = *e.Group
		}
	}
	cfg.Groups = slices.SortedFunc(maps.Values(groups), func(a, b snapshot.Group) int { return cmp.Compare(a.Name, b.Name) })

	m := &merge{p: p, groups: groups, dropMembers: map[string]bool{}, won: map[string]bool{}}
	return backup.Records{
		Pool:        cfg,
		PoolName:    p.Base.PoolName,
		Users:       m.users(ctx, r),
		Memberships: m.memberships(ctx, r),
		Derived:     &snapshot.Derivation{Base: p.Base.ID, JournalEvents: p.Events},
	}, nil
}

type merge struct {
	p      *Point
	groups map[string]snapshot.Group
	// dropMembers are base usernames whose memberships no longer hold: the
	// user is gone, or its groups are known from an event.
	dropMembers map[string]bool
	won         map[string]bool // subs whose event state was emitted
	usersDone   bool
}

func (m *merge) users(ctx context.Context, r *repo.Repo) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		emitted := map[string]bool{}
		for u, err := range r.Users(ctx, m.p.Base) {
			if err != nil {
				yield(u, err)
				return
			}
			e := m.p.users[u.Sub]
			switch {
			case e == nil:
				if sub, ok := m.p.byName[u.Username]; ok && sub != u.Sub {
					m.dropMembers[u.Username] = true // its username now belongs to another user
					continue
				}
				if _, ok := m.p.deletedNames[u.Username]; ok {
					m.dropMembers[u.Username] = true
					continue
				}
			case e.Kind == snapshot.EventUserDeleted:
				m.dropMembers[u.Username] = true
				continue
			case m.p.Base.End.After(e.Time) && u.Modified.After(e.User.Modified):
				// Observed during the snapshot, and the snapshot read a newer
				// state: keep it, and the base memberships with it.
				emitted[u.Sub] = true
			default:
				if e.GroupsKnown {
					m.dropMembers[u.Username] = true
				}
				u = *e.User
				emitted[u.Sub] = true
				m.won[u.Sub] = true
			}
			if !yield(u, nil) {
				return
			}
		}
		for _, sub := range slices.Sorted(maps.Keys(m.p.users)) {
			e := m.p.users[sub]
			if emitted[sub] || e.Kind != snapshot.EventUser {
				continue
			}
			m.won[sub] = true
			if !yield(*e.User, nil) {
				return
			}
		}
		m.usersDone = true
	}
}

func (m *merge) memberships(ctx context.Context, r *repo.Repo) iter.Seq2[snapshot.Membership, error] {
	return func(yield func(snapshot.Membership, error) bool) {
		if !m.usersDone {
			yield(snapshot.Membership{}, errors.New("pitr: memberships read before users"))
			return
		}
		for mm, err := range r.Memberships(ctx, m.p.Base) {
			if err != nil {
				yield(mm, err)
				return
			}
			if m.dropMembers[mm.Username] {
				continue
			}
			if _, ok := m.groups[mm.Group]; !ok {
				continue
			}
			if !yield(mm, nil) {
				return
			}
		}
		for _, sub := range slices.Sorted(maps.Keys(m.p.users)) {
			e := m.p.users[sub]
			if !m.won[sub] || !e.GroupsKnown {
				continue
			}
			for _, g := range e.Groups {
				if _, ok := m.groups[g]; !ok {
					continue
				}
				if !yield(snapshot.Membership{Group: g, Username: e.User.Username}, nil) {
					return
				}
			}
		}
	}
}

// Options for Write.
type Options struct {
	ToolVersion string
	// Rand makes the snapshot id's random part; default: derived from the
	// base snapshot, the time and the events, so that the same state gets
	// the same id (restore --at resumes by snapshot id).
	Rand io.Reader
}

// Write stores the state at p.At as a snapshot in store, with time p.At: a
// derived snapshot whose manifest names its base and event count.
func (p *Point) Write(ctx context.Context, r *repo.Repo, store backup.Store, opts Options) (*snapshot.Manifest, error) {
	recs, err := p.Records(ctx, r)
	if err != nil {
		return nil, err
	}
	at := p.At
	if opts.Rand == nil {
		h := sha256.New()
		fmt.Fprintf(h, "%s\n%s\n", p.Base.ID, at.Format(time.RFC3339Nano))
		for _, k := range p.Keys {
			fmt.Fprintln(h, k)
		}
		opts.Rand = bytes.NewReader(h.Sum(nil))
	}
	return backup.WriteSnapshot(ctx, store, recs, backup.Options{
		PoolID:      p.PoolID,
		Region:      p.Base.Region,
		Account:     p.Base.Account,
		ToolVersion: opts.ToolVersion,
		// MFA preferences are in the state at T when the base has them: the
		// journal's events are full reads.
		MFA:  !p.Base.Omits(snapshot.OmitMFAPreferences),
		Now:  func() time.Time { return at },
		Rand: opts.Rand,
	})
}
