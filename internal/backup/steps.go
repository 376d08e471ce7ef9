package backup

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// A backup in steps (issue 14): a Lambda invocation lives at most 900 s,
// so a large pool's backup stops at a page boundary before its deadline
// (Options.Stop), hands back its Progress, and the next step (another
// invocation, maybe in a fresh environment) continues from it. What each
// step wrote is whole, closed chunk objects, listed with their checksums in
// the progress; the manifest is written only by the last step, naming the
// objects of every step, so a snapshot still exists only when it is whole.
//
// Deduplication across steps: each stopped step stores the subs it wrote
// as a sub list (sublist.go), and a resumed step loads the lists of every
// earlier step, so a user that a chain returns again after the step
// boundary, or that a re-listed chain returns a second time, is dropped
// exactly as within one run. Keeping "the last sub written per chain"
// would not do: ListUsers' order is the service's (a hash, not the sub's
// order; facts §11), so no position in sub order says what is done.
//
// Pagination tokens: a chain's progress is its next page's token and when
// the service issued it. A resumed step uses a token only while it is
// younger than tokenMaxAge; an older one, or one the service refuses
// (Cognito does not publish a lifetime and answers an invalid marker with
// InvalidParameterException; facts §23), makes the chain re-list from its
// start, skipping what earlier steps wrote: slower, never short.
//
// Progress when every token expires between steps: a chain's pass counts
// the records it returned (Chain.Listed), and a chain listed again from
// its start keeps the most any earlier pass returned (Chain.Reach). The
// new pass does not ask Options.Stop until it has returned more than that,
// so each step gets at least a page further than any before it and the
// backup ends in a bounded number of steps, in whatever order the service
// lists. A step that gets no further at all (its time ran out while it
// re-listed) says so (Progress.Advanced), and its caller fails instead of
// looping.

// tokenMaxAge is the oldest pagination token a resumed step still uses.
// The issue speaks of an hour; no public source gives the lifetime (facts
// §23, UNCONFIRMED), so stay well inside it. A refused token is safe too.
const tokenMaxAge = 30 * time.Minute

// ErrStopped means Options.Stop ended the backup before its manifest: the
// progress RunStep returns continues it.
var ErrStopped = errors.New("backup stopped before it finished (resume it with its progress)")

// progressVersion is Progress's format version: 2 keeps sub lists where
// 1 read back the users chunks.
const progressVersion = 2

// Progress is where a stopped backup stands: enough for the next step to
// continue it in a fresh process. It holds pagination tokens and object
// checksums, never user data.
type Progress struct {
	Version  int       `json:"version"`
	PoolID   string    `json:"poolId"`
	Snapshot string    `json:"snapshot"`
	Start    time.Time `json:"start"`
	// Steps is how many steps ran (this one included).
	Steps    int    `json:"steps"`
	PoolName string `json:"poolName"`
	Account  string `json:"account,omitempty"`
	// Objects are the data objects written so far: the pool object, then
	// each step's users and members chunks.
	Objects       []snapshot.ObjectInfo `json:"objects"`
	Users         int64                 `json:"users"`
	Memberships   int64                 `json:"memberships"`
	Duplicates    int64                 `json:"duplicates"`
	UsersEstimate int64                 `json:"usersEstimate"`
	Gaps          []snapshot.Gap        `json:"gaps,omitempty"`
	// FellBack: a shard filter was refused, the unsharded chain ("") lists
	// every user and the shard chains are moot.
	FellBack bool `json:"fellBack,omitempty"`
	// Chains are the user token chains by filter; Members the membership
	// chains by group name (every group of the pool configuration).
	Chains  map[string]*Chain `json:"chains"`
	Members map[string]*Chain `json:"members"`
	// SubLists name the subs each stopped step wrote, in step order.
	SubLists []SubList `json:"subLists,omitempty"`

	advanced bool // this step got further (RunStep's result only)
}

// Advanced says whether the step that returned p got further than the
// steps before it: wrote a record, finished a chain, or listed a chain
// further than any earlier pass. A step that did not would be followed
// by another that does not.
func (p *Progress) Advanced() bool { return p.advanced }

