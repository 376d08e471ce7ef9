package cognitotest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// PopulateOptions describes a generated pool.
type PopulateOptions struct {
	// PoolName defaults to "cogvault-fake".
	PoolName string
	// Users and Groups to create.
	Users, Groups int
	// Seed makes the content reproducible (default 1).
	Seed uint64
	// UsernameAttributes, when set ("email" and/or "phone_number"), creates
	// the pool with these UsernameAttributes instead of the default alias
	// attributes (Cognito allows one or the other, never both) and generates
	// what such a pool holds: every local user's Username is its sub, and
	// every local user has a sign-in attribute, unique across the pool
	// (emails compared case-insensitively). With only "phone_number" every
	// local user has a phone number; with both, ~6% are phone-only.
	// External-provider users keep their "Google_<id>" usernames.
	// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html#user-pool-settings-usernames
	UsernameAttributes []string
	// DevAttribute adds the developer-only attribute dev:custom:internal_id
	// (DevAttributeName) to the pool, with a value for every local user.
	DevAttribute bool
	// Password, when set, is the password of every generated user that has
	// one (all but external-provider and RESET_REQUIRED users), so sign-in
	// and migration tests know it. Empty: their passwords are unknown and
	// no generated user can sign in.
	Password string
}

// DevAttributeName is the developer-only attribute DevAttribute adds, in
// the form DescribeUserPool and the user operations give it.
const DevAttributeName = "dev:custom:internal_id"

// PopulateResult says what Populate created.
type PopulateResult struct {
	PoolID      string
	ClientID    string
	Users       int
	Groups      int
	Memberships int
}

// CustomAttributes are the custom attributes of a populated pool, as the
// Schema member of CreateUserPool spells them (without the "custom:" prefix).
var CustomAttributes = []string{"tenant_id", "plan", "score", "legacy_sub", "notes"}

// baseTime anchors generated timestamps so that content is reproducible.
var baseTime = time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)

