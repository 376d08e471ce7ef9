package migration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/storage"
)

// PostAuthentication: "Amazon Cognito invokes this Lambda after
// authentication is complete, before a user has received tokens", for
// "user profile adjustments that will be reflected on the next sign-in"
// (developer guide, "Post authentication Lambda trigger";
// docs/cognito-facts.md §27). It runs after the sign-in that migrated a
// user, when the new sub exists: the function adds the user's source
// groups, journals old sub → new sub (users/<newSub>.json) and removes the
// pending record. Every sign-in runs it, so a user without a pending
// record costs a GET (two for a user with both an email and a phone
// number in a pool that signs in with them) and nothing else.
//
// It never fails the sign-in (a function error would: §27): a failure is
// logged by class and the pending record stays, so the next sign-in tries
// again, and 'cogvault migrate finish' restores any membership still
// missing.

// postAuthentication does the work for one event; it returns nothing, as
// the event goes back unchanged whatever happens.
func (h *Handler) postAuthentication(ctx context.Context, ev event) {
	if !h.recording(ev.UserPoolID) {
		return
	}
	newSub := attr(ev, "sub")
	name, rec, err := h.findPending(ctx, ev.UserPoolID, signInValues(ev))
	switch {
	case err != nil:
		h.cfg.Log.Warn("post authentication: pending record not read", "error", errClass(err))
		return
	case rec == nil:
		return // not a user this migration created, or already done
	case newSub == "":
		h.cfg.Log.Warn("post authentication: the event has no sub; the pending record stays")
		return
	}
	why, err := h.claimRefused(ctx, ev, rec)
	switch {
	case err != nil:
		h.cfg.Log.Warn("post authentication: the target user not read; the next sign-in tries again", "reason", reason(err))
		return
	case why != "":
		// Another user's record (or one Cognito refused): left for its
		// own user, and for 'migrate finish', which applies the same rule.
		h.cfg.Log.Warn("post authentication: a pending record under this sign-in value is not this user's; no groups given", "why", why)
		return
	}
	groups, missing, err := h.copyGroups(ctx, ev.UserPoolID, ev.UserName, rec.OldUsername)
	if err != nil {
		h.cfg.Log.Warn("post authentication: groups not copied; the next sign-in tries again", "reason", reason(err))
		return
	}
	if err := h.recordUser(ctx, ev, rec, newSub, groups); err != nil {
		h.cfg.Log.Warn("post authentication: user record not written; the next sign-in tries again", "error", errClass(err))
		return
	}
	if err := h.cfg.Records.DeleteMigrationRecord(ctx, ev.UserPoolID, name); err != nil {
		h.cfg.Log.Warn("post authentication: pending record not deleted", "error", errClass(err))
	}
	h.cfg.Log.Info("migrated user's groups added", "groups", len(groups), "groupsMissingInTarget", missing)
}

// A pending record is claimed only by the user the migration made
// (review finding 2; docs/cognito-facts.md §34.2): the function writes it
// before Cognito accepts its answer, and Cognito may refuse the answer
// (an attribute the target lacks) and create no one; its key may also be
// reachable from another user (an email-shaped username differing in
// case). So the claimant must be created from claimSkew before the
// record's time (the clocks of Lambda and Cognito) to claimAfter after it:
// Cognito creates the user once the function answers, within the 5 s it
// waits for a trigger and its retries (§13), and a retried trigger keeps
// the first record's time (create-once). A user signing up under that
// name later is refused whatever it types.
const (
	claimSkew  = time.Minute
	claimAfter = 2 * time.Minute
)

// claimRefused says why the event's user may not claim rec ("" when it
// may), by the rule of Claimant.refusal; the user's creation time comes
// from AdminGetUser on the target. err is a failed read of the target user.
func (h *Handler) claimRefused(ctx context.Context, ev event, rec *pendingRecord) (string, error) {
	c := Claimant{Username: ev.UserName, ByUsername: ev.UserName != attr(ev, "sub")}
	if a := h.cfg.LegacySubAttribute; a != "" {
		v := attr(ev, a)
		c.LegacySub = &v
	}
	if why := c.refusal(rec); why != "" {
		return why, nil // no call needed
	}
	u, err := h.cfg.Target.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ev.UserPoolID, Username: &ev.UserName})
	if err != nil {
		return "", fmt.Errorf("read the signed-in user in the target: %w", err)
	}
	c.Created = aws.ToTime(u.UserCreateDate)
	return c.refusal(rec), nil
}

// Claimant is a target user that may claim a pending record.
type Claimant struct {
	Username string
	// ByUsername: the target's users sign in by username (not email or
	// phone number), so the username is the value typed at the migration.
	ByUsername bool
	// LegacySub is the user's legacy-sub value when the migration keeps
	// one; nil when it does not.
	LegacySub *string
	// Created is the target user's UserCreateDate; zero is not checked yet.
	Created time.Time
}

