package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// target is what the restore knows of the pool it writes to.
type target struct {
	name     string
	writable map[string]bool // attributes that can be written at creation
	mutable  map[string]bool
	maxLen   map[string]int // characters a String attribute may hold
	// usernameAttrs are the attributes users sign in with instead of a
	// username ("email", "phone_number"); aliasAttrs those they may sign in
	// with besides it (when verified).
	usernameAttrs []string
	aliasAttrs    []string
	providers     map[string]bool
	// autoVerified and mfaMode decide which users an import file can carry
	// (importcsv.go).
	autoVerified []string
	mfaMode      string
	// existing indexes the target's users by key: their username, or in a
	// pool that signs in with email or phone number, those values.
	existing      map[string]existingUser
	groups        map[string]types.GroupType
	caseSensitive bool
	// planned maps the key of each user the plan took to the snapshot's
	// username, so that two snapshot users that are one user in the target
	// are caught instead of merged.
	planned map[string]string
	// triggers are the pool's Lambda triggers (LambdaConfig).
	triggers []Trigger
}

// existingUser is a user the target held before the restore.
type existingUser struct {
	username string
	status   string
	enabled  bool
}

// signInOrder is the order in which a user's sign-in attributes are tried
// in a pool that signs in with email or phone number.
var signInOrder = []string{"email", "phone_number"}

// login is the name u is created with in the target (AdminCreateUser's
// Username, the import file's cognito:username): the snapshot's username in
// a plain pool; in a pool that signs in with email or phone number, that
// value, since Cognito takes it as the username there and assigns an opaque
// one. It returns why u cannot be created when it has none.
func (t *target) login(u snapshot.User) (string, string) {
	if len(t.usernameAttrs) == 0 {
		return u.Username, ""
	}
	for _, a := range signInOrder {
		if !slices.Contains(t.usernameAttrs, a) {
			continue
		}
		if v, ok := u.Attr(a); ok && v != "" {
			return v, ""
		}
	}
	return "", "the target pool signs in with " + strings.Join(t.usernameAttrs, " or ") + " and the user has none"
}

// key is the form in which the target compares a login: email addresses
// and case-insensitive usernames in lower case. Where the service's own
// comparison is not documented (email in a case-sensitive pool), the lower
// case is the safe choice: two users it would merge are reported, never
// merged.
func (t *target) key(login string) string {
	if len(t.usernameAttrs) > 0 {
		if strings.Contains(login, "@") {
			return strings.ToLower(login)
		}
		return login
	}
	if !t.caseSensitive {
		return strings.ToLower(login)
	}
	return login
}

// lookup finds the target user that login names.
func (t *target) lookup(login string) (existingUser, bool) {
	e, ok := t.existing[t.key(login)]
	return e, ok
}

// keysOf are the keys under which a listed target user is found.
func (t *target) keysOf(u types.UserType) []string {
	if len(t.usernameAttrs) == 0 || u.UserStatus == types.UserStatusTypeExternalProvider {
		return []string{t.key(aws.ToString(u.Username))}
	}
	var keys []string
	for _, a := range t.usernameAttrs {
		if v, ok := cognito.Attr(u.Attributes, a); ok && v != "" {
			keys = append(keys, t.key(v))
		}
	}
	return keys
}

