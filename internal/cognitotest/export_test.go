package cognitotest

import "time"

// FreezeQuotaClock stops the clock of the per-pool buckets at t, so that a
// test's calls all fall "within one second" however slow the machine is.
func FreezeQuotaClock(s *Service, t time.Time) { s.quotas.now = func() time.Time { return t } }
