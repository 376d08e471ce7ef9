package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// stepOptions completes opts for a step of e's backup whose earlier steps
// are read back from store, where the sub lists are checkpoints as the
// worker keeps them.
func (e *env) stepOptions(opts backup.Options, store storage.Store) backup.Options {
	opts.PoolID, opts.Region, opts.ToolVersion = e.pool.PoolID, "us-east-1", "test"
	opts.Reread = repo.New(store)
	opts.SubLists = checkpointSubLists{repo.New(store), e.pool.PoolID}
	return opts
}

// checkpointSubLists keeps sub lists as checkpoints of the repository.
type checkpointSubLists struct {
	r    *repo.Repo
	pool string
}

func (c checkpointSubLists) PutSubList(ctx context.Context, snap, name string, r io.Reader) error {
	return c.r.PutCheckpoint(ctx, "snapshot/"+c.pool+"/"+snap+"/"+name, r)
}

func (c checkpointSubLists) GetSubList(ctx context.Context, snap, name string) (io.ReadCloser, error) {
	return c.r.GetCheckpoint(ctx, "snapshot/"+c.pool+"/"+snap+"/"+name)
}

// stepped runs a backup in steps that each read at most pages list pages,
// the progress passing through JSON as it does through the repository, and
// calls between(step) after each stopped step. It returns the manifest
// and the number of steps.
func (e *env) stepped(t testing.TB, opts backup.Options, pages int, between func(step int)) (*snapshot.Manifest, int) {
	t.Helper()
	m, _, steps := e.steps(t, opts, pages, 500, between)
	if m == nil {
		t.Fatal("the backup never finished")
	}
	return m, steps
}

// stepsUntil runs n stopped steps as stepped does and returns the last
// one's progress as JSON.
func (e *env) stepsUntil(t testing.TB, opts backup.Options, pages, n int) []byte {
	t.Helper()
	m, p, _ := e.steps(t, opts, pages, n, nil)
	if m != nil {
		t.Fatalf("the backup finished in fewer than %d steps", n)
	}
	return p
}

// steps runs at most max steps: the manifest if the last one finished,
// else the last progress as JSON.
func (e *env) steps(t testing.TB, opts backup.Options, pages, max int, between func(step int)) (*snapshot.Manifest, []byte, int) {
	t.Helper()
	opts = e.stepOptions(opts, e.store)
	var resume *backup.Progress
	var saved []byte
	for step := 1; step <= max; step++ {
		var calls atomic.Int64
		opts.Stop = func() bool { return calls.Add(1) > int64(pages) }
		opts.Resume = resume
		e.last = &backup.Stats{}
		m, p, err := backup.RunStep(ctx, e.api, e.store, opts, e.last)
		if err == nil {
			return m, nil, step
		}
		if !errors.Is(err, backup.ErrStopped) || p == nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if keys := manifests(t, e.store); strings.Contains(strings.Join(keys, " "), snapshot.ManifestPrefix) {
			t.Fatalf("step %d stopped and a manifest exists: the manifest is written last", step)
		}
		if saved, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		resume = new(backup.Progress)
		if err := json.Unmarshal(saved, resume); err != nil {
			t.Fatal(err)
		}
		if between != nil {
			between(step)
		}
	}
	return nil, saved, max
}