func readTarget(ctx context.Context, api API, pool string) (*target, error) {
	desc, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		return nil, fmt.Errorf("restore: describe target pool %s: %w", pool, err)
	}
	up := desc.UserPool
	tg := &target{name: aws.ToString(up.Name), writable: map[string]bool{}, mutable: map[string]bool{}, maxLen: map[string]int{}, providers: map[string]bool{},
		existing: map[string]existingUser{}, groups: map[string]types.GroupType{}, caseSensitive: true, planned: map[string]string{}}
	readSchema(tg, up.SchemaAttributes)
	tg.triggers = readTriggers(up.LambdaConfig)
	for _, ua := range up.UsernameAttributes {
		tg.usernameAttrs = append(tg.usernameAttrs, string(ua))
	}
	for _, aa := range up.AliasAttributes {
		tg.aliasAttrs = append(tg.aliasAttrs, string(aa))
	}
	for _, av := range up.AutoVerifiedAttributes {
		tg.autoVerified = append(tg.autoVerified, string(av))
	}
	tg.mfaMode = string(up.MfaConfiguration)
	if uc := up.UsernameConfiguration; uc != nil && uc.CaseSensitive != nil {
		tg.caseSensitive = *uc.CaseSensitive
	}
	in := &cip.ListIdentityProvidersInput{UserPoolId: &pool, MaxResults: aws.Int32(60)}
	for {
		out, err := api.ListIdentityProviders(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("restore: list identity providers of %s: %w", pool, err)
		}
		for _, p := range out.Providers {
			tg.providers[aws.ToString(p.ProviderName)] = true
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for g, err := range cognito.Groups(ctx, api, pool) {
		if err != nil {
			return nil, err
		}
		tg.groups[aws.ToString(g.GroupName)] = g
	}
	for u, err := range cognito.AllUsers(ctx, api, pool, 16, nil) {
		if err != nil {
			return nil, err
		}
		e := existingUser{username: aws.ToString(u.Username), status: string(u.UserStatus), enabled: u.Enabled}
		for _, k := range tg.keysOf(u) {
			tg.existing[k] = e
		}
	}
	return tg, nil
}

func readSchema(tg *target, schema []types.SchemaAttributeType) {
	for _, sa := range schema {
		name := aws.ToString(sa.Name)
		if name == "sub" || name == "identities" {
			continue
		}
		tg.writable[name] = true
		tg.mutable[name] = aws.ToBool(sa.Mutable)
		if sa.AttributeDataType == types.AttributeDataTypeString {
			// Standard string attributes hold up to 2,048 characters unless
			// the schema says less.
			tg.maxLen[name] = 2048
			if c := sa.StringAttributeConstraints; c != nil && c.MaxLength != nil {
				if n, err := strconv.Atoi(*c.MaxLength); err == nil {
					tg.maxLen[name] = n
				}
			}
		}
	}
}

// signIn is how the source pool's users signed in, from the snapshot's pool
// configuration.
type signIn struct {
	UsernameAttributes []string `json:"UsernameAttributes"`
	AliasAttributes    []string `json:"AliasAttributes"`
}

func sourceSignIn(cfg *snapshot.PoolConfig) signIn {
	var s signIn
	if cfg != nil && len(cfg.UserPool) > 0 {
		_ = json.Unmarshal(cfg.UserPool, &s) // a pool without them signs in with a username
	}
	return s
}

// checkSignIn refuses, before any write, a target whose users could not
// sign in the way the snapshot's did: users of a pool that signed in with
// email or phone number have only an opaque username, so a target that
// signs in with usernames must at least take those values as aliases.
func checkSignIn(src signIn, tg *target, targetID string) error {
	if len(src.UsernameAttributes) == 0 || len(tg.usernameAttrs) > 0 {
		return nil
	}
	for _, a := range src.UsernameAttributes {
		if slices.Contains(tg.aliasAttrs, a) {
			return nil
		}
	}
	return fmt.Errorf("restore: %w: the snapshot's users sign in with %s (the source pool's username attributes) and have only an opaque username, but the target pool %s signs in with a username and takes no %s alias, so no restored user could sign in; restore into a pool that signs in with %s (restore --create-pool creates one like the source) or that has it as an alias attribute",
		ErrRefused, strings.Join(src.UsernameAttributes, "/"), targetID, strings.Join(src.UsernameAttributes, "/"), strings.Join(src.UsernameAttributes, "/"))
}

// devHint says how to add a developer-only attribute the target lacks:
// Cognito names it dev:custom:<name> and creates it from a schema entry
// <name> with DeveloperOnlyAttribute true (docs/cognito-facts.md §12); a
// plain custom:<name> is another attribute.
func devHint(name string) string {
	base, ok := strings.CutPrefix(name, "dev:custom:")
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (a developer-only attribute: add custom attribute %s with DeveloperOnlyAttribute true)", base)
}