// refusal says why c may not claim rec, "" when it may: in a target where
// users sign in by username, the username is not exactly the value typed at
// the migration (a case-sensitive pool holds "Admin" and "admin" as two
// users); the legacy sub is not the record's old sub (an app client that
// cannot write it leaves it to the migration); or the user was created
// outside the record's window.
func (c Claimant) refusal(rec *pendingRecord) string {
	switch {
	case c.ByUsername && rec.SignIn != hashOf(c.Username):
		return "another sign-in value"
	case c.LegacySub != nil && *c.LegacySub != rec.OldSub:
		return "another legacy sub"
	case !c.Created.IsZero() && (c.Created.Before(rec.At.Add(-claimSkew)) || c.Created.After(rec.At.Add(claimAfter))):
		return "created at another time than the migration"
	}
	return ""
}

// PendingRecordName is the record name (under migrations/<target pool>/)
// of the pending record of a sign-in value.
func PendingRecordName(signIn string) string { return pendingName(signIn) }

// ClaimPending applies PostAuthentication's rule to a pending record's
// body (for 'cogvault migrate finish', which sees users the function has
// not finished: migrated by "forgot password" and not signed in yet). It
// returns the source sub the record gives c; ok is false when the record
// does not bind c (c.Created must be set).
func ClaimPending(body []byte, c Claimant) (oldSub string, ok bool) {
	var rec pendingRecord
	if json.Unmarshal(body, &rec) != nil || rec.OldSub == "" || c.Created.IsZero() || c.refusal(&rec) != "" {
		return "", false
	}
	return rec.OldSub, true
}

// signInValues are what the user may have typed at the migrating sign-in.
// A pool without username attributes creates the migrated user under the
// name typed, so that is the event's userName. A pool that signs in by
// email or phone number makes the username a UUID "that has the same value
// as the sub" (docs/cognito-facts.md §8) and keeps what was typed as the
// email or phone_number attribute. So a plain-username pool costs one GET
// a sign-in and an email/phone pool one per such attribute the user has.
func signInValues(ev event) []string {
	if ev.UserName != attr(ev, "sub") {
		return []string{ev.UserName}
	}
	var out []string
	for _, a := range []string{"email", "phone_number"} {
		if v := attr(ev, a); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// attr is a user attribute of the event, "" when absent or not a string.
func attr(ev event, name string) string {
	v, _ := ev.Request.UserAttributes[name].(string)
	return v
}

// findPending reads the pending records of values at once (one round
// trip) and returns the first found, in the order of values.
func (h *Handler) findPending(ctx context.Context, poolID string, values []string) (string, *pendingRecord, error) {
	bodies := make([][]byte, len(values))
	errs := make([]error, len(values))
	var wg sync.WaitGroup
	for i, v := range values {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i], errs[i] = h.cfg.Records.GetMigrationRecord(ctx, poolID, pendingName(v))
		}()
	}
	wg.Wait()
	for i, v := range values {
		switch {
		case errors.Is(errs[i], storage.ErrNotExist):
			continue
		case errs[i] != nil:
			return "", nil, errs[i]
		}
		var rec pendingRecord
		if err := json.Unmarshal(bodies[i], &rec); err != nil || rec.OldUsername == "" {
			return "", nil, errors.New("pending record: not a pending record")
		}
		return pendingName(v), &rec, nil
	}
	return "", nil, nil
}

// copyGroups adds the target user to the groups the source user is in. A
// group the target lacks is skipped and counted; adding a member twice
// is no error (AdminAddUserToGroup is idempotent), so a retried trigger
// does no harm. A source user gone meanwhile has no groups.
func (h *Handler) copyGroups(ctx context.Context, poolID, newUsername, oldUsername string) (added []string, missing int, err error) {
	names, err := h.sourceGroups(ctx, oldUsername)
	if err != nil {
		return nil, 0, err
	}
	added = []string{}
	for _, g := range names {
		_, err := h.cfg.Target.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &poolID, Username: &newUsername, GroupName: &g})
		switch {
		case errorCode(err) == "ResourceNotFoundException":
			missing++
		case err != nil:
			return nil, 0, fmt.Errorf("add the user to a group of the target: %w", err)
		default:
			added = append(added, g)
		}
	}
	return added, missing, nil
}

// sourceGroups lists the source user's groups (at most 100 a user, pages
// of up to 60).
func (h *Handler) sourceGroups(ctx context.Context, username string) ([]string, error) {
	var names []string
	var token *string
	for {
		out, err := h.cfg.Source.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &h.cfg.SourcePoolID,
			Username: &username, Limit: aws.Int32(60), NextToken: token})
		if errorCode(err) == "UserNotFoundException" {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list the user's groups in the source: %w", err)
		}
		for _, g := range out.Groups {
			names = append(names, aws.ToString(g.GroupName))
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			return names, nil
		}
	}
}

// recordUser writes users/<newSub>.json once; a retried trigger finds its
// own record there.
func (h *Handler) recordUser(ctx context.Context, ev event, rec *pendingRecord, newSub string, groups []string) error {
	body, _ := json.Marshal(userRecord{OldSub: rec.OldSub, NewSub: newSub, OldUsername: rec.OldUsername, NewUsername: ev.UserName,
		Groups: groups, At: h.cfg.Now().UTC()})
	err := h.cfg.Records.PutMigrationRecord(ctx, ev.UserPoolID, "users/"+newSub+".json", body)
	if errors.Is(err, storage.ErrExist) {
		return nil
	}
	return err
}

func errorCode(err error) string {
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}
