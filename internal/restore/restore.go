package restore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/quota"
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
	// Users limits the restore to these users, named by snapshot username or
	// by the email or phone number they sign in with (nil: all).
	Users map[string]bool
	// DropAttributes are attributes the target's schema lacks that the
	// restore may leave out; any other such attribute refuses the restore.
	DropAttributes map[string]bool
	// SubAttribute stores each user's old sub in this custom attribute.
	SubAttribute string
	// ExistsHint is the advice for a user that appeared in the target
	// while the restore ran (the callers differ: restore has
	// --on-existing, migrate finish does not); "" is restore's own.
	ExistsHint string
	// AllowTriggers lets a restore write users into a pool with Lambda
	// triggers it fires or that act on restored users (triggers.go).
	AllowTriggers bool
	DryRun        bool
	// StatePath is the state file that makes the restore resumable.
	StatePath string
	// Workers bounds users restored concurrently (default 16); pacing is the
	// client's job.
	Workers int
	// Stop, when set, is asked before each user and membership is handed to
	// a worker (admin path), and before each import file and between polls
	// of a running import job (import path). Once it says true the restore
	// lets the ones in flight finish, records how far it got in the state
	// file (a running job by its id) and returns ErrStopped: the next run
	// with the same state file continues. Each run hands out at least one
	// item (or file) before it stops, so steps always progress.
	Stop func() bool
	Rand io.Reader
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
	Snapshot       string `json:"snapshot"`
	Target         string `json:"target"`
	DryRun         bool   `json:"dryRun"`
	GroupsCreate   int    `json:"groupsCreate"`
	GroupsExisting int    `json:"groupsExisting"`
	UsersCreate    int    `json:"usersCreate"`
	UsersUpdate    int    `json:"usersUpdate"`
	UsersSkip      int    `json:"usersSkip"`
	UsersResumed   int    `json:"usersResumed"`
	MembershipsAdd int    `json:"membershipsAdd"`
	// MembershipsSkipped are memberships of users this restore did not
	// create or update (skipped, or not restored): they get no group.
	MembershipsSkipped int         `json:"membershipsSkipped"`
	LinksRestored      int         `json:"linksRestored"`
	NotRestored        []Item      `json:"notRestored"`
	Changed            []Item      `json:"changed"` // restored, but not exactly
	SubMappings        int         `json:"subMappings"`
	UsersImported      int         `json:"usersImported,omitempty"`
	ImportJobs         []ImportJob `json:"importJobs,omitempty"`
	// Triggers are the target's Lambda triggers and what the restore does
	// with each.
	Triggers []Trigger    `json:"triggers"`
	Stats    *Stats       `json:"-"`
	Mappings []SubMapping `json:"-"`

	// GroupsMinSeconds is the least time creating GroupsCreate groups takes
	// (CreateGroup: 5 requests a second per pool, the quota table's cap).
	GroupsMinSeconds float64 `json:"groupsMinSeconds,omitempty"`

	mu sync.Mutex // guards the report while workers fill it
}

// ImportJob is the outcome of one user import job.
type ImportJob struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	Users    int    `json:"users"`
	Imported int64  `json:"imported"`
	Skipped  int64  `json:"skipped"`
	Failed   int64  `json:"failed"`
}

// SubMapping pairs a user's old sub and username with the ones the target
// assigned.
type SubMapping struct {
	OldSub      string `json:"oldSub"`
	NewSub      string `json:"newSub"`
	Username    string `json:"username"`
	NewUsername string `json:"newUsername"`
}

// Stats counts progress while a restore runs.
type Stats struct {
	Users       atomic.Int64
	UsersTotal  atomic.Int64
	Memberships atomic.Int64
}

// ErrExisting is returned with --on-existing fail when a user exists.
var ErrExisting = errors.New("user already exists in the target")

// ErrStopped is returned when Options.Stop ended a run before the restore
// was finished; the state file holds its progress.
var ErrStopped = errors.New("restore stopped before it finished (resume it with the same state)")

// ErrRefused is returned when the restore would lose data or could not
// give users a way to sign in; it is returned before the first write.
var ErrRefused = errors.New("refused")

func (r *Report) notRestored(it Item) { r.NotRestored = append(r.NotRestored, it) }

