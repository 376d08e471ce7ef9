package drill_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/drill"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

type env struct {
	srv  *cognitotest.Server
	api  *cip.Client
	repo *repo.Repo
	snap *snapshot.Manifest
}

// setup backs up a populated pool (with triggers when given) on an unpaced
// fake.
func setup(t *testing.T, users int, triggers map[string]string) *env {
	t.Helper()
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: users, Groups: 3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if triggers != nil {
		if err := srv.SetLambdaConfig(src.PoolID, triggers); err != nil {
			t.Fatal(err)
		}
	}
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0 // the fake has no quotas: do not pace
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, Rates: rates, MaxBackoff: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	api := cip.NewFromConfig(cfg)
	store, _ := storage.NewDir(filepath.Join(t.TempDir(), "repo"))
	m, err := backup.Run(ctx, api, store, backup.Options{PoolID: src.PoolID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, api: api, repo: repo.New(store), snap: m}
}

func (e *env) pools(t *testing.T) []string {
	t.Helper()
	out, err := e.api.ListUserPools(context.Background(), &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range out.UserPools {
		ids = append(ids, aws.ToString(p.Id))
	}
	return ids
}

func (e *env) create(t *testing.T, name string, tags map[string]string, protect bool) string {
	t.Helper()
	in := &cip.CreateUserPoolInput{PoolName: aws.String(name), UserPoolTags: tags}
	if protect {
		in.DeletionProtection = "ACTIVE"
	}
	out, err := e.api.CreateUserPool(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPool.Id)
}

// The drill deletes a pool only when both its name and its tag mark it as
// the run's: a pool with the prefix but no tag, or the tag but another
// name, or another run's tag, is left alone.
func TestDeleteScratchOnlyDeletesItsOwnPool(t *testing.T) {
	e := setup(t, 0, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		tags map[string]string
	}{
		{"cogvault-drill-run1", nil},
		{"production", map[string]string{drill.TagKey: "run1"}},
		{"cogvault-drill-run1", map[string]string{drill.TagKey: "run2"}},
		{"cogvault-drill-run1", map[string]string{"cogvault:drill-other": "run1"}},
	} {
		id := e.create(t, c.name, c.tags, false)
		if err := drill.DeleteScratch(ctx, e.api, id, "run1"); !errors.Is(err, drill.ErrNotOurs) {
			t.Errorf("pool %q tags %v: DeleteScratch = %v, want ErrNotOurs", c.name, c.tags, err)
		}
		if !slices.Contains(e.pools(t), id) {
			t.Errorf("pool %q tags %v was deleted", c.name, c.tags)
		}
	}
	id := e.create(t, "cogvault-drill-run1", map[string]string{drill.TagKey: "run1", "team": "x"}, false)
	if err := drill.DeleteScratch(ctx, e.api, id, "run1"); err != nil || slices.Contains(e.pools(t), id) {
		t.Errorf("own pool: DeleteScratch = %v, still listed %v", err, slices.Contains(e.pools(t), id))
	}
}

// Cognito refuses to delete a pool with deletion protection active
// (InvalidParameterException, developer guide: user pool deletion
// protection); the drill reports it left behind.
func TestDeletionProtectedScratchPoolIsReported(t *testing.T) {
	e := setup(t, 0, nil)
	id := e.create(t, "cogvault-drill-run1", map[string]string{drill.TagKey: "run1"}, true)
	err := drill.DeleteScratch(context.Background(), e.api, id, "run1")
	if cognito.Code(err) != "InvalidParameterException" || !slices.Contains(e.pools(t), id) {
		t.Fatalf("DeleteScratch of a protected pool = %v (code %q)", err, cognito.Code(err))
	}
}

// cancelling wraps the real client and cancels the drill's context at its
// first AdminCreateUser: an interrupt in the middle of the restore.
type cancelling struct {
	*cip.Client
	cancel context.CancelFunc
}

func (c cancelling) AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, o ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error) {
	c.cancel()
	return c.Client.AdminCreateUser(ctx, in, o...)
}

func TestInterruptedDrillDeletesItsPool(t *testing.T) {
	e := setup(t, 20, nil)
	before := e.pools(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := drill.Run(ctx, cancelling{e.api, cancel}, drill.Options{Repo: e.repo, Manifest: e.snap, RunID: "int1", TempDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) || res == nil || res.ScratchPool == "" || !res.Deleted {
		t.Fatalf("interrupted drill: %v, %+v", err, res)
	}
	if after := e.pools(t); len(after) != len(before) {
		t.Fatalf("pools before %v, after %v", before, after)
	}
}

// A sample is the same for the same seed, another for another seed, and
// the comparison holds only the sampled users and their memberships.
func TestSampledDrillIsDeterministicAndMatches(t *testing.T) {
	e := setup(t, 60, nil)
	ctx := context.Background()
	pick := func(seed int64) map[string]bool {
		s, err := drill.Sample(ctx, e.repo.Users(ctx, e.snap), 10, seed)
		if err != nil || len(s) != 10 {
			t.Fatalf("sample: %v %v", s, err)
		}
		return s
	}
	a, b, c := pick(7), pick(7), pick(8)
	if !mapsEqual(a, b) || mapsEqual(a, c) {
		t.Errorf("seed 7 twice: %v, %v; seed 8: %v", a, b, c)
	}
	res, err := drill.Run(ctx, e.api, drill.Options{Repo: e.repo, Manifest: e.snap, RunID: "s1", Sample: 10, Seed: 7, TempDir: t.TempDir()})
	if err != nil || !res.OK() || !res.Sampled || res.UsersCompared > 10 || res.Restore.MembershipsAdd == 0 {
		t.Fatalf("sampled drill: %v, unexpected %v, %+v", err, res.Unexpected, res)
	}
	if res.Timing.ExtrapolatedSeconds < res.Timing.MeasuredSeconds*5 {
		t.Errorf("60 users from a sample of 10: extrapolated %v from measured %v", res.Timing.ExtrapolatedSeconds, res.Timing.MeasuredSeconds)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// A snapshot of a pool with triggers drills without them: the restore is
// not refused for them, and the report names them.
func TestDrillDropsTriggers(t *testing.T) {
	e := setup(t, 10, map[string]string{"PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:gate"})
	res, err := drill.Run(context.Background(), e.api, drill.Options{Repo: e.repo, Manifest: e.snap, RunID: "t1", TempDir: t.TempDir()})
	if err != nil || !res.OK() || !slices.Equal(res.DroppedTriggers, []string{"PreSignUp"}) || !res.Deleted {
		t.Fatalf("drill of a pool with triggers: %v, %+v", err, res)
	}
}
