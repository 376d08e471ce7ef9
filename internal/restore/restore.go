package restore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// API is the admin API a restore calls, as the real client offers it.
type API interface {
	cognito.UserLister
	cognito.GroupLister
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	ListIdentityProviders(ctx context.Context, in *cip.ListIdentityProvidersInput, optFns ...func(*cip.Options)) (*cip.ListIdentityProvidersOutput, error)
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminSetUserPassword(ctx context.Context, in *cip.AdminSetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error)
	AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, optFns ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
	AdminEnableUser(ctx context.Context, in *cip.AdminEnableUserInput, optFns ...func(*cip.Options)) (*cip.AdminEnableUserOutput, error)
	AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminLinkProviderForUser(ctx context.Context, in *cip.AdminLinkProviderForUserInput, optFns ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error)
}

// What a user's existing twin in the target gets.
const (
	OnExistingSkip   = "skip"
	OnExistingUpdate = "update"
	OnExistingFail   = "fail"
)

// Restore paths.
const (
	ViaAdmin  = "admin"
	ViaImport = "import"
)

// Options says what to restore where.
type Options struct {
	Target string
	// Via is ViaAdmin (default) or ViaImport: user import jobs for the users
	// the import file can carry exactly, the admin API for the rest.
	Via        string
	Import     ImportOptions
	OnExisting string // skip (default), update or fail
	// Only limits the restore to some of "groups", "users", "memberships".
	Only map[string]bool
	// Users limits the restore to these usernames (nil: all).
	Users map[string]bool
	// SubAttribute stores each user's old sub in this custom attribute.
	SubAttribute string
	DryRun       bool
	// StatePath is the state file that makes the restore resumable.
	StatePath string
	// Workers bounds users restored concurrently (default 16); pacing is the
	// client's job.
	Workers int
	Rand    io.Reader
}

// Item is something the restore could not carry over exactly, and why.
type Item struct {
	Username string `json:"username,omitempty"`
	Group    string `json:"group,omitempty"`
	What     string `json:"what"`
	Reason   string `json:"reason"`
}

// Report is the plan (dry run) or the outcome.
type Report struct {
	Snapshot       string       `json:"snapshot"`
	Target         string       `json:"target"`
	DryRun         bool         `json:"dryRun"`
	GroupsCreate   int          `json:"groupsCreate"`
	GroupsExisting int          `json:"groupsExisting"`
	UsersCreate    int          `json:"usersCreate"`
	UsersUpdate    int          `json:"usersUpdate"`
	UsersSkip      int          `json:"usersSkip"`
	UsersResumed   int          `json:"usersResumed"`
	MembershipsAdd int          `json:"membershipsAdd"`
	LinksRestored  int          `json:"linksRestored"`
	NotRestored    []Item       `json:"notRestored"`
	Changed        []Item       `json:"changed"` // restored, but not exactly
	SubMappings    int          `json:"subMappings"`
	UsersImported  int          `json:"usersImported,omitempty"`
	ImportJobs     []ImportJob  `json:"importJobs,omitempty"`
	Stats          *Stats       `json:"-"`
	Mappings       []SubMapping `json:"-"`

	mu sync.Mutex // guards the report while workers fill it
}

// ImportJob is the outcome of one user import job.
type ImportJob struct {
	ID       string `json:"id"`
	Users    int    `json:"users"`
	Imported int64  `json:"imported"`
	Skipped  int64  `json:"skipped"`
	Failed   int64  `json:"failed"`
}

// SubMapping pairs a user's old sub with the one the target assigned.
type SubMapping struct {
	OldSub   string `json:"oldSub"`
	NewSub   string `json:"newSub"`
	Username string `json:"username"`
}

// Stats counts progress while a restore runs.
type Stats struct {
	Users       atomic.Int64
	UsersTotal  atomic.Int64
	Memberships atomic.Int64
}

// ErrExisting is returned with --on-existing fail when a user exists.
var ErrExisting = errors.New("user already exists in the target")

