package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/uuid"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// API is what a backup calls: the read-only Cognito operations, each a
// one-method interface so that any client (real, paced, or the fake) fits.
type API interface {
	cognito.UserLister
	cognito.GroupLister
	cognito.GroupMemberLister
	PoolDescriber
	ClientLister
	ClientDescriber
	ProviderLister
	ProviderDescriber
	ResourceServerLister
	DomainDescriber
	MFAConfigGetter
	UICustomizationGetter
	UserGetter
}

// PoolDescriber reads the pool's settings.
type PoolDescriber interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
}

// ClientLister lists app clients.
type ClientLister interface {
	ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)
}

// ClientDescriber reads one app client.
type ClientDescriber interface {
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
}

// ProviderLister lists identity providers.
type ProviderLister interface {
	ListIdentityProviders(ctx context.Context, in *cip.ListIdentityProvidersInput, optFns ...func(*cip.Options)) (*cip.ListIdentityProvidersOutput, error)
}

// ProviderDescriber reads one identity provider.
type ProviderDescriber interface {
	DescribeIdentityProvider(ctx context.Context, in *cip.DescribeIdentityProviderInput, optFns ...func(*cip.Options)) (*cip.DescribeIdentityProviderOutput, error)
}

// UserGetter reads one user (for MFA settings, which ListUsers omits).
type UserGetter interface {
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
}

// Store is where the snapshot goes: create-once writes of whole objects.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) error
}

// Deleter removes objects; a store that has it lets an interrupted backup
// clean up its data objects at once instead of leaving them to prune.
type Deleter interface {
	Delete(ctx context.Context, key string) error
}

// Options says what to back up.
type Options struct {
	PoolID  string
	Region  string
	Account string
	// Filters split the user listing into independent token chains; default
	// cognito.SubShards(). []string{""} is the single-chain fallback.
	Filters []string
	// Workers bounds the token chains in flight (default 16). Pacing is the
	// client's job; more workers than chains is pointless.
	Workers int
	// MFA also reads each user's MFA settings with AdminGetUser (UserRead
	// quota: one call per user).
	MFA bool
	// IncludeSecrets keeps app client secrets and identity provider secrets
	// in the snapshot (the CLI allows it only into an encrypted repository),
	// so a recreated pool can keep them.
	IncludeSecrets bool
	// ChunkRecords per data object (default: the snapshot package's).
	ChunkRecords int
	ToolVersion  string
	Now          func() time.Time
	Rand         io.Reader
	// Warn receives what the backup wants a person to know but that does not
	// stop it (a refused shard filter, a refused optional read). The message
	// names operations and counts, never attribute values. nil discards.
	Warn func(msg string)
	// Stop, when set, is asked before each list page: true ends the run at
	// a page boundary, every chunk closed, with ErrStopped and the Progress
	// the next step continues from (RunStep, steps.go).
	Stop func() bool
	// Cut, when set, abandons list calls still in flight then (waiting out
	// throttling), as a stop would end them, so that the step's objects are
	// closed before its caller's deadline.
	Cut time.Time
	// Resume continues the backup an earlier step stopped; Reread reads
	// back the memberships earlier steps wrote (needed with Resume).
	Resume *Progress
	Reread Rereader
	// SubLists keeps the subs each stopped step wrote (needed with Stop or
	// Resume).
	SubLists SubLists
}

// Stats counts progress; every field is safe to read while Run works.
type Stats struct {
	UsersEstimate atomic.Int64 // DescribeUserPool's EstimatedNumberOfUsers
	Users         atomic.Int64
	Groups        atomic.Int64
	Memberships   atomic.Int64
	Duplicates    atomic.Int64 // users a pass of a chain returned more than once, dropped
	Chains        atomic.Int64 // token chains finished
	Pages         atomic.Int64 // list pages read (by this step)
}

// ErrInterrupted wraps the cause when a backup stops before its manifest is
// written, by failure or cancellation: the caller knows which, and says
// "failed" or "interrupted".
var ErrInterrupted = errors.New("no snapshot was written")

// Run backs up the pool into store and returns the manifest it wrote.
func Run(ctx context.Context, api API, store Store, opts Options, stats *Stats) (*snapshot.Manifest, error) {
	m, _, err := RunStep(ctx, api, store, opts, stats)
	return m, err
}

