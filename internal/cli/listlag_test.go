package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

// lagClock is the fake's clock: it moves only when told, so "within the
// listing lag" holds for as long as the test wants, whatever the machine's
// speed.
type lagClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lagClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *lagClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// statuses reads every user of the target with AdminGetUser (consistent),
// by the usernames a listing gives once the lag is over.
func statusesAfterLag(t *testing.T, c *cip.Client, clk *lagClock, pool string) map[string]types.UserStatusType {
	t.Helper()
	clk.Advance(time.Minute)
	out := map[string]types.UserStatusType{}
	for u, err := range cognito.Users(context.Background(), c, pool, "") {
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &pool, Username: u.Username})
		if err != nil {
			t.Fatal(err)
		}
		out[aws.ToString(u.Username)] = g.UserStatus
	}
	return out
}

// A restore through import jobs into a pool whose listing lags 3 s: the
// users the job imported do not show in ListUsers yet. They must stay
// RESET_REQUIRED (never re-created or confirmed through the admin API), on
// the first run and on a second run made while the listing still lags.
func TestRestoreViaImportUnderListingLag(t *testing.T) {
	isolateAWS(t)
	clk := &lagClock{t: time.Now().UTC().Truncate(time.Second)}
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Now: clk.Now})
	srv.SetListingLag(3 * time.Second)
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 120, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, errOut)
	}
	restore := func(state string) int {
		t.Helper()
		code, out, errOut := run(t, context.Background(), append([]string{"restore", "latest", "--pool", src.PoolID, "--to", tgt.PoolID,
			"--via", "import", "--import-role-arn", "arn:aws:iam::123456789012:role/import", "--output", "json",
			"--state-file", dir + "/" + state, "--mapping-file", dir + "/" + state + ".subs"}, common...)...)
		var rep struct{ Report struct{ UsersImported int } }
		if code == 1 || json.Unmarshal([]byte(out), &rep) != nil {
			t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
		}
		return rep.Report.UsersImported
	}
	imported := restore("first")
	if imported == 0 {
		t.Fatal("no user imported")
	}
	c := newFakeClient(t, srv)
	first := statusesAfterLag(t, c, clk, tgt.PoolID)
	reset := 0
	for _, st := range first {
		if st == types.UserStatusTypeResetRequired {
			reset++
		}
	}
	if reset < imported {
		t.Fatalf("%d users RESET_REQUIRED after importing %d: some were confirmed through the admin API", reset, imported)
	}
	// An hour's lag hides every user the first run made again; a fresh
	// restore (another state file) must change none of the imported ones.
	passwords := srv.OpStats("AdminSetUserPassword").Calls
	srv.SetListingLag(time.Hour)
	restore("second")
	if n := srv.OpStats("AdminSetUserPassword").Calls - passwords; n != 0 {
		t.Fatalf("the second run set %d passwords", n)
	}
	srv.SetListingLag(0)
	for name, st := range statusesAfterLag(t, c, clk, tgt.PoolID) {
		if first[name] == types.UserStatusTypeResetRequired && st != first[name] {
			t.Fatalf("user %s went from RESET_REQUIRED to %s on the second run", name, st)
		}
	}
}

// fake-cognito --list-lag serves an eventually consistent ListUsers: a user
// just created is not listed, AdminGetUser finds it. A negative lag is a
// usage error naming the flag.
func TestFakeCognitoListLagFlag(t *testing.T) {
	isolateAWS(t)
	if code, _, errOut := run(t, context.Background(), "fake-cognito", "--listen", "127.0.0.1:0", "--users", "1", "--list-lag", "-1s"); code != 2 || !strings.Contains(errOut, "--list-lag") {
		t.Fatalf("--list-lag -1s: exit %d, stderr %q", code, errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuf
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"fake-cognito", "--listen", "127.0.0.1:0", "--users", "5", "--groups", "0",
			"--no-quotas", "--list-lag", "1h", "--output", "json"}, strings.NewReader(""), &out, &errb)
	}()
	var info struct{ Endpoint, Region, PoolID, ListLag string }
	for i := 0; json.Unmarshal([]byte(out.String()), &info) != nil && i < 1000; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if info.Endpoint == "" || info.ListLag != "1h0m0s" {
		t.Fatalf("fake-cognito printed %q (stderr %q)", out.String(), errb.String())
	}
	c := cip.NewFromConfig(aws.Config{Region: info.Region, BaseEndpoint: aws.String(info.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", ""),
		HTTPClient:  awsx.BufferBodies(awshttp.NewBuildableClient())})
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &info.PoolID, Username: aws.String("fresh"),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	for u, err := range cognito.Users(ctx, c, info.PoolID, "") {
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(u.Username) == "fresh" {
			t.Fatal("a user created within --list-lag is listed")
		}
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &info.PoolID, Username: aws.String("fresh")}); err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("fake-cognito exit %d: %s", code, errb.String())
	}
}