// sameAsPool is the oracle: the snapshot holds exactly the users (by sub,
// with username, status, enabled and attributes), groups and memberships
// the fake's own listing shows, each once, and verifies.
func sameAsPool(t *testing.T, e *env, m *snapshot.Manifest) {
	t.Helper()
	r := repo.New(e.store)
	wantU, wantG, wantM := live(t, e)
	gotU, gotG, gotM := fromSnapshot(t, r, m)
	if d := cmp.Diff(wantU, gotU); d != "" {
		t.Fatalf("users differ from the pool (-pool +snapshot):\n%s", d)
	}
	if d := cmp.Diff(wantG, gotG); d != "" {
		t.Fatalf("groups differ (-pool +snapshot):\n%s", d)
	}
	if d := cmp.Diff(wantM, gotM); d != "" {
		t.Fatalf("memberships differ (-pool +snapshot):\n%s", d)
	}
	if m.Counts.Users != int64(len(wantU)) || m.Counts.Memberships != int64(len(wantM)) || m.Counts.Groups != int64(len(wantG)) {
		t.Fatalf("manifest counts %+v, the pool has %d users, %d groups, %d memberships", m.Counts, len(wantU), len(wantG), len(wantM))
	}
	res, err := r.Verify(ctx, m)
	if err != nil || !res.OK() {
		t.Fatalf("verify: %v %+v", err, res)
	}
}

// TestBackupInStepsMatchesThePool: a backup stopped every few pages and
// resumed from its progress (JSON, a fresh run each time) writes the same
// snapshot as the pool's own listing, whether its chains are sharded or
// one long chain, and the same users as an unstepped backup.
func TestBackupInStepsMatchesThePool(t *testing.T) {
	for name, filters := range map[string][]string{"sharded": nil, "one chain": {""}} {
		t.Run(name, func(t *testing.T) {
			e := setup(t, cognitotest.Options{NoQuotas: true}, 400, 3, awsx.Options{})
			m, steps := e.stepped(t, backup.Options{Filters: filters, Workers: 4}, 3, nil)
			if steps < 3 {
				t.Fatalf("%d steps: the test wants a backup cut several times", steps)
			}
			t.Logf("%d steps, %d objects", steps, len(m.Objects))
			sameAsPool(t, e, m)
			whole, err := e.backup(t, backup.Options{Filters: filters})
			if err != nil {
				t.Fatal(err)
			}
			r := repo.New(e.store)
			u1, g1, m1 := fromSnapshot(t, r, m)
			u2, g2, m2 := fromSnapshot(t, r, whole)
			if !cmp.Equal(u1, u2) || !cmp.Equal(g1, g2) || !cmp.Equal(m1, m2) {
				t.Fatal("the stepped snapshot differs from an unstepped one of the same pool")
			}
		})
	}
}

// TestResumedChainWithAnExpiredTokenLosesNoUser: the pagination tokens a
// step leaves are refused by the next (the fake's token lifetime passed),
// or are older than the backup trusts; each chain is listed again from
// its start and every user and membership is in the snapshot once.
func TestResumedChainWithAnExpiredTokenLosesNoUser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		groups  int
		ownAge  bool   // the backup's own clock says the token is too old
		refused bool   // the service refuses the token
		relist  string // what the warning names
		pages   int    // list pages a step
	}{
		{name: "users refused", refused: true, relist: "users of", pages: 2},
		{name: "users too old", ownAge: true, relist: "users of", pages: 2},
		{name: "members refused", groups: 2, refused: true, relist: "members of", pages: 4},
		// Fewer pages a step than a group has: the re-listing of a group
		// spans steps, and still skips what the first step wrote.
		{name: "members re-listed over steps", groups: 1, refused: true, relist: "members of", pages: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			skew := time.Duration(0)
			clock := func(base func() time.Time) func() time.Time {
				return func() time.Time { mu.Lock(); defer mu.Unlock(); return base().Add(skew) }
			}
			fake := cognitotest.Options{NoQuotas: true}
			if tc.refused {
				fake.Now, fake.TokenLifetime = clock(time.Now), time.Hour
			}
			e := setup(t, fake, 400, tc.groups, awsx.Options{})
			var w warnings
			// Two workers: the group chains (handed out first) both begin
			// in the first step.
			opts := backup.Options{Filters: []string{""}, Warn: w.add, Workers: 2}
			if tc.groups == 1 {
				// One worker takes the group's chain first and reads its
				// first page before the step stops: with two, the users
				// chain could take the step's one page, and the group's
				// chain would begin only after the tokens expired.
				opts.Workers = 1
			}
			if tc.ownAge {
				opts.Now = clock(time.Now)
			}
			// Once, after the first step: were every token expired, a chain
			// longer than a step could never finish.
			m, steps := e.stepped(t, opts, tc.pages, func(step int) {
				if step == 1 {
					mu.Lock()
					skew += 2 * time.Hour
					mu.Unlock()
				}
			})
			if steps < 3 {
				t.Fatalf("%d steps: the test wants a chain resumed several times", steps)
			}
			if !strings.Contains(w.all(), tc.relist) || !strings.Contains(w.all(), "listing the chain again from its start") {
				t.Fatalf("no chain was listed again; warnings:\n%s", w.all())
			}
			sameAsPool(t, e, m)
		})
	}
}

