package awsx

import (
	"context"
	"errors"
	"fmt"
	"sync"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/quota"
)

// LimitReader is the part of the Cognito client that reads provisioned
// limits.
type LimitReader interface {
	GetProvisionedLimit(ctx context.Context, in *cip.GetProvisionedLimitInput, optFns ...func(*cip.Options)) (*cip.GetProvisionedLimitOutput, error)
}

// Limit is what an account has in one category, in requests per second.
type Limit struct {
	Default     float64 // FreeLimitValue: the rate included at no cost
	Provisioned float64 // ProvisionedLimitValue: the rate Cognito enforces
}

// ReadProvisioned reads the account's provisioned limit of each category
// with GetProvisionedLimit (LimitManagement: 1 request per second per
// account, so n categories take about n-1 seconds). Only adjustable
// categories have one: "Only adjustable quota categories support
// provisioning" (quotas.html#provisioned-quotas); callers ask for no other.
// It stops at the first error, wrapped with the category it was reading.
func ReadProvisioned(ctx context.Context, api LimitReader, cats []quota.Category) (map[quota.Category]Limit, error) {
	out := make(map[quota.Category]Limit, len(cats))
	for _, c := range cats {
		res, err := api.GetProvisionedLimit(ctx, &cip.GetProvisionedLimitInput{LimitDefinition: &types.LimitDefinitionType{
			LimitClass: types.LimitClassApiCategory, Attributes: map[string]string{"Category": string(c)},
		}})
		if err != nil {
			return out, fmt.Errorf("read the provisioned limit of %s: %w", c, err)
		}
		if res.Limit == nil || res.Limit.FreeLimitValue <= 0 || res.Limit.ProvisionedLimitValue <= 0 {
			return out, fmt.Errorf("read the provisioned limit of %s: the answer has no limit values", c)
		}
		out[c] = Limit{Default: float64(res.Limit.FreeLimitValue), Provisioned: float64(res.Limit.ProvisionedLimitValue)}
	}
	return out, nil
}

// LimitsUnreadableNotice is the one line cogvault prints when it cannot read
// the provisioned limits and paces at the defaults instead. It names the
// error code only: an AccessDenied message carries the caller's ARN.
func LimitsUnreadableNotice(err error) string {
	why, hint := "an error", ""
	var ae smithy.APIError
	var oe *smithy.OperationError
	switch {
	case errors.As(err, &ae):
		why = ae.ErrorCode()
		if why == "AccessDeniedException" || why == "NotAuthorizedException" {
			hint = "allow cognito-idp:GetProvisionedLimit, or "
		}
	case errors.As(err, &oe):
		why = oe.Err.Error() // e.g. no credentials; never a value or token
	}
	return fmt.Sprintf("notice: cannot read the account's provisioned Cognito limits (%s); pacing at Cognito's default rates: "+
		"%spass --quota-rate CATEGORY=RPS for a raised category", why, hint)
}

// provisioner reads a category's provisioned limit the first time a call
// of that category is paced, so a run reads only the categories it uses and
// a command that uses none waits for no LimitManagement token.
type provisioner struct {
	api    LimitReader
	wanted map[quota.Category]bool // fixed: read without the lock
	notice func(string)
	mu     sync.Mutex
	done   map[quota.Category]bool
	failed bool // a read failed: pace every category at its default
}

// ReadProvisionedLimits makes the limiter read the provisioned limit of each
// of cats with api on the category's first call, and pace the category at
// provisioned ÷ default times its pace. Reading is per run: nothing is
// cached across runs. The first failed read but a cancelled context (an
// AccessDenied, an unknown operation at an endpoint or fake without the
// API, a throttle that outlived the retries) stops all reading, leaves
// every category at its default and says so once through notice.
func (l *Limiter) ReadProvisionedLimits(api LimitReader, cats []quota.Category, notice func(string)) {
	p := &provisioner{api: api, wanted: map[quota.Category]bool{}, done: map[quota.Category]bool{}, notice: notice}
	for _, c := range cats {
		// GetProvisionedLimit's own category is never read: its call is
		// paced while the lock is held, and it is not adjustable anyway.
		if c != quota.LimitManagement {
			p.wanted[c] = true
		}
	}
	l.mu.Lock()
	l.prov = p
	l.mu.Unlock()
}

// provision reads c's provisioned limit if it is still to be read. Only a
// cancelled context is an error.
func (l *Limiter) provision(ctx context.Context, c quota.Category) error {
	l.mu.Lock()
	p := l.prov
	l.mu.Unlock()
	if p == nil || !p.wanted[c] {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed || p.done[c] {
		return nil
	}
	limits, err := ReadProvisioned(ctx, p.api, []quota.Category{c})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // read again on the next call
		}
		p.failed = true
		if p.notice != nil {
			p.notice(LimitsUnreadableNotice(err))
		}
		return nil
	}
	p.done[c] = true
	l.ApplyProvisioned(c, limits[c])
	return nil
}

// ApplyProvisioned paces c at lim.Provisioned ÷ lim.Default times its pace:
// the account's raise, relative to whatever NewLimiter was given.
func (l *Limiter) ApplyProvisioned(c quota.Category, lim Limit) {
	if lim.Default > 0 && lim.Provisioned > 0 && lim.Provisioned != lim.Default {
		l.ScaleRate(c, lim.Provisioned/lim.Default)
	}
}
