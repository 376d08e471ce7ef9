// Package drill proves a backup restores: it creates a scratch pool from a
// snapshot's configuration, restores all users or a deterministic sample into
// it, compares the result with the snapshot, and deletes the scratch pool.
//
// The drill never deletes a pool it did not create: before DeleteUserPool it
// re-reads the pool and checks both the name prefix and the run's tag.
//
// It imports poolcfg, restore and diff; it must not import cli or cobra.
package drill

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/poolcfg"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// NamePrefix starts the name of every scratch pool; TagKey is the pool tag
// whose value is the run id. Both must match before a pool is deleted.
const (
	NamePrefix = "cogvault-drill-"
	TagKey     = "cogvault:drill"
)

// API is what a drill calls: creating the pool, restoring, reading it back
// and deleting it. *cognitoidentityprovider.Client satisfies it.
type API interface {
	poolcfg.API
	restore.API
	diff.LiveAPI
	DeleteUserPool(ctx context.Context, in *cip.DeleteUserPoolInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolOutput, error)
}

// Options say what to drill.
type Options struct {
	Repo     *repo.Repo
	Manifest *snapshot.Manifest
	// RunID names the scratch pool (NamePrefix+RunID) and is its tag's value.
	RunID string
	// Sample restores only this many users (0: all), chosen by Seed.
	Sample int
	Seed   int64
	// TempDir holds the restore's state file (default os.TempDir()).
	TempDir string
	// Pace gives the requests a second cogvault keeps for an operation's
	// quota category; it projects the time to restore the whole pool.
	Pace Pace
	Now  func() time.Time
	// Restore carries the restore's own settings (Rand, Workers).
	Restore restore.Options
}

// Difference is one difference between the snapshot and the scratch pool.
type Difference struct {
	Kind     string `json:"kind"` // user, group, membership
	Change   string `json:"change"`
	Username string `json:"username,omitempty"`
	Group    string `json:"group,omitempty"`
	// Reason is the restore report's, for an expected difference.
	Reason string `json:"reason,omitempty"`
}

// Result is the drill's outcome.
type Result struct {
	RunID           string          `json:"runId"`
	Snapshot        string          `json:"snapshot"`
	SourcePool      string          `json:"sourcePool"`
	ScratchPool     string          `json:"scratchPool,omitempty"`
	ScratchName     string          `json:"scratchName"`
	Deleted         bool            `json:"deleted"`
	UsersInSnapshot int             `json:"usersInSnapshot"`
	UsersDrilled    int             `json:"usersDrilled"`
	Sampled         bool            `json:"sampled"`
	Seed            int64           `json:"seed"`
	DroppedTriggers []string        `json:"droppedTriggers"`
	NotCarried      []poolcfg.Item  `json:"notCarried"`
	Expected        []Difference    `json:"expected"`
	Unexpected      []Difference    `json:"unexpected"`
	UsersCompared   int64           `json:"usersCompared"`
	Timing          Timing          `json:"timing"`
	Restore         *restore.Report `json:"restore,omitempty"`
}

// OK reports whether nothing unexpected differs.
func (r *Result) OK() bool { return len(r.Unexpected) == 0 }

// ErrNotOurs means a pool was not deleted because its name or tag does not
// mark it as this drill's.
var ErrNotOurs = errors.New("not a scratch pool of this drill")

// Run runs the drill. The scratch pool is deleted whatever happens, also
// when ctx is cancelled (a context without ctx's cancellation does it).
// The error is non-nil when the drill could not run to the end or could not
// delete its pool; differences are in the Result.
func Run(ctx context.Context, api API, opts Options) (res *Result, err error) {
	if opts.RunID == "" {
		return nil, errors.New("drill: no run id")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := opts.Manifest
	res = &Result{RunID: opts.RunID, Snapshot: m.ID, SourcePool: m.PoolID, ScratchName: NamePrefix + opts.RunID,
		UsersInSnapshot: int(m.Counts.Users), Seed: opts.Seed, DroppedTriggers: []string{}, Expected: []Difference{}, Unexpected: []Difference{}}
	cfg, err := opts.Repo.Pool(ctx, m)
	if err != nil {
		return res, fmt.Errorf("read the configuration of snapshot %s: %w", m.ID, err)
	}
	scratchCfg, dropped, err := scratchConfig(cfg, opts.RunID)
	if err != nil {
		return res, err
	}
	res.DroppedTriggers = dropped
	created, err := poolcfg.Create(ctx, api, scratchCfg, res.ScratchName, poolcfg.Map{Domain: "-"})
	if created != nil && created.NewPool != "" {
		res.ScratchPool = created.NewPool
		res.NotCarried = created.NotCarried
		defer func() {
			// A cancelled drill still deletes its pool: the cleanup gets a
			// context of its own, bounded so it cannot hang.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if derr := DeleteScratch(cctx, api, res.ScratchPool, opts.RunID); derr != nil {
				err = errors.Join(err, derr)
				return
			}
			res.Deleted = true
		}()
	}
	if err != nil {
		return res, fmt.Errorf("create scratch pool %s: %w", res.ScratchName, err)
	}
	return res, restoreAndCompare(ctx, api, opts, cfg, res)
}