// TestResumeOfAnotherPoolIsRefused: progress names its pool; another
// pool's backup refuses it before writing anything.
func TestResumeOfAnotherPoolIsRefused(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 10, 1, awsx.Options{})
	p := &backup.Progress{Version: 2, PoolID: "us-east-1_other", Snapshot: "x", Steps: 1, Chains: map[string]*backup.Chain{}}
	_, _, err := backup.RunStep(ctx, e.api, e.store, e.stepOptions(backup.Options{Resume: p}, e.store), nil)
	if err == nil || !strings.Contains(err.Error(), "us-east-1_other") {
		t.Fatalf("progress of another pool: %v", err)
	}
}

// TestTokensExpiringBetweenEveryStepStillFinish: every pagination token
// has expired by the time the next step runs, and each step may read only
// a few pages beyond what it re-lists. Each step re-lists its chains from
// their start, yet gets further than the one before: the backup ends
// within the steps its pages need (plus one), holds exactly what the
// pool's own listing shows, and counts no re-listed user as a duplicate.
func TestTokensExpiringBetweenEveryStepStillFinish(t *testing.T) {
	for name, filters := range map[string][]string{"one chain": {""}, "sharded": nil} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			skew := time.Duration(0)
			fake := cognitotest.Options{NoQuotas: true, TokenLifetime: time.Hour,
				Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }}
			e := setup(t, fake, 700, 2, awsx.Options{})
			const perStep = 2
			m, steps := e.stepped(t, backup.Options{Filters: filters, Workers: 1}, perStep, func(int) {
				mu.Lock()
				skew += 2 * time.Hour
				mu.Unlock()
			})
			pages := listPages(t, e, filters)
			if bound := (pages+perStep-1)/perStep + 1; steps > bound || steps < 3 {
				t.Fatalf("%d steps for %d list pages at %d a step: want 3 to %d", steps, pages, perStep, bound)
			}
			t.Logf("%d steps for %d list pages", steps, pages)
			sameAsPool(t, e, m)
			if d := e.last.Duplicates.Load(); d != 0 {
				t.Fatalf("%d duplicates counted: re-listed users are not duplicates", d)
			}
		})
	}
}

// listPages counts the list pages a backup with filters reads from the
// pool in one pass: each chain's users, each group's members, 60 a page.
func listPages(t *testing.T, e *env, filters []string) int {
	t.Helper()
	if filters == nil {
		filters = cognito.SubShards()
	}
	pages := 0
	for _, f := range filters {
		n := 0
		for _, err := range cognito.Users(ctx, e.api, e.pool.PoolID, f) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		pages += max(1, (n+59)/60)
	}
	_, groups, members := live(t, e)
	for _, g := range groups {
		n := 0
		name, _, _ := strings.Cut(g, "|")
		for _, mm := range members {
			if strings.HasPrefix(mm, name+"|") {
				n++
			}
		}
		pages += max(1, (n+59)/60)
	}
	return pages
}

