package restore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	"github.com/cogvault/cogvault/internal/storage"
)

// BenchmarkRestoreQuotaShare restores through the admin API against the fake
// with quotas ON, scaled ×10 on both sides (a share of a ceiling does not
// depend on the scale), and reports the rate of the binding category of each
// phase as a share of its quota: users are bound by AdminSetUserPassword
// (UserAccountRecovery, 30 rps by default), memberships by
// AdminAddUserToGroup (UserUpdate, 25 rps).
//
//	go test -run '^$' -bench RestoreQuotaShare -benchtime 1x ./internal/restore
//
// COGVAULT_BENCH_USERS and COGVAULT_BENCH_SCALE change the pool size
// (default 3,000) and the quota scale (default 10), e.g. 100000 and 30.
func BenchmarkRestoreQuotaShare(b *testing.B) {
	users := envInt("COGVAULT_BENCH_USERS", 3000)
	scale := float64(envInt("COGVAULT_BENCH_SCALE", 10))
	srv := cognitotest.NewTestServer(b, cognitotest.Options{QuotaScale: scale})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: users, Groups: 10, Seed: 11})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, Rates: quota.Defaults().Scaled(scale),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		b.Fatal(err)
	}
	api := cip.NewFromConfig(cfg)
	dir := b.TempDir()
	store, _ := storage.NewDir(filepath.Join(dir, "repo"))
	m, err := backup.Run(ctx, api, store, backup.Options{PoolID: src.PoolID}, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := repo.New(store)
	for _, phase := range []struct {
		part, op string
		cat      quota.Category
	}{{"users", "AdminSetUserPassword", quota.UserAccountRecovery}, {"memberships", "AdminAddUserToGroup", quota.UserUpdate}} {
		b.Run(phase.part, func(b *testing.B) {
			var secs float64
			var calls, throttles int64
			n := 0
			for b.Loop() {
				n++
				tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: uint64(100 + n)})
				only := map[string]bool{phase.part: true}
				state := filepath.Join(dir, fmt.Sprint(phase.part, n))
				if phase.part == "memberships" {
					// Memberships need the users and groups first (not timed),
					// restored by the same restore: the state file says which
					// users it created, and only those get groups.
					if _, err := restore.Run(ctx, api, r, m, restore.Options{Target: tgt.PoolID, StatePath: state,
						Only: map[string]bool{"users": true, "groups": true}}, nil); err != nil {
						b.Fatal(err)
					}
				}
				srv.ResetStats()
				start := time.Now()
				if _, err := restore.Run(ctx, api, r, m, restore.Options{Target: tgt.PoolID, StatePath: state, Only: only}, nil); err != nil {
					b.Fatal(err)
				}
				secs += time.Since(start).Seconds()
				st := srv.OpStats(phase.op)
				calls += st.Calls
				throttles += st.Throttles
			}
			if calls == 0 {
				b.Fatalf("%s: no %s call: the phase measured nothing", phase.part, phase.op)
			}
			rate := float64(calls) / secs
			b.ReportMetric(rate, phase.op+"/s")
			b.ReportMetric(100*rate/(quota.DefaultRate(phase.cat)*scale), "%ceiling")
			b.ReportMetric(float64(throttles), "throttles")
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
