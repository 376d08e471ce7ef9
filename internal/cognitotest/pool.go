package cognitotest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// pool is one user pool's state. Every field is guarded by Service.mu.
type pool struct {
	id, name, arn     string
	created, modified time.Time
	// config keeps the CreateUserPool members the fake does not interpret,
	// echoed back by DescribeUserPool so configuration round-trips.
	config map[string]json.RawMessage

	schema        []schemaAttr
	schemaByName  map[string]*schemaAttr
	caseSensitive bool
	usernameAttrs []string // "email" and/or "phone_number": sign-in with them, username is a UUID
	aliasAttrs    []string
	deletionProt  bool

	users   map[string]*user // by canonical username
	bySub   map[string]*user
	byAlias map[string]*user // "email:<lower value>" for username/alias attributes
	order   []*user          // in ListUsers order (pos, seq); deleted users linger until compaction
	pending []*user          // created since the last listing, not yet in order
	dead    int
	seq     uint64

	groups  map[string]*group
	clients map[string]*client
	idps    map[string]*identityProvider

	resourceServers map[string]*resourceServer
	domain          string                      // prefix or custom domain, "" when none
	customDomain    json.RawMessage             // CustomDomainConfig of a custom domain
	mfa             map[string]json.RawMessage  // SetUserPoolMfaConfig's factor settings
	ui              map[string]*uiCustomization // by client id, "ALL" for the pool
}

func (p *pool) canon(username string) string {
	if p.caseSensitive {
		return username
	}
	return strings.ToLower(username)
}

func (p *pool) indexSchema() {
	p.schemaByName = make(map[string]*schemaAttr, len(p.schema))
	for i := range p.schema {
		p.schemaByName[p.schema[i].Name] = &p.schema[i]
	}
}

// liveUsers is the number of users not deleted.
func (p *pool) liveUsers() int { return len(p.users) }

// compact drops deleted users from order once they are most of it, so that
// pagination stays O(log n) without rebuilding on every delete.
func (p *pool) compact() {
	if p.dead < 1024 || p.dead*2 < len(p.order) {
		return
	}
	live := p.order[:0]
	for _, u := range p.order {
		if !u.deleted {
			live = append(live, u)
		}
	}
	for i := len(live); i < len(p.order); i++ {
		p.order[i] = nil
	}
	p.order = live
	p.dead = 0
}

// idAlphabet is the alphabet of the random part of pool ids.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newPoolID returns "<region>_<9 alphanumerics>", Cognito's pool id form.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UserPoolType.html
func (s *Service) newPoolID() string {
	b := make([]byte, 9)
	for i := range b {
		b[i] = idAlphabet[s.rnd.IntN(len(idAlphabet))]
	}
	return s.opts.Region + "_" + string(b)
}

// newUUID returns a random (version 4) UUID from the service's seeded source,
// so that subs are as unpredictable as Cognito's yet reproducible in tests.
func (s *Service) newUUID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := s.rnd.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Service) pool(id string) (*pool, *apiError) {
	if id == "" {
		return nil, validationErr("null", "userPoolId", "Member must not be null")
	}
	p := s.pools[id]
	if p == nil {
		return nil, errPoolNotFound(id)
	}
	return p, nil
}

// schemaInput is a SchemaAttributeType in a request, where Mutable defaults
// to true when absent.
type schemaInput struct {
	schemaAttr
	Mutable *bool `json:"Mutable"`
}

func (si schemaInput) attr() schemaAttr {
	sa := si.schemaAttr
	sa.Mutable = si.Mutable == nil || *si.Mutable
	return sa
}

type createUserPoolInput struct {
	PoolName              string        `json:"PoolName"`
	Schema                []schemaInput `json:"Schema"`
	UsernameAttributes    []string      `json:"UsernameAttributes"`
	AliasAttributes       []string      `json:"AliasAttributes"`
	UsernameConfiguration *struct {
		CaseSensitive *bool `json:"CaseSensitive"`
	} `json:"UsernameConfiguration"`
	DeletionProtection string `json:"DeletionProtection"`
}