// RunStep is Run for a backup in steps: when Options.Stop ends it, it
// returns ErrStopped and the progress to give the next step as
// Options.Resume; the last step returns the manifest.
func RunStep(ctx context.Context, api API, store Store, opts Options, stats *Stats) (*snapshot.Manifest, *Progress, error) {
	if opts.PoolID == "" {
		return nil, nil, errors.New("backup: no pool id given")
	}
	if stats == nil {
		stats = &Stats{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Filters == nil {
		opts.Filters = cognito.SubShards()
	}
	// A chain's progress is kept by its filter: the same filter twice would
	// be two chains sharing one position (and list nothing new).
	opts.Filters = distinct(opts.Filters)
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.Warn == nil {
		opts.Warn = func(string) {}
	}
	prog, err := newProgress(opts)
	if err != nil {
		return nil, nil, err
	}
	b := &run{api: api, store: store, opts: opts, stats: stats, id: prog.Snapshot, seen: newSubSet(), prog: prog}
	m, err := b.run(ctx, prog.Start)
	if errors.Is(err, ErrStopped) {
		return nil, prog, err
	}
	if err != nil {
		b.cleanup()
		return nil, nil, fmt.Errorf("%w: snapshot %s of %s: %w", ErrInterrupted, b.id, opts.PoolID, err)
	}
	return m, nil, nil
}

// newProgress is the progress this run starts from: the resumed one, one
// step on, or a new snapshot's.
func newProgress(opts Options) (*Progress, error) {
	if p := opts.Resume; p != nil {
		if err := p.check(opts.PoolID); err != nil {
			return nil, err
		}
		if opts.Reread == nil || opts.SubLists == nil {
			return nil, errors.New("backup: resuming needs Options.Reread and Options.SubLists")
		}
		p.Steps++
		return p, nil
	}
	if opts.Stop != nil && opts.SubLists == nil {
		return nil, errors.New("backup: a backup that may stop needs Options.SubLists")
	}
	start := opts.Now().UTC()
	id, err := snapshot.NewID(start, opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("backup: new snapshot id: %w", err)
	}
	return &Progress{Version: progressVersion, PoolID: opts.PoolID, Snapshot: id, Start: start, Steps: 1,
		Chains: map[string]*Chain{}, Members: map[string]*Chain{}}, nil
}

type run struct {
	api   API
	store Store
	opts  Options
	stats *Stats
	id    string

	mu      sync.Mutex
	written []string // data keys stored, for cleanup on failure

	seen  *subSet    // subs this step wrote, across every chain
	prior *priorSubs // subs earlier steps wrote (nil in a first step)
	// before is the progress's position when this step began.
	before int64

	derived *snapshot.Derivation // WriteSnapshot of a derived state

	manifestTried bool // commit sent the manifest (guarded by mu)

	gaps      []snapshot.Gap // what could not be read (guarded by mu)
	unsharded sync.Once      // the single-chain fallback, run at most once
	fellBack  atomic.Bool    // a shard filter was refused: shards are moot

	members memberCache // members earlier steps wrote, read back once

	prog    *Progress   // where the backup stands; chains guarded by mu
	stopped atomic.Bool // Options.Stop ended this step
}

func (b *run) run(ctx context.Context, start time.Time) (*snapshot.Manifest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The chunk streams, sub list and manifest are written under wctx: a
	// step's (Options.Cut set) outlives the invocation's deadline, as a cut
	// step closes what it wrote after the cut, when little time may be
	// left; only a cancellation ends it.
	wctx, wcancel := stepWriteContext(ctx, b.opts.Cut)
	defer wcancel()
	poolObj, err := b.begin(ctx)
	if err != nil {
		return nil, err
	}
	users, err := b.newWriter(wctx, snapshot.KindUsers)
	if err != nil {
		return nil, err
	}
	members, err := b.newWriter(wctx, snapshot.KindMembers)
	if err != nil {
		return nil, err
	}
	// List calls run under lctx, which Options.Cut ends; the chunk streams
	// under wctx, so that a cut step still closes what it wrote.
	lctx, lcancel := ctx, context.CancelFunc(func() {})
	if !b.opts.Cut.IsZero() {
		lctx, lcancel = context.WithDeadlineCause(ctx, b.opts.Cut, errCut)
	}
	defer lcancel()
	failed := b.listAll(lctx, cancel, users, members)
	if failed == nil && interrupted(ctx, b.opts.Cut) {
		failed = ctx.Err() // cancelled by the caller: a failure, not a stop
	}
	if failed == nil && b.unfinished() {
		failed = ErrStopped
	}
	if failed != nil && !errors.Is(failed, ErrStopped) {
		// Abandon the chunks in progress: they must never be stored.
		users.abort(failed)
		members.abort(failed)
		return nil, failed
	}
	userObjs, uerr := users.close()
	memberObjs, merr := members.close()
	if err := errors.Join(uerr, merr); err != nil {
		return nil, err
	}
	if failed != nil {
		list, err := b.putSubList(wctx)
		if err != nil {
			return nil, err
		}
		b.stepOver(list, poolObj, userObjs, memberObjs)
		return nil, ErrStopped
	}
	objs := append(slices.Clone(b.prog.Objects), poolObj...)
	return b.commit(wctx, start, b.prog.PoolName, int64(len(b.prog.Members)), objs, userObjs, memberObjs)
}

// stepFinishTime is how long a cut step may take to store what it wrote
// after the invocation's deadline would have ended ctx (a Lambda
// invocation cannot outlive its deadline in any case).
const stepFinishTime = 30 * time.Second

// stepWriteContext is ctx for a run without a cut; for a step, a context
// that ignores ctx's deadline but not its cancellation, for stepFinishTime
// past it.
func stepWriteContext(ctx context.Context, cut time.Time) (context.Context, context.CancelFunc) {
	if cut.IsZero() {
		return ctx, func() {}
	}
	end := cut
	if now := time.Now(); end.Before(now) {
		end = now
	}
	wctx, wcancel := context.WithDeadline(context.WithoutCancel(ctx), end.Add(stepFinishTime))
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			wcancel()
		}
	})
	return wctx, func() { stop(); wcancel() }
}

