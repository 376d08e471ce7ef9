package awsx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

// Eight workers create 100 groups in one pool and 20 in another as fast as
// the pacer lets them, against a fake that enforces the per-pool cap (5 RPS
// × 10 per operation and pool, under the category's 15 × 10 for the
// account). The category rate alone would let 150 CreateGroup calls a second
// into one pool, throttled after half a second; the per-pool bucket keeps
// every call under the cap, so with one attempt per call nothing is
// throttled.
func TestPacingKeepsManyCreateGroupsUnderThePerPoolCap(t *testing.T) {
	const scale = 10
	counts := []int{100, 20}
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: scale})
	var pools []string
	for _, name := range []string{"a", "b"} {
		res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: name, Users: 1})
		if err != nil {
			t.Fatal(err)
		}
		pools = append(pools, res.PoolID)
	}
	lim := awsx.NewLimiter(quota.Defaults().Scaled(scale), 1)
	if got, want := lim.PerPoolRate(quota.UserPoolResourceUpdate), float64(quota.PerPoolOperationRPS*scale); got != want {
		t.Fatalf("per-pool pace %v, want %v", got, want)
	}
	c := client(t, srv, awsx.Options{Limiter: lim, MaxAttempts: 1}) // a throttle surfaces as an error
	work := make(chan [2]string)
	go func() {
		defer close(work)
		for i := range counts[0] {
			for p, n := range counts {
				if i < n {
					work <- [2]string{pools[p], fmt.Sprintf("group-%03d", i)}
				}
			}
		}
	}()
	total := counts[0] + counts[1]
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(w[0]), GroupName: aws.String(w[1])}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("paced CreateGroup failed: %v", err)
	}
	if st := srv.OpStats("CreateGroup"); st.Throttles != 0 || st.Calls != int64(total) {
		t.Fatalf("fake saw %d CreateGroup calls and throttled %d; want %d and 0", st.Calls, st.Throttles, total)
	}
}

func TestPoolOf(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{&cip.CreateGroupInput{UserPoolId: aws.String("eu-west-1_abc")}, "eu-west-1_abc"},
		{&cip.TagResourceInput{ResourceArn: aws.String("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc")}, "eu-west-1_abc"},
		{&cip.DescribeUserPoolDomainInput{Domain: aws.String("example")}, ""},
		{&cip.ListUserPoolsInput{}, ""},
		{(*cip.CreateGroupInput)(nil), ""},
		{"not an input", ""},
	} {
		if got := awsx.PoolOf(tc.in); got != tc.want {
			t.Errorf("PoolOf(%T) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Per-pool buckets are per (pool, operation): with a pool's CreateGroup
// token spent, a second one must wait 200 ms (and is refused at once under a
// 50 ms deadline), while CreateGroup on another pool, GetGroup on the same
// pool and an uncapped category go straight through.
func TestPerPoolBucketsArePerPoolAndOperation(t *testing.T) {
	lim := awsx.NewLimiter(nil, 1)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := lim.WaitPool(short, "p1", "CreateGroup"); err != nil {
		t.Fatal(err)
	}
	if err := lim.WaitPool(short, "p1", "CreateGroup"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second CreateGroup on p1 within 50 ms: %v, want a refusal (5 RPS per pool)", err)
	}
	for _, call := range [][2]string{{"p2", "CreateGroup"}, {"p1", "GetGroup"}, {"p1", "AdminGetUser"}} {
		if err := lim.WaitPool(short, call[0], call[1]); err != nil {
			t.Fatalf("%s on %s after p1's CreateGroup: %v", call[1], call[0], err)
		}
	}
}
