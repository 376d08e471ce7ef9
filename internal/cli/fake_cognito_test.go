package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

func TestFakeCognitoUsernameAttributesFlag(t *testing.T) {
	isolateAWS(t)
	for _, bad := range []string{"username", "email,email", "email,preferred_username"} {
		code, _, errOut := run(t, context.Background(), "fake-cognito", "--listen", "127.0.0.1:0", "--users", "1", "--username-attributes", bad)
		if code != 2 || !strings.Contains(errOut, "--username-attributes") {
			t.Errorf("--username-attributes %s: exit %d, stderr %q; want a usage error naming the flag", bad, code, errOut)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuf
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"fake-cognito", "--listen", "127.0.0.1:0", "--users", "30", "--groups", "1",
			"--no-quotas", "--username-attributes", "email,phone_number", "--output", "json"}, strings.NewReader(""), &out, &errb)
	}()
	var info struct {
		Endpoint, Region, PoolID string
		UsernameAttributes       []string
	}
	deadline := time.Now().Add(10 * time.Second)
	for json.Unmarshal([]byte(out.String()), &info) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if info.Endpoint == "" || strings.Join(info.UsernameAttributes, ",") != "email,phone_number" {
		t.Fatalf("fake-cognito printed %q (stderr %q)", out.String(), errb.String())
	}
	c := cip.NewFromConfig(aws.Config{Region: info.Region, BaseEndpoint: aws.String(info.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", ""),
		HTTPClient:  awsx.BufferBodies(awshttp.NewBuildableClient())})
	d, err := c.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: aws.String(info.PoolID)})
	if err != nil || len(d.UserPool.UsernameAttributes) != 2 {
		t.Fatalf("served pool: %v, UsernameAttributes %v", err, d.UserPool.UsernameAttributes)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("fake-cognito exit %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake-cognito did not stop on interrupt")
	}
}

// --lambda-endpoint makes the served fake invoke a pool's triggers there.
func TestFakeCognitoLambdaEndpointFlag(t *testing.T) {
	isolateAWS(t)
	for _, bad := range []string{"127.0.0.1:9001", "ftp://x", "http://"} {
		// Bounded, so that a fake that wrongly starts serving ends the run.
		bounded, stop := context.WithTimeout(context.Background(), 5*time.Second)
		code, _, errOut := run(t, bounded, "fake-cognito", "--listen", "127.0.0.1:0", "--users", "1", "--lambda-endpoint", bad)
		stop()
		if code != 2 || !strings.Contains(errOut, "--lambda-endpoint") {
			t.Errorf("--lambda-endpoint %s: exit %d, stderr %q; want a usage error naming the flag", bad, code, errOut)
		}
	}
	lambda := httptest.NewServer(cognitotest.LambdaHandler(func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
		return ev, errors.New("closed for " + fn)
	}))
	defer lambda.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuf
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"fake-cognito", "--listen", "127.0.0.1:0", "--users", "0", "--groups", "0",
			"--no-quotas", "--lambda-endpoint", lambda.URL, "--output", "json"}, strings.NewReader(""), &out, &errb)
	}()
	var info struct{ Endpoint, Region string }
	deadline := time.Now().Add(10 * time.Second)
	for json.Unmarshal([]byte(out.String()), &info) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c := cip.NewFromConfig(aws.Config{Region: info.Region, BaseEndpoint: aws.String(info.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", ""),
		HTTPClient:  awsx.BufferBodies(awshttp.NewBuildableClient())})
	p, err := c.CreateUserPool(context.Background(), &cip.CreateUserPoolInput{PoolName: aws.String("t"),
		LambdaConfig: &types.LambdaConfigType{PreSignUp: aws.String("arn:aws:lambda:us-east-1:123456789012:function:gate")}})
	if err != nil {
		t.Fatalf("create pool: %v (fake printed %q)", err, out.String())
	}
	_, err = c.AdminCreateUser(context.Background(), &cip.AdminCreateUserInput{UserPoolId: p.UserPool.Id, Username: aws.String("u1"),
		MessageAction: types.MessageActionTypeSuppress})
	var lve *types.UserLambdaValidationException
	if !errors.As(err, &lve) || lve.ErrorMessage() != "PreSignUp failed with error closed for gate." {
		t.Fatalf("AdminCreateUser through a rejecting trigger: %v", err)
	}
	cancel()
	<-done
}