// interrupted says whether ctx ended a run as a failure: any end of it for
// a run without a cut; only a cancellation for a step, whose deadline
// passing after its cut is its time being up (a stop).
func interrupted(ctx context.Context, cut time.Time) bool {
	if cut.IsZero() {
		return ctx.Err() != nil
	}
	return ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// begin reads and writes the pool configuration in a backup's first step
// and notes its groups; a resumed step takes up the earlier ones' progress
// instead.
func (b *run) begin(ctx context.Context) ([]snapshot.ObjectInfo, error) {
	if b.opts.Resume != nil {
		return nil, b.resume(ctx)
	}
	poolCfg, poolName, err := b.poolConfig(ctx)
	if err != nil {
		return nil, err
	}
	poolObj, err := b.writePool(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("write pool configuration: %w", err)
	}
	b.prog.PoolName = poolName
	for _, g := range poolCfg.Groups {
		b.prog.Members[g.Name] = &Chain{}
	}
	for _, f := range b.opts.Filters {
		b.prog.Chains[f] = &Chain{}
	}
	return poolObj, nil
}

// listAll runs the membership and user chains left on the workers and
// returns the first failure (nil when every chain finished or stopped).
// A stop is not a failure: the other chains end at their next page.
func (b *run) listAll(ctx context.Context, cancel context.CancelFunc, users, members *recordWriter) error {
	var all []func() error
	for _, g := range b.groupsLeft() {
		all = append(all, func() error { return b.listMembers(ctx, g, members) })
	}
	for _, f := range b.userFilters() {
		all = append(all, func() error { return b.listUsers(ctx, f, users) })
	}
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
		cancel()
	}
	for range b.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := job(); err != nil && !b.cutShort(ctx, err) {
					fail(err)
				}
			}
		}()
	}
	// Group chains first: they are short and many, user chains long and 16,
	// so the pool of workers stays busy to the end.
	go func() {
		defer close(jobs)
		for _, job := range all {
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// cutShort says whether a chain's error is this step ending (Stop, or Cut
// abandoning a call in flight) rather than a failure.
func (b *run) cutShort(ctx context.Context, err error) bool {
	return errors.Is(err, ErrStopped) || errors.Is(context.Cause(ctx), errCut)
}

// errCut is the cause of the list context's end at Options.Cut.
var errCut = errors.New("the step's time is up")

// unfinished says whether a chain is left for another step.
func (b *run) unfinished() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.prog.Members {
		if !c.Done {
			return true
		}
	}
	if b.prog.FellBack || b.fellBack.Load() {
		c := b.prog.Chains[""]
		return c == nil || !c.Done
	}
	for _, f := range b.opts.Filters {
		if c := b.prog.Chains[f]; c == nil || !c.Done {
			return true
		}
	}
	return false
}

// commit writes the manifest, last: a snapshot exists only once it does.
func (b *run) commit(ctx context.Context, start time.Time, poolName string, groups int64, objs ...[]snapshot.ObjectInfo) (*snapshot.Manifest, error) {
	m := &snapshot.Manifest{
		FormatVersion: snapshot.FormatVersion,
		ID:            b.id,
		PoolID:        b.opts.PoolID,
		PoolName:      poolName,
		Region:        b.opts.Region,
		Account:       b.opts.Account,
		Start:         start,
		End:           b.opts.Now().UTC(),
		ToolVersion:   b.opts.ToolVersion,
		Derived:       b.derived,
	}
	if !b.opts.MFA {
		m.Omitted = append(m.Omitted, snapshot.OmitMFAPreferences)
	}
	if b.api != nil { // a snapshot read from a pool, not written from records
		b.checkEstimate(ctx)
	}
	b.mu.Lock()
	m.Incomplete = slices.Clone(b.gaps)
	b.mu.Unlock()
	m.Counts.Users = b.stats.Users.Load()
	m.Counts.Groups = groups
	m.Counts.Memberships = b.stats.Memberships.Load()
	for _, o := range objs {
		m.Objects = append(m.Objects, o...)
	}
	body, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	b.mu.Lock()
	b.manifestTried = true
	b.mu.Unlock()
	if err := b.store.Put(ctx, snapshot.ManifestKey(b.id), strings.NewReader(string(body))); err != nil {
		return b.settleManifest(ctx, err)
	}
	return m, nil
}

// poolConfig reads the pool's configuration and notes the estimate of its
// users and the account it lives in.
func (b *run) poolConfig(ctx context.Context) (*snapshot.PoolConfig, string, error) {
	cfg, up, err := readPoolConfig(ctx, b.api, b.opts.PoolID, b.opts.IncludeSecrets, b.optional)
	if err != nil {
		return nil, "", err
	}
	b.stats.UsersEstimate.Store(int64(up.EstimatedNumberOfUsers))
	b.stats.Groups.Store(int64(len(cfg.Groups)))
	if b.opts.Account == "" {
		// arn:aws:cognito-idp:<region>:<account>:userpool/<id>
		if parts := strings.Split(deref(up.Arn), ":"); len(parts) >= 6 {
			b.opts.Account = parts[4]
		}
	}
	return cfg, deref(up.Name), nil
}

// PoolConfigAPI is what reading a pool's configuration calls.
type PoolConfigAPI interface {
	PoolDescriber
	ClientLister
	ClientDescriber
	ProviderLister
	ProviderDescriber
	ResourceServerLister
	DomainDescriber
	MFAConfigGetter
	UICustomizationGetter
	cognito.GroupLister
}

// UICustomizationGetter reads the hosted UI's CSS and logo settings.
type UICustomizationGetter interface {
	GetUICustomization(ctx context.Context, in *cip.GetUICustomizationInput, optFns ...func(*cip.Options)) (*cip.GetUICustomizationOutput, error)
}

// ResourceServerLister lists resource servers and their scopes.
type ResourceServerLister interface {
	ListResourceServers(ctx context.Context, in *cip.ListResourceServersInput, optFns ...func(*cip.Options)) (*cip.ListResourceServersOutput, error)
}

// DomainDescriber reads the pool's hosted-UI domain.
type DomainDescriber interface {
	DescribeUserPoolDomain(ctx context.Context, in *cip.DescribeUserPoolDomainInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolDomainOutput, error)
}

// MFAConfigGetter reads the pool's MFA factors (DescribeUserPool has only
// the mode).
type MFAConfigGetter interface {
	GetUserPoolMfaConfig(ctx context.Context, in *cip.GetUserPoolMfaConfigInput, optFns ...func(*cip.Options)) (*cip.GetUserPoolMfaConfigOutput, error)
}

// ReadPoolConfig reads a pool's settings, app clients, identity providers and
// groups. Client and provider secrets are kept only with keepSecrets;
// otherwise only whether one exists. Any failed read is an error; a backup
// instead tolerates refused optional reads (see optionalRead).
func ReadPoolConfig(ctx context.Context, api PoolConfigAPI, poolID string, keepSecrets bool) (*snapshot.PoolConfig, *types.UserPoolType, error) {
	return readPoolConfig(ctx, api, poolID, keepSecrets, func(_ string, err error) error { return err })
}

// The optional reads: pool-configuration extras whose absence leaves the
// users, groups and memberships whole. Names as Manifest.Incomplete gives them.
const (
	GapResourceServers = "poolConfig.resourceServers"
	GapUI              = "poolConfig.ui"
	GapMFA             = "poolConfig.mfa"
	GapDomain          = "poolConfig.domain"
	GapUsers           = "users"
)

// optionalRead decides what a failed optional read (what, one of the Gap
// names) means: nil to go on without it, or the error to stop the backup.
type optionalRead func(what string, err error) error

// optional keeps the backup going when the service refused an optional read
// (IAM denies it, or the Region does not offer it): the refusal is recorded
// as a gap and warned about. Anything else (5xx, throttles that outlasted
// the retries, bad answers) still fails the backup.
func (b *run) optional(what string, err error) error {
	if !cognito.IsRefused(err) {
		return err
	}
	code := cognito.Code(err)
	b.mu.Lock()
	seen := slices.ContainsFunc(b.gaps, func(g snapshot.Gap) bool { return g.What == what })
	if !seen {
		b.gaps = append(b.gaps, snapshot.Gap{What: what, Why: code})
	}
	b.mu.Unlock()
	if seen {
		return nil
	}
	b.opts.Warn(fmt.Sprintf("%s of %s not read: the service answered %s; the snapshot keeps the users and is marked incomplete", what, b.opts.PoolID, code))
	return nil
}

func readPoolConfig(ctx context.Context, api PoolConfigAPI, poolID string, keepSecrets bool, optional optionalRead) (*snapshot.PoolConfig, *types.UserPoolType, error) {
	desc, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &poolID})
	if err != nil {
		return nil, nil, fmt.Errorf("describe user pool %s: %w", poolID, err)
	}
	r := &configReader{ctx: ctx, api: api, poolID: poolID, keepSecrets: keepSecrets, optional: optional,
		cfg: &snapshot.PoolConfig{FormatVersion: snapshot.FormatVersion}}
	if r.cfg.UserPool, err = json.Marshal(desc.UserPool); err != nil {
		return nil, nil, fmt.Errorf("encode user pool %s: %w", poolID, err)
	}
	steps := []func() error{r.clients, r.providers, r.resourceServers, r.ui, r.mfa,
		func() error { return r.domains(desc.UserPool) }, r.groups}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, nil, err
		}
	}
	return r.cfg, desc.UserPool, nil
}

