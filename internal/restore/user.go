package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// restoreUsers restores through the admin API every user the plan creates,
// updates or resumes; with only set, just those (the import path's rest).
func (r *run) restoreUsers(ctx context.Context, only map[string]string) error {
	return fanOut(ctx, r.opts.Workers, r.rp.Users(ctx, r.m), func(u snapshot.User) bool {
		if only != nil {
			_, ok := only[u.Username]
			return ok
		}
		return r.plan.act[u.Username].needsWork()
	}, func(ctx context.Context, u snapshot.User) error {
		if err := r.restoreUser(ctx, u); err != nil {
			return err
		}
		r.stats.Users.Add(1)
		return nil
	}, r.opts.Stop)
}

// restoreUser applies one user. Every step is safe to repeat, so a user whose
// restore was cut short is finished by the next run.
func (r *run) restoreUser(ctx context.Context, u snapshot.User) error {
	if r.plan.act[u.Username] == actUpdate {
		return r.updateUser(ctx, u)
	}
	rec, ok, err := r.createUser(ctx, u)
	if err != nil || !ok {
		return err
	}
	name := rec.NewName
	// How the user was created decides its status: say so (the plan may
	// have, from the state file; repeats are folded).
	r.rep.locked(func() {
		if rec.Via == ViaImport {
			importStatusNote(u, rec.Status, r.rep)
		} else {
			adminStatusNote(u, r.rep)
		}
	})
	// A user disabled in the snapshot is disabled before it gets a usable
	// password, so there is no moment in which it can sign in; if this run
	// dies in between, the user is left with a password no one knows.
	if !u.Enabled {
		if err := r.disable(ctx, u, name); err != nil {
			return err
		}
	}
	// AdminCreateUser leaves FORCE_CHANGE_PASSWORD, which is exact for users
	// that were in it; everyone else gets a permanent random password no one
	// knows, which makes them CONFIRMED: from there "forgot password" works.
	// A user an import job created (an earlier run's, this restore's) keeps
	// the status the job gave it: RESET_REQUIRED is never made CONFIRMED.
	if u.Status != "FORCE_CHANGE_PASSWORD" && rec.Via != ViaImport {
		if err := r.confirm(ctx, u, name); err != nil {
			return err
		}
	}
	if err := r.afterCreate(ctx, u, name); err != nil {
		return err
	}
	return r.st.record(stateRecord{Event: "done", Username: u.Username, NewName: name})
}

