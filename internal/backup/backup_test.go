package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/google/go-cmp/cmp"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

type env struct {
	srv   *cognitotest.Server
	pool  cognitotest.PopulateResult
	api   *cip.Client
	store *storage.Dir
	root  string
	// last is the Stats of the last step the steps helper ran.
	last *backup.Stats
}

func setup(t testing.TB, fake cognitotest.Options, users, groups int, ao awsx.Options) *env {
	t.Helper()
	srv := cognitotest.NewTestServer(t, fake)
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: users, Groups: groups, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if fake.NoQuotas && ao.Rates == nil {
		// No quota to respect: do not pace either, so tests run at full speed.
		ao.Rates = quota.Rates{}
		for _, c := range quota.Categories() {
			ao.Rates[c] = 0
		}
	}
	ao.Region = srv.Region()
	ao.EndpointURL = srv.URL
	ao.Credentials = credentials.NewStaticCredentialsProvider("AKID", "secret", "")
	if ao.MaxBackoff == 0 {
		ao.MaxBackoff = 20 * time.Millisecond
	}
	cfg, err := awsx.LoadConfig(ctx, ao)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "repo")
	store, err := storage.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, pool: res, api: cip.NewFromConfig(cfg), store: store, root: root}
}

func (e *env) backup(t *testing.T, opts backup.Options) (*snapshot.Manifest, error) {
	t.Helper()
	opts.PoolID = e.pool.PoolID
	opts.Region = "us-east-1"
	opts.ToolVersion = "test"
	return backup.Run(ctx, e.api, e.store, opts, &backup.Stats{})
}

// liveState lists the pool directly, the way a careful human would check.
type userView struct {
	Username, Status string
	Enabled          bool
	Attrs            map[string]string
}

func live(t *testing.T, e *env) (map[string]userView, []string, []string) {
	t.Helper()
	users := map[string]userView{}
	for u, err := range cognito.Users(ctx, e.api, e.pool.PoolID, "") {
		if err != nil {
			t.Fatal(err)
		}
		v := userView{Username: aws.ToString(u.Username), Status: string(u.UserStatus), Enabled: u.Enabled, Attrs: map[string]string{}}
		for _, a := range u.Attributes {
			v.Attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		users[v.Attrs["sub"]] = v
	}
	var groups, members []string
	for g, err := range cognito.Groups(ctx, e.api, e.pool.PoolID) {
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, fmt.Sprintf("%s|%s|%s|%d", aws.ToString(g.GroupName), aws.ToString(g.Description), aws.ToString(g.RoleArn), aws.ToInt32(g.Precedence)))
		for u, err := range cognito.GroupMembers(ctx, e.api, e.pool.PoolID, aws.ToString(g.GroupName)) {
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, aws.ToString(g.GroupName)+"|"+aws.ToString(u.Username))
		}
	}
	sort.Strings(groups)
	sort.Strings(members)
	return users, groups, members
}

func fromSnapshot(t *testing.T, r *repo.Repo, m *snapshot.Manifest) (map[string]userView, []string, []string) {
	t.Helper()
	users := map[string]userView{}
	for u, err := range r.Users(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := users[u.Sub]; dup {
			t.Fatalf("user %s appears twice in the snapshot", u.Sub)
		}
		v := userView{Username: u.Username, Status: u.Status, Enabled: u.Enabled, Attrs: map[string]string{}}
		for _, a := range u.Attributes {
			v.Attrs[a.Name] = a.Value
		}
		users[u.Sub] = v
	}
	cfg, err := r.Pool(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var groups, members []string
	for _, g := range cfg.Groups {
		var prec int32
		if g.Precedence != nil {
			prec = *g.Precedence
		}
		groups = append(groups, fmt.Sprintf("%s|%s|%s|%d", g.Name, g.Description, g.RoleArn, prec))
	}
	for mm, err := range r.Memberships(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, mm.Group+"|"+mm.Username)
	}
	sort.Strings(groups)
	sort.Strings(members)
	return users, groups, members
}

func TestBackupIsCompleteAndExact(t *testing.T) {
	users := 100000
	if testing.Short() {
		users = 10000
	}
	e := setup(t, cognitotest.Options{NoQuotas: true}, users, 200, awsx.Options{})
	m, err := e.backup(t, backup.Options{ChunkRecords: 30000})
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Users != int64(users) || m.Counts.Groups != 200 || m.Counts.Memberships != int64(e.pool.Memberships) {
		t.Fatalf("manifest counts %+v, pool has %d users, 200 groups, %d memberships", m.Counts, users, e.pool.Memberships)
	}
	if n := len(m.ObjectsOf(snapshot.KindUsers)); n != (users+29999)/30000 {
		t.Fatalf("%d user chunks for %d users at 30,000 per chunk", n, users)
	}
	r := repo.New(e.store)
	lu, lg, lm := live(t, e)
	su, sg, sm := fromSnapshot(t, r, m)
	if diff := cmp.Diff(lu, su); diff != "" {
		t.Fatalf("users differ from the live pool (-live +snapshot):\n%.2000s", diff)
	}
	if diff := cmp.Diff(lg, sg); diff != "" {
		t.Fatalf("groups differ (-live +snapshot):\n%s", diff)
	}
	if diff := cmp.Diff(lm, sm); diff != "" {
		t.Fatalf("memberships differ (-live +snapshot):\n%.2000s", diff)
	}
	res, err := r.Verify(ctx, m)
	if err != nil || !res.OK() || res.Records != m.Counts.Users+m.Counts.Memberships+1 {
		t.Fatalf("verify: %v %+v", err, res)
	}
}

