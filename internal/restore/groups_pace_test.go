package restore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// groupsFixture backs up a pool of n groups from a fake with quotas ON at
// ×scale, and returns a client paced at the same scale that makes one
// attempt per call: a throttle would fail the restore.
func groupsFixture(tb testing.TB, n int, scale float64) (*cognitotest.Server, *cip.Client, *repo.Repo, *snapshot.Manifest) {
	tb.Helper()
	srv := cognitotest.NewTestServer(tb, cognitotest.Options{QuotaScale: scale})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: 3, Groups: n, Seed: 11})
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, Rates: quota.Defaults().Scaled(scale),
		MaxAttempts: 1, Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		tb.Fatal(err)
	}
	api := cip.NewFromConfig(cfg)
	store, _ := storage.NewDir(filepath.Join(tb.TempDir(), "repo"))
	m, err := backup.Run(ctx, api, store, backup.Options{PoolID: src.PoolID}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return srv, api, repo.New(store), m
}

// A restore of many groups meets no throttle: CreateGroup is held to 5
// calls a second per pool (× the fake's scale of 10 here), a third of its
// category's rate, and the pacer keeps to the lower one. Without the
// per-pool bucket the 50 calls a second the fake allows are exceeded within
// the first second, and with one attempt per call the restore fails.
func TestRestoreOfManyGroupsMeetsNoThrottle(t *testing.T) {
	const groups = 120
	srv, api, r, m := groupsFixture(t, groups, 10)
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 12})
	srv.ResetStats()
	rep, err := restore.Run(ctx, api, r, m, restore.Options{Target: tgt.PoolID, StatePath: filepath.Join(t.TempDir(), "state"),
		Only: map[string]bool{"groups": true}}, nil)
	if err != nil {
		t.Fatalf("paced restore of %d groups: %v", groups, err)
	}
	if st := srv.OpStats("CreateGroup"); rep.GroupsCreate != groups || st.Calls != groups || st.Throttles != 0 {
		t.Fatalf("%d groups to create, %d CreateGroup calls, %d throttled; want %d, %d, 0", rep.GroupsCreate, st.Calls, st.Throttles, groups, groups)
	}
}

// BenchmarkRestoreGroups reports how close a groups-only restore comes to
// CreateGroup's per-pool ceiling (5 RPS × scale) and that it meets no
// throttle:
//
//	go test -run '^$' -bench RestoreGroups -benchtime 1x ./internal/restore
func BenchmarkRestoreGroups(b *testing.B) {
	const groups, scale = 300, 10
	srv, api, r, m := groupsFixture(b, groups, scale)
	n := 0
	var secs float64
	var throttles int64
	for b.Loop() {
		n++
		tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: uint64(100 + n)})
		srv.ResetStats()
		start := time.Now()
		if _, err := restore.Run(ctx, api, r, m, restore.Options{Target: tgt.PoolID, StatePath: filepath.Join(b.TempDir(), fmt.Sprint(n)),
			Only: map[string]bool{"groups": true}}, nil); err != nil {
			b.Fatal(err)
		}
		secs += time.Since(start).Seconds()
		throttles += srv.OpStats("CreateGroup").Throttles
	}
	rate := float64(groups*n) / secs
	b.ReportMetric(rate, "groups/s")
	b.ReportMetric(rate/(quota.PerPoolOperationRPS*scale), "share-of-per-pool-ceiling")
	b.ReportMetric(float64(throttles), "throttles")
}