// Populate creates a pool with a realistic mix of users and groups, straight
// into the service state (no quota is spent): unicode names, values with
// commas, quotes and newlines, custom attributes, unconfirmed, disabled,
// phone-only, MFA-enabled, federated-linked and external-provider users, and
// groups with memberships. The same options and Service seed give the same
// pool.
func (s *Service) Populate(o PopulateOptions) (PopulateResult, error) {
	if o.PoolName == "" {
		o.PoolName = "cogvault-fake"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Users < 0 || o.Groups < 0 {
		return PopulateResult{}, fmt.Errorf("populate: users and groups must be ≥ 0 (got %d, %d)", o.Users, o.Groups)
	}
	if err := checkUsernameAttributes(o.UsernameAttributes); err != nil {
		return PopulateResult{}, fmt.Errorf("populate: %w", err)
	}
	if o.Password != "" {
		if err := checkPasswordPolicy(o.Password, defaultPolicy); err != nil {
			return PopulateResult{}, fmt.Errorf("populate: Password: %w", err) // the generated pool has the default policy
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x706f70756c617465))
	s.mu.Lock()
	defer s.mu.Unlock()

	in := createUserPoolInput{PoolName: o.PoolName, AliasAttributes: []string{"email", "phone_number", "preferred_username"}}
	if len(o.UsernameAttributes) > 0 {
		in.AliasAttributes = nil
		in.UsernameAttributes = append([]string(nil), o.UsernameAttributes...)
	}
	f := false
	in.UsernameConfiguration = &struct {
		CaseSensitive *bool `json:"CaseSensitive"`
	}{&f}
	for _, name := range CustomAttributes {
		sa := schemaAttr{Name: name, AttributeDataType: "String", Mutable: true,
			StringAttributeConstraints: &stringConstr{MinLength: "0", MaxLength: "2048"}}
		if name == "score" {
			sa = schemaAttr{Name: name, AttributeDataType: "Number", Mutable: true,
				NumberAttributeConstraints: &numberConstr{MinValue: "0", MaxValue: "1000000"}}
		}
		if name == "tenant_id" {
			sa.Mutable = false
			sa.StringAttributeConstraints.MaxLength = "64"
		}
		m := sa.Mutable
		in.Schema = append(in.Schema, schemaInput{schemaAttr: sa, Mutable: &m})
	}
	if o.DevAttribute {
		sa := schemaAttr{Name: "internal_id", AttributeDataType: "String", DeveloperOnlyAttribute: true, Mutable: true,
			StringAttributeConstraints: &stringConstr{MinLength: "0", MaxLength: "64"}}
		m := true
		in.Schema = append(in.Schema, schemaInput{schemaAttr: sa, Mutable: &m})
	}
	p, aerr := s.newPool(in, nil)
	if aerr != nil {
		return PopulateResult{}, fmt.Errorf("populate: create pool: %w", aerr)
	}
	if len(o.UsernameAttributes) > 0 {
		// DescribeUserPool reports it, as for a pool CreateUserPool made, so
		// that readers can tell how the pool signs in. (The default pool's
		// AliasAttributes stay unreported, as they always were.)
		b, _ := json.Marshal(p.usernameAttrs)
		p.config["UsernameAttributes"] = b
	}
	// Email and phone number are verified automatically, so either verified
	// one lets a user recover a password and makes an import line valid
	// (docs/cognito-facts.md §12).
	p.config["AutoVerifiedAttributes"] = json.RawMessage(`["email","phone_number"]`)
	res := PopulateResult{PoolID: p.id}

	c := &client{id: s.newClientID(), name: "web", created: baseTime, modified: baseTime}
	p.clients[c.id] = c
	res.ClientID = c.id
	// As the console creates it: the app's Google credentials, a secret a
	// backup must never store.
	p.idps["Google"] = &identityProvider{name: "Google", typ: "Google", created: baseTime, modified: baseTime, config: map[string]json.RawMessage{
		"ProviderDetails":  json.RawMessage(`{"client_id":"123-fake.apps.googleusercontent.com","client_secret":"GOCSPX-fake-secret","authorize_scopes":"openid email profile"}`),
		"AttributeMapping": json.RawMessage(`{"email":"email","username":"sub"}`),
	}}

	for i := 0; i < o.Groups; i++ {
		g := genGroup(rng, i)
		p.groups[g.name] = g
	}
	groupNames := make([]string, 0, o.Groups)
	for i := 0; i < o.Groups; i++ {
		groupNames = append(groupNames, groupName(i))
	}

	for i := 0; i < o.Users; i++ {
		u := s.genUser(rng, p, i)
		if o.Password != "" && u.hasPassword && u.status != StatusResetRequired {
			u.setPassword(o.Password)
		}
		if len(p.usernameAttrs) > 0 {
			usernameAttrsUser(p, u, i)
		}
		if o.DevAttribute && u.status != StatusExternalProvider {
			u.set(DevAttributeName, fmt.Sprintf("int-%06d", i))
		}
		p.seq++
		u.seq = p.seq
		p.users[p.canon(u.username)] = u
		p.bySub[u.sub] = u
		p.enlist(u)
		p.reindexAliases(u, nil)
		res.Users++
		// Memberships: most users in 0–2 groups, skewed towards the first
		// groups so that some groups are large.
		if len(groupNames) > 0 && u.status != StatusExternalProvider {
			n := rng.IntN(3)
			for k := 0; k < n; k++ {
				gi := int(float64(len(groupNames)) * rng.Float64() * rng.Float64())
				g := p.groups[groupNames[gi]]
				if _, ok := u.groups[g.name]; !ok {
					u.groups[g.name] = struct{}{}
					g.addMember(u)
					res.Memberships++
				}
			}
		}
	}
	res.Groups = len(p.groups)
	return res, nil
}

// checkUsernameAttributes accepts what CreateUserPool accepts as
// UsernameAttributes: "email" and "phone_number", each at most once.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html#CognitoUserPools-CreateUserPool-request-UsernameAttributes
func checkUsernameAttributes(attrs []string) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		if a != "email" && a != "phone_number" {
			return fmt.Errorf("username attribute %q: only email and phone_number are allowed", a)
		}
		if seen[a] {
			return fmt.Errorf("username attribute %q given twice", a)
		}
		seen[a] = true
	}
	return nil
}

