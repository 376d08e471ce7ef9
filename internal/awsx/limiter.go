package awsx

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/cogvault/cogvault/internal/quota"
)

// cognitoServiceID is the SDK's service id of cognito-idp.
const cognitoServiceID = "Cognito Identity Provider"

// Limiter paces Cognito calls by quota category: one token bucket per
// category, shared by every client and goroutine that uses it.
type Limiter struct {
	buckets map[quota.Category]*rate.Limiter
	mu      sync.Mutex
	stats   map[quota.Category]*WaitStats
}

// WaitStats says how much pacing one category needed.
type WaitStats struct {
	Calls int64         // calls paced
	Wait  time.Duration // total time spent waiting for a token
}

// NewLimiter returns a Limiter allowing share × rate requests per second in
// each category (rates missing from r use Cognito's defaults; a rate ≤ 0 is
// unlimited).
//
// The burst is a quarter second's worth of tokens. Cognito's buckets (and the
// fake's) hold about one second's worth; a smaller client burst leaves most
// of the server bucket as headroom for network jitter, so requests paced at
// the full rate do not arrive bunched and get throttled.
func NewLimiter(r quota.Rates, share float64) *Limiter {
	if share <= 0 || share > 1 {
		share = 1
	}
	rates := quota.Defaults()
	for c, v := range r {
		rates[c] = v
	}
	l := &Limiter{buckets: map[quota.Category]*rate.Limiter{}, stats: map[quota.Category]*WaitStats{}}
	for c, rps := range rates {
		if rps <= 0 {
			continue
		}
		eff := rps * share
		burst := int(math.Max(1, math.Floor(eff/4)))
		l.buckets[c] = rate.NewLimiter(rate.Limit(eff), burst)
	}
	return l
}

// Rate returns the pace of a category in requests per second (0: unlimited).
func (l *Limiter) Rate(c quota.Category) float64 {
	if b := l.buckets[c]; b != nil {
		return float64(b.Limit())
	}
	return 0
}

// Wait blocks until the operation's category has a token. Operations the
// quota table does not know are not paced.
func (l *Limiter) Wait(ctx context.Context, operation string) error {
	c, ok := quota.Of(operation)
	if !ok {
		return nil
	}
	b := l.buckets[c]
	if b == nil {
		return nil
	}
	start := time.Now()
	if err := b.Wait(ctx); err != nil {
		cause := ctx.Err()
		if cause == nil {
			// rate.Wait refuses early when the token would come after the
			// deadline; report it as the deadline it is.
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("pace %s (%s quota): %w", operation, c, cause)
	}
	l.mu.Lock()
	s := l.stats[c]
	if s == nil {
		s = &WaitStats{}
		l.stats[c] = s
	}
	s.Calls++
	s.Wait += time.Since(start)
	l.mu.Unlock()
	return nil
}

// Stats returns a copy of the per-category pacing counters.
func (l *Limiter) Stats() map[quota.Category]WaitStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[quota.Category]WaitStats, len(l.stats))
	for c, s := range l.stats {
		out[c] = *s
	}
	return out
}

// AddToStack inserts the pacing middleware into an operation's stack, right
// after the retry middleware: each attempt, retries included, waits for a
// token, because each attempt spends server quota.
func (l *Limiter) AddToStack(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("cogvault/QuotaPacing", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if awsmiddleware.GetServiceID(ctx) == cognitoServiceID {
			if err := l.Wait(ctx, awsmiddleware.GetOperationName(ctx)); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
		}
		return next.HandleFinalize(ctx, in)
	})
	if err := stack.Finalize.Insert(mw, "Retry", middleware.After); err != nil {
		// A client without a retry step: pace the single attempt.
		return stack.Finalize.Add(mw, middleware.Before)
	}
	return nil
}
