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
}

// Stats counts progress; every field is safe to read while Run works.
type Stats struct {
	UsersEstimate atomic.Int64 // DescribeUserPool's EstimatedNumberOfUsers
	Users         atomic.Int64
	Groups        atomic.Int64
	Memberships   atomic.Int64
	Duplicates    atomic.Int64 // users a chain returned more than once, dropped
	Chains        atomic.Int64 // token chains finished
}

// ErrInterrupted wraps the cause when a backup stops before its manifest is
// written, by failure or cancellation: the caller knows which, and says
// "failed" or "interrupted".
var ErrInterrupted = errors.New("no snapshot was written")

// Run backs up the pool into store and returns the manifest it wrote.
func Run(ctx context.Context, api API, store Store, opts Options, stats *Stats) (*snapshot.Manifest, error) {
	if opts.PoolID == "" {
		return nil, errors.New("backup: no pool id given")
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
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.Warn == nil {
		opts.Warn = func(string) {}
	}
	start := opts.Now().UTC()
	id, err := snapshot.NewID(start, opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("backup: new snapshot id: %w", err)
	}
	b := &run{api: api, store: store, opts: opts, stats: stats, id: id, seen: newSubSet()}
	m, err := b.run(ctx, start)
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("%w: snapshot %s of %s: %w", ErrInterrupted, id, opts.PoolID, err)
	}
	return m, nil
}

type run struct {
	api   API
	store Store
	opts  Options
	stats *Stats
	id    string

	mu      sync.Mutex
	written []string // data keys stored, for cleanup on failure

	seen *subSet // subs written so far, across every chain

	derived *snapshot.Derivation // WriteSnapshot of a derived state

	manifestTried bool // commit sent the manifest (guarded by mu)

	gaps      []snapshot.Gap // what could not be read (guarded by mu)
	unsharded sync.Once      // the single-chain fallback, run at most once
	fellBack  atomic.Bool    // a shard filter was refused: shards are moot
}

func (b *run) run(ctx context.Context, start time.Time) (*snapshot.Manifest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	poolCfg, poolName, err := b.poolConfig(ctx)
	if err != nil {
		return nil, err
	}
	poolObj, err := b.writePool(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("write pool configuration: %w", err)
	}

	users := b.newWriter(ctx, snapshot.KindUsers)
	members := b.newWriter(ctx, snapshot.KindMembers)

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
				if err := job(); err != nil {
					fail(err)
				}
			}
		}()
	}
	// Group chains first: they are short and many, user chains long and 16,
	// so the pool of workers stays busy to the end.
	go func() {
		defer close(jobs)
		for _, g := range poolCfg.Groups {
			job := func() error { return b.listMembers(ctx, g.Name, members) }
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
		for _, f := range b.opts.Filters {
			job := func() error { return b.listUsers(ctx, f, users) }
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	var failed error
	select {
	case failed = <-errc:
	default:
		failed = ctx.Err()
	}
	if failed != nil {
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

	return b.commit(ctx, start, poolName, int64(len(poolCfg.Groups)), poolObj, userObjs, memberObjs)
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
		return nil, fmt.Errorf("write manifest %s: %w", snapshot.ManifestKey(b.id), err)
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

// listChain writes the users of one chain it has not seen yet and returns
// how many users the chain returned.
func (b *run) listChain(ctx context.Context, filter string, w *recordWriter) (int, error) {
	n := 0
	for u, err := range cognito.Users(ctx, b.api, b.opts.PoolID, filter) {
		if err != nil {
			return n, err
		}
		n++
		rec, err := UserRecord(u)
		if err != nil {
			return n, fmt.Errorf("pool %s: %w", b.opts.PoolID, err)
		}
		if !b.seen.add(rec.Sub) {
			b.stats.Duplicates.Add(1)
			continue
		}
		if b.opts.MFA {
			if err := b.addMFA(ctx, &rec); err != nil {
				return n, err
			}
		}
		if err := w.write(ctx, rec); err != nil {
			return n, err
		}
		b.stats.Users.Add(1)
	}
	return n, nil
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

func (b *run) listMembers(ctx context.Context, group string, w *recordWriter) error {
	for u, err := range cognito.GroupMembers(ctx, b.api, b.opts.PoolID, group) {
		if err != nil {
			if cognito.IsNotFound(err) {
				return nil // the group was deleted during the backup
			}
			return err
		}
		if err := w.write(ctx, snapshot.Membership{Group: group, Username: deref(u.Username)}); err != nil {
			return err
		}
		b.stats.Memberships.Add(1)
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

func compareUUID(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

func ptr[T any](v T) *T { return &v }
