// Package diff compares two states of a user pool (a snapshot, or the live
// pool) and reports added, removed and changed users, groups and
// memberships. It reports which attributes changed, never their values,
// unless asked to: a diff is often pasted into tickets and chats.
//
// Users are matched by username (the sub changes when a pool is restored).
// Memory is one 16-byte digest per user of the old side plus the records of
// changed users; the old side is read twice when users changed.
package diff

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// Source is one side of a comparison. Users must be re-iterable.
type Source interface {
	Users(ctx context.Context) iter.Seq2[snapshot.User, error]
	Groups(ctx context.Context) ([]snapshot.Group, error)
	Memberships(ctx context.Context) iter.Seq2[snapshot.Membership, error]
}

// Options tune a comparison.
type Options struct {
	// ShowValues includes old and new attribute values in the report.
	ShowValues bool
	// IgnoreAttributes are attribute names not compared (e.g. "sub" when
	// comparing a restored pool with its snapshot).
	IgnoreAttributes []string
	// ComparePool also compares the pool's configuration (both sides must
	// be PoolSources). Meaningful for two states of the same pool: config
	// drift since a snapshot.
	ComparePool bool
	// CrossPool compares the configuration of two different pools (one
	// recreated from the other): ids, ARNs, names and dates are ignored,
	// app clients are matched by name. It implies ComparePool.
	CrossPool bool
	// CompareMFA compares MFA settings too. Only meaningful when both sides
	// have them: ListUsers does not return them, so a live pool never does,
	// and a snapshot only with backup --mfa.
	CompareMFA bool
	// MatchBy pairs users by this attribute ("email" or "phone_number")
	// instead of their username: a pool that signs in with email gives
	// every restored user a new, opaque username. Email addresses are
	// compared in lower case; users without the attribute are matched by
	// username. Users are reported by the new side's username (the old
	// side's for removed ones), never by the attribute's value.
	MatchBy string
}

// matchKey is the key under which u is paired with its twin: its username,
// or with by, "\x00" and the attribute's value (no username holds a control
// character, so the two kinds never meet).
func matchKey(u *snapshot.User, by string) string {
	if by != "" {
		if v, ok := u.Attr(by); ok && v != "" {
			return "\x00" + strings.ToLower(v)
		}
	}
	return u.Username
}

