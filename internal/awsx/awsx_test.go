package awsx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

var ctx = context.Background()

// isolate keeps the developer's own AWS setup out of a test.
func isolate(t *testing.T) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "none")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func client(t *testing.T, srv *cognitotest.Server, opts awsx.Options) *cip.Client {
	t.Helper()
	isolate(t)
	opts.Region = srv.Region()
	opts.EndpointURL = srv.URL
	opts.Credentials = credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 50 * time.Millisecond // keep storms short in tests
	}
	cfg, err := awsx.LoadConfig(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return cip.NewFromConfig(cfg)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRetryPolicySurvivesThrottleStormAnd5xxBurst(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 5})
	c := client(t, srv, awsx.Options{})
	list := func() error {
		_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &res.PoolID})
		return err
	}
	for _, f := range []cognitotest.Fault{
		{Operation: "ListUsers", Kind: cognitotest.FaultThrottle, Count: 6},
		{Operation: "ListUsers", Kind: cognitotest.FaultServerError, Count: 4},
		{Operation: "ListUsers", Kind: cognitotest.FaultReset, Count: 2},
		{Operation: "ListUsers", Kind: cognitotest.FaultThrottle, Every: 2, Count: 5}, // interleaved
	} {
		srv.ResetStats()
		srv.InjectFault(f)
		if err := list(); err != nil {
			t.Fatalf("%s fault ×%d: call failed: %v", f.Kind, f.Count, err)
		}
		if st := srv.OpStats("ListUsers"); st.Succeeded() != 1 {
			t.Fatalf("%s fault: %+v, want exactly one answered call", f.Kind, st)
		}
	}
}

func TestRetryPolicyNeverRetriesClientErrors(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 5})
	c := client(t, srv, awsx.Options{})

	_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &res.PoolID, Limit: aws.Int32(61)})
	if code(err) != "InvalidParameterException" || srv.OpStats("ListUsers").Calls != 1 {
		t.Fatalf("validation error: %v after %d calls, want one call", err, srv.OpStats("ListUsers").Calls)
	}
	_, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &res.PoolID, Username: aws.String("nobody")})
	if code(err) != "UserNotFoundException" || srv.OpStats("AdminGetUser").Calls != 1 {
		t.Fatalf("UserNotFound: %v after %d calls", err, srv.OpStats("AdminGetUser").Calls)
	}
	srv.InjectFault(cognitotest.Fault{Operation: "CreateGroup", Kind: cognitotest.FaultError, Code: "LimitExceededException"})
	_, err = c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &res.PoolID, GroupName: aws.String("g")})
	if code(err) != "LimitExceededException" || srv.OpStats("CreateGroup").Calls != 1 {
		t.Fatalf("LimitExceededException: %v after %d calls, want no retry", err, srv.OpStats("CreateGroup").Calls)
	}
}

func TestRetryPolicyGivesUpAfterMaxAttempts(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 1})
	c := client(t, srv, awsx.Options{MaxAttempts: 3})
	srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultThrottle})
	_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &res.PoolID})
	if code(err) != "TooManyRequestsException" || !strings.Contains(err.Error(), "ListUsers") {
		t.Fatalf("endless storm: %v", err)
	}
	if n := srv.OpStats("ListUsers").Calls; n != 3 {
		t.Fatalf("made %d attempts, want MaxAttempts = 3", n)
	}
}

// TestPacingKeeps16CallersUnderTheQuota runs 16 concurrent ListUsers token
// chains against the fake with Cognito's default UserList quota (30 rps):
// every call must succeed and the fake must not have had to throttle.
func TestPacingKeeps16CallersUnderTheQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("paced test takes ~2s")
	}
	srv := cognitotest.NewTestServer(t, cognitotest.Options{}) // default quotas on
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 2000})
	c := client(t, srv, awsx.Options{MaxAttempts: 1}) // a throttle would surface as an error
	const window = 2 * time.Second
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for _, shard := range "0123456789abcdef" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &cip.ListUsersInput{UserPoolId: &res.PoolID, Limit: aws.Int32(5), Filter: aws.String(`sub ^= "` + string(shard) + `"`)}
			for time.Since(start) < window {
				out, err := c.ListUsers(ctx, in)
				if err != nil {
					errs <- err
					return
				}
				if out.PaginationToken == nil {
					in.PaginationToken = nil
				} else {
					in.PaginationToken = out.PaginationToken
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("paced call failed: %v", err)
	}
	elapsed := time.Since(start).Seconds()
	st := srv.OpStats("ListUsers")
	if st.Throttles != 0 {
		t.Fatalf("fake throttled %d of %d paced calls", st.Throttles, st.Calls)
	}
	rate := quota.DefaultRate(quota.UserList)
	if max := rate*elapsed + rate; float64(st.Calls) > max {
		t.Fatalf("%d calls in %.1fs exceed %v rps", st.Calls, elapsed, rate)
	}
	if min := rate * elapsed * 0.7; float64(st.Calls) < min {
		t.Fatalf("only %d calls in %.1fs: pacing wastes the quota (want ≥ %.0f)", st.Calls, elapsed, min)
	}
}