// Chain is one token chain's position.
type Chain struct {
	Done bool `json:"done,omitempty"`
	// Token is the next page's pagination token ("" to begin), issued at
	// TokenAt.
	Token   string    `json:"token,omitempty"`
	TokenAt time.Time `json:"tokenAt,omitzero"`
	// Relist: the chain is being listed again from its start, so what
	// earlier steps wrote of it is skipped, in every step until it is done
	// (members by the usernames read back, users by the sub lists). The
	// listing order is the service's, so no position says which records
	// the re-listing has passed; only how many.
	Relist bool `json:"relist,omitempty"`
	// Listed is how many records the chain's current pass returned; Reach
	// the most an earlier pass returned. A re-listing pass may stop only
	// once Listed > Reach.
	Listed int64 `json:"listed,omitempty"`
	Reach  int64 `json:"reach,omitempty"`
}

// Rereader reads back the memberships earlier steps wrote, checksums
// verified, for a group listed again from its start (*repo.Repo fits).
type Rereader interface {
	Memberships(ctx context.Context, m *snapshot.Manifest) iter.Seq2[snapshot.Membership, error]
}

// check refuses progress that does not belong to this backup.
func (p *Progress) check(poolID string) error {
	switch {
	case p.Version != progressVersion:
		return fmt.Errorf("backup progress: format version %d, want %d (another cogvault version began this snapshot): start a new snapshot", p.Version, progressVersion)
	case p.PoolID != poolID:
		return fmt.Errorf("backup progress is of pool %s, not %s", p.PoolID, poolID)
	case p.Snapshot == "" || p.Steps < 1 || p.Chains == nil:
		return errors.New("backup progress: no snapshot id, step count or chains")
	}
	return nil
}

// partial is a manifest of the objects written so far, for reading back.
func (p *Progress) partial(kind string) *snapshot.Manifest {
	m := &snapshot.Manifest{ID: p.Snapshot}
	for _, o := range p.Objects {
		if o.Kind == kind {
			m.Objects = append(m.Objects, o)
		}
	}
	return m
}

// stepped says whether the run may stop or continues another.
func (b *run) stepped() bool { return b.opts.Stop != nil || b.opts.Resume != nil }

// chunkNamer names chunks so that no two steps' (nor two attempts of one
// step's, when an invocation is retried after writing chunks but before
// storing its progress) can collide: the step number plus a random part.
func (b *run) chunkNamer(kind string) (func(int) string, error) {
	if !b.stepped() {
		return nil, nil // the default users-000001.jsonl.zst
	}
	var r [4]byte
	if _, err := io.ReadFull(b.opts.Rand, r[:]); err != nil {
		return nil, fmt.Errorf("chunk names: %w", err)
	}
	step, tag := b.prog.Steps, hex.EncodeToString(r[:])
	return func(n int) string { return fmt.Sprintf("%s-s%04d-%s-%06d.jsonl.zst", kind, step, tag, n) }, nil
}

// resume takes up the progress of earlier steps: counts, gaps, and the
// subs already written (their sub lists).
func (b *run) resume(ctx context.Context) error {
	p := b.prog
	b.opts.Account = p.Account
	b.gaps = slices.Clone(p.Gaps)
	b.fellBack.Store(p.FellBack)
	b.stats.UsersEstimate.Store(p.UsersEstimate)
	b.stats.Users.Store(p.Users)
	b.stats.Memberships.Store(p.Memberships)
	b.stats.Duplicates.Store(p.Duplicates)
	b.stats.Groups.Store(int64(len(p.Members)))
	b.before = b.position()
	prior, err := b.loadSubLists(ctx, p)
	if err != nil {
		return err
	}
	b.prior = prior
	return nil
}

// position measures how far the backup got: records written, chains done,
// and the furthest pass of each chain. It only grows.
func (b *run) position() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.stats.Users.Load() + b.stats.Memberships.Load()
	for _, chains := range []map[string]*Chain{b.prog.Chains, b.prog.Members} {
		for _, c := range chains {
			n += max(c.Listed, c.Reach)
			if c.Done {
				n++
			}
		}
	}
	return n
}