// createUser creates u (or finds the user an earlier attempt created) and
// returns its record: its username in the target, its new sub, and how it
// was created. ok is false when the target refused it, which is reported.
func (r *run) createUser(ctx context.Context, u snapshot.User) (rec stateRecord, ok bool, err error) {
	if rec, done := r.st.createdRecord(u.Username); done {
		rec.NewName = orName(rec.NewName, u.Username)
		return rec, true, nil
	}
	login, _ := r.tg.login(u) // the plan checked it
	p := &r.opts.Target
	earlier := r.st.ours(u.Username)          // an earlier run set out to create it
	imported := r.st.importIntent(u.Username) // … maybe through an import job
	if err := r.st.record(stateRecord{Event: "intent", Username: u.Username, Via: ViaAdmin, Why: r.adminWhy[u.Username]}); err != nil {
		return rec, false, err
	}
	rec = stateRecord{Event: "created", Username: u.Username, OldSub: u.Sub}
	var tries attempts
	out, err := r.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p, Username: aws.String(login), UserAttributes: r.createAttrs(u),
		MessageAction: types.MessageActionTypeSuppress}, tries.option)
	// A retried create that finds the user may have lost the answer to its
	// own first attempt: that user is ours, as after a crash.
	earlier = earlier || tries.retried()
	switch {
	case err == nil:
		rec.NewSub, _ = cognito.Attr(out.User.Attributes, "sub")
		rec.NewName = aws.ToString(out.User.Username)
	case cognito.IsUsernameExists(err) && !earlier:
		// Not ours: someone created it while we ran, or it was there but
		// the eventually consistent listing did not show it yet. Either
		// way, never adopt it.
		r.rep.locked(func() {
			r.rep.notRestored(Item{Username: u.Username, What: "user", Reason: "it exists in the target, but the target's user listing did not show it when the restore began (created meanwhile, or not listed yet: ListUsers is eventually consistent); " + r.existsHint()})
		})
		return rec, false, nil
	case cognito.IsUsernameExists(err):
		// An earlier run (or attempt, or import job) created it and died
		// before saying so.
		g, gerr := r.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: p, Username: aws.String(login)})
		if gerr != nil {
			return rec, false, fmt.Errorf("restore: read user %q in %s: %w", u.Username, r.opts.Target, gerr)
		}
		rec.NewSub, _ = cognito.Attr(g.UserAttributes, "sub")
		rec.NewName = aws.ToString(g.Username)
		if imported && g.UserStatus == types.UserStatusTypeResetRequired {
			rec.Via, rec.Status = ViaImport, string(g.UserStatus)
		}
	case lambdaRejected(cognito.Code(err)):
		// The target's PreSignUp function turned this user down (run with
		// --allow-triggers): report it and go on; a later run tries again.
		r.rep.locked(func() {
			r.rep.notRestored(Item{Username: u.Username, What: "user", Reason: "the target's PreSignUp trigger rejected it: " + apiMessage(err)})
		})
		return rec, false, nil
	case refused(err):
		// The target refuses this user (a stricter schema, an email that is
		// another user's alias): report it and go on; a later run tries again.
		r.rep.locked(func() {
			r.rep.notRestored(Item{Username: u.Username, What: "user", Reason: "the target refused it: " + apiMessage(err)})
		})
		return rec, false, nil
	default:
		return rec, false, fmt.Errorf("restore: create user %q in %s: %w", u.Username, r.opts.Target, err)
	}
	rec.NewName = orName(rec.NewName, login)
	return rec, true, r.st.record(rec)
}

// updateUser overwrites an existing user (--on-existing update) with the
// snapshot's values: disabled first when it was, enabled last when it was.
func (r *run) updateUser(ctx context.Context, u snapshot.User) error {
	login, _ := r.tg.login(u)
	ex, _ := r.tg.lookup(login)
	name := ex.username
	if !u.Enabled {
		if err := r.disable(ctx, u, name); err != nil {
			return err
		}
	}
	if err := r.updateAttrs(ctx, u, name); refused(err) {
		// The target refuses the values (an email another user signs in
		// with, a stricter schema): the user is reported and gets nothing
		// else from the snapshot, no group either.
		r.rep.locked(func() {
			r.rep.notRestored(Item{Username: u.Username, What: "user", Reason: "the target refused the update: " + apiMessage(err)})
		})
		return nil
	} else if err != nil {
		return err
	}
	if u.Enabled && !ex.enabled {
		if _, err := r.api.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: &r.opts.Target, Username: aws.String(name)}); err != nil {
			return fmt.Errorf("restore: enable user %q in %s: %w", u.Username, r.opts.Target, err)
		}
	}
	if ex.status != u.Status {
		// Changing the status of an existing user means replacing the
		// password it has: that is for the user to do, not a restore.
		r.rep.locked(func() {
			r.rep.Changed = append(r.rep.Changed, Item{Username: u.Username, What: "status",
				Reason: "kept " + ex.status + " (the snapshot has " + u.Status + "): changing an existing user's status would replace its password"})
		})
	}
	if err := r.afterCreate(ctx, u, name); err != nil {
		return err
	}
	return r.st.record(stateRecord{Event: "done", Username: u.Username, NewName: name})
}