func TestBackupNeverStoresSecrets(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 10, 1, awsx.Options{})
	out, err := e.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &e.pool.PoolID, ClientName: aws.String("server"), GenerateSecret: true})
	if err != nil {
		t.Fatal(err)
	}
	secret := aws.ToString(out.UserPoolClient.ClientSecret)
	m, err := e.backup(t, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := repo.New(e.store).Pool(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(func() []string {
		var s []string
		for _, c := range cfg.Clients {
			s = append(s, string(c))
		}
		return s
	}(), "\n")
	if strings.Contains(all, secret) || !strings.Contains(all, `"ClientSecretPresent":true`) || len(cfg.Clients) != 2 {
		t.Fatalf("clients in snapshot: %s", all)
	}
}

func TestVerifyNamesEveryDamagedObject(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 3000, 10, awsx.Options{})
	m, err := e.backup(t, backup.Options{ChunkRecords: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(e.store)
	for _, o := range m.Objects {
		path := filepath.Join(e.root, "data", m.ID, o.Name)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range []int{0, len(orig) / 2, len(orig) - 1} {
			bad := bytes.Clone(orig)
			bad[at] ^= 0x01
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			res, err := r.Verify(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], snapshot.DataKey(m.ID, o.Name)) {
				t.Fatalf("flipped byte %d of %s: problems %q", at, o.Name, res.Problems)
			}
		}
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	last := m.Objects[len(m.Objects)-1]
	os.Remove(filepath.Join(e.root, "data", m.ID, last.Name))
	res, _ := r.Verify(ctx, m)
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "missing") {
		t.Fatalf("deleted object: %q", res.Problems)
	}
}

func manifests(t testing.TB, s storage.Store) []string {
	t.Helper()
	var keys []string
	for o, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func TestInterruptedBackupLeavesNoSnapshot(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 5000, 20, awsx.Options{MaxAttempts: 2})
	// A 5xx storm on one operation outlasts the retries.
	e.srv.InjectFault(cognitotest.Fault{Operation: "ListUsersInGroup", Kind: cognitotest.FaultServerError, Every: 3})
	_, err := e.backup(t, backup.Options{ChunkRecords: 500})
	if !errors.Is(err, backup.ErrInterrupted) || !strings.Contains(err.Error(), "InternalErrorException") {
		t.Fatalf("backup under a 5xx storm: %v", err)
	}
	if left := manifests(t, e.store); len(left) != 0 {
		t.Fatalf("an interrupted backup left objects: %q", left)
	}
	snaps, _, _ := repo.New(e.store).Snapshots(ctx)
	if len(snaps) != 0 {
		t.Fatalf("snapshots lists %d snapshots after an interrupted backup", len(snaps))
	}

	// Cancelled mid-run (as by SIGINT).
	e.srv.ClearFaults()
	e.srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultLatency, Latency: 20 * time.Millisecond})
	cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	_, err = backup.Run(cctx, e.api, e.store, backup.Options{PoolID: e.pool.PoolID, ChunkRecords: 100}, nil)
	if !errors.Is(err, backup.ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled backup: %v", err)
	}
	if left := manifests(t, e.store); len(left) != 0 {
		t.Fatalf("a cancelled backup left objects: %q", left)
	}
}

func TestOverlappingChainsWriteEachUserOnce(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 2000, 0, awsx.Options{})
	stats := &backup.Stats{}
	m, err := backup.Run(ctx, e.api, e.store, backup.Options{PoolID: e.pool.PoolID, Filters: append(cognito.SubShards(), "", `sub ^= "a"`)}, stats)
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Users != 2000 || stats.Duplicates.Load() < 2000 {
		t.Fatalf("users %d, duplicates dropped %d", m.Counts.Users, stats.Duplicates.Load())
	}
}

func TestBackupWithMFAReadsSettings(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 300, 0, awsx.Options{})
	m, err := e.backup(t, backup.Options{MFA: true})
	if err != nil {
		t.Fatal(err)
	}
	withMFA := 0
	for u, err := range repo.New(e.store).Users(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		if u.MFA == nil {
			t.Fatalf("user %s has no MFA record with --mfa", u.Username)
		}
		if u.MFA.PreferredMfaSetting != "" {
			withMFA++
		}
	}
	if withMFA == 0 {
		t.Fatal("no user with MFA preferences in a generated pool")
	}
	if calls := e.srv.OpStats("AdminGetUser").Calls; calls != 300 {
		t.Fatalf("AdminGetUser calls = %d, want one per user", calls)
	}
}