// uninterpreted lists CreateUserPool members that DescribeUserPool echoes as
// they were given. Members the fake interprets are rendered from state.
var interpreted = map[string]bool{"PoolName": true, "Schema": true}

func createUserPool(s *Service, body []byte) (any, *apiError) {
	var in createUserPoolInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.PoolName == "" || len(in.PoolName) > 128 {
		return nil, validationErr(in.PoolName, "poolName", "Member must have length between 1 and 128")
	}
	if len(in.UsernameAttributes) > 0 && len(in.AliasAttributes) > 0 {
		return nil, errInvalidParameter("Only one of the aliasAttributes or usernameAttributes can be set in a User Pool")
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for k := range raw {
		if interpreted[k] {
			delete(raw, k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, aerr := s.newPool(in, raw)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"UserPool": s.describePool(p)}, nil
}

// newPool creates a pool from a CreateUserPool input. Caller holds s.mu.
func (s *Service) newPool(in createUserPoolInput, raw map[string]json.RawMessage) (*pool, *apiError) {
	now := s.now()
	id := s.newPoolID()
	if raw == nil {
		raw = map[string]json.RawMessage{}
	}
	p := &pool{
		id: id, name: in.PoolName, created: now, modified: now,
		arn:     fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", s.opts.Region, s.opts.AccountID, id),
		config:  raw,
		schema:  standardSchema(),
		users:   map[string]*user{},
		bySub:   map[string]*user{},
		byAlias: map[string]*user{},
		groups:  map[string]*group{},
		clients: map[string]*client{},
		idps:    map[string]*identityProvider{},
		// Pools created through the API without UsernameConfiguration are case
		// sensitive; the console sets CaseSensitive=false.
		// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UsernameConfigurationType.html
		caseSensitive: true,
		usernameAttrs: in.UsernameAttributes,
		aliasAttrs:    in.AliasAttributes,
		deletionProt:  in.DeletionProtection == "ACTIVE",
	}
	if in.UsernameConfiguration != nil && in.UsernameConfiguration.CaseSensitive != nil {
		p.caseSensitive = *in.UsernameConfiguration.CaseSensitive
	}
	p.indexSchema()
	for _, si := range in.Schema {
		sa := si.attr()
		if std, ok := p.schemaByName[sa.Name]; ok {
			// Standard attributes may be made required or immutable at creation.
			std.Required = sa.Required
			std.Mutable = sa.Mutable
			if sa.StringAttributeConstraints != nil {
				std.StringAttributeConstraints = sa.StringAttributeConstraints
			}
			continue
		}
		if err := p.addCustomAttr(sa); err != nil {
			return nil, err
		}
	}
	s.pools[id] = p
	return p, nil
}

// addCustomAttr adds "custom:<name>", or "dev:custom:<name>" for a
// developer-only attribute. Custom attributes can be added but never
// removed or changed, and cannot be required.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html#user-pool-settings-custom-attributes
//
// SchemaAttributeType.Name: "When DeveloperOnlyAttribute is true, Amazon
// Cognito creates your attribute as dev:MyAttribute"; the API reference's
// CreateUserPool example answers a Schema entry {"Name": "mydev",
// "DeveloperOnlyAttribute": true} with "Name": "dev:custom:mydev", the form
// ListUsers and the Admin* operations use too (docs/cognito-facts.md §12).
func (p *pool) addCustomAttr(sa schemaAttr) *apiError {
	name := strings.TrimPrefix(strings.TrimPrefix(sa.Name, "dev:"), "custom:")
	if name == "" || len(name) > 20 {
		return errInvalidParameter("Invalid custom attribute name %q", sa.Name)
	}
	if sa.Required {
		return errInvalidParameter("Required custom attributes are not supported currently.")
	}
	full := "custom:" + name
	if sa.DeveloperOnlyAttribute {
		full = "dev:" + full
	}
	if _, ok := p.schemaByName[full]; ok {
		return errInvalidParameter("Existing attribute already has name %s.", full)
	}
	if sa.AttributeDataType == "" {
		sa.AttributeDataType = "String"
	}
	switch sa.AttributeDataType {
	case "String":
		if sa.StringAttributeConstraints == nil {
			sa.StringAttributeConstraints = &stringConstr{}
		}
	case "Number", "DateTime", "Boolean":
	default:
		return errInvalidParameter("Invalid AttributeDataType %s", sa.AttributeDataType)
	}
	if len(p.schema) >= 50+len(standardSchema()) {
		return newErr("LimitExceededException", "A user pool can have at most 50 custom attributes.")
	}
	sa.Name = full
	p.schema = append(p.schema, sa)
	p.indexSchema()
	return nil
}

// describePool renders a pool as UserPoolType. Caller holds s.mu.
func (s *Service) describePool(p *pool) map[string]any {
	out := map[string]any{}
	for k, v := range p.config {
		out[k] = v
	}
	out["Id"] = p.id
	out["Name"] = p.name
	out["Arn"] = p.arn
	out["CreationDate"] = ts(p.created)
	out["LastModifiedDate"] = ts(p.modified)
	out["SchemaAttributes"] = p.schema
	out["EstimatedNumberOfUsers"] = p.liveUsers()
	if p.domain != "" && len(p.customDomain) == 0 {
		out["Domain"] = p.domain
	} else if p.domain != "" {
		out["CustomDomain"] = p.domain
	}
	if p.deletionProt {
		out["DeletionProtection"] = "ACTIVE"
	} else {
		out["DeletionProtection"] = "INACTIVE"
	}
	if p.config["UsernameConfiguration"] == nil && !p.caseSensitive {
		out["UsernameConfiguration"] = map[string]bool{"CaseSensitive": false}
	}
	return out
}

func describeUserPool(s *Service, body []byte) (any, *apiError) {
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
	return map[string]any{"UserPool": s.describePool(p)}, nil
}

func deleteUserPool(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	// A protected pool is refused with InvalidParameterException until
	// UpdateUserPool sets DeletionProtection INACTIVE; CreateUserPool leaves
	// it inactive by default. Developer guide, "User pool deletion
	// protection" (user-pool-settings-deletion-protection.html);
	// docs/cognito-facts.md §19.
	if p.deletionProt {
		return nil, errInvalidParameter("The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.")
	}
	delete(s.pools, p.id)
	return struct{}{}, nil
}

// ListUserPools: MaxResults is required, 1–60.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUserPools.html
func listUserPools(s *Service, body []byte) (any, *apiError) {
	var in struct {
		MaxResults *int
		NextToken  string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, aerr := requiredMaxResults(in.MaxResults)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.pools))
	for id := range s.pools {
		ids = append(ids, id)
	}
	page, next, err := s.pageByKey(ids, in.NextToken, "pools", "", limit)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, id := range page {
		p := s.pools[id]
		items = append(items, map[string]any{
			"Id": p.id, "Name": p.name,
			"CreationDate": ts(p.created), "LastModifiedDate": ts(p.modified),
		})
	}
	out := map[string]any{"UserPools": items}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// requiredMaxResults checks a MaxResults member that must be present, as in
// ListUserPools and ListUserImportJobs: 1–60.
func requiredMaxResults(v *int) (int, *apiError) {
	if v == nil {
		return 0, validationErr("null", "maxResults", "Member must not be null")
	}
	if err := checkLimit(*v, "maxResults", 1); err != nil {
		return 0, err
	}
	return *v, nil
}

// checkLimit enforces the 0..60 (or 1..60) range of Limit/MaxResults members.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html#CognitoUserPools-ListUsers-request-Limit
func checkLimit(v int, member string, min int) *apiError {
	if v > 60 {
		return validationErr(v, member, "Member must have value less than or equal to 60")
	}
	if v < min {
		return validationErr(v, member, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	return nil
}
