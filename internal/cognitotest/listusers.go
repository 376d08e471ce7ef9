package cognitotest

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// searchable lists the attributes ListUsers can filter on; custom attributes
// never are.
// https://docs.aws.amazon.com/cognito/latest/developerguide/how-to-manage-user-accounts.html#cognito-user-pools-searching-for-users-using-listusers-api
var searchable = map[string]bool{
	"username": true, "email": true, "phone_number": true, "name": true, "given_name": true,
	"family_name": true, "preferred_username": true, "cognito:user_status": true, "status": true, "sub": true,
}

type filter struct {
	attr   string
	prefix bool // ^= rather than =
	value  string
	// subNothing: a `sub ^=` filter matches no user (SubPrefixMatchesNothing).
	subNothing bool
}

// parseFilter parses `attr = "value"` or `attr ^= "value"`; inside the quotes a
// backslash escapes the next character (\" and \\). An empty filter matches
// every user.
func parseFilter(src string) (*filter, *apiError) {
	s := strings.TrimSpace(src)
	if s == "" {
		return nil, nil
	}
	bad := errInvalidParameter("Error while parsing filter.")
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] == ':' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
		i++
	}
	f := &filter{attr: s[:i]}
	rest := strings.TrimLeft(s[i:], " ")
	switch {
	case strings.HasPrefix(rest, "^="):
		f.prefix = true
		rest = rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return nil, bad
	}
	rest = strings.TrimLeft(rest, " ")
	if len(rest) < 2 || rest[0] != '"' {
		return nil, bad
	}
	var b strings.Builder
	closed := false
	for j := 1; j < len(rest); j++ {
		c := rest[j]
		if c == '\\' && j+1 < len(rest) {
			j++
			b.WriteByte(rest[j])
			continue
		}
		if c == '"' {
			if strings.TrimSpace(rest[j+1:]) != "" {
				return nil, bad
			}
			closed = true
			break
		}
		b.WriteByte(c)
	}
	if !closed {
		return nil, bad
	}
	if f.attr == "" {
		return nil, bad
	}
	if !searchable[f.attr] {
		return nil, errInvalidParameter("Invalid search attribute: %s", f.attr)
	}
	f.value = b.String()
	return f, nil
}

// SubPrefix is how a pool answers ListUsers with a prefix filter on sub.
// The developer guide lists sub as searchable and ^= as the prefix match,
// but no public source shows `sub ^= "a"` working on every pool, so tests
// can make the fake refuse it or match nothing (see docs/cognito-facts.md §11).
type SubPrefix int

const (
	// SubPrefixWorks matches subs starting with the value (the default).
	SubPrefixWorks SubPrefix = iota
	// SubPrefixRefused answers InvalidParameterException.
	SubPrefixRefused
	// SubPrefixMatchesNothing accepts the filter and lists no user.
	SubPrefixMatchesNothing
)

// SetSubPrefix sets how ListUsers answers `sub ^= "…"`.
func (s *Service) SetSubPrefix(m SubPrefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subPrefix = m
}

// refuseSubPrefix applies SetSubPrefix(SubPrefixRefused). Caller holds s.mu.
func (s *Service) refuseSubPrefix(f *filter) *apiError {
	if f != nil && f.prefix && f.attr == "sub" && s.subPrefix == SubPrefixRefused {
		return errInvalidParameter("Error while parsing filter.")
	}
	return nil
}

func (f *filter) match(u *user) bool {
	if f == nil {
		return true
	}
	var v string
	switch f.attr {
	case "username":
		v = u.username
	case "cognito:user_status":
		v = u.status
	case "status":
		v = "Disabled"
		if u.enabled {
			v = "Enabled"
		}
	default:
		var ok bool
		if v, ok = u.get(f.attr); !ok {
			return false
		}
	}
	if f.prefix {
		return strings.HasPrefix(v, f.value) && !(f.attr == "sub" && f.subNothing)
	}
	return v == f.value
}

// shown is the state of u that ListUsers returns now, or nil when the
// listing does not show u yet. ListUsers "is eventually consistent" (API
// reference) while AdminGetUser reads the user itself: a user created less
// than the lag ago is missing from listings; a user changed less than the
// lag ago is listed, and filtered, with its state before the change (an
// index that has not caught up still holds the old entry), and its second
// place (see afterChange) with its current state. Caller holds s.mu.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
func (s *Service) shown(u *user) *user {
	if o := u.ghostOf; o != nil {
		if o.deleted || o.moved != u || s.now().Sub(o.modified) >= s.listLag {
			return nil
		}
		return o
	}
	if s.listLag <= 0 {
		return u
	}
	now := s.now()
	switch {
	case now.Sub(u.created) < s.listLag:
		return nil
	case u.listed != nil && now.Sub(u.modified) < s.listLag:
		return u.listed
	}
	return u
}

