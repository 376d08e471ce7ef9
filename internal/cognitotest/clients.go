package cognitotest

import (
	"encoding/json"
	"regexp"
	"sort"
	"time"
)

type client struct {
	id, name          string
	secret            string
	created, modified time.Time
	// config echoes the CreateUserPoolClient members the fake does not
	// interpret, so settings round-trip through DescribeUserPoolClient.
	config map[string]json.RawMessage
}

type identityProvider struct {
	name, typ         string
	created, modified time.Time
	config            map[string]json.RawMessage
}

// newClientID returns 26 lowercase alphanumerics, Cognito's client id form.
func (s *Service) newClientID() string {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 26)
	for i := range b {
		b[i] = alpha[s.rnd.IntN(len(alpha))]
	}
	return string(b)
}

func (s *Service) poolOfClient(id string) *pool {
	for _, p := range s.pools {
		if p.clients[id] != nil {
			return p
		}
	}
	return nil
}

var clientSecretPattern = regexp.MustCompile(`^[\w+=/-]{24,64}$`)

// CreateUserPoolClient; GenerateSecret makes the service create the secret,
// unless ClientSecret gives one (24–64 characters of [\w+=/-], and only with
// GenerateSecret).
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
func createUserPoolClient(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId     string
		ClientName     string
		GenerateSecret bool
		ClientSecret   *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ClientName == "" || len(in.ClientName) > 128 {
		return nil, validationErr(in.ClientName, "clientName", "Member must have length between 1 and 128")
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"UserPoolId", "ClientName", "GenerateSecret", "ClientSecret"} {
		delete(raw, k)
	}
	if in.ClientSecret != nil {
		if !in.GenerateSecret {
			return nil, errInvalidParameter("ClientSecret can only be provided when GenerateSecret is true.")
		}
		if !clientSecretPattern.MatchString(*in.ClientSecret) {
			return nil, validationErr("***", "clientSecret", "Member must satisfy regular expression pattern: [\\w+=/-]{24,64}")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &client{id: s.newClientID(), name: in.ClientName, created: now, modified: now, config: raw}
	switch {
	case in.ClientSecret != nil:
		c.secret = *in.ClientSecret
	case in.GenerateSecret:
		c.secret = s.newClientID() + s.newClientID()
	}
	p.clients[c.id] = c
	return map[string]any{"UserPoolClient": c.describe(p.id)}, nil
}

func (c *client) describe(poolID string) map[string]any {
	out := map[string]any{}
	for k, v := range c.config {
		out[k] = v
	}
	out["UserPoolId"] = poolID
	out["ClientName"] = c.name
	out["ClientId"] = c.id
	out["CreationDate"] = ts(c.created)
	out["LastModifiedDate"] = ts(c.modified)
	if c.secret != "" {
		out["ClientSecret"] = c.secret
	}
	return out
}

func describeUserPoolClient(s *Service, body []byte) (any, *apiError) {
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
	c := p.clients[in.ClientId]
	if c == nil {
		return nil, errResourceNotFound("User pool client %s does not exist.", in.ClientId)
	}
	return map[string]any{"UserPoolClient": c.describe(p.id)}, nil
}

// ListUserPoolClients: MaxResults 1–60, NextToken.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUserPoolClients.html
func listUserPoolClients(s *Service, body []byte) (any, *apiError) {
	return s.listByKey(body, "clients", "UserPoolClients", func(p *pool, _ *listInput) ([]string, string, *apiError) {
		ids := make([]string, 0, len(p.clients))
		for id := range p.clients {
			ids = append(ids, id)
		}
		return ids, p.id, nil
	}, func(p *pool, id string) any {
		c := p.clients[id]
		return map[string]any{"ClientId": c.id, "UserPoolId": p.id, "ClientName": c.name}
	})
}

// pageByKey pages a set of string keys in sorted order: the token carries the
// last key returned, so it survives inserts and deletes.
func (s *Service) pageByKey(keys []string, token, kind, binding string, limit int) (page []string, next string, err *apiError) {
	sort.Strings(keys)
	after, err := s.openToken(token, kind, binding)
	if err != nil {
		return nil, "", err
	}
	i := 0
	if token != "" {
		i = sort.Search(len(keys), func(i int) bool { return keys[i] > after })
	}
	end := min(i+limit, len(keys))
	page = keys[i:end]
	if end < len(keys) && len(page) > 0 {
		next = s.sealToken(kind, binding, page[len(page)-1])
	}
	return page, next, nil
}

// CreateIdentityProvider registers a SAML, OIDC or social provider.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateIdentityProvider.html
func createIdentityProvider(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, ProviderName, ProviderType string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch in.ProviderType {
	case "SAML", "Facebook", "Google", "LoginWithAmazon", "SignInWithApple", "OIDC":
	default:
		return nil, validationErr(in.ProviderType, "providerType", "Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]")
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"UserPoolId", "ProviderName", "ProviderType"} {
		delete(raw, k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if p.idps[in.ProviderName] != nil {
		return nil, newErr("DuplicateProviderException", "A provider with the name %s already exists in this user pool.", in.ProviderName)
	}
	now := s.now()
	idp := &identityProvider{name: in.ProviderName, typ: in.ProviderType, created: now, modified: now, config: raw}
	p.idps[idp.name] = idp
	return map[string]any{"IdentityProvider": idp.describe(p.id)}, nil
}

func (idp *identityProvider) describe(poolID string) map[string]any {
	out := map[string]any{}
	for k, v := range idp.config {
		out[k] = v
	}
	out["UserPoolId"] = poolID
	out["ProviderName"] = idp.name
	out["ProviderType"] = idp.typ
	out["CreationDate"] = ts(idp.created)
	out["LastModifiedDate"] = ts(idp.modified)
	return out
}

func describeIdentityProvider(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, ProviderName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	idp := p.idps[in.ProviderName]
	if idp == nil {
		return nil, errResourceNotFound("Identity provider %s does not exist.", in.ProviderName)
	}
	return map[string]any{"IdentityProvider": idp.describe(p.id)}, nil
}

// ListIdentityProviders: MaxResults 1–60.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListIdentityProviders.html
func listIdentityProviders(s *Service, body []byte) (any, *apiError) {
	return s.listByKey(body, "idps", "Providers", func(p *pool, _ *listInput) ([]string, string, *apiError) {
		names := make([]string, 0, len(p.idps))
		for n := range p.idps {
			names = append(names, n)
		}
		return names, p.id, nil
	}, func(p *pool, name string) any {
		idp := p.idps[name]
		return map[string]any{"ProviderName": idp.name, "ProviderType": idp.typ,
			"CreationDate": ts(idp.created), "LastModifiedDate": ts(idp.modified)}
	})
}
