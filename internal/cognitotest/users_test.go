package cognitotest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

func attrs(kv ...string) []types.AttributeType {
	var out []types.AttributeType
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.AttributeType{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func attrMap(as []types.AttributeType) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

func TestAdminCreateUserLifecycle(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	before := time.Now().Add(-time.Second)
	out, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(pool), Username: aws.String("alice"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: attrs("email", "alice@example.com", "email_verified", "true", "custom:plan", "a,b \"c\"\nd"),
	})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if u.UserStatus != types.UserStatusTypeForceChangePassword || !u.Enabled {
		t.Fatalf("new user: status %s enabled %v, want FORCE_CHANGE_PASSWORD enabled", u.UserStatus, u.Enabled)
	}
	got := attrMap(u.Attributes)
	if len(got["sub"]) != 36 || got["custom:plan"] != "a,b \"c\"\nd" {
		t.Fatalf("attributes not stored exactly: %q", got)
	}
	// Timestamps travel as epoch seconds and decode to the current time.
	if u.UserCreateDate == nil || u.UserCreateDate.Before(before) || u.UserCreateDate.After(time.Now().Add(time.Second)) {
		t.Fatalf("UserCreateDate = %v, want about now", u.UserCreateDate)
	}
	if srv.MessagesSent() != 0 {
		t.Fatalf("SUPPRESS sent %d messages", srv.MessagesSent())
	}

	_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("alice")})
	if apiCode(err) != "UsernameExistsException" {
		t.Fatalf("duplicate create: %v", err)
	}
	// The populated pool is case-insensitive: ALICE is alice.
	g, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("ALICE")})
	if err != nil || aws.ToString(g.Username) != "alice" {
		t.Fatalf("case-insensitive get: %v", err)
	}
	// A user can be addressed by sub and, as a verified alias, by email.
	for _, name := range []string{got["sub"], "alice@example.com"} {
		if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)}); err != nil {
			t.Fatalf("get by %q: %v", name, err)
		}
	}

	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String("alice"),
		Password: aws.String("short"), Permanent: true}); apiCode(err) != "InvalidPasswordException" {
		t.Fatalf("weak password: %v", err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String("alice"),
		Password: aws.String("Correct-Horse-9"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(pool), Username: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	g, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("alice")})
	if err != nil || g.UserStatus != types.UserStatusTypeConfirmed || g.Enabled {
		t.Fatalf("after permanent password + disable: %v status %s enabled %v", err, g.UserStatus, g.Enabled)
	}

	// Changing the email without email_verified makes it unverified.
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool),
		Username: aws.String("alice"), UserAttributes: attrs("email", "alice2@example.com")}); err != nil {
		t.Fatal(err)
	}
	g, _ = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("alice")})
	if m := attrMap(g.UserAttributes); m["email"] != "alice2@example.com" || m["email_verified"] != "false" {
		t.Fatalf("after email change: %q", m)
	}

	if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(pool), Username: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("alice")})
	if apiCode(err) != "UserNotFoundException" || !strings.Contains(err.Error(), "User does not exist.") {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestSchemaChecks(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 1, 0)
	c := newClient(srv)
	create := func(kv ...string) error {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("bob"),
			MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs(kv...)})
		return err
	}
	cases := []struct {
		name string
		kv   []string
		want string
	}{
		{"unknown attribute", []string{"custom:nope", "x"}, "does not exist in the schema"},
		{"sub is service-assigned", []string{"sub", "0000"}, "sub"},
		{"value too long", []string{"name", strings.Repeat("é", 2049)}, "2048"},
		{"custom max length", []string{"custom:tenant_id", strings.Repeat("t", 65)}, "64"},
		{"boolean", []string{"email_verified", "yes"}, "boolean"},
		{"number", []string{"custom:score", "many"}, "number"},
		{"number range", []string{"custom:score", "1000001"}, "maximum"},
		{"email format", []string{"email", "not-an-email"}, "email"},
		{"phone format", []string{"phone_number", "555-1234"}, "phone"},
	}
	for _, tc := range cases {
		err := create(tc.kv...)
		if apiCode(err) != "InvalidParameterException" || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
			t.Errorf("%s: got %v, want InvalidParameterException mentioning %q", tc.name, err, tc.want)
		}
	}
	if err := create("name", strings.Repeat("é", 2048), "custom:tenant_id", "t-1"); err != nil {
		t.Fatalf("values at the limits must be accepted: %v", err)
	}
	// custom:tenant_id is immutable once set.
	_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool),
		Username: aws.String("bob"), UserAttributes: attrs("custom:tenant_id", "t-2")})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("update immutable: %v", err)
	}
	for _, name := range []string{"", strings.Repeat("x", 129), "has space"} {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)})
		if apiCode(err) != "InvalidParameterException" {
			t.Errorf("username %q: %v", name, err)
		}
	}
	_, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_nope"), Username: aws.String("bob")})
	if apiCode(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "us-east-1_nope") {
		t.Fatalf("missing pool: %v", err)
	}
}