// beforeChange copies u before a change when listings lag, so that they can
// go on showing the old state. Caller holds s.mu for writing.
func (s *Service) beforeChange(u *user) *user {
	if s.listLag <= 0 {
		return nil
	}
	c := *u
	c.attrs = slices.Clone(u.attrs)
	c.listed, c.moved = nil, nil
	return &c
}

// afterChange keeps before as the listed state when the change touched the
// user and what listings showed until now was its current state (a change
// following a change still within the lag keeps the older listed state).
// The changed user also gets a second place in the order, at random, that
// lists its current state until the lag has passed: a listing running
// meanwhile may meet the user twice, old and new, as an index that has
// filed the new entry but not yet dropped the old one would show it.
func (s *Service) afterChange(p *pool, u, before *user) {
	if before == nil || u.modified.Equal(before.modified) {
		return
	}
	p.unmove(u)
	if s.now().Sub(u.created) >= s.listLag { // a user not listed yet gets no second place
		u.moved = &user{seq: u.seq, pos: s.rnd.Uint64(), ghostOf: u}
		p.pending = append(p.pending, u.moved)
	}
	switch {
	case u.listed != nil && s.now().Sub(before.modified) < s.listLag:
		// Listings still show the state before an earlier change: keep it.
	case s.now().Sub(before.created) >= s.listLag: // listings showed before
		u.listed = before
	}
}

// SetListingLag makes ListUsers eventually consistent: for d after a user is
// created it is missing from listings, and for d after a change listings
// show its state before the change (and, at a second place, its current
// state); 0 (the default) lists every user once, at once, as it is.
// `cogvault fake-cognito --list-lag` sets it.
func (s *Service) SetListingLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listLag = d
}

// scanBudget bounds how many users one filtered ListUsers call examines. Like
// the real service, a filtered page may therefore hold fewer users than Limit,
// or none, while a PaginationToken is still returned: clients must follow
// tokens, never stop on a short page.
const scanBudget = 2000

type listUsersInput struct {
	UserPoolId      string
	AttributesToGet []string
	Limit           *int
	PaginationToken string
	Filter          string
}

// ListUsers. Limit 0–60 (0 or absent means 60); the token is bound to the
// pool and the filter.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
func listUsers(s *Service, body []byte) (any, *apiError) {
	var in listUsersInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit := 60
	if in.Limit != nil {
		if err := checkLimit(*in.Limit, "limit", 0); err != nil {
			return nil, err
		}
		if *in.Limit > 0 {
			limit = *in.Limit
		}
	}
	f, aerr := parseFilter(in.Filter)
	if aerr != nil {
		return nil, aerr
	}
	var want map[string]bool
	if in.AttributesToGet != nil {
		want = map[string]bool{}
		for _, a := range in.AttributesToGet {
			want[a] = true
		}
	}
	p, err := s.settledPool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	for a := range want {
		if _, ok := p.schemaByName[a]; !ok {
			return nil, errInvalidParameter("One or more requested attributes do not exist.")
		}
	}
	if err := s.refuseSubPrefix(f); err != nil {
		return nil, err
	}
	if f != nil {
		f.subNothing = s.subPrefix == SubPrefixMatchesNothing
	}
	binding := p.id + "\x00" + strings.TrimSpace(in.Filter)
	after, err := s.openOrderToken(in.PaginationToken, binding)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(p.order), func(i int) bool { return after.before(p.order[i]) })
	items := make([]userType, 0, limit)
	scanned := 0
	var last orderKey
	for ; i < len(p.order) && len(items) < limit; i++ {
		if f != nil && scanned == scanBudget {
			break
		}
		u := p.order[i]
		scanned++
		last = orderKey{u.pos, u.seq}
		if u.deleted {
			continue
		}
		if v := s.shown(u); v != nil && f.match(v) {
			items = append(items, v.render(want))
		}
	}
	out := map[string]any{"Users": items}
	if i < len(p.order) && scanned > 0 {
		out["PaginationToken"] = s.sealToken("users", binding, last.String())
	}
	return out, nil
}

