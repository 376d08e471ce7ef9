// Package poolcfg recreates a user pool's configuration from a snapshot in a
// new pool, in any Region or account: pool settings and schema, MFA, resource
// servers, identity providers, app clients and the domain. Users and groups
// then follow through internal/restore.
//
// What cannot be carried is rewritten through a Map or reported: the new pool
// and client ids (and client secrets, which Cognito generates), ARNs that
// belong to another Region or account (Lambda triggers, SES identities, KMS
// keys), identity provider secrets (never in a snapshot), and domain
// prefixes, which are unique per Region.
//
// It imports snapshot and cognito; it must not import cli or cobra.
package poolcfg

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// API is what creating a pool calls.
type API interface {
	CreateUserPool(ctx context.Context, in *cip.CreateUserPoolInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolOutput, error)
	SetUserPoolMfaConfig(ctx context.Context, in *cip.SetUserPoolMfaConfigInput, optFns ...func(*cip.Options)) (*cip.SetUserPoolMfaConfigOutput, error)
	CreateResourceServer(ctx context.Context, in *cip.CreateResourceServerInput, optFns ...func(*cip.Options)) (*cip.CreateResourceServerOutput, error)
	CreateIdentityProvider(ctx context.Context, in *cip.CreateIdentityProviderInput, optFns ...func(*cip.Options)) (*cip.CreateIdentityProviderOutput, error)
	CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error)
	CreateUserPoolDomain(ctx context.Context, in *cip.CreateUserPoolDomainInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolDomainOutput, error)
	SetUICustomization(ctx context.Context, in *cip.SetUICustomizationInput, optFns ...func(*cip.Options)) (*cip.SetUICustomizationOutput, error)
}

// Map rewrites what cannot be carried as it is (the --map file).
type Map struct {
	// Replace swaps exact string values anywhere in the configuration:
	// Lambda trigger ARNs, SES identity ARNs, role ARNs, KMS key ids.
	Replace map[string]string `json:"replace,omitempty"`
	// Domain is the new domain prefix; "" keeps the old one (it must be
	// free in the target Region), "-" creates none.
	Domain string `json:"domain,omitempty"`
	// ProviderSecrets adds ProviderDetails a snapshot never holds, by
	// provider name, e.g. {"Google": {"client_secret": "…"}}.
	ProviderSecrets map[string]map[string]string `json:"providerSecrets,omitempty"`
}

// Item is something not carried exactly, and why.
type Item struct {
	What   string `json:"what"`
	Reason string `json:"reason"`
}

// Client maps an app client of the old pool to the new one.
type Client struct {
	Name            string `json:"name"`
	Old             string `json:"old"`
	New             string `json:"new"`
	SecretGenerated bool   `json:"secretGenerated,omitempty"`
	SecretKept      bool   `json:"secretKept,omitempty"`
}

// Result is the id mapping applications need, and what was not carried.
type Result struct {
	OldPool         string   `json:"oldPool"`
	NewPool         string   `json:"newPool"`
	NewPoolArn      string   `json:"newPoolArn"`
	Clients         []Client `json:"clients"`
	ResourceServers []string `json:"resourceServers,omitempty"`
	Providers       []string `json:"providers,omitempty"`
	Domain          string   `json:"domain,omitempty"`
	NotCarried      []Item   `json:"notCarried,omitempty"`
}

// createPoolMembers are the UserPoolType members CreateUserPool takes back
// under the same name. MfaConfiguration is set afterwards with the factors.
var createPoolMembers = []string{
	"Policies", "DeletionProtection", "LambdaConfig", "AutoVerifiedAttributes", "AliasAttributes",
	"UsernameAttributes", "SmsVerificationMessage", "EmailVerificationMessage", "EmailVerificationSubject",
	"VerificationMessageTemplate", "SmsAuthenticationMessage", "UserAttributeUpdateSettings",
	"DeviceConfiguration", "EmailConfiguration", "SmsConfiguration", "UserPoolTags", "AdminCreateUserConfig",
	"UserPoolAddOns", "UsernameConfiguration", "AccountRecoverySetting", "UserPoolTier",
}

// Create makes a new pool named name from cfg. It stops at the first call
// that fails for a reason other than one it reports, returning what it
// created so far.
func Create(ctx context.Context, api API, cfg *snapshot.PoolConfig, name string, m Map) (*Result, error) {
	var src map[string]any
	if err := json.Unmarshal(cfg.UserPool, &src); err != nil {
		return nil, fmt.Errorf("pool configuration: %w", err)
	}
	res := &Result{OldPool: str(src["Id"])}
	c := &creator{api: api, m: m, res: res}

	// The pool: settings, then the schema rebuilt from SchemaAttributes.
	in := map[string]any{}
	for _, k := range createPoolMembers {
		if v, ok := src[k]; ok && v != nil {
			in[k] = c.replace(v)
		}
	}
	in["Schema"] = schemaOf(src["SchemaAttributes"])
	in["PoolName"] = name
	// ARNs are checked against the target once its Region and account are
	// known; Lambda triggers are the common case and are checked per key.
	var input cip.CreateUserPoolInput
	if err := remarshal(in, &input); err != nil {
		return nil, fmt.Errorf("pool settings: %w", err)
	}
	out, err := api.CreateUserPool(ctx, &input)
	if err != nil {
		return nil, fmt.Errorf("create user pool %q: %w", name, err)
	}
	res.NewPool, res.NewPoolArn = aws.ToString(out.UserPool.Id), aws.ToString(out.UserPool.Arn)
	c.notForeign(src)

	if err := c.mfa(ctx, cfg.MFA); err != nil {
		return res, err
	}
	if err := c.resourceServers(ctx, cfg.ResourceServers); err != nil {
		return res, err
	}
	if err := c.providers(ctx, cfg.IdentityProviders); err != nil {
		return res, err
	}
	if err := c.clients(ctx, cfg.Clients); err != nil {
		return res, err
	}
	if err := c.domain(ctx, src); err != nil {
		return res, err
	}
	c.ui(ctx, cfg.UI)
	return res, nil
}