type target struct {
	name          string
	writable      map[string]bool // attributes that can be written at creation
	mutable       map[string]bool
	maxLen        map[string]int // characters a String attribute may hold
	usernameAttrs []string
	providers     map[string]bool
	users         map[string]bool // existing usernames (as listed)
	groups        map[string]types.GroupType
	caseSensitive bool
	// planned maps the target's form of each username the plan took (its
	// lower case in a case-insensitive target) to the snapshot's spelling,
	// so that two snapshot users that are one user in the target are
	// caught instead of merged.
	planned map[string]string
}

func (t *target) has(username string) bool {
	if t.caseSensitive {
		return t.users[username]
	}
	return t.users[strings.ToLower(username)]
}

func (r *Report) notRestored(it Item) { r.NotRestored = append(r.NotRestored, it) }

// Run restores snapshot m of repository rp into opts.Target.
func Run(ctx context.Context, api API, rp *repo.Repo, m *snapshot.Manifest, opts Options, stats *Stats) (*Report, error) {
	if opts.Target == "" {
		return nil, errors.New("restore: no target pool given")
	}
	if opts.OnExisting == "" {
		opts.OnExisting = OnExistingSkip
	}
	switch opts.OnExisting {
	case OnExistingSkip, OnExistingUpdate, OnExistingFail:
	default:
		return nil, fmt.Errorf("restore: --on-existing %q: want skip, update or fail", opts.OnExisting)
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	switch opts.Via {
	case "":
		opts.Via = ViaAdmin
	case ViaAdmin, ViaImport:
	default:
		return nil, fmt.Errorf("restore: --via %q: want admin or import", opts.Via)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if stats == nil {
		stats = &Stats{}
	}
	want := func(part string) bool { return len(opts.Only) == 0 || opts.Only[part] }
	rep := &Report{Snapshot: m.ID, Target: opts.Target, DryRun: opts.DryRun, Stats: stats}

	tg, err := readTarget(ctx, api, opts.Target)
	if err != nil {
		return nil, err
	}
	if opts.SubAttribute != "" && !tg.writable[opts.SubAttribute] {
		return nil, fmt.Errorf("restore: --sub-attribute %s: the target pool %s has no such writable custom attribute; add it to the pool (String, mutable, 36+ characters) or drop the flag", opts.SubAttribute, opts.Target)
	}
	cfg, err := rp.Pool(ctx, m)
	if err != nil {
		return nil, err
	}
	// Read the whole snapshot once before the first write: a damaged object
	// found half-way would leave the target half-restored.
	v, err := rp.Verify(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("restore: check snapshot %s: %w", m.ID, err)
	}
	if !v.OK() {
		return nil, fmt.Errorf("restore: %w: snapshot %s is damaged, nothing was written to %s: %s; restore another snapshot (see 'cogvault snapshots') or run 'cogvault backup' again",
			snapshot.ErrDamaged, m.ID, opts.Target, strings.Join(v.Problems, "; "))
	}

	var st *state
	if !opts.DryRun {
		if opts.StatePath == "" {
			return nil, errors.New("restore: no state file path")
		}
		if st, err = openState(opts.StatePath); err != nil {
			return nil, err
		}
		defer st.close()
	}

	// Groups first: memberships need them.
	if want("groups") || want("memberships") {
		for _, g := range cfg.Groups {
			if _, ok := tg.groups[g.Name]; ok {
				rep.GroupsExisting++
				continue
			}
			rep.GroupsCreate++
			if opts.DryRun || !want("groups") {
				continue
			}
			_, err := api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &opts.Target, GroupName: aws.String(g.Name),
				Description: nonEmpty(g.Description), RoleArn: nonEmpty(g.RoleArn), Precedence: g.Precedence})
			if err != nil && !cognito.IsGroupExists(err) {
				return rep, fmt.Errorf("restore: create group %q in %s: %w", g.Name, opts.Target, err)
			}
		}
	}

	if want("users") {
		stats.UsersTotal.Store(m.Counts.Users)
		switch {
		case opts.Via == ViaImport && !opts.DryRun:
			iapi, ok := api.(ImportAPI)
			if !ok {
				return rep, errors.New("restore: this client cannot run user import jobs")
			}
			admin, present, err := importUsers(ctx, iapi, rp, m, tg, st, opts, rep, stats)
			if err != nil {
				return rep, err
			}
			if err := finishImported(ctx, api, rp, m, tg, st, opts, admin, present, rep, stats); err != nil {
				return rep, err
			}
		default:
			if err := restoreUsers(ctx, api, rp, m, tg, st, opts, rep, stats, nil); err != nil {
				return rep, err
			}
		}
	}

	if want("memberships") {
		if err := restoreMemberships(ctx, api, rp, m, opts, rep, stats); err != nil {
			return rep, err
		}
	}
	if st != nil {
		for _, r := range st.mappings() {
			rep.Mappings = append(rep.Mappings, SubMapping{OldSub: r.OldSub, NewSub: r.NewSub, Username: r.Username})
		}
		sort.Slice(rep.Mappings, func(i, j int) bool { return rep.Mappings[i].Username < rep.Mappings[j].Username })
		rep.SubMappings = len(rep.Mappings)
	}
	sort.Slice(rep.NotRestored, func(i, j int) bool { return rep.NotRestored[i].Username < rep.NotRestored[j].Username })
	sort.Slice(rep.Changed, func(i, j int) bool { return rep.Changed[i].Username < rep.Changed[j].Username })
	return rep, nil
}

