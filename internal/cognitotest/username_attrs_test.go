package cognitotest_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// startUsernamePool serves a populated pool that signs in with attrs.
func startUsernamePool(t *testing.T, users int, attrs ...string) (*cognitotest.Server, *cip.Client, string) {
	t.Helper()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: users, Groups: 3, Seed: 7, UsernameAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return srv, newClient(srv), res.PoolID
}

func TestPopulateUsernameAttributesEmail(t *testing.T) {
	_, c, pool := startUsernamePool(t, 400, "email")
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	if ua := d.UserPool.UsernameAttributes; len(ua) != 1 || ua[0] != types.UsernameAttributeTypeEmail || len(d.UserPool.AliasAttributes) != 0 {
		t.Fatalf("pool signs in with %v, aliases %v; want UsernameAttributes [email] and no aliases", ua, d.UserPool.AliasAttributes)
	}
	users := listAll(t, c, pool, "")
	if len(users) != 400 {
		t.Fatalf("listed %d users, want 400", len(users))
	}
	emails := map[string]string{}
	var federated, mixedCase int
	var sample types.UserType
	for _, u := range users {
		name := aws.ToString(u.Username)
		m := attrMap(u.Attributes)
		if u.UserStatus == types.UserStatusTypeExternalProvider {
			federated++
			if !strings.HasPrefix(name, "Google_") {
				t.Errorf("federated user %q: want a Google_<id> username", name)
			}
			continue
		}
		if name != m["sub"] || !uuidRE.MatchString(name) {
			t.Fatalf("local user %q (sub %q): the username of a pool that signs in by email is its sub", name, m["sub"])
		}
		e := m["email"]
		if e == "" {
			t.Fatalf("local user %s has no email", name)
		}
		if other, ok := emails[strings.ToLower(e)]; ok {
			t.Fatalf("users %s and %s share email %q (case-insensitively)", other, name, e)
		}
		emails[strings.ToLower(e)] = name
		if e != strings.ToLower(e) {
			mixedCase++
			sample = u
		}
	}
	if federated == 0 || mixedCase == 0 {
		t.Fatalf("want some federated users (%d) and some mixed-case emails (%d) in 400 users", federated, mixedCase)
	}

	// Cognito takes the email as the Username parameter, in any case.
	e := attrMap(sample.Attributes)["email"]
	for _, as := range []string{e, strings.ToLower(e), strings.ToUpper(e)} {
		g, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(as)})
		if err != nil || aws.ToString(g.Username) != aws.ToString(sample.Username) {
			t.Fatalf("AdminGetUser(%q): %v, want user %s", as, err, aws.ToString(sample.Username))
		}
	}
}

func TestPopulateUsernameAttributesDeterministic(t *testing.T) {
	_, c1, p1 := startUsernamePool(t, 120, "email", "phone_number")
	_, c2, p2 := startUsernamePool(t, 120, "email", "phone_number")
	a, b := listAll(t, c1, p1, ""), listAll(t, c2, p2, "")
	if len(a) != len(b) {
		t.Fatalf("%d vs %d users", len(a), len(b))
	}
	for i := range a {
		if aws.ToString(a[i].Username) != aws.ToString(b[i].Username) || len(a[i].Attributes) != len(b[i].Attributes) {
			t.Fatalf("user %d differs between two pools of the same seed: %s vs %s", i, aws.ToString(a[i].Username), aws.ToString(b[i].Username))
		}
	}
}

func TestPopulateUsernameAttributesPhone(t *testing.T) {
	_, c, pool := startUsernamePool(t, 300, "phone_number")
	phones := map[string]bool{}
	taken := ""
	for _, u := range listAll(t, c, pool, "") {
		if u.UserStatus == types.UserStatusTypeExternalProvider {
			continue
		}
		m := attrMap(u.Attributes)
		if aws.ToString(u.Username) != m["sub"] || m["phone_number"] == "" || phones[m["phone_number"]] {
			t.Fatalf("local user %s: want username = sub and a unique phone number, got %q", aws.ToString(u.Username), m)
		}
		phones[m["phone_number"]] = true
		taken = m["phone_number"]
	}
	// An email is not a username in a pool that signs in by phone only.
	_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("new@example.com"),
		MessageAction: types.MessageActionTypeSuppress})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "Username should be either an email or a phone number.") {
		t.Fatalf("email username in a phone pool: %v", err)
	}
	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(taken),
		MessageAction: types.MessageActionTypeSuppress})
	if apiCode(err) != "UsernameExistsException" || !strings.Contains(err.Error(), "An account with the given phone_number already exists.") {
		t.Fatalf("taken phone number: %v", err)
	}
}

func TestPopulateUsernameAttributesBoth(t *testing.T) {
	_, c, pool := startUsernamePool(t, 1000, "email", "phone_number")
	var local, phoneOnly int
	for _, u := range listAll(t, c, pool, "") {
		if u.UserStatus == types.UserStatusTypeExternalProvider {
			continue
		}
		local++
		m := attrMap(u.Attributes)
		switch {
		case m["email"] == "" && m["phone_number"] == "":
			t.Fatalf("local user %s has neither email nor phone", aws.ToString(u.Username))
		case m["email"] == "":
			phoneOnly++
		}
	}
	if share := float64(phoneOnly) / float64(local); share < 0.02 || share > 0.12 {
		t.Fatalf("%d of %d local users phone-only, want about 6%%", phoneOnly, local)
	}
}