// restoreAndCompare restores into the scratch pool, timing it, and compares.
func restoreAndCompare(ctx context.Context, api API, opts Options, cfg *snapshot.PoolConfig, res *Result) error {
	m := opts.Manifest
	var sample map[string]bool
	if opts.Sample > 0 && opts.Sample < res.UsersInSnapshot {
		var err error
		if sample, err = Sample(ctx, opts.Repo.Users(ctx, m), opts.Sample, opts.Seed); err != nil {
			return fmt.Errorf("sample the users of snapshot %s: %w", m.ID, err)
		}
		res.Sampled = true
	}
	ro := opts.Restore
	ro.Target, ro.Users, ro.OnExisting, ro.Via = res.ScratchPool, sample, restore.OnExistingFail, restore.ViaAdmin
	dir := opts.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	ro.StatePath = filepath.Join(dir, fmt.Sprintf("cogvault-drill-%s.state", opts.RunID))
	defer os.Remove(ro.StatePath)
	start := opts.Now()
	rep, err := restore.Run(ctx, api, opts.Repo, m, ro, nil)
	if err != nil {
		return fmt.Errorf("restore snapshot %s into scratch pool %s: %w", m.ID, res.ScratchPool, err)
	}
	res.Timing.MeasuredSeconds = opts.Now().Sub(start).Seconds()
	res.Restore = rep
	res.UsersDrilled = rep.UsersCreate
	res.Timing.project(opts.Pace, m.Counts, rep.UsersCreate)
	var old diff.Source = diff.SnapshotSource{Repo: opts.Repo, Manifest: m}
	if sample != nil {
		old = sampled{src: old, users: sample}
	}
	drep, err := diff.Compare(ctx, old, diff.LiveSource{API: api, PoolID: res.ScratchPool},
		diff.Options{IgnoreAttributes: []string{"sub"}, MatchBy: matchBy(cfg)})
	if err != nil {
		return fmt.Errorf("compare snapshot %s with scratch pool %s: %w", m.ID, res.ScratchPool, err)
	}
	res.UsersCompared = drep.UsersCompared
	classify(res, drep, rep)
	return nil
}

// scratchConfig is the snapshot's configuration for a scratch pool: Lambda
// triggers dropped (a drill must not run production functions, nor be
// refused for them), deletion protection off (DeleteUserPool refuses a
// protected pool with InvalidParameterException: developer guide,
// user-pool-settings-deletion-protection.html), and the run's tag as its
// only tag: a pool holds at most 50 tags (API reference, TagResource), and
// production's cost or access tags do not belong on a scratch pool
// (docs/cognito-facts.md §19). It returns the dropped trigger names.
func scratchConfig(cfg *snapshot.PoolConfig, runID string) (*snapshot.PoolConfig, []string, error) {
	var up map[string]any
	if err := json.Unmarshal(cfg.UserPool, &up); err != nil {
		return nil, nil, fmt.Errorf("pool configuration: %w", err)
	}
	dropped := []string{}
	if lc, ok := up["LambdaConfig"].(map[string]any); ok {
		for k, v := range lc {
			if v != nil && v != "" && k != "KMSKeyID" { // the custom senders' key, not a trigger
				dropped = append(dropped, k)
			}
		}
		sort.Strings(dropped)
	}
	delete(up, "LambdaConfig")
	up["DeletionProtection"] = "INACTIVE"
	up["UserPoolTags"] = map[string]string{TagKey: runID}
	raw, err := json.Marshal(up)
	if err != nil {
		return nil, nil, err
	}
	out := *cfg
	out.UserPool = raw
	return &out, dropped, nil
}

// matchBy pairs users by the attribute they sign in with when the pool has
// usernames of email or phone number: the restore gives them new usernames.
func matchBy(cfg *snapshot.PoolConfig) string {
	var up struct{ UsernameAttributes []string }
	_ = json.Unmarshal(cfg.UserPool, &up)
	if len(up.UsernameAttributes) > 0 && up.UsernameAttributes[0] != "" {
		return up.UsernameAttributes[0]
	}
	return ""
}

// Sample picks n usernames deterministically for seed: those whose hash of
// (seed, username) is lowest, whatever order the snapshot lists them in.
func Sample(ctx context.Context, users iter.Seq2[snapshot.User, error], n int, seed int64) (map[string]bool, error) {
	type scored struct {
		score uint64
		name  string
	}
	var all []scored
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(seed))
	for u, err := range users {
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		h.Write(buf[:])
		h.Write([]byte(u.Username))
		all = append(all, scored{binary.BigEndian.Uint64(h.Sum(nil)), u.Username})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.score != b.score {
			if a.score < b.score {
				return -1
			}
			return 1
		}
		return compareStrings(a.name, b.name)
	})
	out := map[string]bool{}
	for _, s := range all[:min(n, len(all))] {
		out[s.name] = true
	}
	return out, ctx.Err()
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sampled is a snapshot side limited to the sampled users and their
// memberships.
type sampled struct {
	src   diff.Source
	users map[string]bool
}

func (s sampled) Users(ctx context.Context) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		for u, err := range s.src.Users(ctx) {
			if (err != nil || s.users[u.Username]) && !yield(u, err) {
				return
			}
		}
	}
}

func (s sampled) Groups(ctx context.Context) ([]snapshot.Group, error) { return s.src.Groups(ctx) }

func (s sampled) Memberships(ctx context.Context) iter.Seq2[snapshot.Membership, error] {
	return func(yield func(snapshot.Membership, error) bool) {
		for m, err := range s.src.Memberships(ctx) {
			if (err != nil || s.users[m.Username]) && !yield(m, err) {
				return
			}
		}
	}
}
