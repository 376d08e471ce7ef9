package cognitotest_test

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

func TestQuotaThrottlesAboveCategoryRate(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{}, 100, 0) // Cognito's default quotas
	c := newClient(srv)
	rate := quota.DefaultRate(quota.UserList)

	var mu sync.Mutex
	ok, throttled := 0, 0
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < 700*time.Millisecond {
				_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(1)})
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case apiCode(err) == "TooManyRequestsException":
					throttled++
				default:
					t.Errorf("unexpected error: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	// A full bucket (one second's worth) plus the refill over the window.
	if max := int(rate) + int(rate*elapsed) + 1; ok > max {
		t.Fatalf("%d ListUsers calls succeeded in %.2fs; quota %v rps allows at most %d", ok, elapsed, rate, max)
	}
	if throttled == 0 {
		t.Fatal("16 callers in a tight loop were never throttled")
	}
	st := srv.OpStats("ListUsers")
	if st.Throttles != int64(throttled) {
		t.Fatalf("fake counted %d throttles, client saw %d", st.Throttles, throttled)
	}

	// Categories are independent: AdminGetUser (UserRead) is not throttled by
	// an exhausted UserList bucket.
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("user0000001")}); err != nil {
		t.Fatalf("UserRead call after UserList storm: %v", err)
	}
}

func TestQuotaScaleAndOverride(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{Rates: quota.Rates{quota.UserRead: 2}}, 10, 0)
	c := newClient(srv)
	throttled := 0
	for i := 0; i < 10; i++ {
		_, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("user0000001")})
		if apiCode(err) == "TooManyRequestsException" {
			throttled++
		}
	}
	if throttled < 7 {
		t.Fatalf("UserRead overridden to 2 rps: %d of 10 back-to-back calls throttled, want ≥ 7", throttled)
	}
}

func TestInjectedFaults(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 10, 0)
	c := newClient(srv)
	list := func() error {
		_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
		return err
	}

	srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultThrottle, Count: 3})
	for i := 0; i < 3; i++ {
		if err := list(); apiCode(err) != "TooManyRequestsException" {
			t.Fatalf("throttle storm call %d: %v", i, err)
		}
	}
	if err := list(); err != nil {
		t.Fatalf("after the storm: %v", err)
	}

	srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultServerError, Count: 2})
	for i := 0; i < 2; i++ {
		if err := list(); apiCode(err) != "InternalErrorException" {
			t.Fatalf("5xx burst call %d: %v", i, err)
		}
	}

	// Faults are per operation.
	remove := srv.InjectFault(cognitotest.Fault{Operation: "AdminGetUser", Kind: cognitotest.FaultThrottle})
	if err := list(); err != nil {
		t.Fatalf("ListUsers hit by an AdminGetUser fault: %v", err)
	}
	remove()

	// A client that never retries, so that the reset itself is seen (the
	// test client retries a connection closed under it).
	raw := cip.New(c.Options(), func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
	srv.InjectFault(cognitotest.Fault{Kind: cognitotest.FaultReset, Count: 1})
	_, err := raw.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	var ne net.Error
	if err == nil || apiCode(err) != "" || !(errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || isEOF(err)) {
		t.Fatalf("reset: got %v, want a transport error", err)
	}

	srv.InjectFault(cognitotest.Fault{Kind: cognitotest.FaultLatency, Latency: 150 * time.Millisecond, Count: 1})
	start := time.Now()
	if err := list(); err != nil || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("latency fault: err %v after %v", err, time.Since(start))
	}

	st := srv.OpStats("ListUsers")
	if st.Throttles != 3 || st.Errors < 3 {
		t.Fatalf("stats = %+v, want 3 throttles and ≥ 3 errors", st)
	}
}

func isEOF(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == "EOF" || e.Error() == "unexpected EOF" {
			return true
		}
	}
	return false
}

// The per-user quota: ten writes a second to one user, whatever its
// category allows; the same calls spread over many users pass.
func TestPerUserWriteQuota(t *testing.T) {
	write := func(c *cip.Client, pool, user string) error {
		_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(pool), Username: aws.String(user),
			UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String("N")}}})
		return err
	}
	names := func(c *cip.Client, pool string) []string {
		out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60)})
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, u := range out.Users {
			if u.UserStatus != types.UserStatusTypeExternalProvider {
				ns = append(ns, aws.ToString(u.Username))
			}
		}
		return ns[:20]
	}
	srv, pool := startFake(t, cognitotest.Options{}, 60, 0)
	c := newClient(srv)
	one := names(c, pool)[0]
	ok, throttled := 0, 0
	for range 20 { // within a fraction of a second: the category's burst (25) allows all
		switch err := write(c, pool, one); {
		case err == nil:
			ok++
		case apiCode(err) == "TooManyRequestsException":
			throttled++
		default:
			t.Fatal(err)
		}
	}
	if throttled == 0 || ok > 11 {
		t.Fatalf("20 writes to one user: %d passed, %d throttled; the per-user quota is 10 a second", ok, throttled)
	}
	srv2, pool2 := startFake(t, cognitotest.Options{}, 60, 0)
	c2 := newClient(srv2)
	for _, u := range names(c2, pool2) {
		if err := write(c2, pool2, u); err != nil {
			t.Fatalf("one write to each of 20 users: %v", err)
		}
	}
}