// usernameAttrsUser turns generated user i into what a pool with
// UsernameAttributes holds: a local user's username is its sub, and it has a
// sign-in attribute the pool allows. It draws nothing from the generator, so
// the rest of the content is the same as in the default pool. Generated
// emails and phone numbers embed i, so they are unique; some emails are
// mixed-case, to exercise case-insensitive matching.
func usernameAttrsUser(p *pool, u *user, i int) {
	if u.status == StatusExternalProvider {
		return
	}
	u.username = u.sub
	allowEmail, allowPhone := false, false
	for _, a := range p.usernameAttrs {
		allowEmail = allowEmail || a == "email"
		allowPhone = allowPhone || a == "phone_number"
	}
	email, hasEmail := u.get("email")
	if !allowPhone && !hasEmail {
		// Email is the only way in: the ~6% phone-only users get one too.
		u.set("email", fmt.Sprintf("user%07d@example.com", i))
		u.set("email_verified", strconv.FormatBool(u.status != StatusUnconfirmed))
		email, hasEmail = u.get("email")
	}
	if hasEmail && i%5 == 1 && strings.EqualFold(email, fmt.Sprintf("user%07d@example.com", i)) {
		u.set("email", fmt.Sprintf("User%07d@Example.COM", i))
	}
	if allowPhone && (!allowEmail || !hasEmail) {
		if _, ok := u.get("phone_number"); !ok {
			u.set("phone_number", fmt.Sprintf("+1555%07d", i%10000000))
			u.set("phone_number_verified", strconv.FormatBool(u.status != StatusUnconfirmed))
		}
	}
}

func groupName(i int) string {
	names := []string{"admins", "editors", "viewers", "billing", "support", "beta-testers", "Équipe-Paris", "東京チーム"}
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("group-%05d", i)
}

func genGroup(rng *rand.Rand, i int) *group {
	g := &group{name: groupName(i), created: baseTime.Add(time.Duration(i) * time.Hour), members: map[*user]struct{}{}}
	g.modified = g.created
	switch i % 4 {
	case 0:
		g.description = fmt.Sprintf("Group %d, with a comma", i)
	case 1:
		g.description = fmt.Sprintf("Says \"hello\"\nacross lines (%d)", i)
	case 2:
		g.roleArn = fmt.Sprintf("arn:aws:iam::123456789012:role/cogvault-group-%d", i)
	}
	if i%3 != 2 {
		prec := int64(rng.IntN(100))
		g.precedence = &prec
	}
	return g
}

var (
	givenNames  = []string{"Anna", "José", "Zoë", "Łukasz", "Mei", "Олег", "Aarav", "Fatima", "Søren", "Chloé", "李", "Nguyễn", "O'Brien", "Ana María"}
	familyNames = []string{"Smith", "Müller", "García", "Kowalski", "王", "Иванова", "Patel", "Al-Sayed", "Ødegård", "D'Angelo", "van der Berg", "Nakamura", "Smith, Jr."}
	plans       = []string{"free", "pro", "enterprise", "pro,annual", "\"legacy\""}
)