// updateAttrs writes u's attributes to an existing user without sending a
// message: Cognito sends a verification code when email or phone_number
// changes unless the same call sets its *_verified attribute to true
// (AdminUpdateUserAttributes, API reference). So the call says true, and a
// second call, which changes no email or phone number, restores the
// snapshot's verified flag where it was not true.
func (r *run) updateAttrs(ctx context.Context, u snapshot.User, name string) error {
	attrs := r.writable(u, false)
	var after []types.AttributeType
	for _, a := range []string{"email", "phone_number"} {
		if _, ok := cognito.Attr(attrs, a); !ok {
			continue
		}
		v, _ := u.Attr(a + "_verified")
		if v != "true" {
			after = append(after, types.AttributeType{Name: aws.String(a + "_verified"), Value: aws.String("false")})
		}
		attrs = setAttr(attrs, a+"_verified", "true")
	}
	for _, batch := range [][]types.AttributeType{attrs, after} {
		if len(batch) == 0 {
			continue
		}
		if _, err := r.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &r.opts.Target, Username: aws.String(name), UserAttributes: batch}); err != nil {
			return fmt.Errorf("restore: update user %q in %s: %w", u.Username, r.opts.Target, err)
		}
	}
	return nil
}

func (r *run) disable(ctx context.Context, u snapshot.User, name string) error {
	if _, err := r.api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &r.opts.Target, Username: aws.String(name)}); err != nil {
		return fmt.Errorf("restore: disable user %q in %s: %w", u.Username, r.opts.Target, err)
	}
	return nil
}

func (r *run) confirm(ctx context.Context, u snapshot.User, name string) error {
	pw, err := randomPassword(r.opts.Rand)
	if err != nil {
		return err
	}
	if _, err := r.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &r.opts.Target, Username: aws.String(name), Password: &pw, Permanent: true}); err != nil {
		return fmt.Errorf("restore: confirm user %q in %s: %w", u.Username, r.opts.Target, err)
	}
	return nil
}

// afterCreate applies what creating a user does not: MFA preferences and
// federated links. Each step is safe to repeat.
func (r *run) afterCreate(ctx context.Context, u snapshot.User, name string) error {
	if u.MFA != nil {
		if err := r.restoreMFA(ctx, u, name); err != nil {
			return err
		}
	}
	for _, id := range u.Identities {
		if !r.tg.providers[id.ProviderName] {
			continue // in the plan's notes
		}
		_, err := r.api.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: &r.opts.Target,
			DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String(name)},
			SourceUser: &types.ProviderUserIdentifierType{ProviderName: aws.String(id.ProviderName), ProviderAttributeName: aws.String("Cognito_Subject"),
				ProviderAttributeValue: aws.String(id.UserID)}})
		if linkRefused(err) {
			// A retried call whose first attempt linked (its answer lost),
			// or a rerun, is refused as "already linked": to this user is
			// success.
			if mine, gerr := r.linkedTo(ctx, name, id); gerr != nil {
				return gerr
			} else if mine {
				err = nil
			}
		}
		switch {
		case err == nil:
			r.rep.locked(func() { r.rep.LinksRestored++ })
		case linkRefused(err):
			// Already linked to another user, the provider gone, the limit
			// of links reached: the user is restored, the link is not.
			r.rep.locked(func() {
				r.rep.notRestored(Item{Username: u.Username, What: "link to " + id.ProviderName, Reason: "the target refused it: " + apiMessage(err)})
			})
		default:
			return fmt.Errorf("restore: link %s identity to user %q in %s: %w", id.ProviderName, u.Username, r.opts.Target, err)
		}
	}
	return nil
}