// mayStop says whether a chain may end the step before its next page: not
// while it re-lists what earlier passes already covered, so that tokens
// expiring between every step cannot keep it from getting further.
func (b *run) mayStop(st *Chain) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !st.Relist || st.Listed > st.Reach
}

// memberSeen returns the usernames earlier steps wrote as members of
// group, for a membership chain that re-lists its group from the start.
// The members chunks are read back once a step for every group that may
// re-list in it, not once per group: with tokens expiring between steps
// every group in progress re-lists.
func (b *run) memberSeen(ctx context.Context, group string) (map[string]bool, error) {
	if b.opts.Resume == nil {
		return nil, nil
	}
	b.members.once.Do(func() { b.members.seen, b.members.err = b.readMembers(ctx) })
	return b.members.seen[group], b.members.err
}

// memberCache holds the usernames earlier steps wrote, by group.
type memberCache struct {
	once sync.Once
	seen map[string]map[string]bool
	err  error
}

// readMembers reads back the members earlier steps wrote of the groups
// that may re-list in this step: those not done that an earlier step
// began (a token, or already re-listing).
func (b *run) readMembers(ctx context.Context) (map[string]map[string]bool, error) {
	seen := map[string]map[string]bool{}
	b.mu.Lock()
	for g, c := range b.prog.Members {
		if !c.Done && (c.Token != "" || c.Relist) {
			seen[g] = map[string]bool{}
		}
	}
	b.mu.Unlock()
	for mm, err := range b.opts.Reread.Memberships(ctx, b.opts.Resume.partial(snapshot.KindMembers)) {
		if err != nil {
			return nil, fmt.Errorf("read back the memberships earlier steps wrote: %w", err)
		}
		if s := seen[mm.Group]; s != nil {
			s[mm.Username] = true
		}
	}
	return seen, nil
}

// startToken is the token a chain begins this step with, and whether the
// chain re-lists from its start after earlier steps listed part of it.
func (b *run) startToken(st *Chain) (token string, relist bool) {
	if st.Token == "" {
		return "", false
	}
	if b.opts.Now().Sub(st.TokenAt) > tokenMaxAge {
		return "", true
	}
	return st.Token, false
}

// stop says whether the step should end before its next page.
func (b *run) stop() bool {
	if b.opts.Stop != nil && b.opts.Stop() {
		b.stopped.Store(true)
		return true
	}
	return false
}

// chain returns the state of the user chain of filter, creating it.
func (b *run) chain(filter string) *Chain {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.prog.Chains[filter]
	if st == nil {
		st = &Chain{}
		b.prog.Chains[filter] = st
	}
	return st
}

// userFilters are the user chains this step runs.
func (b *run) userFilters() []string {
	p := b.prog
	if p.FellBack {
		if c := p.Chains[""]; c != nil && c.Done {
			return nil
		}
		return []string{""}
	}
	var out []string
	for _, f := range b.opts.Filters {
		if c := p.Chains[f]; c == nil || !c.Done {
			out = append(out, f)
		}
	}
	return out
}

// groupsLeft are the groups whose memberships are not all listed yet.
func (b *run) groupsLeft() []string {
	var out []string
	for _, g := range slices.Sorted(maps.Keys(b.prog.Members)) {
		if !b.prog.Members[g].Done {
			out = append(out, g)
		}
	}
	return out
}

// stepOver records what this step wrote in the progress it hands on: its
// sub list and objects.
func (b *run) stepOver(list SubList, objs ...[]snapshot.ObjectInfo) *Progress {
	p := b.prog
	p.SubLists = append(p.SubLists, list)
	p.advanced = b.position() > b.before
	for _, o := range objs {
		p.Objects = append(p.Objects, o...)
	}
	p.Account = b.opts.Account
	p.Users, p.Memberships = b.stats.Users.Load(), b.stats.Memberships.Load()
	p.Duplicates, p.UsersEstimate = b.stats.Duplicates.Load(), b.stats.UsersEstimate.Load()
	b.mu.Lock()
	p.Gaps = slices.Clone(b.gaps)
	b.mu.Unlock()
	p.FellBack = b.fellBack.Load()
	return p
}