func TestSignUpConfirmAndMFA(t *testing.T) {
	srv, _ := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	p, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("signup"),
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}})
	if err != nil {
		t.Fatal(err)
	}
	pool := p.UserPool.Id
	if !strings.HasPrefix(aws.ToString(pool), "us-east-1_") || len(aws.ToString(pool)) != len("us-east-1_")+9 {
		t.Fatalf("pool id %q is not in Cognito's form", aws.ToString(pool))
	}
	cl, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: pool, ClientName: aws.String("app"), GenerateSecret: true})
	if err != nil || len(aws.ToString(cl.UserPoolClient.ClientId)) != 26 || aws.ToString(cl.UserPoolClient.ClientSecret) == "" {
		t.Fatalf("client: %v %+v", err, cl)
	}
	su, err := c.SignUp(ctx, &cip.SignUpInput{ClientId: cl.UserPoolClient.ClientId, Username: aws.String("carol@example.com"),
		Password: aws.String("Sup3r-secret"), UserAttributes: attrs("phone_number", "+15550001111")})
	if err != nil || su.UserConfirmed || len(aws.ToString(su.UserSub)) != 36 {
		t.Fatalf("sign up: %v %+v", err, su)
	}
	// With email as username attribute the username is the sub.
	g, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String("carol@example.com")})
	if err != nil || aws.ToString(g.Username) != aws.ToString(su.UserSub) || g.UserStatus != types.UserStatusTypeUnconfirmed {
		t.Fatalf("get signed-up user: %v %+v", err, g)
	}
	if _, err := c.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: su.UserSub}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: su.UserSub}); apiCode(err) != "NotAuthorizedException" {
		t.Fatalf("confirm twice: %v", err)
	}
	_, err = c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: pool, Username: su.UserSub,
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("TOTP without a verified token: %v", err)
	}
	if _, err := c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: pool, Username: su.UserSub,
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}}); err != nil {
		t.Fatal(err)
	}
	g, _ = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: su.UserSub})
	if aws.ToString(g.PreferredMfaSetting) != "SMS_MFA" || len(g.UserMFASettingList) != 1 {
		t.Fatalf("MFA settings: %v %v", g.PreferredMfaSetting, g.UserMFASettingList)
	}
}

func TestLinkProviderForUser(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("dave"),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	link := func(provider, id string) error {
		_, err := c.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: aws.String(pool),
			DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String("dave")},
			SourceUser: &types.ProviderUserIdentifierType{ProviderName: aws.String(provider), ProviderAttributeName: aws.String("Cognito_Subject"),
				ProviderAttributeValue: aws.String(id)}})
		return err
	}
	if err := link("Okta", "1"); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("unknown provider: %v", err)
	}
	if err := link("Google", "1234"); err != nil {
		t.Fatal(err)
	}
	if err := link("Google", "1234"); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("linking twice: %v", err)
	}
	g, _ := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("dave")})
	if ids := attrMap(g.UserAttributes)["identities"]; !strings.Contains(ids, `"userId":"1234"`) || !strings.Contains(ids, `"providerName":"Google"`) {
		t.Fatalf("identities attribute = %q", ids)
	}
}
