package cognitotest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

const (
	goodPW  = "Correct-horse-1"
	otherPW = "Battery-staple-2"
)

// authPool is a pool with three app clients: one allowing the user
// password flow, one the admin flow, one neither.
type authPool struct {
	srv                  *cognitotest.Server
	api                  *cip.Client
	pool                 string
	userC, adminC, noneC string
}

func newAuthPool(t *testing.T, opts cognitotest.Options, in *cip.CreateUserPoolInput) *authPool {
	t.Helper()
	opts.NoQuotas = true
	srv := cognitotest.NewTestServer(t, opts)
	ap := &authPool{srv: srv, api: newClient(srv)}
	if in == nil {
		in = &cip.CreateUserPoolInput{}
	}
	in.PoolName = aws.String("auth")
	out, err := ap.api.CreateUserPool(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ap.pool = aws.ToString(out.UserPool.Id)
	ap.userC = ap.client(t, types.PreventUserExistenceErrorTypesLegacy, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	ap.adminC = ap.client(t, "", types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth)
	ap.noneC = ap.client(t, "", types.ExplicitAuthFlowsTypeAllowUserSrpAuth)
	return ap
}

func (ap *authPool) client(t *testing.T, prevent types.PreventUserExistenceErrorTypes, flows ...types.ExplicitAuthFlowsType) string {
	t.Helper()
	out, err := ap.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &ap.pool,
		ClientName: aws.String("c"), ExplicitAuthFlows: flows, PreventUserExistenceErrors: prevent})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPoolClient.ClientId)
}

func (ap *authPool) createUser(t *testing.T, name, password string, a ...string) {
	t.Helper()
	if _, err := ap.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &ap.pool, Username: &name,
		UserAttributes: attrs(a...), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &ap.pool,
		Username: &name, Password: &password, Permanent: true}); err != nil {
		t.Fatal(err)
	}
}

func (ap *authPool) signIn(client, name, pw string) (*cip.InitiateAuthOutput, error) {
	return ap.api.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &client, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": pw}})
}

func (ap *authPool) adminSignIn(client, name, pw string) (*cip.AdminInitiateAuthOutput, error) {
	return ap.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &ap.pool, ClientId: &client,
		AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": pw}})
}

func errMessage(err error) string {
	var ae interface{ ErrorMessage() string }
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func TestPasswordSignsInOnlyThroughEnabledFlows(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, nil)
	ap.createUser(t, "alice", goodPW, "email", "alice@example.com")
	out, err := ap.signIn(ap.userC, "alice", goodPW)
	if err != nil || out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "" {
		t.Fatalf("InitiateAuth with the right password: %v %+v", err, out)
	}
	aout, err := ap.adminSignIn(ap.adminC, "alice", goodPW)
	if err != nil || aout.AuthenticationResult == nil || aws.ToString(aout.AuthenticationResult.IdToken) == "" {
		t.Fatalf("AdminInitiateAuth with the right password: %v", err)
	}
	for _, c := range []string{ap.adminC, ap.noneC} {
		if _, err := ap.signIn(c, "alice", goodPW); !isCode(err, "InvalidParameterException") || errMessage(err) != "USER_PASSWORD_AUTH flow not enabled for this client" {
			t.Errorf("InitiateAuth through a client without the flow: %v", err)
		}
	}
	for _, c := range []string{ap.userC, ap.noneC} {
		if _, err := ap.adminSignIn(c, "alice", goodPW); !isCode(err, "InvalidParameterException") || errMessage(err) != "Auth flow not enabled for this client" {
			t.Errorf("AdminInitiateAuth through a client without the flow: %v", err)
		}
	}
	if _, err := ap.signIn(ap.userC, "alice", otherPW); !isCode(err, "NotAuthorizedException") || errMessage(err) != "Incorrect username or password." {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := ap.adminSignIn(ap.adminC, "alice", otherPW); !isCode(err, "NotAuthorizedException") {
		t.Errorf("wrong password, admin: %v", err)
	}
}

func TestSignInAnswersByUserState(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, nil)
	if _, err := ap.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &ap.pool, Username: aws.String("temp"),
		TemporaryPassword: aws.String(goodPW), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	out, err := ap.signIn(ap.userC, "temp", goodPW)
	if err != nil || out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || out.AuthenticationResult != nil || aws.ToString(out.Session) == "" {
		t.Fatalf("temporary password: %v %+v", err, out)
	}
	ap.createUser(t, "bob", goodPW)
	if _, err := ap.api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &ap.pool, Username: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.signIn(ap.userC, "bob", goodPW); !isCode(err, "NotAuthorizedException") || errMessage(err) != "User is disabled." {
		t.Errorf("disabled user: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "nobody", goodPW); !isCode(err, "UserNotFoundException") {
		t.Errorf("unknown user, LEGACY client: %v", err)
	}
	hiding := ap.client(t, types.PreventUserExistenceErrorTypesEnabled, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	if _, err := ap.signIn(hiding, "nobody", goodPW); !isCode(err, "NotAuthorizedException") || errMessage(err) != "Incorrect username or password." {
		t.Errorf("unknown user, ENABLED client: %v", err)
	}
}

func TestPasswordsFollowThePoolPolicy(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, &cip.CreateUserPoolInput{Policies: &types.UserPoolPolicyType{
		PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(12), RequireLowercase: true, RequireNumbers: true}}})
	if _, err := ap.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &ap.pool, Username: aws.String("carol"),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	set := func(pw string) error {
		_, err := ap.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &ap.pool,
			Username: aws.String("carol"), Password: &pw, Permanent: true})
		return err
	}
	if err := set("Short-pw-1"); !isCode(err, "InvalidPasswordException") || errMessage(err) != "Password did not conform with policy: Password not long enough" {
		t.Errorf("10 characters under a 12-character policy: %v", err)
	}
	if err := set("alllowercase1"); err != nil { // no upper case or symbol required here
		t.Errorf("a password the policy allows: %v", err)
	}
	if err := set("nodigitsatallhere"); !isCode(err, "InvalidPasswordException") {
		t.Errorf("numbers required: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "carol", "alllowercase1"); err != nil {
		t.Errorf("sign-in with the accepted password: %v", err)
	}
}