// TestDuplicatesAcrossStepsAreCounted: under a listing lag a changed user
// is listed twice in one pass (facts §11); a chain continued with its own
// token over several steps meets some of them again in a later step than
// the first time. Each user is written once and every repeat counted,
// across steps as within one.
func TestDuplicatesAcrossStepsAreCounted(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 600, 0, awsx.Options{})
	e.srv.SetListingLag(time.Hour)
	var names []*string
	for u, err := range cognito.Users(ctx, e.api, e.pool.PoolID, "") {
		if err != nil {
			t.Fatal(err)
		}
		if names = append(names, u.Username); len(names) == 100 {
			break
		}
	}
	for _, name := range names {
		if _, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &e.pool.PoolID, Username: name,
			UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Changed")}}}); err != nil {
			t.Fatal(err)
		}
	}
	m, steps := e.stepped(t, backup.Options{Filters: []string{""}}, 2, nil)
	if steps < 4 || m.Counts.Users != 600 || usersIn(t, e, m) != 600 {
		t.Fatalf("%d steps, a snapshot of %d users (%d stored); want 600 in several steps", steps, m.Counts.Users, usersIn(t, e, m))
	}
	if d := e.last.Duplicates.Load(); d != 100 {
		t.Fatalf("%d repeats counted, want the 100 changed users' second places", d)
	}
}

// TestAStepKilledBeforeItsProgressIsWrittenAgain: an attempt of step 2
// writes its chunks and its sub list, then dies before its progress is
// stored. The retry continues from step 1's progress, which names neither:
// the users of the dead attempt are in no list the retry loads, so it
// writes them again, and the snapshot (naming only the retry's chunks)
// holds every user of the pool once.
func TestAStepKilledBeforeItsProgressIsWrittenAgain(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 400, 2, awsx.Options{})
	opts := e.stepOptions(backup.Options{Filters: []string{""}, Workers: 1}, e.store)
	step := func(saved []byte) (*snapshot.Manifest, *backup.Progress) {
		t.Helper()
		opts.Resume = nil
		if saved != nil {
			opts.Resume = new(backup.Progress)
			if err := json.Unmarshal(saved, opts.Resume); err != nil {
				t.Fatal(err)
			}
		}
		var calls atomic.Int64
		opts.Stop = func() bool { return calls.Add(1) > 2 }
		m, p, err := backup.RunStep(ctx, e.api, e.store, opts, &backup.Stats{})
		if err != nil && !errors.Is(err, backup.ErrStopped) {
			t.Fatal(err)
		}
		return m, p
	}
	var saved []byte
	users, killed := int64(0), false
	for range 50 {
		m, p := step(saved)
		if m != nil {
			if !killed {
				t.Fatal("no resumed step wrote a user: the test needs one that did")
			}
			sameAsPool(t, e, m)
			return
		}
		if !killed && saved != nil && p.Users > users {
			killed = true // its progress is never stored: retry from saved
			continue
		}
		var err error
		if saved, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		users = p.Users
	}
	t.Fatal("the backup never finished")
}

// TestResumeRefusesSubListsThatDoNotAddUp: a progress whose sub lists do
// not hold the users it counts, or names a list that is not there, or is
// of the format before sub lists, is refused before the step lists or
// writes anything, naming what is wrong.
func TestResumeRefusesSubListsThatDoNotAddUp(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 200, 0, awsx.Options{})
	saved := e.stepsUntil(t, backup.Options{Filters: []string{""}}, 1, 2)
	for name, tc := range map[string]struct {
		edit func(p *backup.Progress)
		want string
	}{
		"count":   {func(p *backup.Progress) { p.Users++ }, "sub lists hold"},
		"list":    {func(p *backup.Progress) { p.SubLists[1].Subs--; p.Users-- }, "subs-s0002"},
		"missing": {func(p *backup.Progress) { p.SubLists[0].Name = "subs-s0001-00000000.bin.zst" }, "subs-s0001-00000000"},
		"same":    {func(p *backup.Progress) { p.SubLists[1] = p.SubLists[0]; p.Users = 2 * p.SubLists[0].Subs }, "same sub"},
		"v1":      {func(p *backup.Progress) { p.Version = 1 }, "format version 1"},
	} {
		t.Run(name, func(t *testing.T) {
			p := new(backup.Progress)
			if err := json.Unmarshal(saved, p); err != nil {
				t.Fatal(err)
			}
			tc.edit(p)
			before := len(manifests(t, e.store))
			e.srv.ResetStats()
			_, _, err := backup.RunStep(ctx, e.api, e.store, e.stepOptions(backup.Options{Resume: p}, e.store), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("resume: %v, want an error naming %q", err, tc.want)
			}
			if after := len(manifests(t, e.store)); after != before || e.srv.OpStats("ListUsers").Calls != 0 {
				t.Fatalf("a refused resume listed %d pages or wrote %d objects", e.srv.OpStats("ListUsers").Calls, after-before)
			}
		})
	}
}

