package cognitotest

import (
	"math"
	"sync"

	"golang.org/x/time/rate"

	"github.com/cogvault/cogvault/internal/quota"
)

// Provisioned limits: "Amazon Cognito user pools supports a two-tier quota
// model for adjustable API rate quotas": an account-level max limit set in
// Service Quotas, and the provisioned limit, "the rate … that Amazon Cognito
// currently enforces for your account", which GetProvisionedLimit reads and
// UpdateProvisionedLimit sets "between the default limit and your
// account-level maximum limit"; it "takes effect immediately". "Only
// adjustable quota categories support provisioning."
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#provisioned-quotas
// Shapes: API_GetProvisionedLimit.html, API_UpdateProvisionedLimit.html,
// API_LimitDefinitionType.html (LimitClass "API_CATEGORY", Attributes
// {"Category": …}), API_LimitType.html (FreeLimitValue,
// ProvisionedLimitValue, LimitDefinition); docs/cognito-facts.md §10.

// maxProvisionedFactor is the fake's account-level max limit, as a multiple
// of the default: the real one is per account (Service Quotas) and no public
// source gives a default. UNCONFIRMED; any value works for the fake.
const maxProvisionedFactor = 10

// provisioned holds the account's provisioned limits; a category never
// updated is at its default.
type provisioned struct {
	mu     sync.Mutex
	values map[quota.Category]int32
}

type limitDefinition struct {
	LimitClass string            `json:"LimitClass"`
	Attributes map[string]string `json:"Attributes"`
}

// category checks a LimitDefinition and returns its adjustable category.
// The errors are InvalidParameterException, the API reference's error for
// "an invalid parameter"; the exact messages, and that a non-adjustable
// category is refused this way, are UNCONFIRMED (§10).
func (d *limitDefinition) category() (quota.Category, *apiError) {
	if d == nil {
		return "", validationErr("null", "limitDefinition", "Member must not be null")
	}
	if d.LimitClass != "API_CATEGORY" {
		return "", validationErr(d.LimitClass, "limitDefinition.limitClass", "Member must satisfy enum value set: [API_CATEGORY]")
	}
	c := quota.Category(d.Attributes["Category"])
	if quota.DefaultRate(c) == 0 {
		return "", errInvalidParameter("Unknown API category %q.", c)
	}
	if !quota.Adjustable(c) {
		return "", errInvalidParameter("The %s category is not adjustable.", c)
	}
	return c, nil
}

func (p *provisioned) get(c quota.Category) int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.values[c]; ok {
		return v
	}
	return int32(quota.DefaultRate(c))
}

func limitOut(c quota.Category, v int32) map[string]any {
	return map[string]any{"Limit": map[string]any{
		"LimitDefinition":       limitDefinition{LimitClass: "API_CATEGORY", Attributes: map[string]string{"Category": string(c)}},
		"ProvisionedLimitValue": v,
		"FreeLimitValue":        int32(quota.DefaultRate(c)),
	}}
}

func getProvisionedLimit(s *Service, body []byte) (any, *apiError) {
	var in struct{ LimitDefinition *limitDefinition }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, err := in.LimitDefinition.category()
	if err != nil {
		return nil, err
	}
	return limitOut(c, s.limits.get(c)), nil
}

func updateProvisionedLimit(s *Service, body []byte) (any, *apiError) {
	var in struct {
		LimitDefinition     *limitDefinition
		RequestedLimitValue *int32
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, err := in.LimitDefinition.category()
	if err != nil {
		return nil, err
	}
	if in.RequestedLimitValue == nil {
		return nil, validationErr("null", "requestedLimitValue", "Member must not be null")
	}
	v, def := *in.RequestedLimitValue, int32(quota.DefaultRate(c))
	if v < def {
		return nil, errInvalidParameter("The requested limit %d is below the default limit %d of %s.", v, def, c)
	}
	if v > def*maxProvisionedFactor {
		// "The request exceeded your account's service quota"
		// (API_UpdateProvisionedLimit.html, ServiceQuotaExceededException).
		return nil, newErr("ServiceQuotaExceededException", "The requested limit %d exceeds the account-level maximum %d of %s.", v, def*maxProvisionedFactor, c)
	}
	s.limits.mu.Lock()
	if s.limits.values == nil {
		s.limits.values = map[quota.Category]int32{}
	}
	s.limits.values[c] = v
	s.limits.mu.Unlock()
	if s.quotas != nil {
		s.quotas.provision(c, float64(v))
	}
	return limitOut(c, v), nil
}

// provision makes the fake throttle c at the provisioned rps (× the quota
// scale), "effective immediately", unless Options.Rates pinned c.
func (q *quotas) provision(c quota.Category, rps float64) {
	if q.pinned[c] {
		return
	}
	eff := rps * q.scale
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.buckets[c]
	if b == nil {
		return // unlimited stays unlimited
	}
	now := q.now()
	b.SetLimitAt(now, rate.Limit(eff))
	b.SetBurstAt(now, int(math.Max(1, math.Floor(eff))))
}
