package restore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// restoreUser applies one user. Every step is safe to repeat, so a user whose
// restore was cut short is finished by the next run.
func restoreUser(ctx context.Context, api API, tg *target, st *state, opts Options, u snapshot.User, rep *Report, mu *sync.Mutex) error {
	p := &opts.Target
	name := aws.String(u.Username)
	existed := tg.has(u.Username) && !st.ours(u.Username)
	if existed && opts.OnExisting == OnExistingFail {
		return fmt.Errorf("restore: user %q: %w %s (use --on-existing skip or update)", u.Username, ErrExisting, opts.Target)
	}

	attrs, _ := writable(u, tg, !existed) // dropped ones are in the plan's notes
	if opts.SubAttribute != "" {
		attrs = append(attrs, types.AttributeType{Name: aws.String(opts.SubAttribute), Value: aws.String(u.Sub)})
	}

	if existed {
		if len(attrs) > 0 {
			if _, err := api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: p, Username: name, UserAttributes: attrs}); err != nil {
				return fmt.Errorf("restore: update user %q in %s: %w", u.Username, opts.Target, err)
			}
		}
	} else if _, ok := st.createdRecord(u.Username); !ok {
		earlier := st.ours(u.Username) // an earlier run set out to create it
		if err := st.record(stateRecord{Event: "intent", Username: u.Username}); err != nil {
			return err
		}
		var tries attempts
		out, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p, Username: name, UserAttributes: attrs,
			MessageAction: types.MessageActionTypeSuppress}, tries.option)
		// A retried create that finds the user may have lost the answer to
		// its own first attempt: that user is ours, as after a crash.
		earlier = earlier || tries.retried()
		var newSub string
		switch {
		case err == nil:
			newSub, _ = cognito.Attr(out.User.Attributes, "sub")
		case cognito.IsUsernameExists(err) && !earlier:
			// Not ours: someone created it while we ran. Never adopt it.
			mu.Lock()
			rep.notRestored(Item{Username: u.Username, What: "user", Reason: "it appeared in the target while the restore ran; rerun with --on-existing update to overwrite it"})
			mu.Unlock()
			return nil
		case cognito.IsUsernameExists(err):
			// An earlier run (or attempt) created it and died before saying so.
			g, gerr := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: p, Username: name})
			if gerr != nil {
				return fmt.Errorf("restore: read user %q in %s: %w", u.Username, opts.Target, gerr)
			}
			newSub, _ = cognito.Attr(g.UserAttributes, "sub")
		case cognito.Code(err) == "InvalidParameterException":
			// The target refuses this user (a stricter schema, say): report
			// it and go on; a later run tries again.
			mu.Lock()
			rep.notRestored(Item{Username: u.Username, What: "user", Reason: "the target refused it: " + apiMessage(err)})
			mu.Unlock()
			return nil
		default:
			return fmt.Errorf("restore: create user %q in %s: %w", u.Username, opts.Target, err)
		}
		if err := st.record(stateRecord{Event: "created", Username: u.Username, OldSub: u.Sub, NewSub: newSub}); err != nil {
			return err
		}
	}

	// AdminCreateUser leaves FORCE_CHANGE_PASSWORD, which is exact for users
	// that were in it; everyone else gets a permanent random password no one
	// knows, which makes them CONFIRMED: from there "forgot password" works.
	if !existed && u.Status != "FORCE_CHANGE_PASSWORD" {
		pw, err := randomPassword(opts.Rand)
		if err != nil {
			return err
		}
		if _, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: p, Username: name, Password: &pw, Permanent: true}); err != nil {
			return fmt.Errorf("restore: confirm user %q in %s: %w", u.Username, opts.Target, err)
		}
	}

	if err := afterCreate(ctx, api, tg, opts, u, existed, rep, mu); err != nil {
		return err
	}
	return st.record(stateRecord{Event: "done", Username: u.Username})
}

// afterCreate applies what creating a user does not: the enabled flag, MFA
// preferences and federated links. Each step is safe to repeat.
func afterCreate(ctx context.Context, api API, tg *target, opts Options, u snapshot.User, existed bool, rep *Report, mu *sync.Mutex) error {
	p := &opts.Target
	name := aws.String(u.Username)
	switch {
	case !u.Enabled:
		if _, err := api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: p, Username: name}); err != nil {
			return fmt.Errorf("restore: disable user %q in %s: %w", u.Username, opts.Target, err)
		}
	case existed:
		if _, err := api.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: p, Username: name}); err != nil {
			return fmt.Errorf("restore: enable user %q in %s: %w", u.Username, opts.Target, err)
		}
	}

	if u.MFA != nil {
		if err := restoreMFA(ctx, api, p, u, rep, mu); err != nil {
			return err
		}
	}
	for _, id := range u.Identities {
		if !tg.providers[id.ProviderName] {
			continue // in the plan's notes
		}
		_, err := api.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: p,
			DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: name},
			SourceUser: &types.ProviderUserIdentifierType{ProviderName: aws.String(id.ProviderName), ProviderAttributeName: aws.String("Cognito_Subject"),
				ProviderAttributeValue: aws.String(id.UserID)}})
		if err != nil && cognito.Code(err) != "InvalidParameterException" {
			return fmt.Errorf("restore: link %s identity to user %q in %s: %w", id.ProviderName, u.Username, opts.Target, err)
		}
		if err == nil {
			mu.Lock()
			rep.LinksRestored++
			mu.Unlock()
		}
	}
	return nil
}

// writable returns the attributes to write, in snapshot order, and the names
// of those the target cannot take. sub and identities are the service's own;
// when updating an existing user, immutable attributes cannot be written.
func writable(u snapshot.User, tg *target, create bool) (out []types.AttributeType, dropped []string) {
	for _, a := range u.Attributes {
		switch {
		case a.Name == "sub" || a.Name == "identities":
			continue
		case !tg.writable[a.Name] || (!create && !tg.mutable[a.Name]):
			dropped = append(dropped, a.Name)
			continue
		}
		out = append(out, types.AttributeType{Name: aws.String(a.Name), Value: aws.String(a.Value)})
	}
	return out, dropped
}

func restoreMFA(ctx context.Context, api API, pool *string, u snapshot.User, rep *Report, mu *sync.Mutex) error {
	in := &cip.AdminSetUserMFAPreferenceInput{UserPoolId: pool, Username: aws.String(u.Username)}
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
	if _, err := api.AdminSetUserMFAPreference(ctx, in); err != nil {
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