// outbox reads the fake-only outbox over HTTP, as a test in another
// process would.
func outbox(t *testing.T, srv *cognitotest.Server) []cognitotest.OutboxMessage {
	t.Helper()
	resp, err := http.Get(srv.URL + cognitotest.OutboxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []cognitotest.OutboxMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func lastCode(t *testing.T, srv *cognitotest.Server, user string) string {
	t.Helper()
	code := ""
	for _, m := range outbox(t, srv) {
		if m.Username == user && m.Kind == "forgot-password" {
			code = m.Code
		}
	}
	if code == "" {
		t.Fatalf("no forgot-password code for %s in the outbox", user)
	}
	return code
}

func TestForgotPasswordCodeResetsThePassword(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, nil)
	ap.createUser(t, "dave", goodPW, "email", "dave@example.com", "email_verified", "true")
	ap.createUser(t, "erin", goodPW, "email", "erin@example.com") // unverified
	before := ap.srv.MessagesSent()
	fp, err := ap.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("dave")})
	if err != nil || aws.ToString(fp.CodeDeliveryDetails.Destination) != "d***@example.com" {
		t.Fatalf("ForgotPassword: %v %+v", err, fp)
	}
	if ap.srv.MessagesSent() != before+1 {
		t.Errorf("MessagesSent did not count the code")
	}
	if _, err := ap.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("erin")}); !isCode(err, "InvalidParameterException") {
		t.Errorf("no verified destination: %v", err)
	}
	code := lastCode(t, ap.srv, "dave")
	confirm := func(code, pw string) error {
		_, err := ap.api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: &ap.userC,
			Username: aws.String("dave"), ConfirmationCode: &code, Password: &pw})
		return err
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if err := confirm(wrong, otherPW); !isCode(err, "CodeMismatchException") {
		t.Errorf("wrong code: %v", err)
	}
	if err := confirm(code, "weak"); !isCode(err, "InvalidPasswordException") {
		t.Errorf("weak new password: %v", err)
	}
	if err := confirm(code, otherPW); err != nil {
		t.Fatalf("ConfirmForgotPassword: %v", err)
	}
	if err := confirm(code, goodPW); !isCode(err, "CodeMismatchException") {
		t.Errorf("a used code works again: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "dave", otherPW); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "dave", goodPW); !isCode(err, "NotAuthorizedException") {
		t.Errorf("the old password still works: %v", err)
	}
}

// migrator is a Lambda endpoint answering UserMigration events from a
// legacy directory of name → password, the way the developer guide's
// example does; any other password is refused with a function error.
type migrator struct {
	mu     sync.Mutex
	legacy map[string]string
	events []cognitotest.TriggerEvent
	status string
}

