package awsx

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// neverRetry are error codes the SDK's default lists would retry but that
// mean, in Cognito, something a retry cannot fix: LimitExceededException is a
// resource or attempt limit (too many groups, too many code requests), not a
// request rate.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/CommonErrors.html
var neverRetry = map[string]bool{"LimitExceededException": true}

// NewRetryer returns the retry policy for Cognito and S3 calls: capped
// exponential backoff with full jitter; it retries throttles
// (TooManyRequestsException), 5xx, timeouts and connection errors, and never
// validation or other client errors.
func NewRetryer(opts Options) aws.Retryer {
	maxAttempts := opts.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 10
	}
	maxBackoff := opts.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 20 * time.Second
	}
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = maxBackoff
		o.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
		// The client-side retry token bucket would fail calls early during a
		// throttle storm ("retry quota exceeded"). Pacing already keeps us
		// under the quota, so throttles are rare and always worth a retry.
		o.RateLimiter = ratelimit.None
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetryCodes)}, o.Retryables...)
	})
}

func noRetryCodes(err error) aws.Ternary {
	var ae smithy.APIError
	if errors.As(err, &ae) && neverRetry[ae.ErrorCode()] {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}