// configReader reads a pool's configuration into cfg, one part per method.
type configReader struct {
	ctx         context.Context
	api         PoolConfigAPI
	poolID      string
	keepSecrets bool
	optional    optionalRead
	cfg         *snapshot.PoolConfig
}

func (r *configReader) clients() error {
	in := &cip.ListUserPoolClientsInput{UserPoolId: &r.poolID, MaxResults: ptr(int32(cognito.MaxPageSize))}
	return eachPage(func(token *string) (*string, error) {
		in.NextToken = token
		out, err := r.api.ListUserPoolClients(r.ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list app clients of %s: %w", r.poolID, err)
		}
		for _, c := range out.UserPoolClients {
			d, err := r.api.DescribeUserPoolClient(r.ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &r.poolID, ClientId: c.ClientId})
			if err != nil {
				return nil, fmt.Errorf("describe app client %s of %s: %w", deref(c.ClientId), r.poolID, err)
			}
			raw, err := redactClient(d.UserPoolClient, r.keepSecrets)
			if err != nil {
				return nil, err
			}
			r.cfg.Clients = append(r.cfg.Clients, raw)
		}
		return out.NextToken, nil
	})
}

func (r *configReader) providers() error {
	in := &cip.ListIdentityProvidersInput{UserPoolId: &r.poolID, MaxResults: ptr(int32(cognito.MaxPageSize))}
	return eachPage(func(token *string) (*string, error) {
		in.NextToken = token
		out, err := r.api.ListIdentityProviders(r.ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list identity providers of %s: %w", r.poolID, err)
		}
		for _, p := range out.Providers {
			d, err := r.api.DescribeIdentityProvider(r.ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &r.poolID, ProviderName: p.ProviderName})
			if err != nil {
				return nil, fmt.Errorf("describe identity provider %s of %s: %w", deref(p.ProviderName), r.poolID, err)
			}
			raw, err := redactProvider(d.IdentityProvider, r.keepSecrets)
			if err != nil {
				return nil, err
			}
			r.cfg.IdentityProviders = append(r.cfg.IdentityProviders, raw)
		}
		return out.NextToken, nil
	})
}

