package cognitotest

import (
	"math"

	"golang.org/x/time/rate"

	"github.com/cogvault/cogvault/internal/quota"
)

// quotas holds one token bucket per request-rate category. Cognito quotas are
// per account and Region, summed over all pools, so one set serves every pool
// of the Service.
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#operation-quotas
type quotas struct {
	buckets map[quota.Category]*rate.Limiter
}

func newQuotas(r quota.Rates) *quotas {
	q := &quotas{buckets: map[quota.Category]*rate.Limiter{}}
	for c, rps := range r {
		if rps <= 0 {
			continue // unlimited
		}
		// A bucket of one second's worth of tokens: a client may burst to
		// the rate within a second but never sustain more than the rate.
		burst := int(math.Max(1, math.Floor(rps)))
		q.buckets[c] = rate.NewLimiter(rate.Limit(rps), burst)
	}
	return q
}

// allow spends one token of op's category; false means throttle.
func (q *quotas) allow(op string) bool {
	c, ok := quota.Of(op)
	if !ok {
		return true
	}
	b := q.buckets[c]
	return b == nil || b.Allow()
}
