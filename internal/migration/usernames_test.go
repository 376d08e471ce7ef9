package migration_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// verifiedEmailUser is a confirmed, enabled source user with a verified
// email: its username and email.
func (w *world) verifiedEmailUser(t *testing.T) (string, string) {
	t.Helper()
	for _, u := range w.sourceUsers(t, types.UserStatusTypeConfirmed, true) {
		if m := attrMap(u.Attributes); m["email_verified"] == "true" && m["email"] != "" {
			return aws.ToString(u.Username), m["email"]
		}
	}
	t.Fatal("no confirmed source user with a verified email")
	return "", ""
}

// TestEmailSignInMigrates: a user signs in to a target that signs in by
// email with the email they had in the source, whether the source signs
// in by email too or has a plain username with email as an alias. The
// source's AdminInitiateAuth and AdminGetUser take the email; the oracle
// is the source's AdminGetUser of the user's username. The email may be
// typed in another case.
func TestEmailSignInMigrates(t *testing.T) {
	for _, c := range []struct {
		what  string
		kind  pools
		typed func(string) string
	}{
		{"source with an email alias", pools{target: []string{"email"}}, strings.ToUpper},
		{"source signing in by email", pools{source: []string{"email"}, target: []string{"email"}}, func(s string) string { return s }},
	} {
		t.Run(c.what, func(t *testing.T) {
			w := newWorldOf(t, c.kind)
			w.copyGroups(t, "")
			name, email := w.verifiedEmailUser(t)
			email = c.typed(email) // emails compare case-insensitively
			want, oldSub := w.want(t, name)
			srcGroups := w.groups(t, w.source, name)
			if _, err := w.signIn(email, sourcePW); err != nil {
				t.Fatalf("sign-in by email: %v", err)
			}
			got := mustGet(t, w, w.target, email)
			m := attrMap(got.UserAttributes)
			newSub := m["sub"]
			delete(m, "sub")
			if got.UserStatus != types.UserStatusTypeConfirmed || newSub == oldSub || aws.ToString(got.Username) != newSub {
				t.Errorf("target user: %s, username is the new sub: %v", got.UserStatus, aws.ToString(got.Username) == newSub)
			}
			if diff := mapDiff(want, m); diff != "" {
				t.Errorf("attributes differ from the source's: %s", diff)
			}
			w.migrated(t, email, name, "", srcGroups)
			before := w.store.counts()
			if _, err := w.signIn(email, sourcePW); err != nil {
				t.Errorf("second sign-in: %v", err)
			}
			values := 0 // the username is the sub: the email and phone number, as the user has them
			for _, a := range []string{"email", "phone_number"} {
				if _, ok := m[a]; ok {
					values++
				}
			}
			if after := w.store.counts(); after[0]-before[0] != int64(values) || after[1] != before[1] || after[2] != before[2] {
				t.Errorf("second sign-in: %d GETs (want %d), %d PUTs, %d DELETEs", after[0]-before[0], values, after[1]-before[1], after[2]-before[2])
			}
		})
	}
}

// TestEmailIntoAnEmailAliasTargetIsRefused: a target with a plain username
// and email as an alias takes no email as a username, so a user who types
// their email there is not created; they sign in with their username.
func TestEmailIntoAnEmailAliasTargetIsRefused(t *testing.T) {
	w := newWorld(t)
	name, email := w.verifiedEmailUser(t)
	if _, err := w.signIn(email, sourcePW); !isCode(err, "InvalidParameterException") {
		t.Errorf("email typed into an email-alias target: %v", err)
	}
	if _, err := w.get(w.target, name); !isCode(err, "UserNotFoundException") {
		t.Errorf("the target has the user (%v)", err)
	}
	if _, err := w.signIn(name, sourcePW); err != nil {
		t.Errorf("the same user by username: %v", err)
	}
}