func (r *configReader) resourceServers() error {
	// ListResourceServers takes at most 50 per page.
	in := &cip.ListResourceServersInput{UserPoolId: &r.poolID, MaxResults: ptr(int32(50))}
	err := eachPage(func(token *string) (*string, error) {
		in.NextToken = token
		out, err := r.api.ListResourceServers(r.ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list resource servers of %s: %w", r.poolID, err)
		}
		for _, rs := range out.ResourceServers {
			raw, err := json.Marshal(rs)
			if err != nil {
				return nil, err
			}
			r.cfg.ResourceServers = append(r.cfg.ResourceServers, raw)
		}
		return out.NextToken, nil
	})
	if err != nil {
		if err = r.optional(GapResourceServers, err); err != nil {
			return err
		}
		r.cfg.ResourceServers = nil
	}
	return nil
}

// ui reads the pool's UI customization, then each client's own (a client
// without one is answered with the pool's, ClientId "ALL").
func (r *configReader) ui() error {
	clientIDs := []*string{nil}
	for _, raw := range r.cfg.Clients {
		var c struct{ ClientId *string }
		if json.Unmarshal(raw, &c) == nil && c.ClientId != nil {
			clientIDs = append(clientIDs, c.ClientId)
		}
	}
	for _, id := range clientIDs {
		ui, err := r.api.GetUICustomization(r.ctx, &cip.GetUICustomizationInput{UserPoolId: &r.poolID, ClientId: id})
		if err != nil {
			if err = r.optional(GapUI, err); err != nil {
				return fmt.Errorf("read UI customization of %s: %w", r.poolID, err)
			}
			r.cfg.UI = nil // one refusal stands for every client's
			return nil
		}
		u := ui.UICustomization
		own := id == nil || deref(u.ClientId) == deref(id)
		if u == nil || !own || (deref(u.CSS) == "" && deref(u.ImageUrl) == "") {
			continue
		}
		raw, err := json.Marshal(u)
		if err != nil {
			return err
		}
		r.cfg.UI = append(r.cfg.UI, raw)
	}
	return nil
}

