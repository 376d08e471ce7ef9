package awsx

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ErrNoCredentials means the SDK's credential chain found nothing usable.
var ErrNoCredentials = errors.New("no AWS credentials found (set AWS_PROFILE, run 'aws sso login', or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")

// checkCredentials retrieves credentials once (the config caches them, so
// the first call reuses them). When the chain ran out at its last link, the
// instance metadata service, the SDK's message is about IMDS, which means
// nothing on a laptop: only ErrNoCredentials is said. Any other cause (an
// expired SSO session, a profile that does not exist) is kept, as it names
// the thing to fix.
func checkCredentials(ctx context.Context, cfg aws.Config) error {
	if cfg.Credentials == nil {
		return ErrNoCredentials
	}
	_, err := cfg.Credentials.Retrieve(ctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("retrieve AWS credentials: %w", ctx.Err())
	case strings.Contains(err.Error(), "IMDS") || strings.Contains(err.Error(), "ec2imds"):
		return ErrNoCredentials
	}
	return fmt.Errorf("%w: %w", ErrNoCredentials, err)
}

// regionPart is an AWS Region name: us-east-1, eu-central-2,
// us-gov-west-1, ap-southeast-5.
var regionPart = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// PoolRegion returns the Region a user pool id names: real pool ids are
// "<region>_<id>" (eu-west-1_AbC123; docs/cognito-facts.md §4, §16). The
// API's pattern does not promise it, so an id whose prefix is not a Region
// name yields "", false and the Region comes from elsewhere.
func PoolRegion(poolID string) (string, bool) {
	prefix, _, ok := strings.Cut(poolID, "_")
	if !ok || !regionPart.MatchString(prefix) {
		return "", false
	}
	return prefix, true
}