func (m *migrator) fn(_ string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, ev)
	if ev.UserName == "ghost" {
		return ev, nil // answers, but with no user
	}
	pw, ok := m.legacy[ev.UserName]
	if !ok || (ev.TriggerSource == "UserMigration_Authentication" && ev.Request["password"] != pw) {
		return ev, errors.New("Bad password")
	}
	ev.Response["userAttributes"] = map[string]any{"email": ev.UserName + "@legacy.example", "email_verified": "true",
		"custom:tier": "gold", "sub": "legacy-sub-must-not-survive"}
	ev.Response["finalUserStatus"] = m.status
	ev.Response["messageAction"] = "SUPPRESS"
	ev.Response["desiredDeliveryMediums"] = []any{"EMAIL"} // a message would go out but for SUPPRESS
	return ev, nil
}

// migrationPool is a pool whose UserMigration function is a migrator's,
// passed through wrap when given.
func migrationPool(t *testing.T, status string, wrap ...func(cognitotest.TriggerFunc) cognitotest.TriggerFunc) (*authPool, *migrator) {
	t.Helper()
	m := &migrator{legacy: map[string]string{"frank": goodPW, "lena": goodPW}, status: status}
	fn := cognitotest.TriggerFunc(m.fn)
	for _, w := range wrap {
		fn = w(fn)
	}
	lambda := httptest.NewServer(cognitotest.LambdaHandler(fn))
	t.Cleanup(lambda.Close)
	ap := newAuthPool(t, cognitotest.Options{LambdaEndpoint: lambda.URL}, &cip.CreateUserPoolInput{
		Schema:       []types.SchemaAttributeType{{Name: aws.String("tier"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)}},
		LambdaConfig: &types.LambdaConfigType{UserMigration: aws.String("arn:aws:lambda:us-east-1:123456789012:function:migrate")}})
	return ap, m
}

func TestUserMigrationSignInCreatesAConfirmedUser(t *testing.T) {
	ap, m := migrationPool(t, "CONFIRMED")
	out, err := ap.api.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &ap.userC, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": "frank", "PASSWORD": goodPW}, ClientMetadata: map[string]string{"app": "web"}})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("migrating sign-in: %v", err)
	}
	ev := m.events[0]
	if ev.TriggerSource != "UserMigration_Authentication" || ev.UserName != "frank" || ev.CallerContext.ClientID != ap.userC ||
		ev.Request["password"] != goodPW || ev.Request["validationData"].(map[string]any)["app"] != "web" {
		t.Errorf("event: %+v", ev)
	}
	u, err := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("frank")})
	if err != nil {
		t.Fatal(err)
	}
	got := attrMap(u.UserAttributes)
	if u.UserStatus != types.UserStatusTypeConfirmed || got["email"] != "frank@legacy.example" || got["custom:tier"] != "gold" ||
		got["sub"] == "" || got["sub"] == "legacy-sub-must-not-survive" {
		t.Errorf("migrated user: %s %v", u.UserStatus, got)
	}
	if ap.srv.MessagesSent() != 0 {
		t.Errorf("SUPPRESS sent %d messages", ap.srv.MessagesSent())
	}
	if err := ap.srv.SetLambdaConfig(ap.pool, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.adminSignIn(ap.adminC, "frank", goodPW); err != nil {
		t.Errorf("second sign-in, trigger gone: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "frank", otherPW); !isCode(err, "NotAuthorizedException") {
		t.Errorf("wrong password after migration: %v", err)
	}
	if len(m.events) != 1 {
		t.Errorf("trigger ran %d times", len(m.events))
	}
}

func TestUserMigrationRefusalCreatesNoOne(t *testing.T) {
	ap, m := migrationPool(t, "CONFIRMED")
	if _, err := ap.signIn(ap.userC, "frank", otherPW); !isCode(err, "UserLambdaValidationException") ||
		errMessage(err) != "UserMigration failed with error Bad password." {
		t.Errorf("function refusing the password: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "ghost", goodPW); !isCode(err, "UserNotFoundException") {
		t.Errorf("function answering no user, LEGACY client: %v", err)
	}
	hiding := ap.client(t, types.PreventUserExistenceErrorTypesEnabled, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	if _, err := ap.signIn(hiding, "ghost", goodPW); !isCode(err, "NotAuthorizedException") {
		t.Errorf("function answering no user, ENABLED client: %v", err)
	}
	for _, name := range []string{"frank", "ghost"} {
		if _, err := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String(name)}); !isCode(err, "UserNotFoundException") {
			t.Errorf("refused user %s exists: %v", name, err)
		}
	}
	if len(m.events) != 3 {
		t.Errorf("trigger ran %d times, want 3", len(m.events))
	}
}

func TestUserMigrationForgotPasswordEndsConfirmed(t *testing.T) {
	ap, m := migrationPool(t, "")
	if _, err := ap.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("frank"),
		ClientMetadata: map[string]string{"app": "web"}}); err != nil {
		t.Fatalf("ForgotPassword for a legacy user: %v", err)
	}
	ev := m.events[0]
	if _, has := ev.Request["password"]; has || ev.TriggerSource != "UserMigration_ForgotPassword" || ev.Request["clientMetadata"].(map[string]any)["app"] != "web" {
		t.Errorf("event: %+v", ev)
	}
	u, err := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("frank")})
	if err != nil || u.UserStatus != types.UserStatusTypeResetRequired {
		t.Fatalf("migrated in the forgot-password flow: %v %+v", err, u)
	}
	if _, err := ap.signIn(ap.userC, "frank", goodPW); !isCode(err, "PasswordResetRequiredException") {
		t.Errorf("sign-in before the reset: %v", err)
	}
	code := lastCode(t, ap.srv, "frank")
	if _, err := ap.api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("frank"),
		ConfirmationCode: &code, Password: aws.String(otherPW)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.signIn(ap.userC, "frank", otherPW); err != nil {
		t.Errorf("sign-in after the reset: %v", err)
	}
}

