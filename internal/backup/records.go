package backup

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// Records is a pool's content from a source other than the live pool (a
// legacy backup, a journal): everything WriteSnapshot stores.
type Records struct {
	Pool        *snapshot.PoolConfig
	PoolName    string
	Users       iter.Seq2[snapshot.User, error]
	Memberships iter.Seq2[snapshot.Membership, error] // may be nil
	// Derived marks a snapshot computed from another one plus journal events.
	Derived *snapshot.Derivation
}

// WriteSnapshot stores recs as a snapshot of opts.PoolID, with the same
// guarantees as Run: streamed create-once objects, the manifest last, each
// user once (by sub), nothing left behind on failure.
func WriteSnapshot(ctx context.Context, store Store, recs Records, opts Options) (*snapshot.Manifest, error) {
	if opts.PoolID == "" {
		return nil, errors.New("write snapshot: no pool id")
	}
	if recs.Pool == nil {
		return nil, errors.New("write snapshot: no pool configuration")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	start := opts.Now().UTC()
	id, err := snapshot.NewID(start, opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("write snapshot: %w", err)
	}
	b := &run{store: store, opts: opts, stats: &Stats{}, id: id, seen: newSubSet(), derived: recs.Derived}
	m, err := b.writeRecords(ctx, start, recs)
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("%w: snapshot %s of %s: %w", ErrInterrupted, id, opts.PoolID, err)
	}
	return m, nil
}

func (b *run) writeRecords(ctx context.Context, start time.Time, recs Records) (*snapshot.Manifest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	poolObj, err := b.writePool(ctx, recs.Pool)
	if err != nil {
		return nil, fmt.Errorf("write pool configuration: %w", err)
	}
	users, err := b.newWriter(ctx, snapshot.KindUsers)
	if err != nil {
		return nil, err
	}
	members, err := b.newWriter(ctx, snapshot.KindMembers)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*snapshot.Manifest, error) {
		users.abort(err)
		members.abort(err)
		return nil, err
	}
	for u, err := range recs.Users {
		if err != nil {
			return fail(err)
		}
		if !b.seen.add(u.Sub) {
			b.stats.Duplicates.Add(1)
			continue
		}
		if err := users.write(ctx, u); err != nil {
			return fail(err)
		}
		b.stats.Users.Add(1)
	}
	if recs.Memberships != nil {
		for mm, err := range recs.Memberships {
			if err != nil {
				return fail(err)
			}
			if err := members.write(ctx, mm); err != nil {
				return fail(err)
			}
			b.stats.Memberships.Add(1)
		}
	}
	userObjs, uerr := users.close()
	memberObjs, merr := members.close()
	if err := errors.Join(uerr, merr); err != nil {
		return nil, err
	}
	return b.commit(ctx, start, recs.PoolName, int64(len(recs.Pool.Groups)), poolObj, userObjs, memberObjs)
}
