package cognitotest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// invocation is one call the fake made to the Lambda endpoint, as it came
// over the wire.
type invocation struct {
	path, invType string
	event         map[string]any
}

// lambdaRecorder is a Lambda Invoke endpoint that records every call and
// fails the function for events whose userName is in reject.
type lambdaRecorder struct {
	mu     sync.Mutex
	calls  []invocation
	reject map[string]bool
}

func (l *lambdaRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.calls = append(l.calls, invocation{r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"), ev})
	l.mu.Unlock()
	if l.reject[ev["userName"].(string)] {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		_, _ = w.Write([]byte(`{"errorMessage":"not on the guest list","errorType":"Error"}`))
		return
	}
	_, _ = w.Write(b) // the event back, unchanged: "continue as usual"
}

func (l *lambdaRecorder) sources() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []string
	for _, c := range l.calls {
		s = append(s, c.event["triggerSource"].(string))
	}
	return s
}

func triggerPool(t *testing.T, reject ...string) (*cip.Client, string, *lambdaRecorder) {
	t.Helper()
	rec := &lambdaRecorder{reject: map[string]bool{}}
	for _, u := range reject {
		rec.reject[u] = true
	}
	lambda := httptest.NewServer(rec)
	t.Cleanup(lambda.Close)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	api := newClient(srv)
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("triggers"), LambdaConfig: &types.LambdaConfigType{
		PreSignUp:     aws.String("arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up"),
		CustomMessage: aws.String("arn:aws:lambda:us-east-1:123456789012:function:messages:live"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return api, aws.ToString(out.UserPool.Id), rec
}

func TestLambdaConfigRoundTrips(t *testing.T) {
	api, pool, _ := triggerPool(t)
	d, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	lc := d.UserPool.LambdaConfig
	if lc == nil || aws.ToString(lc.PreSignUp) != "arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up" || lc.PostConfirmation != nil {
		t.Fatalf("LambdaConfig after DescribeUserPool: %+v", lc)
	}
}

func TestPreSignUpRejectsAdminCreateUser(t *testing.T) {
	api, pool, rec := triggerPool(t, "mallory")
	_, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("mallory"),
		UserAttributes: attrs("email", "m@example.com"), MessageAction: types.MessageActionTypeSuppress})
	var lve *types.UserLambdaValidationException
	if !errors.As(err, &lve) || lve.ErrorMessage() != "PreSignUp failed with error not on the guest list." {
		t.Fatalf("rejected user: %v", err)
	}
	if _, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("mallory")}); !isCode(err, "UserNotFoundException") {
		t.Fatalf("a rejected user was created: %v", err)
	}
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("alice"),
		UserAttributes: attrs("email", "a@example.com", "custom:x", "1"), MessageAction: types.MessageActionTypeSuppress,
		ClientMetadata: map[string]string{"by": "cogvault"}}); !isCode(err, "InvalidParameterException") {
		t.Fatalf("unknown attribute: %v", err) // refused before the trigger runs: no call below
	}
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("alice"),
		UserAttributes: attrs("email", "a@example.com"), MessageAction: types.MessageActionTypeSuppress,
		ClientMetadata: map[string]string{"by": "cogvault"}}); err != nil {
		t.Fatal(err)
	}
	// SUPPRESS sends no invitation, so CustomMessage never ran.
	if got := rec.sources(); strings.Join(got, ",") != "PreSignUp_AdminCreateUser,PreSignUp_AdminCreateUser" {
		t.Fatalf("trigger sources %v", got)
	}
	c := rec.calls[1]
	ev := c.event
	if c.path != "/2015-03-31/functions/pre-sign-up/invocations" || c.invType != "RequestResponse" {
		t.Fatalf("invoked %s (%s)", c.path, c.invType)
	}
	req := ev["request"].(map[string]any)
	if ev["version"] != "1" || ev["region"] != "us-east-1" || ev["userPoolId"] != pool || ev["userName"] != "alice" ||
		ev["callerContext"].(map[string]any)["clientId"] != "CLIENT_ID_NOT_APPLICABLE" ||
		req["userAttributes"].(map[string]any)["email"] != "a@example.com" || req["clientMetadata"].(map[string]any)["by"] != "cogvault" {
		t.Fatalf("PreSignUp event: %v", ev)
	}
	if _, ok := ev["response"].(map[string]any)["autoConfirmUser"]; !ok {
		t.Fatalf("PreSignUp response lacks autoConfirmUser: %v", ev)
	}
}