func readTarget(ctx context.Context, api API, pool string) (*target, error) {
	desc, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		return nil, fmt.Errorf("restore: describe target pool %s: %w", pool, err)
	}
	tg := &target{name: aws.ToString(desc.UserPool.Name), writable: map[string]bool{}, mutable: map[string]bool{}, maxLen: map[string]int{}, providers: map[string]bool{},
		users: map[string]bool{}, groups: map[string]types.GroupType{}, caseSensitive: true, planned: map[string]string{}}
	for _, sa := range desc.UserPool.SchemaAttributes {
		name := aws.ToString(sa.Name)
		if name == "sub" || name == "identities" {
			continue
		}
		tg.writable[name] = true
		tg.mutable[name] = aws.ToBool(sa.Mutable)
		if sa.AttributeDataType == types.AttributeDataTypeString {
			// Standard string attributes hold up to 2,048 characters unless
			// the schema says less.
			tg.maxLen[name] = 2048
			if c := sa.StringAttributeConstraints; c != nil && c.MaxLength != nil {
				if n, err := strconv.Atoi(*c.MaxLength); err == nil {
					tg.maxLen[name] = n
				}
			}
		}
	}
	for _, ua := range desc.UserPool.UsernameAttributes {
		tg.usernameAttrs = append(tg.usernameAttrs, string(ua))
	}
	if uc := desc.UserPool.UsernameConfiguration; uc != nil && uc.CaseSensitive != nil {
		tg.caseSensitive = *uc.CaseSensitive
	}
	in := &cip.ListIdentityProvidersInput{UserPoolId: &pool, MaxResults: aws.Int32(60)}
	for {
		out, err := api.ListIdentityProviders(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("restore: list identity providers of %s: %w", pool, err)
		}
		for _, p := range out.Providers {
			tg.providers[aws.ToString(p.ProviderName)] = true
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for g, err := range cognito.Groups(ctx, api, pool) {
		if err != nil {
			return nil, err
		}
		tg.groups[aws.ToString(g.GroupName)] = g
	}
	for u, err := range cognito.ShardedUsers(ctx, api, pool, cognito.SubShards(), 16) {
		if err != nil {
			return nil, err
		}
		name := aws.ToString(u.Username)
		if !tg.caseSensitive {
			name = strings.ToLower(name)
		}
		tg.users[name] = true
	}
	return tg, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// randomPassword returns a password no one will ever know: it exists only to
// move a user to CONFIRMED, from which "forgot password" works. It satisfies
// any Cognito password policy (length ≤ 99, all character classes).
func randomPassword(r io.Reader) (string, error) {
	b := make([]byte, 30)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b) + "aA1!", nil
}

// restoreUsers restores users through the admin API: every planned user, or
// with only set, just those (already planned by the import path).
func restoreUsers(ctx context.Context, api API, rp *repo.Repo, m *snapshot.Manifest, tg *target, st *state, opts Options, rep *Report, stats *Stats, only map[string]string) error {
	return fanOut(ctx, opts.Workers, rp.Users(ctx, m), func(u snapshot.User) bool {
		if only != nil {
			_, ok := only[u.Username]
			return ok
		}
		if opts.Users != nil && !opts.Users[u.Username] {
			return false
		}
		if !plan(u, tg, st, opts, ViaAdmin, rep, &rep.mu) || opts.DryRun {
			stats.Users.Add(1)
			return false
		}
		return true
	}, func(ctx context.Context, u snapshot.User) error {
		if err := restoreUser(ctx, api, tg, st, opts, u, rep, &rep.mu); err != nil {
			return err
		}
		stats.Users.Add(1)
		return nil
	})
}

// finishImported does for imported users what an import file cannot: it
// records their new subs, disables the disabled, sets MFA preferences and
// links federated identities; then it restores through the admin API the
// users the import path could not carry.
func finishImported(ctx context.Context, api API, rp *repo.Repo, m *snapshot.Manifest, tg *target, st *state, opts Options, admin map[string]string, present map[string]listed, rep *Report, stats *Stats) error {
	err := fanOut(ctx, opts.Workers, rp.Users(ctx, m), func(u snapshot.User) bool {
		_, viaAdmin := admin[u.Username]
		return !viaAdmin && st.ours(u.Username) && !st.isDone(u.Username)
	}, func(ctx context.Context, u snapshot.User) error {
		// The listing taken after the jobs has each imported user's new sub
		// and status: no per-user read.
		got, ok := present[u.Username]
		if !ok {
			g, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &opts.Target, Username: aws.String(u.Username)})
			if err != nil {
				return fmt.Errorf("restore: read imported user %q in %s: %w", u.Username, opts.Target, err)
			}
			got.sub, _ = cognito.Attr(g.UserAttributes, "sub")
			got.status = string(g.UserStatus)
		}
		if err := st.record(stateRecord{Event: "created", Username: u.Username, OldSub: u.Sub, NewSub: got.sub}); err != nil {
			return err
		}
		if u.Status != got.status {
			rep.mu.Lock()
			rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "status",
				Reason: u.Status + " imported as " + got.status + ": imported users choose a new password at their next sign-in"})
			rep.mu.Unlock()
		}
		if err := afterCreate(ctx, api, tg, opts, u, false, rep, &rep.mu); err != nil {
			return err
		}
		stats.Users.Add(1)
		return st.record(stateRecord{Event: "done", Username: u.Username})
	})
	if err != nil {
		return err
	}
	for name, why := range admin {
		if why != "exists in the target or resumed" {
			rep.Changed = append(rep.Changed, Item{Username: name, What: "path", Reason: "restored through the admin API: " + why})
		}
	}
	return restoreUsers(ctx, api, rp, m, tg, st, opts, rep, stats, admin)
}