// No answer the fake gives, and nothing it keeps where a test or tool can
// read it, carries a password.
func TestPasswordsAppearNowhere(t *testing.T) {
	ap, _ := migrationPool(t, "CONFIRMED")
	ap.createUser(t, "gina", goodPW, "email", "gina@example.com", "email_verified", "true")
	if _, err := ap.signIn(ap.userC, "frank", goodPW); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("gina")}); err != nil {
		t.Fatal(err)
	}
	users, err := ap.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &ap.pool})
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := json.Marshal(users.Users)
	ob, _ := json.Marshal(outbox(t, ap.srv))
	st, _ := json.Marshal(ap.srv.Stats())
	for what, b := range map[string][]byte{"ListUsers": seen, "outbox": ob, "stats": st} {
		if strings.Contains(string(b), goodPW) {
			t.Errorf("%s shows a password", what)
		}
	}
}

func TestClientSecretNeedsTheSecretHash(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, nil)
	ap.createUser(t, "hana", goodPW)
	out, err := ap.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &ap.pool, ClientName: aws.String("s"),
		GenerateSecret: true, ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := aws.ToString(out.UserPoolClient.ClientId), aws.ToString(out.UserPoolClient.ClientSecret)
	signIn := func(hash string) error {
		_, err := ap.api.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &id, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "hana", "PASSWORD": goodPW, "SECRET_HASH": hash}})
		return err
	}
	if err := signIn(""); !isCode(err, "NotAuthorizedException") || !strings.HasPrefix(errMessage(err), "Unable to verify secret hash for client") {
		t.Errorf("no secret hash: %v", err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("hana" + id))
	if err := signIn(base64.StdEncoding.EncodeToString(mac.Sum(nil))); err != nil {
		t.Errorf("right secret hash: %v", err)
	}
}

func TestSignInWithTheEmailOfAnEmailPool(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, &cip.CreateUserPoolInput{UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}})
	ap.createUser(t, "ida@example.com", goodPW)
	if _, err := ap.signIn(ap.userC, "ida@example.com", goodPW); err != nil {
		t.Errorf("sign-in with the email: %v", err)
	}
	if _, err := ap.signIn(ap.userC, "ida@example.com", otherPW); !isCode(err, "NotAuthorizedException") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestResetCodeExpiresAfterAnHour(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ap := newAuthPool(t, cognitotest.Options{Now: clock}, nil)
	ap.createUser(t, "jack", goodPW, "phone_number", "+15555550100", "phone_number_verified", "true")
	fp, err := ap.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("jack")})
	if err != nil || fp.CodeDeliveryDetails.DeliveryMedium != types.DeliveryMediumTypeSms || aws.ToString(fp.CodeDeliveryDetails.Destination) != "+*******0100" {
		t.Fatalf("ForgotPassword by SMS: %v %+v", err, fp)
	}
	code := lastCode(t, ap.srv, "jack")
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	if _, err := ap.api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("jack"),
		ConfirmationCode: &code, Password: aws.String(otherPW)}); !isCode(err, "ExpiredCodeException") {
		t.Errorf("code an hour old: %v", err)
	}
}

