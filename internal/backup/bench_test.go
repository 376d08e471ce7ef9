package backup_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// BenchmarkBackupQuotaShare backs up a pool on the fake with Cognito's
// default quotas ON (UserList 30 rps) through a default-paced client, and
// reports throughput as a share of the quota ceiling: every ListUsers and
// ListUsersInGroup call returns at most 60 items, so the ceiling is
// 60 × 30 = 1,800 items/s (users plus memberships). pagesPerStep > 0
// runs the backup in steps of that many list pages.
//
//	go test -run '^$' -bench BackupQuotaShare -benchtime 1x ./internal/backup
func BenchmarkBackupQuotaShare(b *testing.B) {
	for _, tc := range []struct{ users, groups, pagesPerStep int }{{20000, 0, 0}, {20000, 40, 0}, {20000, 40, 60}} {
		b.Run(fmt.Sprintf("users=%d/groups=%d/pagesPerStep=%d", tc.users, tc.groups, tc.pagesPerStep), func(b *testing.B) {
			e := setup(b, cognitotest.Options{}, tc.users, tc.groups, awsx.Options{})
			ceiling := 60 * quota.DefaultRate(quota.UserList)
			var items, calls, throttles int64
			steps := 1
			var secs float64
			for b.Loop() {
				e.srv.ResetStats()
				start := time.Now()
				var m *snapshot.Manifest
				if tc.pagesPerStep > 0 {
					// In steps of that many list pages, each resumed from its
					// progress: what stopping, storing the chunks and the sub
					// lists and loading them back cost (a local directory
					// here, S3 on AWS). BenchmarkResumedStepStartUp measures
					// a resumed step's start-up alone.
					m, steps = e.stepped(b, backup.Options{}, tc.pagesPerStep, nil)
				} else {
					var err error
					if m, err = backup.Run(ctx, e.api, e.store, backup.Options{PoolID: e.pool.PoolID}, nil); err != nil {
						b.Fatal(err)
					}
				}
				secs += time.Since(start).Seconds()
				items += m.Counts.Users + m.Counts.Memberships
				for _, op := range []string{"ListUsers", "ListUsersInGroup"} {
					st := e.srv.OpStats(op)
					calls += st.Calls
					throttles += st.Throttles
				}
			}
			b.ReportMetric(float64(items)/secs, "items/s")
			b.ReportMetric(100*float64(items)/secs/ceiling, "%ceiling")
			b.ReportMetric(float64(calls)/secs, "UserList-calls/s")
			b.ReportMetric(float64(throttles), "throttles")
			b.ReportMetric(float64(steps), "steps")
		})
	}
}
