package restore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// restoreMemberships adds users to groups with opts.Workers calls in flight.
// Only users this restore created or updated (in this run or an earlier one
// with the same state file) get groups: a user it skipped or refused may be
// another person, and must keep exactly the groups it had. The membership
// names the user by its username in the target. AdminAddUserToGroup is
// idempotent, so a resumed run simply adds again.
func (r *run) restoreMemberships(ctx context.Context) error {
	// A run stopped half-way recorded how many memberships (in snapshot
	// order) were behind it: those are skipped, so that a pool with more
	// memberships than one step adds still finishes.
	skip := r.st.membersDone()
	w := &watermark{low: skip, done: map[int]bool{}}
	err := fanOut(ctx, r.opts.Workers, numbered(r.rp.Memberships(ctx, r.m)), func(n numberedMembership) bool {
		if n.i < skip {
			return false
		}
		if !r.keepMembership(n.mm) {
			w.finish(n.i)
			return false
		}
		return true
	}, func(ctx context.Context, n numberedMembership) error {
		if err := r.addMembership(ctx, n.mm); err != nil {
			return err
		}
		w.finish(n.i)
		return nil
	}, r.opts.Stop)
	if err != nil && !r.opts.DryRun {
		// Stopped, cut short or failed: what is behind the watermark is done.
		if rerr := r.st.record(stateRecord{Event: "members", N: w.mark()}); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// keepMembership counts a membership in the report and says whether to add
// it: only users this restore created or updated get groups.
func (r *run) keepMembership(mm snapshot.Membership) bool {
	rep := r.rep
	a, planned := r.plan.act[mm.Username]
	if !planned {
		return false // not selected (--users-file)
	}
	earned := a.writes()
	if !r.opts.DryRun {
		_, earned = r.st.doneName(mm.Username)
	}
	rep.locked(func() {
		if earned {
			rep.MembershipsAdd++
		} else {
			rep.MembershipsSkipped++
		}
	})
	return earned && !r.opts.DryRun
}

func (r *run) addMembership(ctx context.Context, mm snapshot.Membership) error {
	rep := r.rep
	name, _ := r.st.doneName(mm.Username)
	_, err := r.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &r.opts.Target, GroupName: aws.String(mm.Group), Username: aws.String(name)})
	switch {
	case cognito.IsUserNotFound(err):
		rep.locked(func() {
			rep.MembershipsAdd--
			rep.notRestored(Item{Username: mm.Username, Group: mm.Group, What: "membership", Reason: "the user is no longer in the target pool"})
		})
	case refusedMembership(err):
		// A user in the target's most groups (100, the quotas page) is
		// refused one more; the code is not published, so both codes
		// that can say so are taken (docs/cognito-facts.md §12).
		rep.locked(func() {
			rep.MembershipsAdd--
			rep.notRestored(Item{Username: mm.Username, Group: mm.Group, What: "membership", Reason: "the target refused it: " + apiMessage(err)})
		})
	case err != nil:
		return fmt.Errorf("restore: add %q to group %q in %s: %w", mm.Username, mm.Group, r.opts.Target, err)
	default:
		r.stats.Memberships.Add(1)
	}
	return nil
}

// numberedMembership is a membership and its place in the snapshot.
type numberedMembership struct {
	i  int
	mm snapshot.Membership
}

func numbered(seq iter.Seq2[snapshot.Membership, error]) iter.Seq2[numberedMembership, error] {
	return func(yield func(numberedMembership, error) bool) {
		i := 0
		for mm, err := range seq {
			if !yield(numberedMembership{i, mm}, err) {
				return
			}
			i++
		}
	}
}

// watermark tracks memberships finished out of order by workers: every
// one before low is finished.
type watermark struct {
	mu   sync.Mutex
	low  int
	done map[int]bool
}

func (w *watermark) finish(i int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done[i] = true
	for w.done[w.low] {
		delete(w.done, w.low)
		w.low++
	}
}

func (w *watermark) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.low
}

// refusedMembership reports whether AdminAddUserToGroup refused a
// membership for the user's sake (InvalidParameterException, declared by
// the operation) or as over a limit (LimitExceededException, which other
// operations use for quotas), rather than failing.
func refusedMembership(err error) bool {
	switch cognito.Code(err) {
	case "InvalidParameterException", "LimitExceededException":
		return true
	}
	return false
}
