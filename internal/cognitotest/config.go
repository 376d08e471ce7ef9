package cognitotest

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Pool configuration beyond CreateUserPool: resource servers, the hosted
// domain and the MFA configuration.

type resourceServer struct {
	identifier, name string
	scopes           json.RawMessage
}

func (rs *resourceServer) describe(poolID string) map[string]any {
	out := map[string]any{"UserPoolId": poolID, "Identifier": rs.identifier, "Name": rs.name}
	if len(rs.scopes) > 0 {
		out["Scopes"] = rs.scopes
	}
	return out
}

// CreateResourceServer: identifiers are unique within a pool.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateResourceServer.html
func createResourceServer(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, Identifier, Name string
		Scopes                       json.RawMessage
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Identifier == "" || len(in.Identifier) > 256 {
		return nil, validationErr(in.Identifier, "identifier", "Member must have length between 1 and 256")
	}
	if in.Name == "" || len(in.Name) > 256 {
		return nil, validationErr(in.Name, "name", "Member must have length between 1 and 256")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if p.resourceServers == nil {
		p.resourceServers = map[string]*resourceServer{}
	}
	if p.resourceServers[in.Identifier] != nil {
		return nil, errInvalidParameter("%s already exists in user pool %s.", in.Identifier, p.id)
	}
	rs := &resourceServer{identifier: in.Identifier, name: in.Name, scopes: in.Scopes}
	p.resourceServers[in.Identifier] = rs
	return map[string]any{"ResourceServer": rs.describe(p.id)}, nil
}

func describeResourceServer(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, Identifier string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	rs := p.resourceServers[in.Identifier]
	if rs == nil {
		return nil, errResourceNotFound("Resource server %s does not exist.", in.Identifier)
	}
	return map[string]any{"ResourceServer": rs.describe(p.id)}, nil
}

// ListResourceServers: MaxResults 1–50 is required.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListResourceServers.html
func listResourceServers(s *Service, body []byte) (any, *apiError) {
	return s.listByKey(body, "resourceServers", "ResourceServers", func(p *pool, in *listInput) ([]string, string, *apiError) {
		if in.MaxResults == nil {
			return nil, "", validationErr(nil, "maxResults", "Member must not be null")
		}
		if *in.MaxResults > 50 {
			return nil, "", validationErr(*in.MaxResults, "maxResults", "Member must have value less than or equal to 50")
		}
		ids := make([]string, 0, len(p.resourceServers))
		for id := range p.resourceServers {
			ids = append(ids, id)
		}
		return ids, p.id, nil
	}, func(p *pool, id string) any { return p.resourceServers[id].describe(p.id) })
}

// domainPrefix is what Cognito accepts as a prefix domain.
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html
var domainPrefix = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$`)

// CreateUserPoolDomain: a prefix is unique across the Region (here: the
// fake); a pool has at most one prefix domain. The reserved words aws,
// amazon and cognito are refused.
func createUserPoolDomain(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, Domain string
		CustomDomainConfig json.RawMessage
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.CustomDomainConfig) == 0 && !domainPrefix.MatchString(in.Domain) {
		return nil, validationErr(in.Domain, "domain", "Member must satisfy regular expression pattern: ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$")
	}
	for _, w := range []string{"aws", "amazon", "cognito"} {
		if regexp.MustCompile(`(^|-)` + w + `(-|$)`).MatchString(in.Domain) {
			return nil, errInvalidParameter("Domain cannot contain reserved word: %s", w)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if p.domain != "" {
		return nil, errInvalidParameter("The user pool %s already has a domain configured.", p.id)
	}
	for _, other := range s.pools {
		if other.domain == in.Domain {
			return nil, errInvalidParameter("Domain already associated with another user pool.")
		}
	}
	p.domain = in.Domain
	out := map[string]any{"ManagedLoginVersion": 1}
	if len(in.CustomDomainConfig) > 0 {
		p.customDomain = in.CustomDomainConfig
		out["CloudFrontDomain"] = fmt.Sprintf("d%s.cloudfront.net", p.id[len(p.id)-9:])
	}
	return out, nil
}

// DescribeUserPoolDomain answers an empty description for an unknown
// domain, as Cognito does.
func describeUserPoolDomain(s *Service, body []byte) (any, *apiError) {
	var in struct{ Domain string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.pools {
		if p.domain == in.Domain && in.Domain != "" {
			d := map[string]any{"UserPoolId": p.id, "AWSAccountId": s.opts.AccountID, "Domain": p.domain, "Status": "ACTIVE", "Version": "1", "ManagedLoginVersion": 1}
			if len(p.customDomain) > 0 {
				d["CustomDomainConfig"] = p.customDomain
			}
			return map[string]any{"DomainDescription": d}, nil
		}
	}
	return map[string]any{"DomainDescription": map[string]any{}}, nil
}

// GetUserPoolMfaConfig reports what SetUserPoolMfaConfig set; a new pool
// has MFA OFF.
func getUserPoolMfaConfig(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"MfaConfiguration": p.mfaMode()}
	for k, v := range p.mfa {
		out[k] = v
	}
	return out, nil
}

// SetUserPoolMfaConfig: MFA ON or OPTIONAL needs at least one factor
// enabled.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetUserPoolMfaConfig.html
func setUserPoolMfaConfig(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId       string
		MfaConfiguration string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	factors := map[string]json.RawMessage{}
	enabled := false
	for _, k := range []string{"SmsMfaConfiguration", "SoftwareTokenMfaConfiguration", "EmailMfaConfiguration", "WebAuthnConfiguration"} {
		if v, ok := raw[k]; ok && string(v) != "null" {
			factors[k] = v
			var f struct{ Enabled bool }
			_ = json.Unmarshal(v, &f)
			if f.Enabled || k == "SmsMfaConfiguration" {
				enabled = true
			}
		}
	}
	switch in.MfaConfiguration {
	case "", "OFF":
	case "ON", "OPTIONAL":
		if !enabled {
			return nil, errInvalidParameter("At least one MFA method must be enabled when MFA is %s.", in.MfaConfiguration)
		}
	default:
		return nil, validationErr(in.MfaConfiguration, "mfaConfiguration", "Member must satisfy enum value set: [OFF, ON, OPTIONAL]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	p.mfa = factors
	if in.MfaConfiguration != "" {
		p.config["MfaConfiguration"], _ = json.Marshal(in.MfaConfiguration)
	}
	p.modified = s.now()
	out := map[string]any{"MfaConfiguration": p.mfaMode()}
	for k, v := range factors {
		out[k] = v
	}
	return out, nil
}

func (p *pool) mfaMode() string {
	var m string
	if v, ok := p.config["MfaConfiguration"]; ok {
		_ = json.Unmarshal(v, &m)
	}
	if m == "" {
		m = "OFF"
	}
	return m
}

// UI customization (the classic hosted UI): CSS and a logo per pool ("ALL")
// or per app client; a client without its own gets the pool's.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetUICustomization.html
type uiCustomization struct {
	css               string
	image             bool
	created, modified string
}

func setUICustomization(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, ClientId string
		CSS                  *string
		ImageFile            []byte
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	key := in.ClientId
	if key == "" {
		key = "ALL"
	} else if p.clients[key] == nil {
		return nil, errResourceNotFound("User pool client %s does not exist.", key)
	}
	if p.ui == nil {
		p.ui = map[string]*uiCustomization{}
	}
	now := fmt.Sprint(s.now().Unix())
	ui := &uiCustomization{css: deref(in.CSS), image: len(in.ImageFile) > 0, created: now, modified: now}
	if old := p.ui[key]; old != nil {
		ui.created = old.created
	}
	p.ui[key] = ui
	return map[string]any{"UICustomization": ui.describe(p, key)}, nil
}

func getUICustomization(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, ClientId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	key := in.ClientId
	if key != "" && p.clients[key] == nil {
		return nil, errResourceNotFound("User pool client %s does not exist.", key)
	}
	ui := p.ui[key]
	if ui == nil {
		key = "ALL"
		ui = p.ui["ALL"]
	}
	if ui == nil {
		return map[string]any{"UICustomization": map[string]any{"UserPoolId": p.id, "ClientId": "ALL"}}, nil
	}
	return map[string]any{"UICustomization": ui.describe(p, key)}, nil
}

func (ui *uiCustomization) describe(p *pool, key string) map[string]any {
	out := map[string]any{"UserPoolId": p.id, "ClientId": key, "CSS": ui.css, "CSSVersion": "20261124000000", "CreationDate": json.Number(ui.created), "LastModifiedDate": json.Number(ui.modified)}
	if ui.image {
		out["ImageUrl"] = fmt.Sprintf("https://%s.cloudfront.example/%s/%s/logo.png", p.domain, p.id, key)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
