package awsx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/cogvault/cogvault/internal/quota"
)

// Options configures LoadConfig. The zero value is the SDK's default chain
// with Cognito's default quotas fully usable.
type Options struct {
	// Profile selects a shared-config profile (--profile).
	Profile string
	// Region overrides the region (--region).
	Region string
	// DefaultRegion is used when neither Region, the environment nor the
	// profile names one: the Region a pool id names (PoolRegion).
	DefaultRegion string
	// CheckCredentials retrieves credentials while loading, so that a
	// missing chain fails with ErrNoCredentials before any work starts.
	CheckCredentials bool
	// EndpointURL is Cognito's endpoint (--endpoint-url), e.g. `cogvault
	// fake-cognito` or a Cognito VPC endpoint. Like the AWS CLI's flag it
	// names one service's endpoint: LoadConfigs puts it in the Cognito config
	// only, never in the one for S3 or CloudWatch Logs.
	EndpointURL string
	// Rates overrides quota categories in requests per second.
	Rates quota.Rates
	// MaxShare is the fraction (0,1] of each category's rate this process may
	// use; quotas are per account and Region, shared with production.
	MaxShare float64
	// MaxAttempts per call, including the first (default 10).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (default 20s).
	MaxBackoff time.Duration
	// Limiter paces Cognito calls; one is built from Rates and MaxShare when
	// nil. Share one Limiter across clients of the same account and Region.
	Limiter *Limiter
	// HTTPClient replaces the SDK's default HTTP client.
	HTTPClient aws.HTTPClient
	// Credentials replaces the default credential chain (tests, the demo).
	Credentials aws.CredentialsProvider
	// ReadProvisioned names the categories whose provisioned limits are read
	// with GetProvisionedLimit, each on its first call, to pace at what the
	// account really has; those Rates sets are not read (--quota-rate wins).
	// Nil reads none.
	ReadProvisioned []quota.Category
	// Notice receives the one line said when the limits cannot be read.
	Notice func(string)
}

// ErrNoRegion means neither the flags, the environment nor the profile named
// a region.
var ErrNoRegion = errors.New("no AWS region: pass --region or set AWS_REGION (or region in your profile)")

// Configs is the SDK configuration of one run, split by service the way the
// AWS CLI applies --endpoint-url: to the service called, not to all of them.
// One flag for both broke an S3 repository behind a Cognito VPC endpoint.
type Configs struct {
	// Cognito is for Cognito clients; its BaseEndpoint is Options.EndpointURL
	// when that is set.
	Cognito aws.Config
	// Other is for every other service (S3 for s3:// repositories,
	// CloudWatch Logs for import-job logs): endpoints as the SDK resolves
	// them (AWS_ENDPOINT_URL_<SERVICE>, the profile's services section,
	// AWS_ENDPOINT_URL, endpoint_url), never Options.EndpointURL.
	Other aws.Config
}

// LoadConfig returns the Cognito configuration for opts (LoadConfigs'
// Cognito). Every Cognito client built from it is paced and retried.
func LoadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	c, err := LoadConfigs(ctx, opts)
	return c.Cognito, err
}

// LoadConfigs returns the SDK configuration for opts, split by service.
func LoadConfigs(ctx context.Context, opts Options) (Configs, error) {
	if opts.MaxShare == 0 {
		opts.MaxShare = 1
	}
	if opts.MaxShare < 0 || opts.MaxShare > 1 {
		return Configs{}, fmt.Errorf("max share %v is outside (0, 1]", opts.MaxShare)
	}
	lim := opts.Limiter
	if lim == nil {
		lim = NewLimiter(opts.Rates, opts.MaxShare)
	}
	loaders := []func(*config.LoadOptions) error{
		// The SDK's default logger writes to os.Stderr (IMDS fallbacks,
		// retries); a CLI says what failed in its own one line instead.
		config.WithLogger(logging.Nop{}),
		config.WithRetryer(func() aws.Retryer { return NewRetryer(opts) }),
		config.WithAPIOptions([]func(*middleware.Stack) error{lim.AddToStack}),
	}
	if opts.Profile != "" {
		loaders = append(loaders, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	if opts.DefaultRegion != "" {
		loaders = append(loaders, config.WithDefaultRegion(opts.DefaultRegion))
	}
	if opts.HTTPClient != nil {
		loaders = append(loaders, config.WithHTTPClient(opts.HTTPClient))
	}
	if opts.Credentials != nil {
		loaders = append(loaders, config.WithCredentialsProvider(opts.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		if opts.Profile != "" {
			return Configs{}, fmt.Errorf("load AWS configuration for profile %q: %w", opts.Profile, err)
		}
		return Configs{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	// Wrapped after loading, so that the SDK could still apply a custom CA
	// bundle (AWS_CA_BUNDLE) to its own client.
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = bufferBodies{next: cfg.HTTPClient}
	if cfg.Region == "" {
		return Configs{}, ErrNoRegion
	}
	if opts.CheckCredentials {
		if err := checkCredentials(ctx, cfg); err != nil {
			return Configs{}, err
		}
	}
	out := Configs{Cognito: cfg.Copy(), Other: cfg}
	if opts.EndpointURL != "" {
		out.Cognito.BaseEndpoint = aws.String(opts.EndpointURL)
		out.Cognito.ConfigSources = append([]any{flagEndpoint(opts.EndpointURL)}, cfg.ConfigSources...)
	}
	if cats := unpinned(opts.ReadProvisioned, opts.Rates); len(cats) > 0 {
		lim.ReadProvisionedLimits(cip.NewFromConfig(out.Cognito), cats, opts.Notice)
	}
	return out, nil
}

// flagEndpoint makes --endpoint-url win over a configured Cognito endpoint
// (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, a profile's services section),
// as the AWS CLI's flag does. A client asks its config sources for a
// service-specific endpoint in order, and that answer overrides BaseEndpoint;
// this source comes first.
type flagEndpoint string

// GetServiceBaseEndpoint answers for Cognito only ("Cognito Identity
// Provider" is the SDK's service id).
func (f flagEndpoint) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if sdkID == "Cognito Identity Provider" {
		return string(f), true, nil
	}
	return "", false, nil
}

// unpinned returns the categories of cats that rates does not set.
func unpinned(cats []quota.Category, rates quota.Rates) []quota.Category {
	var out []quota.Category
	for _, c := range cats {
		if _, pinned := rates[c]; !pinned {
			out = append(out, c)
		}
	}
	return out
}