// TestAdvancedSaysWhetherAStepGotFurther: a resumed step stopped before
// its first page got no further (its caller fails rather than loop); one
// that read a page did.
func TestAdvancedSaysWhetherAStepGotFurther(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 200, 0, awsx.Options{})
	saved := e.stepsUntil(t, backup.Options{Filters: []string{""}}, 1, 1)
	for pages, want := range map[int64]bool{0: false, 1: true} {
		p := new(backup.Progress)
		if err := json.Unmarshal(saved, p); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int64
		opts := e.stepOptions(backup.Options{Resume: p, Stop: func() bool { return calls.Add(1) > pages }}, e.store)
		_, got, err := backup.RunStep(ctx, e.api, e.store, opts, nil)
		if !errors.Is(err, backup.ErrStopped) || got.Advanced() != want {
			t.Fatalf("a step of %d pages: %v, advanced %v, want %v", pages, err, got != nil && got.Advanced(), want)
		}
	}
}

// TestMembersAreReadBackOnceAStep: with every token expired between
// steps, every group in progress re-lists in the next step and skips the
// members earlier steps wrote; those are read back once a step, not once
// per group. The snapshot still matches the pool.
func TestMembersAreReadBackOnceAStep(t *testing.T) {
	var mu sync.Mutex
	skew := time.Duration(0)
	fake := cognitotest.Options{NoQuotas: true, TokenLifetime: time.Hour,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }}
	e := setup(t, fake, 600, 4, awsx.Options{})
	cs := &countingStore{Store: e.store, gets: map[string]int{}}
	opts := e.stepOptions(backup.Options{Filters: []string{""}, Workers: 4}, cs)
	relisted := 0
	for step := 1; step < 100; step++ {
		var calls atomic.Int64
		opts.Stop = func() bool { return calls.Add(1) > 4 }
		clear(cs.gets)
		if opts.Resume != nil && relisting(opts.Resume) > 1 {
			relisted++
		}
		m, p, err := backup.RunStep(ctx, e.api, cs, opts, &backup.Stats{})
		for key, n := range cs.gets {
			if strings.Contains(key, "/members-") && n > 1 {
				t.Fatalf("step %d read %s %d times", step, key, n)
			}
		}
		if err == nil {
			if relisted == 0 {
				t.Fatal("no step re-listed more than one group: the test wants several at once")
			}
			sameAsPool(t, e, m)
			return
		}
		if !errors.Is(err, backup.ErrStopped) {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		opts.Resume = new(backup.Progress)
		if err := json.Unmarshal(b, opts.Resume); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		skew += 2 * time.Hour
		mu.Unlock()
	}
	t.Fatal("the backup never finished")
}

// relisting counts the groups the step after p re-lists when every token
// has expired: those begun and not done.
func relisting(p *backup.Progress) int {
	n := 0
	for _, c := range p.Members {
		if !c.Done && (c.Token != "" || c.Relist) {
			n++
		}
	}
	return n
}