func (r *Report) locked(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

func checkOptions(opts *Options) error {
	if opts.Target == "" {
		return errors.New("restore: no target pool given")
	}
	if opts.OnExisting == "" {
		opts.OnExisting = OnExistingSkip
	}
	switch opts.OnExisting {
	case OnExistingSkip, OnExistingUpdate, OnExistingFail:
	default:
		return fmt.Errorf("restore: --on-existing %q: want skip, update or fail", opts.OnExisting)
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	switch opts.Via {
	case "":
		opts.Via = ViaAdmin
	case ViaAdmin, ViaImport:
	default:
		return fmt.Errorf("restore: --via %q: want admin or import", opts.Via)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.DryRun {
		// A dry run writes nothing to resume: it never stops half-way.
		opts.Stop = nil
	}
	if !opts.DryRun && opts.StatePath == "" {
		return errors.New("restore: no state file path")
	}
	return nil
}

// run is one restore: its inputs and what the plan decided.
type run struct {
	api   API
	rp    *repo.Repo
	m     *snapshot.Manifest
	tg    *target
	st    *state
	opts  Options
	rep   *Report
	stats *Stats
	plan  *planner
	// adminWhy says why an import restore sends a user through the admin
	// API; set before the admin path runs, read-only after.
	adminWhy map[string]string
}

// Run restores snapshot m of repository rp into opts.Target. Everything that
// can refuse the restore is checked before the first write.
func Run(ctx context.Context, api API, rp *repo.Repo, m *snapshot.Manifest, opts Options, stats *Stats) (*Report, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	if stats == nil {
		stats = &Stats{}
	}
	r := &run{api: api, rp: rp, m: m, opts: opts, stats: stats, rep: &Report{Snapshot: m.ID, Target: opts.Target, DryRun: opts.DryRun, Stats: stats}}
	cfg, err := r.prepare(ctx)
	if err != nil {
		return nil, err
	}
	if r.st != nil {
		defer r.st.close()
	}
	if err := r.apply(ctx, cfg); err != nil {
		return r.rep, err
	}
	r.finishReport()
	return r.rep, nil
}

// prepare reads the target and the whole snapshot and makes the plan.
func (r *run) prepare(ctx context.Context) (*snapshot.PoolConfig, error) {
	opts := r.opts
	tg, err := readTarget(ctx, r.api, opts.Target)
	if err != nil {
		return nil, err
	}
	r.tg = tg
	r.rep.Triggers = append([]Trigger{}, tg.triggers...)
	if err := checkTriggers(tg.triggers, opts, r.want("users")); err != nil {
		return nil, err
	}
	if opts.SubAttribute != "" && !tg.writable[opts.SubAttribute] {
		return nil, fmt.Errorf("restore: --sub-attribute %s: the target pool %s has no such writable custom attribute; add it to the pool (String, mutable, 36+ characters) or drop the flag", opts.SubAttribute, opts.Target)
	}
	cfg, err := r.rp.Pool(ctx, r.m)
	if err != nil {
		return nil, err
	}
	// Read the whole snapshot once before the first write: a damaged object
	// found half-way would leave the target half-restored.
	v, err := r.rp.Verify(ctx, r.m)
	if err != nil {
		return nil, fmt.Errorf("restore: check snapshot %s: %w", r.m.ID, err)
	}
	if !v.OK() {
		return nil, fmt.Errorf("restore: %w: snapshot %s is damaged, nothing was written to %s: %s; restore another snapshot (see 'cogvault snapshots') or run 'cogvault backup' again",
			snapshot.ErrDamaged, r.m.ID, opts.Target, strings.Join(v.Problems, "; "))
	}
	src := sourceSignIn(cfg)
	if r.want("users") {
		if err := checkSignIn(src, tg, opts.Target); err != nil {
			return nil, err
		}
	}
	if !opts.DryRun {
		if r.st, err = openState(opts.StatePath, opts.Target, r.m.ID); err != nil {
			return nil, err
		}
	}
	if r.plan, err = makePlan(ctx, r.rp, r.m, tg, r.st, opts, src, r.rep, r.want("users")); err != nil {
		if r.st != nil {
			r.st.discard()
		}
		return nil, err
	}
	return cfg, nil
}

func (r *run) want(part string) bool { return len(r.opts.Only) == 0 || r.opts.Only[part] }

func (r *run) apply(ctx context.Context, cfg *snapshot.PoolConfig) error {
	if r.st != nil {
		if err := r.st.begin(r.opts.Target, r.m.ID); err != nil {
			return err
		}
	}
	// Groups first: memberships need them.
	if r.want("groups") || r.want("memberships") {
		if err := r.restoreGroups(ctx, cfg.Groups); err != nil {
			return err
		}
	}
	if r.want("users") {
		r.stats.UsersTotal.Store(int64(r.plan.work()))
		if err := r.restoreAllUsers(ctx); err != nil {
			return err
		}
	}
	if r.want("memberships") {
		return r.restoreMemberships(ctx)
	}
	return nil
}

func (r *run) restoreGroups(ctx context.Context, groups []snapshot.Group) error {
	defer func() { r.rep.GroupsMinSeconds, _ = quota.MinSeconds("CreateGroup", r.rep.GroupsCreate) }()
	for _, g := range groups {
		if _, ok := r.tg.groups[g.Name]; ok {
			r.rep.GroupsExisting++
			continue
		}
		r.rep.GroupsCreate++
		if r.opts.DryRun || !r.want("groups") {
			continue
		}
		_, err := r.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &r.opts.Target, GroupName: aws.String(g.Name),
			Description: nonEmpty(g.Description), RoleArn: nonEmpty(g.RoleArn), Precedence: g.Precedence})
		if err != nil && !cognito.IsGroupExists(err) {
			return fmt.Errorf("restore: create group %q in %s: %w", g.Name, r.opts.Target, err)
		}
	}
	return nil
}

func (r *run) restoreAllUsers(ctx context.Context) error {
	if r.opts.DryRun {
		r.stats.Users.Store(int64(r.plan.work()))
		return nil
	}
	if r.opts.Via != ViaImport {
		return r.restoreUsers(ctx, nil)
	}
	iapi, ok := r.api.(ImportAPI)
	if !ok {
		return errors.New("restore: this client cannot run user import jobs")
	}
	admin, imported, err := r.importUsers(ctx, iapi)
	if err != nil {
		return err
	}
	return r.finishImported(ctx, admin, imported)
}

func (r *run) finishReport() {
	rep := r.rep
	if r.st != nil {
		for _, s := range r.st.mappings() {
			nu := s.NewName
			if nu == "" {
				nu = s.Username
			}
			rep.Mappings = append(rep.Mappings, SubMapping{OldSub: s.OldSub, NewSub: s.NewSub, Username: s.Username, NewUsername: nu})
			if s.Via == ViaImport {
				// Counted from the state: the users of every run (step)
				// of this restore, as the mappings are.
				rep.UsersImported++
			}
		}
		sort.Slice(rep.Mappings, func(i, j int) bool { return rep.Mappings[i].Username < rep.Mappings[j].Username })
		rep.SubMappings = len(rep.Mappings)
	}
	// Lists are [] in JSON, never null: scripts iterate them.
	rep.NotRestored = append([]Item{}, sortedItems(rep.NotRestored)...)
	rep.Changed = append([]Item{}, sortedItems(rep.Changed)...)
}

// sortedItems orders items by username and drops exact repeats: a note may
// be known both to the plan (from the state file) and to the path that
// restores the user.
func sortedItems(items []Item) []Item {
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.Username, b.Username), cmp.Compare(a.What, b.What), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Reason, b.Reason))
	})
	return slices.Compact(items)
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

// fanOut streams the records of a snapshot and hands those keep accepts to
// workers goroutines running do; the first error stops everything. keep runs
// on the reading goroutine, in snapshot order. stop (nil: never) is asked
// before each record once one was handed out; when it says true, fanOut
// waits for the records in flight and returns ErrStopped.
func fanOut[T any](ctx context.Context, workers int, records iter.Seq2[T, error], keep func(T) bool, do func(context.Context, T) error, stop func() bool) error {
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
	handed := 0
	for v, err := range records {
		if err != nil {
			readErr = err
			break
		}
		if stop != nil && handed > 0 && stop() {
			readErr = ErrStopped
			break
		}
		if !keep(v) {
			continue
		}
		handed++
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