// AttrChange is one changed attribute; Old and New only with ShowValues.
type AttrChange struct {
	Name string `json:"name"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// UserChange says what changed in one user.
type UserChange struct {
	Username   string       `json:"username"`
	Attributes []AttrChange `json:"attributes,omitempty"`
	Status     []string     `json:"status,omitempty"`  // [old, new]
	Enabled    []bool       `json:"enabled,omitempty"` // [old, new]
	MFA        bool         `json:"mfa,omitempty"`
}

// GroupChange names a group and the fields that changed.
type GroupChange struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
}

// Report is the result of a comparison.
type Report struct {
	UsersAdded         []string              `json:"usersAdded"`
	UsersRemoved       []string              `json:"usersRemoved"`
	UsersChanged       []UserChange          `json:"usersChanged"`
	GroupsAdded        []string              `json:"groupsAdded"`
	GroupsRemoved      []string              `json:"groupsRemoved"`
	GroupsChanged      []GroupChange         `json:"groupsChanged"`
	MembershipsAdded   []snapshot.Membership `json:"membershipsAdded"`
	MembershipsRemoved []snapshot.Membership `json:"membershipsRemoved"`
	Pool               *PoolReport           `json:"pool,omitempty"`
	UsersCompared      int64                 `json:"usersCompared"`
}

// Empty reports whether the two sides are the same.
func (r *Report) Empty() bool {
	return len(r.UsersAdded)+len(r.UsersRemoved)+len(r.UsersChanged)+len(r.GroupsAdded)+len(r.GroupsRemoved)+
		len(r.GroupsChanged)+len(r.MembershipsAdded)+len(r.MembershipsRemoved) == 0 && r.Pool.empty()
}

// Compare reports how new differs from old.
func Compare(ctx context.Context, old, new Source, opts Options) (*Report, error) {
	// Empty lists, not nil: --output json prints [] for "none", which
	// scripts can iterate; null they cannot.
	r := &Report{UsersAdded: []string{}, UsersRemoved: []string{}, UsersChanged: []UserChange{}, GroupsAdded: []string{},
		GroupsRemoved: []string{}, GroupsChanged: []GroupChange{}, MembershipsAdded: []snapshot.Membership{}, MembershipsRemoved: []snapshot.Membership{}}
	ignore := map[string]bool{}
	for _, a := range opts.IgnoreAttributes {
		ignore[a] = true
	}
	names, err := compareUsers(ctx, old, new, ignore, opts, r)
	if err != nil {
		return nil, err
	}
	if err := compareGroups(ctx, old, new, r); err != nil {
		return nil, err
	}
	if err := compareMemberships(ctx, old, new, names, r); err != nil {
		return nil, err
	}
	if opts.ComparePool || opts.CrossPool {
		op, ok1 := old.(PoolSource)
		np, ok2 := new.(PoolSource)
		if !ok1 || !ok2 {
			return nil, errors.New("diff: pool configuration asked for, but a side cannot describe its pool")
		}
		pr, err := comparePools(ctx, op, np, opts.CrossPool)
		if err != nil {
			return nil, err
		}
		r.Pool = pr
	}
	return r, nil
}

type digest [16]byte

// digestOf hashes what a comparison looks at: attributes (in name order),
// status, enabled flag and MFA settings; not the timestamps.
func digestOf(u *snapshot.User, ignore map[string]bool, mfa bool) digest {
	h := sha256.New()
	attrs := slices.Clone(u.Attributes)
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
	var n [8]byte
	put := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, a := range attrs {
		if ignore[a.Name] || a.Name == "identities" {
			continue
		}
		put(a.Name)
		put(a.Value)
	}
	if !ignore["identities"] {
		put("\x00identities")
		for _, id := range identityKeys(u) {
			put(id)
		}
	}
	put("\x00status")
	put(u.Status)
	put(fmt.Sprint(u.Enabled))
	if mfa && u.MFA != nil {
		put(u.MFA.PreferredMfaSetting)
		for _, m := range u.MFA.UserMFASettingList {
			put(m)
		}
	}
	var d digest
	copy(d[:], h.Sum(nil))
	return d
}

func compareUsers(ctx context.Context, old, new Source, ignore map[string]bool, opts Options, r *Report) (names map[string]string, err error) {
	oldDigests := map[string]digest{}
	// With MatchBy, oldNames maps keys to old usernames and names each
	// new username to its twin's, so that memberships can be compared.
	var oldNames map[string]string
	if opts.MatchBy != "" {
		oldNames, names = map[string]string{}, map[string]string{}
	}
	oldName := func(k string) string {
		if oldNames == nil {
			return k
		}
		return oldNames[k]
	}
	for u, err := range old.Users(ctx) {
		if err != nil {
			return nil, err
		}
		k := matchKey(&u, opts.MatchBy)
		oldDigests[k] = digestOf(&u, ignore, opts.CompareMFA)
		if oldNames != nil {
			oldNames[k] = u.Username
		}
	}
	changed := map[string]snapshot.User{} // by old username
	for u, err := range new.Users(ctx) {
		if err != nil {
			return nil, err
		}
		r.UsersCompared++
		k := matchKey(&u, opts.MatchBy)
		d, ok := oldDigests[k]
		if !ok {
			r.UsersAdded = append(r.UsersAdded, u.Username)
			continue
		}
		delete(oldDigests, k)
		if names != nil {
			names[u.Username] = oldName(k)
		}
		if d != digestOf(&u, ignore, opts.CompareMFA) {
			changed[oldName(k)] = u
		}
	}
	for k, d := range oldDigests {
		u, found, err := confirmed(ctx, new, oldName(k), opts)
		if err != nil {
			return nil, err
		}
		if !found {
			r.UsersRemoved = append(r.UsersRemoved, oldName(k))
			continue
		}
		r.UsersCompared++
		if d != digestOf(&u, ignore, opts.CompareMFA) {
			changed[oldName(k)] = u
		}
	}
	if len(changed) > 0 {
		for u, err := range old.Users(ctx) {
			if err != nil {
				return nil, err
			}
			nu, ok := changed[u.Username]
			if !ok {
				continue
			}
			r.UsersChanged = append(r.UsersChanged, userChange(&u, &nu, ignore, opts))
		}
	}
	sort.Strings(r.UsersAdded)
	sort.Strings(r.UsersRemoved)
	sort.Slice(r.UsersChanged, func(i, j int) bool { return r.UsersChanged[i].Username < r.UsersChanged[j].Username })
	return names, nil
}

func userChange(o, n *snapshot.User, ignore map[string]bool, opts Options) UserChange {
	c := UserChange{Username: n.Username}
	names := map[string]bool{}
	for _, a := range o.Attributes {
		names[a.Name] = true
	}
	for _, a := range n.Attributes {
		names[a.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		if !ignore[k] && k != "identities" {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		ov, _ := o.Attr(name)
		nv, _ := n.Attr(name)
		_, oHas := o.Attr(name)
		_, nHas := n.Attr(name)
		if ov == nv && oHas == nHas {
			continue
		}
		ac := AttrChange{Name: name}
		if opts.ShowValues {
			ac.Old, ac.New = ov, nv
		}
		c.Attributes = append(c.Attributes, ac)
	}
	if !ignore["identities"] && !slices.Equal(identityKeys(o), identityKeys(n)) {
		c.Attributes = append(c.Attributes, AttrChange{Name: "identities"})
	}
	if o.Status != n.Status {
		c.Status = []string{o.Status, n.Status}
	}
	if o.Enabled != n.Enabled {
		c.Enabled = []bool{o.Enabled, n.Enabled}
	}
	if opts.CompareMFA && ((o.MFA == nil) != (n.MFA == nil) || (o.MFA != nil && (o.MFA.PreferredMfaSetting != n.MFA.PreferredMfaSetting || !slices.Equal(o.MFA.UserMFASettingList, n.MFA.UserMFASettingList)))) {
		c.MFA = true
	}
	return c
}

func compareGroups(ctx context.Context, old, new Source, r *Report) error {
	og, err := old.Groups(ctx)
	if err != nil {
		return err
	}
	ng, err := new.Groups(ctx)
	if err != nil {
		return err
	}
	byName := map[string]snapshot.Group{}
	for _, g := range og {
		byName[g.Name] = g
	}
	for _, g := range ng {
		o, ok := byName[g.Name]
		if !ok {
			r.GroupsAdded = append(r.GroupsAdded, g.Name)
			continue
		}
		delete(byName, g.Name)
		var fields []string
		if o.Description != g.Description {
			fields = append(fields, "description")
		}
		if o.RoleArn != g.RoleArn {
			fields = append(fields, "roleArn")
		}
		if (o.Precedence == nil) != (g.Precedence == nil) || (o.Precedence != nil && *o.Precedence != *g.Precedence) {
			fields = append(fields, "precedence")
		}
		if fields != nil {
			r.GroupsChanged = append(r.GroupsChanged, GroupChange{Name: g.Name, Fields: fields})
		}
	}
	for name := range byName {
		r.GroupsRemoved = append(r.GroupsRemoved, name)
	}
	sort.Strings(r.GroupsAdded)
	sort.Strings(r.GroupsRemoved)
	sort.Slice(r.GroupsChanged, func(i, j int) bool { return r.GroupsChanged[i].Name < r.GroupsChanged[j].Name })
	return nil
}

// compareMemberships compares the (group, user) pairs of both sides; when
// users are matched by an attribute, a new-side user stands for its old
// twin (names), and is reported under its own username.
func compareMemberships(ctx context.Context, old, new Source, names map[string]string, r *Report) error {
	set := map[snapshot.Membership]bool{}
	for m, err := range old.Memberships(ctx) {
		if err != nil {
			return err
		}
		set[m] = true
	}
	for m, err := range new.Memberships(ctx) {
		if err != nil {
			return err
		}
		twin := m
		if n, ok := names[m.Username]; ok {
			twin.Username = n
		}
		if set[twin] {
			delete(set, twin)
			continue
		}
		r.MembershipsAdded = append(r.MembershipsAdded, m)
	}
	for m := range set {
		r.MembershipsRemoved = append(r.MembershipsRemoved, m)
	}
	less := func(a, b snapshot.Membership) int {
		if a.Group != b.Group {
			return strings.Compare(a.Group, b.Group)
		}
		return strings.Compare(a.Username, b.Username)
	}
	slices.SortFunc(r.MembershipsAdded, less)
	slices.SortFunc(r.MembershipsRemoved, less)
	return nil
}

// identityKeys are a user's federated links as provider/user-id pairs: the
// identities attribute itself also carries dates the service sets, which
// differ after a restore without meaning a different link.
func identityKeys(u *snapshot.User) []string {
	keys := make([]string, 0, len(u.Identities))
	for _, id := range u.Identities {
		keys = append(keys, id.ProviderName+"\x00"+id.UserID)
	}
	sort.Strings(keys)
	return keys
}

// Confirmer is a source whose listing may lag (a live pool): it can read one
// user consistently, so that a user missing from its listing is not called
// removed on the listing's word alone.
type Confirmer interface {
	User(ctx context.Context, username string) (u snapshot.User, found bool, err error)
}

// confirmed reads username from src when src can (and users are matched by
// username); found is false when it cannot or the user is really gone.
func confirmed(ctx context.Context, src Source, username string, opts Options) (snapshot.User, bool, error) {
	c, ok := src.(Confirmer)
	if !ok || opts.MatchBy != "" {
		return snapshot.User{}, false, nil
	}
	return c.User(ctx, username)
}