// genUser makes user i. The mix (per 100 users): ~6 unconfirmed, ~3
// FORCE_CHANGE_PASSWORD, ~2 RESET_REQUIRED, ~3 external-provider, ~4
// disabled, ~6 phone-only, ~8 with SMS MFA, ~4 with TOTP, ~3 linked to
// Google; every value class that breaks naive CSV appears.
func (s *Service) genUser(rng *rand.Rand, p *pool, i int) *user {
	given := givenNames[rng.IntN(len(givenNames))]
	family := familyNames[rng.IntN(len(familyNames))]
	created := baseTime.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Millisecond)
	u := &user{
		sub: s.newUUID(), enabled: true, status: StatusConfirmed, hasPassword: true,
		created: created, modified: created.Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Millisecond),
		groups: map[string]struct{}{},
	}
	roll := rng.IntN(100)
	switch {
	case roll < 6:
		u.status = StatusUnconfirmed
	case roll < 9:
		u.status = StatusForceChangePassword
	case roll < 11:
		u.status = StatusResetRequired
	case roll < 14:
		u.status = StatusExternalProvider
	}
	switch {
	case u.status == StatusExternalProvider:
		uid := strconv.FormatUint(rng.Uint64()%1e18, 10)
		u.username = "Google_" + uid
		u.hasPassword = false
	case i%7 == 3:
		u.username = strings.ToLower(strings.ReplaceAll(given, " ", "")) + "." + fmt.Sprint(i) // unicode usernames
	default:
		u.username = fmt.Sprintf("user%07d", i)
	}
	u.attrs = append(u.attrs, attr{"sub", u.sub})
	phoneOnly := rng.IntN(100) < 6
	if !phoneOnly {
		u.attrs = append(u.attrs,
			attr{"email", fmt.Sprintf("user%07d@example.com", i)},
			attr{"email_verified", strconv.FormatBool(u.status != StatusUnconfirmed && rng.IntN(10) > 0)})
	}
	if phoneOnly || rng.IntN(100) < 20 {
		u.attrs = append(u.attrs,
			attr{"phone_number", fmt.Sprintf("+1555%07d", i%10000000)},
			attr{"phone_number_verified", strconv.FormatBool(u.status != StatusUnconfirmed)})
	}
	u.attrs = append(u.attrs, attr{"given_name", given}, attr{"family_name", family}, attr{"name", given + " " + family})
	switch rng.IntN(10) {
	case 0:
		u.attrs = append(u.attrs, attr{"address", fmt.Sprintf("%d Main St, Apt \"%d\"\nSpringfield", i%999+1, i%40)})
	case 1:
		u.attrs = append(u.attrs, attr{"address", "=HYPERLINK(\"http://x\"),  padded  "})
	case 2:
		u.attrs = append(u.attrs, attr{"locale", "fr-CA"}, attr{"zoneinfo", "America/Montreal"})
	}
	if rng.IntN(3) == 0 {
		u.attrs = append(u.attrs, attr{"preferred_username", fmt.Sprintf("%s_%d", strings.ToLower(strings.ReplaceAll(given, " ", "")), i)})
	}
	u.attrs = append(u.attrs,
		attr{"custom:tenant_id", fmt.Sprintf("t-%03d", rng.IntN(500))},
		attr{"custom:plan", plans[rng.IntN(len(plans))]},
		attr{"custom:score", strconv.Itoa(rng.IntN(1000))})
	if rng.IntN(20) == 0 {
		u.attrs = append(u.attrs, attr{"custom:notes", "line one\nline two, with \"quotes\" and a tab\t."})
	}
	if u.status == StatusExternalProvider {
		u.setIdentities([]identity{{UserID: strings.TrimPrefix(u.username, "Google_"), ProviderName: "Google",
			ProviderType: "Google", Primary: true, DateCreated: created.UnixMilli()}})
	} else if rng.IntN(100) < 3 {
		u.setIdentities([]identity{{UserID: strconv.FormatUint(rng.Uint64()%1e18, 10), ProviderName: "Google",
			ProviderType: "Google", DateCreated: created.UnixMilli()}})
	}
	if rng.IntN(100) < 4 {
		u.enabled = false
	}
	if u.status == StatusConfirmed {
		if _, ok := u.get("phone_number"); ok && rng.IntN(100) < 40 {
			u.mfa.sms = true
			u.mfa.preferred = "SMS_MFA"
		} else if rng.IntN(100) < 5 {
			u.totpVerified = true
			u.mfa.totp = true
			u.mfa.preferred = "SOFTWARE_TOKEN_MFA"
		}
	}
	return u
}
