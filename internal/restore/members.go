package restore

import (
	"context"
	"fmt"

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
	rep := r.rep
	return fanOut(ctx, r.opts.Workers, r.rp.Memberships(ctx, r.m), func(mm snapshot.Membership) bool {
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
	}, func(ctx context.Context, mm snapshot.Membership) error {
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
	})
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