func TestForgotPasswordRefusesATemporaryPassword(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, nil)
	if _, err := ap.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &ap.pool, Username: aws.String("kim"),
		UserAttributes: attrs("email", "kim@example.com", "email_verified", "true"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &ap.userC, Username: aws.String("kim")}); !isCode(err, "NotAuthorizedException") {
		t.Errorf("ForgotPassword in FORCE_CHANGE_PASSWORD: %v", err)
	}
	if len(outbox(t, ap.srv)) != 0 {
		t.Errorf("a code went out")
	}
}

func TestUserMigrationWelcomeAndBadStatus(t *testing.T) {
	ap, _ := migrationPool(t, "CONFIRMED", func(orig cognitotest.TriggerFunc) cognitotest.TriggerFunc {
		return func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
			out, err := orig(fn, ev)
			if ev.UserName == "lena" {
				out.Response["messageAction"] = nil
			} else {
				out.Response["finalUserStatus"] = "ARCHIVED"
			}
			return out, err
		}
	})
	if _, err := ap.signIn(ap.userC, "lena", goodPW); err != nil {
		t.Fatal(err)
	}
	ob := outbox(t, ap.srv)
	if len(ob) != 1 || ob[0].Kind != "welcome" || ob[0].To != "l***@legacy.example" || ap.srv.MessagesSent() != 1 {
		t.Errorf("welcome message: %+v, %d sent", ob, ap.srv.MessagesSent())
	}
	if _, err := ap.signIn(ap.userC, "frank", goodPW); !isCode(err, "InvalidLambdaResponseException") {
		t.Errorf("finalUserStatus ARCHIVED: %v", err)
	}
	if _, err := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("frank")}); !isCode(err, "UserNotFoundException") {
		t.Errorf("user created from a bad answer: %v", err)
	}
}

// In a pool that signs in by email the migrated user's username is its
// sub, and it signs in again with the email it entered.
func TestUserMigrationIntoAnEmailPool(t *testing.T) {
	m := &migrator{legacy: map[string]string{"nora@legacy.example": goodPW}, status: "CONFIRMED"}
	fn := func(f string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
		out, err := m.fn(f, ev)
		if err == nil {
			out.Response["userAttributes"] = map[string]any{"email": ev.UserName, "email_verified": "true"}
		}
		return out, err
	}
	lambda := httptest.NewServer(cognitotest.LambdaHandler(fn))
	t.Cleanup(lambda.Close)
	ap := newAuthPool(t, cognitotest.Options{LambdaEndpoint: lambda.URL}, &cip.CreateUserPoolInput{
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		LambdaConfig:       &types.LambdaConfigType{UserMigration: aws.String("migrate")}})
	if _, err := ap.signIn(ap.userC, "nora@legacy.example", goodPW); err != nil {
		t.Fatalf("migrating sign-in by email: %v", err)
	}
	u, err := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("nora@legacy.example")})
	if err != nil || aws.ToString(u.Username) != attrMap(u.UserAttributes)["sub"] {
		t.Fatalf("migrated user in an email pool: %v %+v", err, u)
	}
	if _, err := ap.adminSignIn(ap.adminC, "nora@legacy.example", goodPW); err != nil || len(m.events) != 1 {
		t.Errorf("second sign-in: %v, %d trigger calls", err, len(m.events))
	}
}

// Populate's Password lets generated users sign in: a migration Lambda can
// check passwords against such a pool.
func TestPopulatedUsersSignInWithTheGivenPassword(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	if _, err := srv.Populate(cognitotest.PopulateOptions{Users: 10, Password: "short"}); err == nil || !strings.Contains(err.Error(), "Password") {
		t.Errorf("weak populate password: %v", err)
	}
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 40, Password: goodPW})
	if err != nil {
		t.Fatal(err)
	}
	api := newClient(srv)
	cl, err := api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &res.PoolID, ClientName: aws.String("c"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	users, err := api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &res.PoolID})
	if err != nil {
		t.Fatal(err)
	}
	signedIn := 0
	for _, u := range users.Users {
		if u.UserStatus != types.UserStatusTypeConfirmed || !u.Enabled {
			continue
		}
		if _, err := api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &res.PoolID, ClientId: cl.UserPoolClient.ClientId,
			AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": aws.ToString(u.Username), "PASSWORD": goodPW}}); err != nil {
			t.Errorf("%s: %v", aws.ToString(u.Username), err)
		}
		signedIn++
	}
	if signedIn == 0 {
		t.Fatal("no confirmed, enabled user to sign in")
	}
}