func (r *configReader) mfa() error {
	mfa, err := r.api.GetUserPoolMfaConfig(r.ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: &r.poolID})
	if err != nil {
		if err = r.optional(GapMFA, err); err != nil {
			return fmt.Errorf("read MFA configuration of %s: %w", r.poolID, err)
		}
		return nil
	}
	r.cfg.MFA, err = json.Marshal(mfaConfig{mfa.MfaConfiguration, mfa.SmsMfaConfiguration, mfa.SoftwareTokenMfaConfiguration, mfa.EmailMfaConfiguration, mfa.WebAuthnConfiguration})
	return err
}

func (r *configReader) domains(up *types.UserPoolType) error {
	for _, domain := range []*string{up.Domain, up.CustomDomain} {
		if deref(domain) == "" {
			continue
		}
		d, err := r.api.DescribeUserPoolDomain(r.ctx, &cip.DescribeUserPoolDomainInput{Domain: domain})
		if err != nil {
			if err = r.optional(GapDomain, err); err != nil {
				return fmt.Errorf("describe domain %s of %s: %w", *domain, r.poolID, err)
			}
			continue
		}
		if r.cfg.Domain, err = json.Marshal(d.DomainDescription); err != nil {
			return err
		}
	}
	return nil
}

func (r *configReader) groups() error {
	for g, err := range cognito.Groups(r.ctx, r.api, r.poolID) {
		if err != nil {
			return err
		}
		r.cfg.Groups = append(r.cfg.Groups, GroupRecord(g))
	}
	return nil
}

// eachPage calls page with each NextToken, starting with none, until the
// service returns none.
func eachPage(page func(token *string) (next *string, err error)) error {
	var token *string
	for {
		next, err := page(token)
		if err != nil {
			return err
		}
		if next == nil || *next == "" {
			return nil
		}
		token = next
	}
}

// mfaConfig is GetUserPoolMfaConfig's answer, as SetUserPoolMfaConfig
// takes it back.
type mfaConfig struct {
	MfaConfiguration              types.UserPoolMfaType
	SmsMfaConfiguration           *types.SmsMfaConfigType           `json:",omitempty"`
	SoftwareTokenMfaConfiguration *types.SoftwareTokenMfaConfigType `json:",omitempty"`
	EmailMfaConfiguration         *types.EmailMfaConfigType         `json:",omitempty"`
	WebAuthnConfiguration         *types.WebAuthnConfigurationType  `json:",omitempty"`
}

// shortOf says when a listing is clearly short of the pool's estimate: more
// than 1 % and more than 10 users below it. EstimatedNumberOfUsers is only
// "a number estimating the size of the user pool" (API reference), and
// users come and go during a backup, so a small shortfall is normal.
func shortOf(listed, estimate int64) bool {
	short := estimate - listed
	return short > 10 && short*100 > estimate
}

// checkEstimate records a "users" gap when fewer users were listed than the
// pool estimates: a shard filter that silently misses users (a sub not
// starting with a lowercase hex digit) or a listing that lost users must not
// pass for a complete snapshot. The estimate is read again at the end and
// the smaller one used, so that users deleted during the backup do not count
// as missing.
func (b *run) checkEstimate(ctx context.Context) {
	est := b.stats.UsersEstimate.Load()
	if out, err := b.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &b.opts.PoolID}); err == nil && out.UserPool != nil {
		est = min(est, int64(out.UserPool.EstimatedNumberOfUsers))
	}
	listed := b.stats.Users.Load()
	if !shortOf(listed, est) {
		return
	}
	why := fmt.Sprintf("listed %d users, but the pool estimates %d (%d short)", listed, est, est-listed)
	b.mu.Lock()
	b.gaps = append(b.gaps, snapshot.Gap{What: GapUsers, Why: why})
	b.mu.Unlock()
	b.opts.Warn(fmt.Sprintf("users of %s: %s; the snapshot is marked incomplete", b.opts.PoolID, why))
}

// listUsers follows one token chain and writes each user once, even when
// this or another chain returns it again (overlapping filters, or a user
// that moved in the service's order while it was changed mid-backup). A
// filter the service refuses before its first user (no public source
// promises that every pool accepts `sub ^=`) switches the backup to one
// unsharded chain, which the seen set makes safe to overlap with the shards
// that did work.
func (b *run) listUsers(ctx context.Context, filter string, w *recordWriter) error {
	if filter != "" && b.fellBack.Load() {
		return nil // the unsharded chain lists every user
	}
	n, err := b.listChain(ctx, filter, w)
	if err != nil && filter != "" && n == 0 && cognito.IsInvalidParameter(err) {
		return b.fallBack(ctx, filter, err, w)
	}
	if err != nil {
		return err
	}
	b.stats.Chains.Add(1)
	return nil
}

// fallBack lists every user in one chain without a filter, once per backup
// however many shard chains were refused.
func (b *run) fallBack(ctx context.Context, filter string, refused error, w *recordWriter) error {
	var err error
	b.unsharded.Do(func() {
		b.fellBack.Store(true)
		b.opts.Warn(fmt.Sprintf("ListUsers of %s refused the shard filter %s (%s); listing users in one unsharded chain instead (slower, complete)",
			b.opts.PoolID, filter, cognito.Code(refused)))
		if _, err = b.listChain(ctx, "", w); err == nil {
			b.stats.Chains.Add(1)
		}
	})
	return err
}

