package cognitotest

import (
	"sort"
	"strconv"
	"time"
)

type group struct {
	name, description, roleArn string
	precedence                 *int64
	created, modified          time.Time
	members                    map[*user]struct{}
	sorted                     []*user // members by seq; nil when stale
}

func (g *group) addMember(u *user) {
	if _, ok := g.members[u]; !ok {
		g.members[u] = struct{}{}
		g.sorted = nil
	}
}

func (g *group) removeMember(u *user) {
	if _, ok := g.members[u]; ok {
		delete(g.members, u)
		g.sorted = nil
	}
}

// membersBySeq returns members in creation order, cached until the next
// change so that paging a large group costs O(log n) per page.
func (g *group) membersBySeq() []*user {
	if g.sorted == nil {
		g.sorted = make([]*user, 0, len(g.members))
		for u := range g.members {
			g.sorted = append(g.sorted, u)
		}
		sort.Slice(g.sorted, func(i, j int) bool { return g.sorted[i].seq < g.sorted[j].seq })
	}
	return g.sorted
}

type groupType struct {
	GroupName        string `json:"GroupName"`
	UserPoolId       string `json:"UserPoolId"`
	Description      string `json:"Description,omitempty"`
	RoleArn          string `json:"RoleArn,omitempty"`
	Precedence       *int64 `json:"Precedence,omitempty"`
	CreationDate     *epoch `json:"CreationDate"`
	LastModifiedDate *epoch `json:"LastModifiedDate"`
}

func (g *group) render(poolID string) groupType {
	return groupType{g.name, poolID, g.description, g.roleArn, g.precedence, ts(g.created), ts(g.modified)}
}

// maxGroups is the per-pool group quota.
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#resource-quotas
const maxGroups = 10000

// maxGroupsPerUser: quotas page, "Maximum number of groups that each user
// can belong to".
const maxGroupsPerUser = 100