// ui sets the hosted UI's CSS for the pool and for each client that had its
// own. A logo is served from a URL of the old pool: it is reported, not
// fetched.
func (c *creator) ui(ctx context.Context, list []json.RawMessage) {
	newID := map[string]string{}
	for _, cl := range c.res.Clients {
		newID[cl.Old] = cl.New
	}
	for _, raw := range list {
		var u types.UICustomizationType
		if err := json.Unmarshal(raw, &u); err != nil {
			c.note("UI customization", "unreadable: %v", err)
			continue
		}
		in := &cip.SetUICustomizationInput{UserPoolId: &c.res.NewPool, CSS: u.CSS}
		what := "UI customization of the pool"
		if id := aws.ToString(u.ClientId); id != "" && id != "ALL" {
			what = "UI customization of app client " + id
			nid, ok := newID[id]
			if !ok {
				c.note(what, "not set: the app client was not created")
				continue
			}
			in.ClientId = &nid
		}
		if aws.ToString(u.ImageUrl) != "" {
			c.note(what, "the logo is not carried: download it from %s and set it with SetUICustomization", aws.ToString(u.ImageUrl))
		}
		if aws.ToString(u.CSS) == "" {
			continue
		}
		if _, err := c.api.SetUICustomization(ctx, in); err != nil {
			c.note(what, "not set: %v", err)
		}
	}
}

type creator struct {
	api API
	m   Map
	res *Result
	// providersMissing are providers not created: clients drop them.
	providersMissing map[string]bool
}

func (c *creator) note(what, format string, args ...any) {
	c.res.NotCarried = append(c.res.NotCarried, Item{What: what, Reason: fmt.Sprintf(format, args...)})
}

// replace applies Map.Replace to every string in v.
func (c *creator) replace(v any) any {
	switch x := v.(type) {
	case string:
		if r, ok := c.m.Replace[x]; ok {
			return r
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = c.replace(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.replace(e)
		}
		return out
	}
	return v
}

// notForeign reports the ARNs the new pool was given that point to another
// Region or account than its own: they were created as they are (Cognito
// accepts them) but will not work until mapped with --map replace.
func (c *creator) notForeign(src map[string]any) {
	region, account := arnPart(c.res.NewPoolArn, 3), arnPart(c.res.NewPoolArn, 4)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			x = str(c.replace(x))
			if !strings.HasPrefix(x, "arn:") {
				return
			}
			r, a := arnPart(x, 3), arnPart(x, 4)
			if (r != "" && r != region) || (a != "" && account != "" && a != account) {
				c.note(path, "%s is in Region %q, account %q, not the new pool's (%s, %s): map it with {\"replace\": {\"<old>\": \"<new>\"}} in --map", x, r, a, region, account)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(path+"."+k, x[k])
			}
		}
	}
	for _, k := range createPoolMembers {
		if v, ok := src[k]; ok && v != nil {
			walk(k, v)
		}
	}
}

func (c *creator) mfa(ctx context.Context, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var in cip.SetUserPoolMfaConfigInput
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("MFA configuration: %w", err)
	}
	if mode, _ := m["MfaConfiguration"].(string); mode == "" || mode == "OFF" {
		return nil
	}
	if err := remarshal(c.replace(m), &in); err != nil {
		return fmt.Errorf("MFA configuration: %w", err)
	}
	in.UserPoolId = &c.res.NewPool
	if _, err := c.api.SetUserPoolMfaConfig(ctx, &in); err != nil {
		c.note("MFA configuration", "not set: %v", err)
	}
	return nil
}

func (c *creator) resourceServers(ctx context.Context, list []json.RawMessage) error {
	for _, raw := range list {
		var rs types.ResourceServerType
		if err := json.Unmarshal(raw, &rs); err != nil {
			return fmt.Errorf("resource server: %w", err)
		}
		_, err := c.api.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &c.res.NewPool,
			Identifier: rs.Identifier, Name: rs.Name, Scopes: rs.Scopes})
		if err != nil {
			return fmt.Errorf("create resource server %s: %w", aws.ToString(rs.Identifier), err)
		}
		c.res.ResourceServers = append(c.res.ResourceServers, aws.ToString(rs.Identifier))
	}
	return nil
}

