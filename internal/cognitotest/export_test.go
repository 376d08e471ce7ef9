package cognitotest

import (
	"sync/atomic"
	"time"
)

// FreezeQuotaClock stops the clock of the category and per-pool buckets at
// t, so that a test's calls all fall "within one second" however slow the
// machine is, and returns a function that moves it on.
func FreezeQuotaClock(s *Service, t time.Time) (advance func(time.Duration)) {
	var now atomic.Int64
	now.Store(t.UnixNano())
	s.quotas.now = func() time.Time { return time.Unix(0, now.Load()) }
	return func(d time.Duration) { now.Add(int64(d)) }
}