// CreateGroup: name 1–128 [\p{L}\p{M}\p{S}\p{N}\p{P}]+, description ≤ 2048,
// precedence ≥ 0.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html
func createGroup(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, GroupName, Description, RoleArn string
		Precedence                                  *int64
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkUsername(in.GroupName); err != nil {
		return nil, validationErr(in.GroupName, "groupName", `Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+`)
	}
	if len(in.Description) > 2048 {
		return nil, validationErr("***", "description", "Member must have length less than or equal to 2048")
	}
	if in.Precedence != nil && *in.Precedence < 0 {
		return nil, validationErr(strconv.FormatInt(*in.Precedence, 10), "precedence", "Member must have value greater than or equal to 0")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if p.groups[in.GroupName] != nil {
		return nil, errGroupExists(in.GroupName)
	}
	if len(p.groups) >= maxGroups {
		return nil, newErr("LimitExceededException", "Maximum number of groups (%d) reached for user pool %s", maxGroups, p.id)
	}
	now := s.now()
	g := &group{name: in.GroupName, description: in.Description, roleArn: in.RoleArn, precedence: in.Precedence,
		created: now, modified: now, members: map[*user]struct{}{}}
	p.groups[g.name] = g
	return map[string]any{"Group": g.render(p.id)}, nil
}

func (s *Service) groupOf(poolID, name string) (*pool, *group, *apiError) {
	p, err := s.pool(poolID)
	if err != nil {
		return nil, nil, err
	}
	g := p.groups[name]
	if g == nil {
		return nil, nil, errGroupNotFound()
	}
	return p, g, nil
}

func getGroup(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, GroupName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, g, err := s.groupOf(in.UserPoolId, in.GroupName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Group": g.render(p.id)}, nil
}

func deleteGroup(s *Service, body []byte) (any, *apiError) {
	var in struct{ UserPoolId, GroupName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, g, err := s.groupOf(in.UserPoolId, in.GroupName)
	if err != nil {
		return nil, err
	}
	for u := range g.members {
		delete(u.groups, g.name)
	}
	delete(p.groups, g.name)
	return struct{}{}, nil
}

type listInput struct {
	UserPoolId string
	GroupName  string
	Username   string
	Limit      *int
	MaxResults *int
	NextToken  string
}

// limit reads Limit (0–60, 0 meaning 60) or MaxResults (1–60), whichever
// the operation has; 60 when absent.
func (in *listInput) limit() (int, *apiError) {
	switch {
	case in.Limit != nil:
		if err := checkLimit(*in.Limit, "limit", 0); err != nil {
			return 0, err
		}
		if *in.Limit > 0 {
			return *in.Limit, nil
		}
	case in.MaxResults != nil:
		if err := checkLimit(*in.MaxResults, "maxResults", 1); err != nil {
			return 0, err
		}
		return *in.MaxResults, nil
	}
	return 60, nil
}

// listByKey serves a List* call over one pool's collection of named things:
// keys returns the names and the token binding, render one item. Pages are
// in name order; tokens carry the last name, so they survive changes.
func (s *Service) listByKey(body []byte, kind, itemsField string, keys func(p *pool, in *listInput) ([]string, string, *apiError), render func(p *pool, key string) any) (any, *apiError) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, aerr := in.limit()
	if aerr != nil {
		return nil, aerr
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	names, binding, err := keys(p, &in)
	if err != nil {
		return nil, err
	}
	page, next, err := s.pageByKey(names, in.NextToken, kind, binding, limit)
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, len(page))
	for _, k := range page {
		items = append(items, render(p, k))
	}
	out := map[string]any{itemsField: items}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func groupNames(groups map[string]struct{}) []string {
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	return names
}

// ListGroups: groups in name order, Limit ≤ 60.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListGroups.html
func listGroups(s *Service, body []byte) (any, *apiError) {
	return s.listByKey(body, "groups", "Groups", func(p *pool, _ *listInput) ([]string, string, *apiError) {
		names := make([]string, 0, len(p.groups))
		for n := range p.groups {
			names = append(names, n)
		}
		return names, p.id, nil
	}, func(p *pool, name string) any { return p.groups[name].render(p.id) })
}

// AdminListGroupsForUser: the user's groups in name order.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminListGroupsForUser.html
func adminListGroupsForUser(s *Service, body []byte) (any, *apiError) {
	return s.listByKey(body, "usergroups", "Groups", func(p *pool, in *listInput) ([]string, string, *apiError) {
		u, err := p.findUser(in.Username)
		if err != nil {
			return nil, "", err
		}
		return groupNames(u.groups), p.id + "\x00" + u.sub, nil
	}, func(p *pool, name string) any { return p.groups[name].render(p.id) })
}

// ListUsersInGroup: members in a stable order, Limit ≤ 60, NextToken.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsersInGroup.html
func listUsersInGroup(s *Service, body []byte) (any, *apiError) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, aerr := in.limit()
	if aerr != nil {
		return nil, aerr
	}
	// Paging a cached member slice mutates the group, hence the write lock.
	s.mu.Lock()
	defer s.mu.Unlock()
	p, g, err := s.groupOf(in.UserPoolId, in.GroupName)
	if err != nil {
		return nil, err
	}
	after, err := s.openSeqToken(in.NextToken, "members", p.id+"\x00"+g.name)
	if err != nil {
		return nil, err
	}
	members := g.membersBySeq()
	i := sort.Search(len(members), func(i int) bool { return members[i].seq > after })
	end := min(i+limit, len(members))
	items := make([]userType, 0, end-i)
	for _, u := range members[i:end] {
		items = append(items, u.render(nil))
	}
	out := map[string]any{"Users": items}
	if end < len(members) && end > i {
		out["NextToken"] = s.sealToken("members", p.id+"\x00"+g.name, strconv.FormatUint(members[end-1].seq, 10))
	}
	return out, nil
}

// openSeqToken opens a token whose position is a user sequence number.
func (s *Service) openSeqToken(tok, kind, binding string) (uint64, *apiError) {
	pos, err := s.openToken(tok, kind, binding)
	if err != nil || pos == "" {
		return 0, err
	}
	n, perr := strconv.ParseUint(pos, 10, 64)
	if perr != nil {
		return 0, errInvalidParameter("Paging Marker is Invalid for Request")
	}
	return n, nil
}

type membershipInput struct {
	UserPoolId, Username, GroupName string
}

// AdminAddUserToGroup is idempotent; a user may be in at most 100 groups
// ("Maximum number of groups that each user can belong to | 100", quotas
// page). The 101st is refused with InvalidParameterException: the
// operation's error list (API reference; SDK deserializers.go,
// awsAwsjson11_deserializeOpErrorAdminAddUserToGroup) has no
// LimitExceededException, and the real code is not published
// (docs/cognito-facts.md §12). Message UNCONFIRMED.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminAddUserToGroup.html
func adminAddUserToGroup(s *Service, body []byte) (any, *apiError) {
	return membership(s, body, func(p *pool, u *user, g *group) *apiError {
		if _, ok := u.groups[g.name]; !ok && len(u.groups) >= maxGroupsPerUser {
			return errInvalidParameter("A user can be a member of at most %d groups.", maxGroupsPerUser)
		}
		u.groups[g.name] = struct{}{}
		g.addMember(u)
		return nil
	})
}

func adminRemoveUserFromGroup(s *Service, body []byte) (any, *apiError) {
	return membership(s, body, func(p *pool, u *user, g *group) *apiError {
		delete(u.groups, g.name)
		g.removeMember(u)
		return nil
	})
}

func membership(s *Service, body []byte, f func(*pool, *user, *group) *apiError) (any, *apiError) {
	var in membershipInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, g, err := s.groupOf(in.UserPoolId, in.GroupName)
	if err != nil {
		return nil, err
	}
	u, err := p.findUser(in.Username)
	if err != nil {
		return nil, err
	}
	if err := f(p, u, g); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