// listChain writes the users of one chain it has not seen yet, page by
// page from where earlier steps left it, and returns how many users the
// chain returned in this step. Its position advances only after a page is
// written, so a stop or a cut never skips a user.
func (b *run) listChain(ctx context.Context, filter string, w *recordWriter) (int, error) {
	st := b.chain(filter)
	in := &cip.ListUsersInput{UserPoolId: &b.opts.PoolID, Limit: ptr(int32(cognito.MaxPageSize))}
	if filter != "" {
		in.Filter = &filter
	}
	token, relist := b.startToken(st)
	b.warnRelist(relist, "users", filter)
	if relist {
		b.restart(st)
	}
	resumed, n := token != "", 0
	for !st.Done {
		if b.mayStop(st) && b.stop() {
			return n, ErrStopped
		}
		in.PaginationToken = optional(token)
		out, err := b.api.ListUsers(ctx, in)
		if err != nil && resumed && cognito.IsInvalidParameter(err) {
			// The token of an earlier step is refused (expired): list the
			// chain again from its start; the seen set skips what it wrote.
			b.warnRelist(true, "users", filter)
			token, resumed = "", false
			b.restart(st)
			continue
		}
		if err != nil {
			return n, fmt.Errorf("list users of %s (filter %q): %w", b.opts.PoolID, filter, err)
		}
		resumed = false
		b.stats.Pages.Add(1)
		for _, u := range out.Users {
			n++
			if err := b.writeUser(ctx, u, w, st.Relist); err != nil {
				return n, err
			}
		}
		next := deref(out.PaginationToken)
		if next != "" && next == token {
			return n, fmt.Errorf("list users of %s: the service returned the same pagination token twice; stopping to avoid an endless loop", b.opts.PoolID)
		}
		token = next
		b.advance(st, next, len(out.Users))
	}
	return n, nil
}

// writeUser writes one listed user unless it was written already. A user
// an earlier step wrote is expected again in a chain listed again from its
// start (relisting), and a duplicate otherwise: the chain's pass, begun in
// an earlier step, returned it twice.
func (b *run) writeUser(ctx context.Context, u types.UserType, w *recordWriter, relisting bool) error {
	rec, err := UserRecord(u)
	if err != nil {
		return fmt.Errorf("pool %s: %w", b.opts.PoolID, err)
	}
	if b.prior.has(rec.Sub) {
		if !relisting {
			b.stats.Duplicates.Add(1)
		}
		return nil
	}
	if !b.seen.add(rec.Sub) {
		b.stats.Duplicates.Add(1)
		return nil
	}
	if b.opts.MFA {
		if err := b.addMFA(ctx, &rec); err != nil {
			b.seen.remove(rec.Sub)
			return err
		}
	}
	if err := w.write(ctx, rec); err != nil {
		// Not written (the step's cut, most often): its sub must not reach
		// the step's sub list, or the next step would skip the user.
		b.seen.remove(rec.Sub)
		return err
	}
	b.stats.Users.Add(1)
	return nil
}

// advance records a chain's next token (none: the chain is done) after a
// page of records.
func (b *run) advance(st *Chain, next string, records int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st.Token, st.TokenAt, st.Done = next, b.opts.Now().UTC(), next == ""
	st.Listed += int64(records)
}

// restart records that a chain lists again from its start, so that a step
// stopped before its first page does not offer the refused token again,
// and how far its earlier passes reached, which the new pass must pass
// before it may stop (mayStop).
func (b *run) restart(st *Chain) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st.Token, st.TokenAt, st.Relist = "", time.Time{}, true
	st.Reach, st.Listed = max(st.Reach, st.Listed), 0
}

// warnRelist says that a chain is listed again from its start.
func (b *run) warnRelist(relist bool, what, chain string) {
	if relist {
		b.opts.Warn(fmt.Sprintf("%s of %s, chain %q: the pagination token of an earlier step is too old or was refused; listing the chain again from its start (what earlier steps wrote is skipped)",
			what, b.opts.PoolID, chain))
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (b *run) addMFA(ctx context.Context, rec *snapshot.User) error {
	out, err := b.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &b.opts.PoolID, Username: &rec.Username})
	if cognito.IsUserNotFound(err) {
		return nil // deleted since it was listed; keep what the listing said
	}
	if err != nil {
		return fmt.Errorf("read MFA settings of user %q in %s: %w", rec.Username, b.opts.PoolID, err)
	}
	rec.MFA = &snapshot.MFASettings{PreferredMfaSetting: deref(out.PreferredMfaSetting), UserMFASettingList: out.UserMFASettingList}
	return nil
}

