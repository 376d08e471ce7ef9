package cognitotest_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestDenyActionsAnswersAsIAM: a denied operation gets IAM's refusal
// (AccessDeniedException, the caller, the action and the resource: the
// pool's ARN when the request names a pool, "*" when it cannot), other
// operations are served, and the returned func lifts the denial.
func TestDenyActionsAnswersAsIAM(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 3, 1)
	c := newClient(srv)
	allow := srv.DenyActions("ListUsers", "DescribeUserPoolDomain")
	cases := []struct {
		op       string
		call     func() error
		resource string
	}{
		{"ListUsers", func() error {
			_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool})
			return err
		}, "arn:aws:cognito-idp:us-east-1:123456789012:userpool/" + pool},
		{"DescribeUserPoolDomain", func() error {
			_, err := c.DescribeUserPoolDomain(ctx, &cip.DescribeUserPoolDomainInput{Domain: aws.String("auth")})
			return err
		}, "*"},
	}
	for _, k := range cases {
		var ae smithy.APIError
		if err := k.call(); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("%s: %v, want AccessDeniedException", k.op, err)
		}
		want := "User: arn:aws:sts::123456789012:assumed-role/cognitotest/session is not authorized to perform: cognito-idp:" + k.op +
			" on resource: " + k.resource + " because no identity-based policy allows the cognito-idp:" + k.op + " action"
		if ae.ErrorMessage() != want {
			t.Errorf("%s: message %q\nwant %q", k.op, ae.ErrorMessage(), want)
		}
	}
	if _, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool}); err != nil {
		t.Errorf("an operation not denied: %v", err)
	}
	allow()
	allow() // idempotent
	if _, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &pool}); err != nil {
		t.Errorf("after allow: %v", err)
	}
}
