package restore_test

import (
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// triggerEnv is setup's pair of pools, served by a fake that invokes
// Lambda triggers at an endpoint running fn, with the target's LambdaConfig
// set to triggers.
func triggerEnv(t *testing.T, users int, triggers map[string]string, fn cognitotest.TriggerFunc) *env {
	t.Helper()
	lambda := httptest.NewServer(cognitotest.LambdaHandler(fn))
	t.Cleanup(lambda.Close)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: users, Groups: 2, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetLambdaConfig(tgt.PoolID, triggers); err != nil {
		t.Fatal(err)
	}
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, Rates: rates, MaxBackoff: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	api := cip.NewFromConfig(cfg)
	dir := t.TempDir()
	store, _ := storage.NewDir(filepath.Join(dir, "repo"))
	m, err := backup.Run(ctx, api, store, backup.Options{PoolID: src.PoolID, MFA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, api: api, source: src, target: tgt.PoolID, repo: repo.New(store), snap: m, dir: dir}
}

const (
	preSignUpARN = "arn:aws:lambda:us-east-1:123456789012:function:gate"
	postConfARN  = "arn:aws:lambda:us-east-1:123456789012:function:welcome"
	preAuthARN   = "arn:aws:lambda:us-east-1:123456789012:function:pre-auth"
)

// A pool with a PreSignUp trigger: the plan names it, a real run without
// --allow-triggers writes nothing, and with it the function sees every
// created user, the one it rejects is reported and the rest are restored.
func TestPreSignUpTriggerIsGatedAndRejectionsReported(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // userName → triggerSource
	var reject string
	e := triggerEnv(t, 120, map[string]string{"PreSignUp": preSignUpARN, "PostConfirmation": postConfARN, "PreAuthentication": preAuthARN},
		func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
			mu.Lock()
			defer mu.Unlock()
			seen[ev.UserName] = fn + " " + ev.TriggerSource
			if ev.UserName == reject {
				return ev, errors.New("no such employee")
			}
			return ev, nil
		})
	users, _ := snapshotUsers(t, e)
	reject = firstUser(t, users, "confirmed", func(u snapshot.User) bool { return u.Status == "CONFIRMED" && u.Enabled })

	plan, err := e.restore(t, restore.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range plan.Triggers {
		names = append(names, tr.Name)
	}
	if strings.Join(names, ",") != "PreSignUp,PostConfirmation,PreAuthentication" || !plan.Triggers[0].Gated || plan.Triggers[2].Gated ||
		plan.Triggers[0].Function != preSignUpARN || !strings.HasPrefix(plan.Triggers[0].Admin, "fires") {
		t.Fatalf("plan triggers: %+v", plan.Triggers)
	}

	_, err = e.restore(t, restore.Options{})
	if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), "--allow-triggers") ||
		!strings.Contains(err.Error(), "PreSignUp ("+preSignUpARN+")") || !strings.Contains(err.Error(), "PostConfirmation") ||
		strings.Contains(err.Error(), "PreAuthentication") {
		t.Fatalf("restore without --allow-triggers: %v", err)
	}
	for _, op := range []string{"AdminCreateUser", "CreateGroup"} {
		if n := e.srv.OpStats(op).Calls; n != 0 {
			t.Fatalf("refused restore made %d %s calls", n, op)
		}
	}
	if len(seen) != 0 {
		t.Fatalf("refused restore fired triggers for %d users", len(seen))
	}

	rep, err := e.restore(t, restore.Options{AllowTriggers: true})
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, it := range rep.NotRestored {
		if strings.Contains(it.Reason, "PreSignUp") {
			rejected++
			if it.Username != reject || it.What != "user" || !strings.Contains(it.Reason, "PreSignUp failed with error no such employee.") {
				t.Fatalf("rejection item %+v", it)
			}
		}
	}
	if rejected != 1 || rep.SubMappings != plan.UsersCreate-1 {
		t.Fatalf("%d rejections, %d users restored of %d planned", rejected, rep.SubMappings, plan.UsersCreate)
	}
	if seen[reject] != "gate PreSignUp_AdminCreateUser" || len(seen) != plan.UsersCreate {
		t.Fatalf("PreSignUp saw %d users (want %d), the rejected one as %q", len(seen), plan.UsersCreate, seen[reject])
	}
	explained(t, e, rep)
}

// Triggers that act on nobody a restore writes do not gate it, and a
// restore that writes no user is never gated.
func TestTriggersThatDoNotActOnRestoredUsersAreNotGated(t *testing.T) {
	e := triggerEnv(t, 10, map[string]string{"PreAuthentication": preAuthARN}, func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
		return ev, nil
	})
	if _, err := e.restore(t, restore.Options{}); err != nil {
		t.Fatalf("restore into a pool with only PreAuthentication: %v", err)
	}
	if err := e.srv.SetLambdaConfig(e.target, map[string]string{"PreSignUp": preSignUpARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.restore(t, restore.Options{Only: map[string]bool{"groups": true}, StatePath: filepath.Join(e.dir, "groups.state")}); err != nil {
		t.Fatalf("--only groups into a pool with PreSignUp: %v", err)
	}
}

// The plan says a restore runs no CustomMessage trigger: it creates users
// with MessageAction=SUPPRESS and updates emails with email_verified in the
// same call. The fake runs CustomMessage for every message it would send
// (cognitotest's TestCustomMessageRuns*), so any message would show here.
func TestRestoreRunsNoCustomMessageTrigger(t *testing.T) {
	var mu sync.Mutex
	var sources []string
	e := triggerEnv(t, 60, map[string]string{"CustomMessage": "arn:aws:lambda:us-east-1:123456789012:function:messages"},
		func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
			mu.Lock()
			defer mu.Unlock()
			sources = append(sources, ev.TriggerSource)
			return ev, nil
		})
	users, _ := snapshotUsers(t, e)
	existing := 0
	for _, u := range users {
		if v, ok := u.Attr("email"); ok && v != "" && u.Status != "EXTERNAL_PROVIDER" && existing < 5 {
			e.precreate(t, u.Username, types.AttributeType{Name: aws.String("email"), Value: aws.String("old" + v)})
			existing++
		}
	}
	rep, err := e.restore(t, restore.Options{OnExisting: restore.OnExistingUpdate, AllowTriggers: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.UsersUpdate != existing || rep.UsersCreate == 0 || len(sources) != 0 {
		t.Fatalf("updated %d of %d, created %d; CustomMessage ran for %v", rep.UsersUpdate, existing, rep.UsersCreate, sources)
	}
}