// listMembers writes the members of one group, page by page from where
// earlier steps left it. A group listed again from its start (its token
// too old or refused) skips the members earlier steps wrote.
func (b *run) listMembers(ctx context.Context, group string, w *recordWriter) error {
	b.mu.Lock()
	st := b.prog.Members[group]
	b.mu.Unlock()
	in := &cip.ListUsersInGroupInput{UserPoolId: &b.opts.PoolID, GroupName: &group, Limit: ptr(int32(cognito.MaxPageSize))}
	token, relist := b.startToken(st)
	b.warnRelist(relist, "members", group)
	if relist {
		b.restart(st) // Relist stays until done, though the token moves on
	}
	resumed := token != ""
	relist = relist || st.Relist
	var skip map[string]bool
	for !st.Done {
		if b.mayStop(st) && b.stop() {
			return ErrStopped
		}
		if relist && skip == nil {
			var err error
			if skip, err = b.memberSeen(ctx, group); err != nil {
				return err
			}
		}
		in.NextToken = optional(token)
		out, err := b.api.ListUsersInGroup(ctx, in)
		if err != nil && resumed && cognito.IsInvalidParameter(err) {
			b.warnRelist(true, "members", group)
			token, resumed, relist = "", false, true
			b.restart(st)
			continue
		}
		if cognito.IsNotFound(err) {
			b.advance(st, "", 0) // the group was deleted during the backup
			break
		}
		if err != nil {
			return fmt.Errorf("list members of group %q in %s: %w", group, b.opts.PoolID, err)
		}
		resumed = false
		b.stats.Pages.Add(1)
		// A page is written whole, even when the step is cut meanwhile:
		// its token is recorded only after it, and nothing else would
		// drop the members of a page written twice.
		wctx := context.WithoutCancel(ctx)
		for _, u := range out.Users {
			name := deref(u.Username)
			if skip[name] {
				continue
			}
			if err := w.write(wctx, snapshot.Membership{Group: group, Username: name}); err != nil {
				return err
			}
			b.stats.Memberships.Add(1)
		}
		token = deref(out.NextToken)
		b.advance(st, token, len(out.Users))
	}
	b.stats.Chains.Add(1)
	return nil
}

// subSet remembers the subs written: the only memory a backup holds per
// user, so it is kept compact: a sorted slice of 16-byte UUIDs (16 bytes per
// user, ~16 MB for a million) plus a small map of recent subs that is merged
// into the slice when it fills.
type subSet struct {
	mu     sync.Mutex
	sorted []uuid.UUID
	recent map[uuid.UUID]struct{}
	others map[string]struct{} // a sub that is not a UUID (never seen in practice)
}

// recentMax bounds the map part of a subSet.
const recentMax = 1 << 15

func newSubSet() *subSet {
	return &subSet{recent: map[uuid.UUID]struct{}{}, others: map[string]struct{}{}}
}

// add reports whether sub is new.
func (s *subSet) add(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := uuid.Parse(sub)
	if err != nil {
		if _, ok := s.others[sub]; ok {
			return false
		}
		s.others[sub] = struct{}{}
		return true
	}
	if _, ok := s.recent[id]; ok {
		return false
	}
	if _, found := slices.BinarySearchFunc(s.sorted, id, compareUUID); found {
		return false
	}
	s.recent[id] = struct{}{}
	if len(s.recent) >= recentMax {
		s.merge()
	}
	return true
}

// remove takes sub out of the set again: a user added but then not
// written.
func (s *subSet) remove(sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := uuid.Parse(sub)
	if err != nil {
		delete(s.others, sub)
		return
	}
	delete(s.recent, id)
	if i, found := slices.BinarySearchFunc(s.sorted, id, compareUUID); found {
		s.sorted = slices.Delete(s.sorted, i, i+1)
	}
}

// merge moves the recent subs into the sorted slice, merging in place from
// the back so that only the slice's own growth allocates.
func (s *subSet) merge() {
	add := make([]uuid.UUID, 0, len(s.recent))
	for id := range s.recent {
		add = append(add, id)
	}
	slices.SortFunc(add, compareUUID)
	i, j := len(s.sorted)-1, len(add)-1
	s.sorted = append(s.sorted, add...)
	for k := len(s.sorted) - 1; j >= 0; k-- {
		if i >= 0 && compareUUID(s.sorted[i], add[j]) > 0 {
			s.sorted[k] = s.sorted[i]
			i--
		} else {
			s.sorted[k] = add[j]
			j--
		}
	}
	clear(s.recent)
}

// list returns the subs in the set: the UUIDs sorted, then the others.
func (s *subSet) list() ([]uuid.UUID, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merge()
	others := make([]string, 0, len(s.others))
	for o := range s.others {
		others = append(others, o)
	}
	slices.Sort(others)
	return slices.Clone(s.sorted), others
}

func compareUUID(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

func ptr[T any](v T) *T { return &v }

// distinct is list without repeats, in its order.
func distinct(list []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