func TestPacingIsPerCategoryAndShared(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 10})
	lim := awsx.NewLimiter(quota.Rates{quota.UserList: 5}, 1)
	c := client(t, srv, awsx.Options{Limiter: lim})
	start := time.Now()
	for i := 0; i < 6; i++ {
		if _, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &res.PoolID}); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 700*time.Millisecond {
		t.Fatalf("6 ListUsers at 5 rps (burst 1) took %v, want ≥ 0.7s", el)
	}
	// UserPoolRead has its own bucket at the default rate.
	for i := 0; i < 20; i++ {
		if _, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &res.PoolID}); err != nil {
			t.Fatal(err)
		}
	}
	if st := lim.Stats()[quota.UserList]; st.Calls != 6 || st.Wait < 700*time.Millisecond {
		t.Fatalf("UserList pacing stats %+v", st)
	}
	if st := lim.Stats()[quota.UserPoolRead]; st.Calls != 20 {
		t.Fatalf("UserPoolRead pacing stats %+v", st)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	isolate(t)
	_, err := awsx.LoadConfig(ctx, awsx.Options{})
	if !errors.Is(err, awsx.ErrNoRegion) || !strings.Contains(err.Error(), "--region") {
		t.Fatalf("no region: %v", err)
	}
	_, err = awsx.LoadConfig(ctx, awsx.Options{Profile: "nosuchprofile", Region: "us-east-1"})
	if err == nil || !strings.Contains(err.Error(), `"nosuchprofile"`) {
		t.Fatalf("missing profile: %v", err)
	}
	_, err = awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", MaxShare: 1.5})
	if err == nil || !strings.Contains(err.Error(), "1.5") {
		t.Fatalf("bad share: %v", err)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{EndpointURL: "http://127.0.0.1:1"})
	if err != nil || cfg.Region != "eu-west-1" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Fatalf("env region + endpoint: %v %q %v", err, cfg.Region, cfg.BaseEndpoint)
	}
	// --endpoint-url is Cognito's: the config for S3 and CloudWatch Logs
	// keeps the SDK's own (here AWS_ENDPOINT_URL).
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
	cfgs, err := awsx.LoadConfigs(ctx, awsx.Options{EndpointURL: "http://127.0.0.1:1"})
	if err != nil || aws.ToString(cfgs.Cognito.BaseEndpoint) != "http://127.0.0.1:1" || aws.ToString(cfgs.Other.BaseEndpoint) != "http://127.0.0.1:2" {
		t.Fatalf("split endpoints: %v, Cognito %v, other %v", err, aws.ToString(cfgs.Cognito.BaseEndpoint), aws.ToString(cfgs.Other.BaseEndpoint))
	}
}

// Without bufferBodies, a fast endpoint made the transport close a
// keep-alive connection under a response being read every few hundred calls
// ("use of closed network connection", aws/aws-sdk-go-v2#2737). With no
// retries allowed, 1,000 calls must all succeed.
func TestNoConnectionClosedUnderAResponse(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 3000})
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0
	}
	c := client(t, srv, awsx.Options{MaxAttempts: 1, Rates: rates})
	for i := 0; i < 1000; {
		p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &res.PoolID, Limit: aws.Int32(60)})
		for p.HasMorePages() && i < 1000 {
			if _, err := p.NextPage(ctx); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			i++
		}
	}
}

// --endpoint-url wins over AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, as the
// AWS CLI's flag does: the variable points at a closed port, the flag at the
// fake, and the call must reach the fake.
func TestEndpointURLWinsOverTheCognitoVariable(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	isolate(t)
	t.Setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:1")
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: srv.Region(), EndpointURL: srv.URL, MaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cip.NewFromConfig(cfg).ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(1)}); err != nil {
		t.Fatalf("the call did not reach --endpoint-url: %v", err)
	}
}