// GetCSVHeader returns the columns of the user import file for the pool: the
// writable standard attributes, custom attributes, then cognito:mfa_enabled
// and cognito:username.
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-using-import-tool-csv-header.html
func getCSVHeader(s *Service, body []byte) (any, *apiError) {
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
	cols, _ := getCSVHeaderOf(p)
	return map[string]any{"UserPoolId": p.id, "CSVHeader": cols}, nil
}

func getCSVHeaderOf(p *pool) ([]string, *apiError) {
	var cols []string
	for _, sa := range p.schema {
		// Whether the header names developer-only attributes is not
		// documented (docs/cognito-facts.md §12): the fake leaves them out,
		// so users with one go through the admin path, which may write them.
		if sa.Name == "sub" || sa.Name == "identities" || sa.DeveloperOnlyAttribute {
			continue
		}
		cols = append(cols, sa.Name)
	}
	return append(cols, "cognito:mfa_enabled", "cognito:username"), nil
}

// The ListUsers order. The API reference promises no order, and the service
// is sharded, so the fake does not list in creation order: a user's place is
// a hash of its sub, so a user created during a listing lands anywhere,
// before or after the listing's position (clients must neither expect it
// nor expect not to see it). Ties, never seen in practice, go by seq.
// (docs/cognito-facts.md §11.)

// orderKey is a place in the order: (pos, seq).
type orderKey struct{ pos, seq uint64 }

func (k orderKey) String() string { return fmt.Sprintf("%x.%x", k.pos, k.seq) }

// before reports whether k comes before u's place.
func (k orderKey) before(u *user) bool {
	return k.pos < u.pos || (k.pos == u.pos && k.seq < u.seq)
}

func orderLess(a, b *user) int {
	return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.seq, b.seq))
}

// enlist gives a new user its place and files it for the next listing.
// Caller holds s.mu for writing.
func (p *pool) enlist(u *user) {
	h := fnv.New64a()
	h.Write([]byte(u.sub))
	u.pos = h.Sum64()
	p.pending = append(p.pending, u)
}

// settle merges the users created since the last listing into the order:
// one merge per listing that follows creations, not one insertion per user.
func (p *pool) settle() {
	if len(p.pending) == 0 {
		return
	}
	slices.SortFunc(p.pending, orderLess)
	merged := make([]*user, 0, len(p.order)+len(p.pending))
	i, j := 0, 0
	for i < len(p.order) && j < len(p.pending) {
		if orderLess(p.order[i], p.pending[j]) < 0 {
			merged = append(merged, p.order[i])
			i++
		} else {
			merged = append(merged, p.pending[j])
			j++
		}
	}
	merged = append(append(merged, p.order[i:]...), p.pending[j:]...)
	p.order, p.pending = merged, nil
}

// unmove retires u's second place, if any, for compaction to drop.
func (p *pool) unmove(u *user) {
	if u.moved != nil {
		u.moved.deleted = true
		u.moved = nil
		p.dead++
	}
}

// settledPool returns the pool with the users created since the last
// listing filed into its order, holding s.mu for reading (the caller
// unlocks it when err is nil). Only a listing that follows creations takes
// the write lock, so concurrent listings run in parallel.
func (s *Service) settledPool(id string) (*pool, *apiError) {
	s.mu.RLock()
	p, err := s.pool(id)
	if err != nil || len(p.pending) == 0 {
		if err != nil {
			s.mu.RUnlock()
		}
		return p, err
	}
	s.mu.RUnlock()
	s.mu.Lock()
	p.settle()
	s.mu.Unlock()
	s.mu.RLock()
	if p, err = s.pool(id); err != nil {
		s.mu.RUnlock()
	}
	return p, err
}

// openOrderToken opens a ListUsers token; the zero key for none.
func (s *Service) openOrderToken(tok, binding string) (orderKey, *apiError) {
	pos, err := s.openToken(tok, "users", binding)
	if err != nil || pos == "" {
		return orderKey{}, err
	}
	var k orderKey
	a, b, ok := strings.Cut(pos, ".")
	var perr1, perr2 error
	k.pos, perr1 = strconv.ParseUint(a, 16, 64)
	k.seq, perr2 = strconv.ParseUint(b, 16, 64)
	if !ok || perr1 != nil || perr2 != nil {
		return orderKey{}, errInvalidParameter("Paging Marker is Invalid for Request")
	}
	return k, nil
}