// linkedTo reports whether the target user name already has identity id.
func (r *run) linkedTo(ctx context.Context, name string, id snapshot.Identity) (bool, error) {
	g, err := r.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &r.opts.Target, Username: aws.String(name)})
	if err != nil {
		return false, fmt.Errorf("restore: read user %q in %s: %w", name, r.opts.Target, err)
	}
	v, _ := cognito.Attr(g.UserAttributes, "identities")
	var ids []struct {
		UserID       string `json:"userId"`
		ProviderName string `json:"providerName"`
	}
	_ = json.Unmarshal([]byte(v), &ids) // no or odd identities: not linked
	for _, have := range ids {
		if have.ProviderName == id.ProviderName && have.UserID == id.UserID {
			return true, nil
		}
	}
	return false, nil
}

// refused reports whether the target refused a user's values: a stricter
// schema, or an email or phone number another user signs in with.
func refused(err error) bool {
	switch cognito.Code(err) {
	case "InvalidParameterException", "AliasExistsException":
		return true
	}
	return false
}

func linkRefused(err error) bool {
	switch cognito.Code(err) {
	case "InvalidParameterException", "AliasExistsException", "LimitExceededException", "NotAuthorizedException":
		return true
	}
	return false
}

// createAttrs are the attributes a new user is created with, in snapshot
// order.
func (r *run) createAttrs(u snapshot.User) []types.AttributeType { return r.writable(u, true) }

// writable returns the attributes to write: the snapshot's less the
// service's own (sub, identities), those the target lacks (the plan refused
// or dropped them) and, for an existing user, the immutable ones; with
// --sub-attribute, the user's original sub.
func (r *run) writable(u snapshot.User, create bool) []types.AttributeType {
	var out []types.AttributeType
	for _, a := range u.Attributes {
		if a.Name == "sub" || a.Name == "identities" || !r.tg.writable[a.Name] || (!create && !r.tg.mutable[a.Name]) {
			continue
		}
		out = append(out, types.AttributeType{Name: aws.String(a.Name), Value: aws.String(a.Value)})
	}
	if r.opts.SubAttribute != "" && (create || r.tg.mutable[r.opts.SubAttribute]) {
		out = setAttr(out, r.opts.SubAttribute, originalSub(u, r.opts.SubAttribute))
	}
	return out
}

// originalSub is the sub to keep in the --sub-attribute: the one the
// snapshot already preserved there (the user's first identity, from a pool
// restored before) or else the snapshot's own.
func originalSub(u snapshot.User, attr string) string {
	if v, ok := u.Attr(attr); ok && v != "" {
		return v
	}
	return u.Sub
}

func setAttr(as []types.AttributeType, name, value string) []types.AttributeType {
	for i := range as {
		if aws.ToString(as[i].Name) == name {
			as[i].Value = aws.String(value)
			return as
		}
	}
	return append(as, types.AttributeType{Name: aws.String(name), Value: aws.String(value)})
}

func orName(name, fallback string) string {
	if name == "" {
		return fallback
	}
	return name
}

func (r *run) restoreMFA(ctx context.Context, u snapshot.User, name string) error {
	in := &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &r.opts.Target, Username: aws.String(name)}
	set := false
	for _, m := range u.MFA.UserMFASettingList {
		pref := u.MFA.PreferredMfaSetting == m
		switch m {
		case "SMS_MFA":
			in.SMSMfaSettings = &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: pref}
			set = true
		case "EMAIL_OTP":
			in.EmailMfaSettings = &types.EmailMfaSettingsType{Enabled: true, PreferredMfa: pref}
			set = true
		}
	}
	if !set {
		return nil
	}
	if _, err := r.api.AdminSetUserMFAPreference(ctx, in); err != nil {
		return fmt.Errorf("restore: MFA preferences of user %q: %w", u.Username, err)
	}
	return nil
}

// apiMessage is the service's message of an API error, without the SDK's
// operation prefix.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}

// existsHint is what to do about a user created in the target while the
// restore ran: the caller's advice (Options.ExistsHint), else restore's.
func (r *run) existsHint() string {
	if r.opts.ExistsHint != "" {
		return r.opts.ExistsHint
	}
	return "rerun to treat it as existing (--on-existing)"
}