func TestUsernameAttributesCreateRules(t *testing.T) {
	srv, c, pool := startUsernamePool(t, 20, "email")
	taken := ""
	for _, u := range listAll(t, c, pool, "") {
		if u.UserStatus != types.UserStatusTypeExternalProvider {
			taken = attrMap(u.Attributes)["email"]
			break
		}
	}
	create := func(username string) (*cip.AdminCreateUserOutput, error) {
		return c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(username),
			MessageAction: types.MessageActionTypeSuppress})
	}
	// Another user's email, in another case.
	_, err := create(strings.ToUpper(taken))
	if apiCode(err) != "UsernameExistsException" || !strings.Contains(err.Error(), "An account with the given email already exists.") {
		t.Fatalf("duplicate email %q: %v", strings.ToUpper(taken), err)
	}
	for _, bad := range []string{"bob", "+15551234567"} {
		_, err := create(bad)
		if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "Username should be either an email or a phone number.") {
			t.Fatalf("username %q in an email pool: %v", bad, err)
		}
	}
	out, err := create("Fresh@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := attrMap(out.User.Attributes)
	if aws.ToString(out.User.Username) != m["sub"] || m["email"] != "Fresh@Example.com" {
		t.Fatalf("created %q with %q: want the sub as username and the email stored", aws.ToString(out.User.Username), m)
	}
	// Changing someone's email to one another user signs in with is refused.
	_, err = c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool),
		Username: aws.String("fresh@example.com"), UserAttributes: attrs("email", strings.ToUpper(taken), "email_verified", "true")})
	if apiCode(err) != "AliasExistsException" || !strings.Contains(err.Error(), "An account with the given email already exists.") {
		t.Fatalf("update to a taken email: %v", err)
	}
	if srv.MessagesSent() != 0 {
		t.Fatalf("%d messages sent", srv.MessagesSent())
	}
}

// AdminUpdateUserAttributes sends a verification code when email or
// phone_number changes and the call does not also set its *_verified to
// "true"; setting only *_verified sends nothing.
func TestUpdateAttributesMessageCounting(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("erin"),
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs("email", "erin@example.com", "email_verified", "true")}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		kv   []string
		sent int64
	}{
		{"email changed, not verified", []string{"email", "erin2@example.com"}, 1},
		{"email changed, verified in the same call", []string{"email", "erin3@example.com", "email_verified", "true"}, 0},
		{"only email_verified=false", []string{"email_verified", "false"}, 0},
		{"only email_verified=true", []string{"email_verified", "true"}, 0},
		{"same email again", []string{"email", "erin3@example.com"}, 0},
		{"email changed, email_verified=false given", []string{"email", "erin4@example.com", "email_verified", "false"}, 1},
		{"phone added, not verified", []string{"phone_number", "+15550009999"}, 1},
		{"phone changed, verified", []string{"phone_number", "+15550009998", "phone_number_verified", "true"}, 0},
		{"other attributes", []string{"given_name", "Erin"}, 0},
	}
	for _, st := range steps {
		before := srv.MessagesSent()
		if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool),
			Username: aws.String("erin"), UserAttributes: attrs(st.kv...)}); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := srv.MessagesSent() - before; got != st.sent {
			t.Errorf("%s: %d messages, want %d", st.name, got, st.sent)
		}
	}
}

// In a pool with alias attributes a verified email belongs to one user:
// AdminCreateUser refuses another user's verified alias unless
// ForceAliasCreation, which moves it; AdminUpdateUserAttributes moves it too,
// and the former holder's email becomes unverified.
func TestAliasPoolVerifiedEmailMoves(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	create := func(name string, force bool) error {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(name),
			MessageAction: types.MessageActionTypeSuppress, ForceAliasCreation: force,
			UserAttributes: attrs("email", "shared@example.com", "email_verified", "true")})
		return err
	}
	get := func(name string) map[string]string {
		g, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		m := attrMap(g.UserAttributes)
		m["Username"] = aws.ToString(g.Username)
		return m
	}
	if err := create("first", false); err != nil {
		t.Fatal(err)
	}
	// A taken username is what Cognito reports first.
	if err := create("FIRST", false); apiCode(err) != "UsernameExistsException" {
		t.Fatalf("same username again: %v", err)
	}
	err := create("second", false)
	if apiCode(err) != "AliasExistsException" || !strings.Contains(err.Error(), "An account with the given email already exists.") {
		t.Fatalf("second user with a verified alias of the first: %v", err)
	}
	if err := create("second", true); err != nil {
		t.Fatalf("ForceAliasCreation: %v", err)
	}
	if get("SHARED@example.com")["Username"] != "second" || get("first")["email_verified"] != "false" {
		t.Fatalf("after ForceAliasCreation the alias belongs to second and first's email is unverified: %q", get("first"))
	}
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool),
		Username: aws.String("first"), UserAttributes: attrs("email_verified", "true")}); err != nil {
		t.Fatal(err)
	}
	if get("shared@example.com")["Username"] != "first" || get("second")["email_verified"] != "false" {
		t.Fatalf("verifying first's email moves the alias back: %q", get("second"))
	}
}
