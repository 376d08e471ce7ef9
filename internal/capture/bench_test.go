package capture_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkPostConfirmation measures what the trigger adds to a sign-up:
// AdminGetUser against the fake Cognito plus one PutObject to the fake S3,
// both over loopback HTTP with the real SDK clients. It reports the p50 and
// p99 per event; Cognito's budget for the whole trigger is 5 s.
//
//	go test -run '^$' -bench PostConfirmation -benchtime 2000x ./internal/capture
func BenchmarkPostConfirmation(b *testing.B) {
	e := setup(b, 50)
	const users = 64
	events := make([][]byte, users)
	for i := range users {
		name := fmt.Sprintf("bench%02d", i)
		sub := e.confirmedUser(b, e.pool.PoolID, name, name+"@example.com")
		events[i] = render(b, "post_confirmation.json.tmpl", fields{Pool: e.pool.PoolID, Username: name, Sub: sub, Email: name + "@example.com", ClientID: e.pool.ClientID, TriggerSource: "PostConfirmation_ConfirmSignUp"})
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		e.clock.Advance(time.Millisecond)
		start := time.Now()
		if _, err := e.h.Handle(ctx, events[i%users]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// reportLatency reports percentiles of per-event latencies in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}

// BenchmarkCloudTrailEvent measures one change event: ListUsers by sub,
// AdminGetUser, AdminListGroupsForUser and one PutObject.
//
//	go test -run '^$' -bench CloudTrailEvent -benchtime 2000x ./internal/capture
func BenchmarkCloudTrailEvent(b *testing.B) {
	e := setup(b, 50)
	sub := e.confirmedUser(b, e.pool.PoolID, "bench", "bench@example.com")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		e.clock.Advance(time.Millisecond)
		ev := e.trail(b, fields{EventName: "AdminUpdateUserAttributes", Username: "HIDDEN_DUE_TO_SECURITY_REASONS", Sub: sub, ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)})
		start := time.Now()
		if _, err := e.h.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}