// fanOut streams the records of a snapshot and hands those keep accepts to
// workers goroutines running do; the first error stops everything. keep runs
// on the reading goroutine, in snapshot order.
func fanOut[T any](ctx context.Context, workers int, records iter.Seq2[T, error], keep func(T) bool, do func(context.Context, T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan T)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range jobs {
				if err := do(ctx, v); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	var readErr error
	for v, err := range records {
		if err != nil {
			readErr = err
			break
		}
		if !keep(v) {
			continue
		}
		select {
		case jobs <- v:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return readErr
}

// plan classifies one user and records it in the report; it returns whether
// the user needs work. What cannot be restored exactly is decided here from
// the snapshot and the target alone, so every run reports it the same way,
// including for users an earlier run finished.
func plan(u snapshot.User, tg *target, st *state, opts Options, via string, rep *Report, mu *sync.Mutex) bool {
	mu.Lock()
	defer mu.Unlock()
	if u.Status == "EXTERNAL_PROVIDER" {
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: "federated-only user: it is created again on its next sign-in through " + providerOf(u)})
		return false
	}
	if len(tg.usernameAttrs) > 0 {
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: "the target signs in with " + strings.Join(tg.usernameAttrs, "/") + " as username; restore into such pools is not supported yet"})
		return false
	}
	key := u.Username
	if !tg.caseSensitive {
		key = strings.ToLower(key)
	}
	if first, dup := tg.planned[key]; dup {
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: "the target's usernames are case-insensitive and " + first + " already takes this name"})
		return false
	}
	for _, a := range u.Attributes {
		if max, ok := tg.maxLen[a.Name]; ok {
			if n := utf8.RuneCountInString(a.Value); n > max {
				rep.notRestored(Item{Username: u.Username, What: "attribute " + a.Name, Reason: fmt.Sprintf("holds %d characters; the target pool allows %d, so the user was not restored (change the target's schema or the value in the source)", n, max)})
				return false
			}
		}
	}
	tg.planned[key] = u.Username
	ours := st != nil && st.ours(u.Username)
	exists := tg.has(u.Username) && !ours
	switch {
	case st != nil && st.isDone(u.Username):
		rep.UsersSkip++
		inherentNotes(u, tg, true, via, rep)
		return false
	case ours:
		rep.UsersResumed++
	case !exists:
		rep.UsersCreate++
	case opts.OnExisting == OnExistingSkip:
		rep.UsersSkip++
		return false
	case opts.OnExisting == OnExistingUpdate:
		rep.UsersUpdate++
	case opts.OnExisting == OnExistingFail:
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: "exists in the target (--on-existing fail)"})
		return true // apply stops on it
	}
	inherentNotes(u, tg, !exists, via, rep)
	return true
}

