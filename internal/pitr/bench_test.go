package pitr_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// BenchmarkPointInTime measures restore --at's first step (and journal
// compact): a base snapshot of COGVAULT_BENCH_USERS users (default 20,000)
// rolled forward with one event per 10 users, written as a snapshot.
//
//	COGVAULT_BENCH_USERS=100000 go test -run '^$' -bench PointInTime -benchtime 1x ./internal/pitr
func BenchmarkPointInTime(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("COGVAULT_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	store, _ := storage.NewDir(b.TempDir())
	r := repo.New(store)
	users := func(yield func(snapshot.User, error) bool) {
		for i := range n {
			if !yield(user(fmt.Sprintf("user%07d", i), fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), t0.Add(-time.Hour), "email", fmt.Sprintf("u%d@example.com", i)), nil) {
				return
			}
		}
	}
	cfg := &snapshot.PoolConfig{FormatVersion: 1, UserPool: []byte(`{}`)}
	calls := 0
	now := func() time.Time { calls++; return t0.Add(time.Duration(calls) * time.Second) }
	if _, err := backup.WriteSnapshot(ctx, store, backup.Records{Pool: cfg, Users: users}, backup.Options{PoolID: pool, Now: now}); err != nil {
		b.Fatal(err)
	}
	events := n / 10
	for i := range events {
		u := user(fmt.Sprintf("user%07d", i*10), fmt.Sprintf("%08x-0000-4000-8000-000000000000", i*10), t0.Add(time.Hour), "email", "changed@example.com")
		e := &snapshot.Event{PoolID: pool, Kind: snapshot.EventUser, Time: t0.Add(time.Hour + time.Duration(i)*time.Millisecond), User: &u, Source: "bench", EventID: "e"}
		if _, err := r.AppendEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		p, err := pitr.At(ctx, r, pool, t0.Add(2*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		scratch, _ := storage.NewDir(b.TempDir())
		m, err := p.Write(ctx, r, scratch, pitr.Options{})
		if err != nil || m.Counts.Users != int64(n) || p.Events != int64(events) {
			b.Fatalf("%v: %d users, %d events", err, m.Counts.Users, p.Events)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
