package cognitotest_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

// newClient returns the real SDK client pointed at srv. It retries only a
// connection the client itself closed (net.ErrClosed): Go's HTTP transport
// can close a keep-alive connection under a response that is being read, and
// the SDK's standard retryer retries that too
// (https://github.com/aws/aws-sdk-go-v2/issues/2737). Every answer of the
// fake, throttles and errors included, reaches the test unretried.
func newClient(srv *cognitotest.Server) *cip.Client {
	cfg := aws.Config{
		Region:       srv.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.RateLimiter = ratelimit.None
				o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					return aws.BoolTernary(errors.Is(err, net.ErrClosed))
				})}
			})
		},
	}
	return cip.NewFromConfig(cfg)
}

func startFake(t *testing.T, opts cognitotest.Options, users, groups int) (*cognitotest.Server, string) {
	t.Helper()
	srv := cognitotest.NewTestServer(t, opts)
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: users, Groups: groups, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return srv, res.PoolID
}

var ctx = context.Background()