func (c *creator) providers(ctx context.Context, list []json.RawMessage) error {
	c.providersMissing = map[string]bool{}
	for _, raw := range list {
		var p types.IdentityProviderType
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("identity provider: %w", err)
		}
		name := aws.ToString(p.ProviderName)
		details := map[string]string{}
		var missing []string
		for k, v := range p.ProviderDetails {
			if secret, ok := strings.CutSuffix(k, "_present"); ok {
				if s, ok := c.m.ProviderSecrets[name][secret]; ok {
					details[secret] = s
				} else {
					missing = append(missing, secret)
				}
				continue
			}
			details[k] = str(c.replace(v))
		}
		for k, v := range c.m.ProviderSecrets[name] {
			details[k] = v
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			c.providersMissing[name] = true
			c.note("identity provider "+name, "not created: its %s is never stored in a snapshot; add it under providerSecrets.%s in --map", strings.Join(missing, ", "), name)
			continue
		}
		_, err := c.api.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &c.res.NewPool,
			ProviderName: p.ProviderName, ProviderType: p.ProviderType, ProviderDetails: details,
			AttributeMapping: p.AttributeMapping, IdpIdentifiers: p.IdpIdentifiers})
		if err != nil {
			return fmt.Errorf("create identity provider %s: %w", name, err)
		}
		c.res.Providers = append(c.res.Providers, name)
	}
	return nil
}

// clientDrop are UserPoolClientType members CreateUserPoolClient does not
// take, or that the service assigns.
var clientDrop = []string{"ClientId", "ClientSecret", "ClientSecretPresent", "UserPoolId", "CreationDate", "LastModifiedDate"}

func (c *creator) clients(ctx context.Context, list []json.RawMessage) error {
	for _, raw := range list {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("app client: %w", err)
		}
		old, name := str(m["ClientId"]), str(m["ClientName"])
		secret, _ := m["ClientSecretPresent"].(bool)
		kept := str(m["ClientSecret"]) // backup --include-secrets
		secret = secret || kept != ""
		for _, k := range clientDrop {
			delete(m, k)
		}
		m = c.replace(m).(map[string]any)
		if idps, ok := m["SupportedIdentityProviders"].([]any); ok {
			kept := idps[:0]
			for _, p := range idps {
				if c.providersMissing[str(p)] {
					c.note("app client "+name, "no longer offers sign-in with %s (the provider was not created)", str(p))
					continue
				}
				kept = append(kept, p)
			}
			m["SupportedIdentityProviders"] = kept
		}
		var in cip.CreateUserPoolClientInput
		if err := remarshal(m, &in); err != nil {
			return fmt.Errorf("app client %s: %w", name, err)
		}
		in.UserPoolId, in.GenerateSecret = &c.res.NewPool, secret
		if kept != "" {
			in.ClientSecret = &kept // applications keep their secret
		}
		out, err := c.api.CreateUserPoolClient(ctx, &in)
		if err != nil {
			return fmt.Errorf("create app client %s: %w", name, err)
		}
		c.res.Clients = append(c.res.Clients, Client{Name: name, Old: old, New: aws.ToString(out.UserPoolClient.ClientId), SecretGenerated: secret && kept == "", SecretKept: kept != ""})
	}
	return nil
}

func (c *creator) domain(ctx context.Context, src map[string]any) error {
	prefix, custom := str(src["Domain"]), str(src["CustomDomain"])
	switch {
	case c.m.Domain == "-":
		return nil
	case c.m.Domain != "":
		prefix, custom = c.m.Domain, ""
	case custom != "":
		c.note("domain "+custom, "a custom domain needs its certificate and DNS in the new Region or account; create it, or give a prefix with {\"domain\": \"…\"} in --map")
		return nil
	case prefix == "":
		return nil
	}
	_, err := c.api.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &c.res.NewPool, Domain: &prefix})
	if err != nil {
		c.note("domain "+prefix, "not created (%v): prefixes are unique per Region; choose another with {\"domain\": \"…\"} in --map", err)
		return nil
	}
	c.res.Domain = prefix
	return nil
}

// schemaOf turns DescribeUserPool's SchemaAttributes into CreateUserPool's
// Schema: every custom attribute (named without its custom: prefix), and
// the standard ones whose settings differ from the defaults.
func schemaOf(v any) []any {
	list, _ := v.([]any)
	var out []any
	for _, e := range list {
		a, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name := str(a["Name"])
		switch {
		case name == "sub" || name == "identities":
			continue
		case strings.HasPrefix(name, "custom:"):
			a["Name"] = strings.TrimPrefix(name, "custom:")
		case strings.HasPrefix(name, "dev:custom:"):
			a["Name"] = strings.TrimPrefix(name, "dev:custom:")
		default:
			required, _ := a["Required"].(bool)
			mutable, ok := a["Mutable"].(bool)
			if !required && (mutable || !ok) {
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// remarshal copies a JSON-shaped value into an SDK input: the SDK's Go
// field names are the API's member names, which encoding/json matches.
func remarshal(v any, dst any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

func str(v any) string { s, _ := v.(string); return s }

func arnPart(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[i]
}