func TestCustomMessageRunsForAnInvitation(t *testing.T) {
	api, pool, rec := triggerPool(t)
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("bob"),
		UserAttributes: attrs("email", "b@example.com")}); err != nil {
		t.Fatal(err)
	}
	if got := rec.sources(); strings.Join(got, ",") != "PreSignUp_AdminCreateUser,CustomMessage_AdminCreateUser" {
		t.Fatalf("trigger sources %v", got)
	}
	c := rec.calls[1]
	req := c.event["request"].(map[string]any)
	ua := req["userAttributes"].(map[string]any)
	if c.path != "/2015-03-31/functions/messages/invocations" || req["codeParameter"] != "{####}" || req["usernameParameter"] != "{username}" ||
		ua["cognito:user_status"] != "FORCE_CHANGE_PASSWORD" || ua["sub"] == nil {
		t.Fatalf("CustomMessage call %s: %v", c.path, c.event)
	}
}

func TestUnreachableTriggerFailsTheCall(t *testing.T) {
	lambda := httptest.NewServer(http.NotFoundHandler())
	lambda.Close() // nothing listens there any more
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	api := newClient(srv)
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"), LambdaConfig: &types.LambdaConfigType{
		PreSignUp: aws.String("arn:aws:lambda:us-east-1:123456789012:function:gone")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: out.UserPool.Id, Username: aws.String("carol"), MessageAction: types.MessageActionTypeSuppress})
	if !isCode(err, "UnexpectedLambdaException") {
		t.Fatalf("unreachable trigger: %v", err)
	}
}

func TestNoLambdaEndpointInvokesNothing(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	api := newClient(srv)
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"), LambdaConfig: &types.LambdaConfigType{
		PreSignUp: aws.String("arn:aws:lambda:us-east-1:123456789012:function:gone")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: out.UserPool.Id, Username: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// A verification code sent by AdminUpdateUserAttributes runs CustomMessage;
// setting *_verified with the value sends none and runs nothing.
func TestCustomMessageRunsForAVerificationCode(t *testing.T) {
	api, pool, rec := triggerPool(t)
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("erin"),
		UserAttributes: attrs("email", "e@example.com"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: aws.String("erin"),
		UserAttributes: attrs("email", "e2@example.com", "email_verified", "true")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: aws.String("erin"),
		UserAttributes: attrs("email", "e3@example.com")}); err != nil {
		t.Fatal(err)
	}
	got := rec.sources()
	if strings.Join(got, ",") != "PreSignUp_AdminCreateUser,CustomMessage_UpdateUserAttribute" {
		t.Fatalf("trigger sources %v", got)
	}
	ua := rec.calls[1].event["request"].(map[string]any)["userAttributes"].(map[string]any)
	if ua["email"] != "e3@example.com" || ua["email_verified"] != "false" {
		t.Fatalf("CustomMessage_UpdateUserAttribute saw %v", ua)
	}
}

// AdminConfirmSignUp runs PostConfirmation_ConfirmSignUp; a function error
// fails the call with Cognito's message.
func TestPostConfirmationRunsOnAdminConfirmSignUp(t *testing.T) {
	rec := &lambdaRecorder{reject: map[string]bool{"frank": true}}
	lambda := httptest.NewServer(rec)
	t.Cleanup(lambda.Close)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	api := newClient(srv)
	p, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("pc"), LambdaConfig: &types.LambdaConfigType{
		PostConfirmation: aws.String("arn:aws:lambda:us-east-1:123456789012:function:welcome")}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: p.UserPool.Id, ClientName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"grace", "frank"} {
		if _, err := api.SignUp(ctx, &cip.SignUpInput{ClientId: c.UserPoolClient.ClientId, Username: aws.String(name), Password: aws.String("Passw0rd!x"),
			UserAttributes: attrs("email", name+"@example.com")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: p.UserPool.Id, Username: aws.String("grace")}); err != nil {
		t.Fatal(err)
	}
	_, err = api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: p.UserPool.Id, Username: aws.String("frank")})
	var lve *types.UserLambdaValidationException
	if !errors.As(err, &lve) || lve.ErrorMessage() != "PostConfirmation failed with error not on the guest list." {
		t.Fatalf("rejecting PostConfirmation: %v", err)
	}
	if got := rec.sources(); strings.Join(got, ",") != "PostConfirmation_ConfirmSignUp,PostConfirmation_ConfirmSignUp" {
		t.Fatalf("trigger sources %v", got)
	}
	ev := rec.calls[0].event
	ua := ev["request"].(map[string]any)["userAttributes"].(map[string]any)
	if rec.calls[0].path != "/2015-03-31/functions/welcome/invocations" || ev["userName"] != "grace" || ua["cognito:user_status"] != "CONFIRMED" || ua["sub"] == nil {
		t.Fatalf("PostConfirmation event %v", ev)
	}
}
