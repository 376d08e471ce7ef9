package migrate

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// signIn is how a pool's users identify themselves, and so how a target user
// is matched to the source user the migration made them from: by the value
// they sign in with. start refuses a target that differs from the source in
// any of this (sameSignIn), so one keying serves both pools.
type signIn struct {
	usernameAttrs []string // email / phone_number instead of a username
	aliasAttrs    []string // besides the username
	caseSensitive bool
}

func signInOf(p *types.UserPoolType) signIn {
	s := signIn{caseSensitive: caseSensitive(p)}
	for _, a := range p.UsernameAttributes {
		s.usernameAttrs = append(s.usernameAttrs, string(a))
	}
	for _, a := range p.AliasAttributes {
		s.aliasAttrs = append(s.aliasAttrs, string(a))
	}
	return s
}

// keys are the forms under which a user with this username and these
// attributes signs in: the username (in its case-folded form when the pool
// ignores case), or in a pool that signs in with email or phone number
// those values, plus alias values. Email addresses compare in lower case
// (the UserMigration event's userName is what the user typed).
func (s signIn) keys(username string, attr func(string) (string, bool)) []string {
	var out []string
	add := func(prefix, v string) {
		if v != "" {
			out = append(out, prefix+v)
		}
	}
	if len(s.usernameAttrs) == 0 {
		if s.caseSensitive {
			add("u:", username)
		} else {
			add("u:", strings.ToLower(username))
		}
	}
	for _, a := range append(append([]string(nil), s.usernameAttrs...), s.aliasAttrs...) {
		if a == "preferred_username" {
			continue // an alias that users choose, not a key across pools
		}
		if v, ok := attr(a); ok {
			if a == "email" {
				v = strings.ToLower(v)
			}
			add(a+":", v)
		}
	}
	return out
}

func (s signIn) userKeys(u types.UserType) []string {
	return s.keys(aws.ToString(u.Username), func(n string) (string, bool) { return cognito.Attr(u.Attributes, n) })
}

func (s signIn) recordKeys(u snapshot.User) []string {
	return s.keys(u.Username, u.Attr)
}
