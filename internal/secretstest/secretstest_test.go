package secretstest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/secretstest"
)

func client(url string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
}

// TestGetSecretValue drives the fake with the real SDK client: a string
// and a binary secret by ARN and by name, and the errors the SDK must
// recognise by type (ResourceNotFoundException) or by code
// (AccessDeniedException, not in the model).
func TestGetSecretValue(t *testing.T) {
	srv := secretstest.NewTestServer(t)
	ctx := context.Background()
	api := client(srv.URL)
	text := secretstest.ARN("eu-west-1", "123456789012", "cogvault/age")
	bin := secretstest.ARN("eu-west-1", "123456789012", "bin")
	empty := secretstest.ARN("eu-west-1", "123456789012", "empty")
	denied := secretstest.ARN("eu-west-1", "123456789012", "denied")
	srv.PutString(text, "AGE-SECRET-KEY-1X\n")
	srv.PutBinary(bin, []byte{0, 1, 2})
	srv.PutEmpty(empty)
	srv.PutString(denied, "x")
	srv.Deny(denied)
	if !strings.HasPrefix(text, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cogvault/age-") || len(text) != len("arn:aws:secretsmanager:eu-west-1:123456789012:secret:cogvault/age-")+6 {
		t.Fatalf("ARN %s: want the name, a hyphen and six characters", text)
	}
	for _, id := range []string{text, "cogvault/age"} {
		out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetSecretValue %s: %v", id, err)
		}
		if aws.ToString(out.SecretString) != "AGE-SECRET-KEY-1X\n" || aws.ToString(out.ARN) != text || aws.ToString(out.Name) != "cogvault/age" ||
			out.SecretBinary != nil || len(out.VersionStages) != 1 || out.VersionStages[0] != "AWSCURRENT" || out.CreatedDate == nil {
			t.Fatalf("GetSecretValue %s: %+v", id, out)
		}
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(bin)})
	if err != nil || out.SecretString != nil || string(out.SecretBinary) != "\x00\x01\x02" {
		t.Fatalf("binary secret: %+v %v", out, err)
	}
	for _, id := range []string{empty, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nothing-abcdef"} {
		_, err = api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || nf.ErrorMessage() != "Secrets Manager can't find the specified secret." {
			t.Fatalf("%s: %v, want ResourceNotFoundException", id, err)
		}
	}
	_, err = api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(denied)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "secretsmanager:GetSecretValue on resource: "+denied) {
		t.Fatalf("denied: %v, want AccessDeniedException", err)
	}
	if srv.Calls() != 6 {
		t.Fatalf("%d calls counted, want 6", srv.Calls())
	}
}
