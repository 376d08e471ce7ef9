package awsx

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
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
// category, shared by every client and goroutine that uses it, and for the
// per-pool capped categories one more per (pool, operation).
type Limiter struct {
	buckets map[quota.Category]*rate.Limiter
	// perPool is the pace of one operation on one pool, per capped category.
	perPool map[quota.Category]float64
	mu      sync.Mutex
	pools   map[string]*rate.Limiter // pool, operation → bucket
	stats   map[quota.Category]*WaitStats
	prov    *provisioner // reads provisioned limits on first use, or nil
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
	l := &Limiter{buckets: map[quota.Category]*rate.Limiter{}, perPool: map[quota.Category]float64{},
		pools: map[string]*rate.Limiter{}, stats: map[quota.Category]*WaitStats{}}
	for c, rps := range rates {
		if rps <= 0 {
			continue
		}
		eff := rps * share
		l.buckets[c] = rate.NewLimiter(rate.Limit(eff), burstOf(eff))
		if quota.PerPoolCapped(c) {
			// The per-pool cap moves with the category's rate: these
			// categories are not adjustable, so a rate other than the
			// default means a scaled fake (the demo, benchmarks) or a
			// deliberately lower pace, and the cap scales the same way.
			l.perPool[c] = quota.PerPoolOperationRPS * eff / quota.DefaultRate(c)
		}
	}
	return l
}

// burstOf is a quarter second's worth of tokens, at least one.
func burstOf(rps float64) int { return int(math.Max(1, math.Floor(rps/4))) }

// ScaleRate multiplies a category's pace by f, e.g. by provisioned ÷
// default when the account has raised the category: the pace stays relative
// to whatever NewLimiter was given (share, a scaled fake). The per-pool caps
// keep their pace: only adjustable categories have provisioned limits, and
// none of them is capped per pool.
func (l *Limiter) ScaleRate(c quota.Category, f float64) {
	if f <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[c]; b != nil {
		eff := float64(b.Limit()) * f
		b.SetLimit(rate.Limit(eff))
		b.SetBurst(burstOf(eff))
	}
}

// PerPoolRate returns the pace of one operation of c on one pool in requests
// per second (0: c has no per-pool cap or is unlimited).
func (l *Limiter) PerPoolRate(c quota.Category) float64 { return l.perPool[c] }

// Rate returns the pace of a category in requests per second (0: unlimited).
func (l *Limiter) Rate(c quota.Category) float64 {
	if b := l.bucket(c); b != nil {
		return float64(b.Limit())
	}
	return 0
}

func (l *Limiter) bucket(c quota.Category) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buckets[c]
}

// poolBucket returns the bucket of operation on pool, or nil when c has no
// per-pool cap.
func (l *Limiter) poolBucket(c quota.Category, pool, operation string) *rate.Limiter {
	rps := l.perPool[c]
	if rps <= 0 {
		return nil
	}
	key := pool + "\x00" + operation
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.pools[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(rps), burstOf(rps))
		l.pools[key] = b
	}
	return b
}

// Wait blocks until the operation's category has a token. Operations the
// quota table does not know are not paced. It is WaitPool without a pool.
func (l *Limiter) Wait(ctx context.Context, operation string) error {
	return l.WaitPool(ctx, "", operation)
}

// WaitPool blocks until the operation may be sent to pool: first its
// per-pool bucket, when its category has one, then the category's bucket,
// so that waiting for the slower per-pool token never holds a category token
// other pools could use. Calls that name no pool ("") share one per-pool
// bucket per operation, the safe reading when they all address one pool.
func (l *Limiter) WaitPool(ctx context.Context, pool, operation string) error {
	c, ok := quota.Of(operation)
	if !ok {
		return nil
	}
	if err := l.provision(ctx, c); err != nil {
		return paceErr(ctx, operation, c)
	}
	b := l.bucket(c)
	if b == nil {
		return nil
	}
	start := time.Now()
	if pb := l.poolBucket(c, pool, operation); pb != nil {
		if err := pb.Wait(ctx); err != nil {
			return paceErr(ctx, operation, c)
		}
	}
	if err := b.Wait(ctx); err != nil {
		return paceErr(ctx, operation, c)
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

func paceErr(ctx context.Context, operation string, c quota.Category) error {
	cause := ctx.Err()
	if cause == nil {
		// rate.Wait refuses early when the token would come after the
		// deadline; report it as the deadline it is.
		cause = context.DeadlineExceeded
	}
	return fmt.Errorf("pace %s (%s quota): %w", operation, c, cause)
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
// token, because each attempt spends server quota. An initialize step ahead
// of it notes the pool the call addresses, read from the operation's input.
func (l *Limiter) AddToStack(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(poolFromInput, middleware.Before); err != nil {
		return err
	}
	mw := middleware.FinalizeMiddlewareFunc("cogvault/QuotaPacing", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if awsmiddleware.GetServiceID(ctx) == cognitoServiceID {
			pool, _ := middleware.GetStackValue(ctx, poolKey{}).(string)
			if err := l.WaitPool(ctx, pool, awsmiddleware.GetOperationName(ctx)); err != nil {
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

// poolKey is the stack value holding the pool a call addresses.
type poolKey struct{}

var poolFromInput = middleware.InitializeMiddlewareFunc("cogvault/QuotaPool", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	if pool := PoolOf(in.Parameters); pool != "" {
		ctx = middleware.WithStackValue(ctx, poolKey{}, pool)
	}
	return next.HandleInitialize(ctx, in)
})

// PoolOf returns the user pool an operation input addresses: its UserPoolId,
// or the pool of its ResourceArn (TagResource, UntagResource,
// ListTagsForResource: arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL).
// Inputs naming neither (ListUserPools, CreateUserPool, the LimitManagement
// operations, DescribeUserPoolDomain, which names only its domain) give "".
// The SDK's inputs have no common interface, so it reads the field by name.
func PoolOf(input any) string {
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	str := func(name string) string {
		f := v.Elem().FieldByName(name)
		if f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String {
			return f.Elem().String()
		}
		return ""
	}
	if pool := str("UserPoolId"); pool != "" {
		return pool
	}
	if _, pool, ok := strings.Cut(str("ResourceArn"), ":userpool/"); ok {
		return pool
	}
	return ""
}
