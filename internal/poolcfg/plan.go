package poolcfg

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// Plan says what Create would do in region, calling nothing: the same code
// path runs against an API that only records. What needs the service to
// know (a domain prefix taken, an invalid setting) shows only when created.
func Plan(ctx context.Context, cfg *snapshot.PoolConfig, name, region string, m Map) (*Result, error) {
	return Create(ctx, dryAPI{region: region}, cfg, name, m)
}

// dryAPI answers creation calls with placeholder ids.
type dryAPI struct{ region string }

func (d dryAPI) CreateUserPool(_ context.Context, in *cip.CreateUserPoolInput, _ ...func(*cip.Options)) (*cip.CreateUserPoolOutput, error) {
	id := d.region + "_(new)"
	// The account is unknown until the pool exists: ARNs are checked by
	// Region only.
	return &cip.CreateUserPoolOutput{UserPool: &types.UserPoolType{Id: &id, Arn: aws.String(fmt.Sprintf("arn:aws:cognito-idp:%s::userpool/%s", d.region, id))}}, nil
}

func (dryAPI) SetUserPoolMfaConfig(context.Context, *cip.SetUserPoolMfaConfigInput, ...func(*cip.Options)) (*cip.SetUserPoolMfaConfigOutput, error) {
	return &cip.SetUserPoolMfaConfigOutput{}, nil
}

func (dryAPI) CreateResourceServer(context.Context, *cip.CreateResourceServerInput, ...func(*cip.Options)) (*cip.CreateResourceServerOutput, error) {
	return &cip.CreateResourceServerOutput{}, nil
}

func (dryAPI) CreateIdentityProvider(context.Context, *cip.CreateIdentityProviderInput, ...func(*cip.Options)) (*cip.CreateIdentityProviderOutput, error) {
	return &cip.CreateIdentityProviderOutput{}, nil
}

func (dryAPI) CreateUserPoolClient(_ context.Context, in *cip.CreateUserPoolClientInput, _ ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error) {
	return &cip.CreateUserPoolClientOutput{UserPoolClient: &types.UserPoolClientType{ClientId: aws.String("(new)"), ClientName: in.ClientName}}, nil
}

func (dryAPI) CreateUserPoolDomain(context.Context, *cip.CreateUserPoolDomainInput, ...func(*cip.Options)) (*cip.CreateUserPoolDomainOutput, error) {
	return &cip.CreateUserPoolDomainOutput{}, nil
}

func (dryAPI) SetUICustomization(context.Context, *cip.SetUICustomizationInput, ...func(*cip.Options)) (*cip.SetUICustomizationOutput, error) {
	return &cip.SetUICustomizationOutput{}, nil
}
