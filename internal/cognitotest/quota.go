package cognitotest

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cogvault/cogvault/internal/quota"
)

// quotas holds one token bucket per request-rate category. Cognito quotas are
// per account and Region, summed over all pools, so one set serves every pool
// of the Service.
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#operation-quotas
type quotas struct {
	buckets map[quota.Category]*rate.Limiter
	// scale multiplies provisioned limits as it did the defaults; pinned
	// are the categories Options.Rates set, which provisioning leaves alone.
	scale  float64
	pinned map[quota.Category]bool
	// perUser is the rate of each user's reads and of its writes.
	perUser float64
	// perPool is the cap of each single operation of the per-pool capped
	// categories on one pool (0: off).
	perPool float64
	mu      sync.Mutex
	users   map[string]*rate.Limiter // pool, kind, user → bucket
	pools   map[string]*rate.Limiter // pool, operation → bucket
	// now is the clock of the category and per-pool buckets; tests freeze
	// it so that "six calls within one second" does not depend on the
	// machine's speed.
	now func() time.Time
}

// perUserRPS is the per-user quota: "For each user, you can make up to ten
// requests per second that are "read" operations … You can also make up to
// ten requests per second that are "write" operations"; not adjustable.
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations
const perUserRPS = 10

func newQuotas(r quota.Rates, scale float64, pinned quota.Rates) *quotas {
	if scale <= 0 {
		scale = 1
	}
	q := &quotas{buckets: map[quota.Category]*rate.Limiter{}, scale: scale, pinned: map[quota.Category]bool{}, perUser: perUserRPS * scale, users: map[string]*rate.Limiter{},
		perPool: quota.PerPoolOperationRPS * scale, pools: map[string]*rate.Limiter{}, now: time.Now}
	for c := range pinned {
		q.pinned[c] = true
	}
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
	return b == nil || b.AllowN(q.now(), 1)
}

// userKind says whether op is one of a user's reads or writes. The page does
// not list the operations of each kind; the fake counts the user-addressed
// operations of the categories that read a user (UserRead,
// UserResourceRead) and that change one (UserUpdate, UserResourceUpdate,
// UserAccountRecovery). UNCONFIRMED in detail (docs/cognito-facts.md §9);
// cogvault makes a handful of calls per user, far below either rate.
func userKind(op string) string {
	c, _ := quota.Of(op)
	switch c {
	case quota.UserRead, quota.UserResourceRead:
		return "read"
	case quota.UserUpdate, quota.UserResourceUpdate, quota.UserAccountRecovery:
		return "write"
	}
	return ""
}

// allowUser spends one token of the per-user quota of the user body names;
// false means throttle.
func (q *quotas) allowUser(op string, body []byte) bool {
	kind := userKind(op)
	if kind == "" {
		return true
	}
	var in struct {
		UserPoolId      string
		Username        string
		DestinationUser *struct{ ProviderAttributeValue string }
	}
	if json.Unmarshal(body, &in) != nil {
		return true // the handler answers the malformed request
	}
	user := in.Username
	if user == "" && in.DestinationUser != nil {
		user = in.DestinationUser.ProviderAttributeValue
	}
	if user == "" {
		return true
	}
	key := in.UserPoolId + "\x00" + kind + "\x00" + strings.ToLower(user)
	q.mu.Lock()
	b := q.users[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(q.perUser), int(math.Max(1, math.Floor(q.perUser))))
		q.users[key] = b
	}
	q.mu.Unlock()
	return b.Allow()
}

// allowPool spends one token of the per-pool cap of op on the pool body
// names: "Any individual operation in this category has a constraint that
// prevents the operation from being called at a rate higher than 5 RPS for a
// single user pool" (UserPoolResourceRead, UserPoolResourceUpdate,
// UserPoolClientRead, UserPoolClientUpdate), on top of the category's
// account-wide rate.
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations
// A category the fake does not throttle (rate ≤ 0) has no per-pool cap
// either. false means throttle.
func (q *quotas) allowPool(op string, body []byte) bool {
	c, ok := quota.Of(op)
	if !ok || !quota.PerPoolCapped(c) || q.perPool <= 0 || q.buckets[c] == nil {
		return true
	}
	key := poolOf(body) + "\x00" + op
	q.mu.Lock()
	b := q.pools[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(q.perPool), int(math.Max(1, math.Floor(q.perPool))))
		q.pools[key] = b
	}
	q.mu.Unlock()
	return b.AllowN(q.now(), 1)
}

// poolOf names the pool a request addresses: its UserPoolId, or the pool of
// a ResourceArn (TagResource, UntagResource, ListTagsForResource:
// arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL). Requests naming neither
// (DescribeUserPoolDomain names only the domain) share one bucket.
func poolOf(body []byte) string {
	var in struct{ UserPoolId, ResourceArn string }
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	if in.UserPoolId != "" {
		return in.UserPoolId
	}
	if _, pool, ok := strings.Cut(in.ResourceArn, ":userpool/"); ok {
		return pool
	}
	return ""
}
