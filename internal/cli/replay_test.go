package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/sqstest"
)

// trailEvent is an EventBridge CloudTrail event of a Cognito call as the
// capture tests render it (internal/capture/testdata/events, documented
// shapes): username hidden, the sub in additionalEventData.
func trailEvent(pool, sub, name, eventTime string) map[string]any {
	return map[string]any{
		"version": "0", "id": "ev-" + name, "detail-type": "AWS API Call via CloudTrail", "source": "aws.cognito-idp",
		"account": "123456789012", "time": eventTime, "region": "us-east-1", "resources": []any{},
		"detail": map[string]any{
			"eventVersion": "1.08", "eventTime": eventTime, "eventSource": "cognito-idp.amazonaws.com", "eventName": name,
			"awsRegion": "us-east-1", "requestParameters": map[string]any{"userPoolId": pool, "username": "HIDDEN_DUE_TO_SECURITY_REASONS"},
			"additionalEventData": map[string]any{"sub": sub}, "eventID": "eid-" + name + "-" + eventTime, "eventType": "AwsApiCall",
		},
	}
}

// record wraps an event as Lambda's on-failure destination record (the
// Lambda developer guide, "Capturing records of Lambda asynchronous
// invocations").
func record(t *testing.T, payload any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "1.0", "timestamp": "2026-11-30T07:00:00.000Z",
		"requestContext": map[string]any{"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:cogvault:$LATEST",
			"condition": "RetriesExhausted", "approximateInvokeCount": 3},
		"requestPayload":  payload,
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"responsePayload": map[string]any{"errorMessage": "journal AdminUpdateUserAttributes event: timeout"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJournalReplay: the dead-letter queue holds a change event that
// failed capture, one whose event cannot be captured, and two that are not
// this pool's change events. replay captures the first into the journal
// and deletes its message; the others stay in the queue.
func TestJournalReplay(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 10, Groups: 1})
	repoDir := t.TempDir() + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	r := openSigned(t, repoDir)
	base, err := r.Resolve(ctx, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	var u snapshot.User
	for x, err := range r.Users(ctx, base) {
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Identities) == 0 {
			u = x
			break
		}
	}
	// The change the lost event stood for.
	if _, err := newFakeClient(t, srv).AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &src.PoolID, Username: &u.Username,
		UserAttributes: []ciptypes.AttributeType{{Name: aws.String("name"), Value: aws.String("After-Change")}}}); err != nil {
		t.Fatal(err)
	}

	const queue = "cogvault-capture-failures"
	sq := sqstest.New(t, queue)
	t.Setenv("AWS_ENDPOINT_URL_SQS", sq.URL)
	now := time.Now().UTC().Format(time.RFC3339)
	bodies := map[string]string{
		"lost":       record(t, trailEvent(src.PoolID, u.Sub, "AdminUpdateUserAttributes", now)),
		"broken":     record(t, trailEvent(src.PoolID, u.Sub, "AdminDisableUser", "not a time")),
		"otherPool":  record(t, trailEvent("us-east-1_Other", u.Sub, "AdminDeleteUser", now)),
		"notAChange": record(t, map[string]any{"action": "snapshot"}),
	}
	client := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sq.URL), Credentials: aws.AnonymousCredentials{}})
	for _, name := range []string{"lost", "broken", "otherPool", "notAChange"} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(sq.QueueURL(queue)), MessageBody: aws.String(bodies[name])}); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := run(t, ctx, append([]string{"journal", "replay", "--pool", src.PoolID, "--queue", queue}, common...)...)
	if code != 1 || !strings.Contains(out, "1 replayed, 1 failed") || !strings.Contains(out, "2 skipped") {
		t.Fatalf("journal replay: exit %d, want 1 (one event failed)\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "After-Change") || strings.Contains(out, "After-Change") {
		t.Errorf("replay printed an attribute value:\n%s\n%s", out, errOut)
	}
	left := sq.Bodies(queue)
	for _, name := range []string{"broken", "otherPool", "notAChange"} {
		if !contains(left, bodies[name]) {
			t.Errorf("the %s message was deleted; only a captured event's message may be", name)
		}
	}
	if contains(left, bodies["lost"]) || len(left) != 3 {
		t.Errorf("%d messages left; the captured one must be deleted", len(left))
	}

	// The journal now holds the user's state after the change.
	var found bool
	for ent, err := range r.Journal(ctx, src.PoolID, time.Time{}, time.Now().Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		if e := ent.Event; e.Source == "AdminUpdateUserAttributes" && e.User != nil && e.User.Sub == u.Sub {
			v, _ := e.User.Attr("name")
			found = v == "After-Change"
		}
	}
	if !found {
		t.Fatal("the replayed event is not in the journal with the user's state after the change")
	}

	// Once the hidden messages show again, a second replay captures
	// nothing new and deletes nothing more.
	sq.Expire()
	if code, out, errOut := run(t, ctx, append([]string{"journal", "replay", "--pool", src.PoolID, "--queue", sq.QueueURL(queue)}, common...)...); code != 1 || !strings.Contains(out, "0 replayed, 1 failed") || len(sq.Bodies(queue)) != 3 {
		t.Fatalf("second replay: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestJournalReplayRefusesBadFlags(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 2})
	repoDir := t.TempDir() + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	sq := sqstest.New(t, "dlq")
	t.Setenv("AWS_ENDPOINT_URL_SQS", sq.URL)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"journal", "replay", "--pool", src.PoolID}, "--queue"},
		{[]string{"journal", "replay", "--pool", src.PoolID, "--queue", "nope"}, "no such queue"},
		{[]string{"journal", "replay", "--pool", src.PoolID, "--queue", "dlq", "--visibility-timeout", "-1"}, "--visibility-timeout"},
	} {
		code, _, errOut := run(t, ctx, append(c.args, common...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 2 naming %s\n%s", c.args, code, c.want, errOut)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