// inherentNotes lists what restoring u into tg cannot carry exactly. created
// says whether the restore creates the user (rather than updating one).
func inherentNotes(u snapshot.User, tg *target, created bool, via string, rep *Report) {
	_, dropped := writable(u, tg, created)
	for _, a := range dropped {
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "attribute " + a, Reason: "not writable in the target pool's schema"})
	}
	// The import path reports the status each imported user ended up with;
	// users it hands to the admin path get this note there.
	if created && via == ViaAdmin {
		adminStatusNote(u, rep)
	}
	if u.MFA != nil && slices.Contains(u.MFA.UserMFASettingList, "SOFTWARE_TOKEN_MFA") {
		rep.NotRestored = append(rep.NotRestored, Item{Username: u.Username, What: "TOTP MFA", Reason: "authenticator-app secrets cannot be read from Cognito; the user sets up the app again"})
	}
	for _, id := range u.Identities {
		if !tg.providers[id.ProviderName] {
			rep.NotRestored = append(rep.NotRestored, Item{Username: u.Username, What: "link to " + id.ProviderName, Reason: "the target pool has no identity provider " + id.ProviderName})
		}
	}
}

// adminStatusNote says what status a user created through the admin API
// ends up with, when it is not the one it had.
func adminStatusNote(u snapshot.User, rep *Report) {
	switch u.Status {
	case "CONFIRMED":
	case "FORCE_CHANGE_PASSWORD":
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "status", Reason: "FORCE_CHANGE_PASSWORD as before; send a new invitation (AdminCreateUser MessageAction=RESEND) when ready"})
	default:
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "status", Reason: u.Status + " restored as CONFIRMED: the admin API cannot create that state; the user resets the password like everyone else"})
	}
}

func providerOf(u snapshot.User) string {
	if len(u.Identities) > 0 {
		return u.Identities[0].ProviderName
	}
	return "its identity provider"
}

// restoreMemberships adds users to groups with opts.Workers calls in flight:
// AdminAddUserToGroup is idempotent, so a resumed run simply adds again.
func restoreMemberships(ctx context.Context, api API, rp *repo.Repo, m *snapshot.Manifest, opts Options, rep *Report, stats *Stats) error {
	var mu sync.Mutex // guards rep
	return fanOut(ctx, opts.Workers, rp.Memberships(ctx, m), func(mm snapshot.Membership) bool {
		if opts.Users != nil && !opts.Users[mm.Username] {
			return false
		}
		mu.Lock()
		rep.MembershipsAdd++
		mu.Unlock()
		return !opts.DryRun
	}, func(ctx context.Context, mm snapshot.Membership) error {
		_, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &opts.Target, GroupName: aws.String(mm.Group), Username: aws.String(mm.Username)})
		switch {
		case cognito.IsUserNotFound(err):
			mu.Lock()
			rep.MembershipsAdd--
			rep.notRestored(Item{Username: mm.Username, Group: mm.Group, What: "membership", Reason: "the user is not in the target pool (not restored)"})
			mu.Unlock()
		case err != nil:
			return fmt.Errorf("restore: add %q to group %q in %s: %w", mm.Username, mm.Group, opts.Target, err)
		default:
			stats.Memberships.Add(1)
		}
		return nil
	})
}
