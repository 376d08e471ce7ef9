package cognitotest_test

import (
	"errors"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// postAuthPool is an authPool whose PostAuthentication function records
// its events and fails while fail is set.
type postAuthRecorder struct {
	mu     sync.Mutex
	events []cognitotest.TriggerEvent
	fail   bool
}

func (r *postAuthRecorder) fn(_ string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if r.fail {
		return ev, errors.New("no")
	}
	return ev, nil
}

func postAuthPool(t *testing.T) (*authPool, *postAuthRecorder) {
	t.Helper()
	r := &postAuthRecorder{}
	lambda := httptest.NewServer(cognitotest.LambdaHandler(r.fn))
	t.Cleanup(lambda.Close)
	ap := newAuthPool(t, cognitotest.Options{LambdaEndpoint: lambda.URL}, &cip.CreateUserPoolInput{
		LambdaConfig: &types.LambdaConfigType{PostAuthentication: aws.String("arn:aws:lambda:us-east-1:123456789012:function:post")}})
	return ap, r
}

// TestPostAuthenticationRunsAfterEachSignIn: both password flows run the
// trigger once per sign-in that issues tokens, with the guide's event; a
// wrong password or a challenge runs nothing; a function error fails the
// sign-in.
func TestPostAuthenticationRunsAfterEachSignIn(t *testing.T) {
	ap, r := postAuthPool(t)
	ap.createUser(t, "gus", goodPW, "email", "gus@example.com")
	if _, err := ap.signIn(ap.userC, "gus", otherPW); !isCode(err, "NotAuthorizedException") || len(r.events) != 0 {
		t.Fatalf("wrong password: %v, %d trigger calls", err, len(r.events))
	}
	if _, err := ap.signIn(ap.userC, "gus", goodPW); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.adminSignIn(ap.adminC, "gus", goodPW); err != nil {
		t.Fatal(err)
	}
	if len(r.events) != 2 {
		t.Fatalf("%d trigger calls for two sign-ins", len(r.events))
	}
	u, _ := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("gus")})
	ev := r.events[0]
	ua, _ := ev.Request["userAttributes"].(map[string]any)
	if ev.TriggerSource != "PostAuthentication_Authentication" || ev.UserName != "gus" || ev.UserPoolID != ap.pool ||
		ev.CallerContext.ClientID != ap.userC || ua["sub"] != attrMap(u.UserAttributes)["sub"] || ua["email"] != "gus@example.com" ||
		ev.Request["newDeviceUsed"] != false || ev.Request["password"] != nil {
		t.Errorf("event: %+v", ev)
	}
	if r.events[1].CallerContext.ClientID != ap.adminC {
		t.Errorf("AdminInitiateAuth event's client: %q", r.events[1].CallerContext.ClientID)
	}
	r.fail = true
	out, err := ap.signIn(ap.userC, "gus", goodPW)
	if !isCode(err, "UserLambdaValidationException") || errMessage(err) != "PostAuthentication failed with error no." || out != nil {
		t.Errorf("function error: %v (tokens %v)", err, out != nil)
	}
	r.fail = false
	if _, err := ap.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &ap.pool, Username: aws.String("tem"),
		TemporaryPassword: aws.String(goodPW), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	n := len(r.events)
	if out, err := ap.signIn(ap.userC, "tem", goodPW); err != nil || out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || len(r.events) != n {
		t.Errorf("a challenge ran the trigger: %v, %d calls", err, len(r.events)-n)
	}
}

// TestMigratedSignInRunsPostAuthentication: the sign-in that migrates a
// user runs PostAuthentication with the user Cognito just created (its new
// sub), after UserMigration.
func TestMigratedSignInRunsPostAuthentication(t *testing.T) {
	r := &postAuthRecorder{}
	ap, m := migrationPool(t, "CONFIRMED", func(f cognitotest.TriggerFunc) cognitotest.TriggerFunc {
		return func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
			if ev.TriggerSource == "PostAuthentication_Authentication" {
				return r.fn(fn, ev)
			}
			return f(fn, ev)
		}
	})
	if err := ap.srv.SetLambdaConfig(ap.pool, map[string]string{cognitotest.TriggerUserMigration: "migrate", cognitotest.TriggerPostAuthentication: "post"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ap.signIn(ap.userC, "frank", goodPW); err != nil {
		t.Fatal(err)
	}
	u, _ := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("frank")})
	if len(m.events) != 1 || len(r.events) != 1 {
		t.Fatalf("%d migration and %d post-authentication calls", len(m.events), len(r.events))
	}
	ua, _ := r.events[0].Request["userAttributes"].(map[string]any)
	if ua["sub"] != attrMap(u.UserAttributes)["sub"] || ua["custom:tier"] != "gold" || ua["cognito:user_status"] != "CONFIRMED" {
		t.Errorf("post-authentication attributes: %v", ua)
	}
}

// TestEmailAliasPoolRefusesAnEmailUsername: a user typing an email into a
// pool with email as an alias cannot be migrated under that name.
func TestEmailAliasPoolRefusesAnEmailUsername(t *testing.T) {
	m := &migrator{legacy: map[string]string{"ola@legacy.example": goodPW}, status: "CONFIRMED"}
	lambda := httptest.NewServer(cognitotest.LambdaHandler(func(f string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
		out, err := m.fn(f, ev)
		if err == nil {
			out.Response["userAttributes"] = map[string]any{"email": ev.UserName, "email_verified": "true"}
		}
		return out, err
	}))
	t.Cleanup(lambda.Close)
	ap := newAuthPool(t, cognitotest.Options{LambdaEndpoint: lambda.URL}, &cip.CreateUserPoolInput{
		AliasAttributes: []types.AliasAttributeType{types.AliasAttributeTypeEmail},
		LambdaConfig:    &types.LambdaConfigType{UserMigration: aws.String("migrate")}})
	if _, err := ap.signIn(ap.userC, "ola@legacy.example", goodPW); !isCode(err, "InvalidParameterException") || len(m.events) != 1 {
		t.Errorf("email username in an email-alias pool: %v", err)
	}
	if _, err := ap.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &ap.pool, Username: aws.String("ola@legacy.example")}); !isCode(err, "UserNotFoundException") {
		t.Errorf("a user was created: %v", err)
	}
}
