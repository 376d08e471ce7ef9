package faulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// faultClientScale paces the in-process CLI at half the fake's quotas, so
// the faults below, not quota throttles, are what the runs meet.
const faultClientScale = serverScale / 2

// faultPool sizes the source pool of the fault scenarios.
func faultPool() (users, groups int) {
	if longTier {
		return 600, 20
	}
	return 250, 10
}

// tier picks the short or the long tier's value.
func tier(short, long int) int {
	if longTier {
		return long
	}
	return short
}

type faultCase struct {
	name  string
	fault cognitotest.Fault
}

func backupFaults() []faultCase {
	return []faultCase{
		{"throttle storm: every 2nd ListUsers, 200 calls", cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultThrottle, Every: 2, Count: 200}},
		{"5xx burst: 30 ListUsers calls in a row", cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultServerError, Count: 30}},
		{"5xx burst: 30 ListUsersInGroup calls in a row", cognitotest.Fault{Operation: "ListUsersInGroup", Kind: cognitotest.FaultServerError, Count: 30}},
		{"latency spikes: 200ms on every 10th call", cognitotest.Fault{Kind: cognitotest.FaultLatency, Latency: 200 * time.Millisecond, Every: 10}},
		{"connection resets: every 7th call", cognitotest.Fault{Kind: cognitotest.FaultReset, Every: 7}},
	}
}

// restoreFaults: a restore starts with a sequential phase (describe the
// target, list it, create the groups one by one) where every fault costs a
// whole backoff; the short tier aims its storms at the concurrent phase
// (After), the long tier covers the whole run.
func restoreFaults() []faultCase {
	storm, resets, after := tier(60, 200), tier(60, 0), tier(100, 0)
	resetName := "connection resets: every 7th call"
	if resets > 0 {
		resetName = fmt.Sprintf("connection resets: every 7th call, %d calls", resets)
	}
	return []faultCase{
		{fmt.Sprintf("throttle storm: every 2nd call, %d calls", storm), cognitotest.Fault{Kind: cognitotest.FaultThrottle, Every: 2, Count: storm, After: after}},
		{"5xx burst: 30 AdminCreateUser calls in a row", cognitotest.Fault{Operation: "AdminCreateUser", Kind: cognitotest.FaultServerError, Count: 30, After: 50}},
		{"5xx burst: 30 AdminAddUserToGroup calls in a row", cognitotest.Fault{Operation: "AdminAddUserToGroup", Kind: cognitotest.FaultServerError, Count: 30, After: 50}},
		{"latency spikes: 200ms on every 10th call", cognitotest.Fault{Kind: cognitotest.FaultLatency, Latency: 200 * time.Millisecond, Every: 10}},
		{resetName, cognitotest.Fault{Kind: cognitotest.FaultReset, Every: 7, Count: resets, After: after}},
	}
}

// calls is how many calls of op ("" for every operation) the fake saw.
func calls(srv *cognitotest.Server, op string) int {
	if op != "" {
		return int(srv.OpStats(op).Calls)
	}
	n := 0
	for _, s := range srv.Stats() {
		n += int(s.Calls)
	}
	return n
}

// hits is how many calls a fault hit, given the matching calls the fake saw
// while it was in place (cognitotest's faults.take: After calls pass, then
// every Every-th call is hit, until Count hits).
func hits(f cognitotest.Fault, matching int) int {
	n := matching - f.After
	if n <= 0 {
		return 0
	}
	h := n / max(f.Every, 1)
	if f.Count > 0 {
		h = min(h, f.Count)
	}
	return h
}

// retriesExhausted says whether a command failed because one call met the
// fault on every one of its attempts (the SDK gives up after 10).
func retriesExhausted(r result) bool {
	return r.Code == 1 && strings.Contains(r.Stderr, "exceeded maximum number of attempts")
}

// ---- backup under Cognito faults ----

// TestFaultInjection runs every injected-fault scenario side by side (see
// runSideBySide): Cognito faults during backup and restore, S3 faults
// during backup.
func TestFaultInjection(t *testing.T) {
	t.Parallel()
	var cases []bgCase
	cases = append(cases, backupCases()...)
	cases = append(cases, restoreCases()...)
	cases = append(cases, s3Cases()...)
	runSideBySide(t, cases)
}

func backupCases() []bgCase {
	users, groups := faultPool()
	var cases []bgCase
	for _, fc := range backupFaults() {
		cases = append(cases, bgCase{"backup: " + fc.name, func(t tb, sc *scenario) {
			srv, res := newFake(t, users, groups)
			repoDir := filepath.Join(t.TempDir(), "repo")
			g := global(srv.URL, faultClientScale)
			args := append([]string{"backup", "--pool", res.PoolID, "--repo", repoDir, "--output", "json"}, g...)
			before := calls(srv, fc.fault.Operation)
			remove := srv.InjectFault(fc.fault)
			var r result
			runs := 0
			for runs < 3 {
				r = runCLI(args...)
				runs++
				if !retriesExhausted(r) {
					break
				}
				// A backup that gave up must leave no snapshot.
				if out := runCLI("snapshots", "--repo", repoDir, "--output", "json"); out.Code != 0 || strings.TrimSpace(out.Stdout) != "[]" {
					t.Fatalf("a backup that gave up left a snapshot:\n%s", out)
				}
				t.Logf("run %d gave up after 10 attempts of one call and left no snapshot; running it again", runs)
			}
			remove()
			sc.Injected = hits(fc.fault, calls(srv, fc.fault.Operation)-before)
			if sc.Injected == 0 {
				t.Fatalf("the fault hit no call")
			}
			if r.Code != 0 {
				t.Fatalf("backup under %s (%d faults injected):\n%s", fc.name, sc.Injected, r)
			}
			checkBackup(t, r, repoDir, g, res)
			sc.Survived = sc.Injected
			sc.Detail = fmt.Sprintf("%d run(s), %v; snapshot verified, no difference with the live pool", runs, r.Took.Round(10*time.Millisecond))
		}})
	}
	// Responses lost after the fake applied the call: the client sees a
	// dropped connection and sends the same request again.
	cases = append(cases, bgCase{"backup: responses lost after the call: every 5th list", func(t tb, sc *scenario) {
		srv, res := newFake(t, users, groups)
		lossy := newLossy(t, srv, 5, "ListUsers", "ListUsersInGroup", "ListGroups")
		repoDir := filepath.Join(t.TempDir(), "repo")
		r := runCLI(append([]string{"backup", "--pool", res.PoolID, "--repo", repoDir, "--output", "json"}, global(lossy.URL, faultClientScale)...)...)
		sc.Injected = lossy.Lost()
		if r.Code != 0 {
			t.Fatalf("backup (%d responses lost):\n%s", sc.Injected, r)
		}
		checkBackup(t, r, repoDir, global(srv.URL, faultClientScale), res)
		sc.Survived = sc.Injected
		sc.Detail = fmt.Sprintf("%v; snapshot verified, no difference with the live pool", r.Took.Round(10*time.Millisecond))
	}})
	return cases
}

// checkBackup checks that the backup r wrote the whole pool: its summary,
// verify, and a diff against the live pool.
func checkBackup(t tb, r result, repoDir string, g []string, res cognitotest.PopulateResult) {
	t.Helper()
	var sum struct {
		Snapshot    string `json:"snapshot"`
		Users       int    `json:"users"`
		Memberships int    `json:"memberships"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("backup summary: %v\n%s", err, r)
	}
	if sum.Users != res.Users || sum.Memberships != res.Memberships {
		t.Fatalf("backup holds %d users and %d memberships, the pool %d and %d", sum.Users, sum.Memberships, res.Users, res.Memberships)
	}
	if v := runCLI(append([]string{"verify", "--repo", repoDir, sum.Snapshot}, g...)...); v.Code != 0 {
		t.Fatalf("verify:\n%s", v)
	}
	if d := runCLI(append([]string{"diff", "--repo", repoDir, sum.Snapshot}, g...)...); d.Code != 0 || !strings.Contains(d.Stdout, "no differences") {
		t.Fatalf("diff with the live pool:\n%s", d)
	}
}

// ---- restore under Cognito faults ----

// faultSnapshot is the snapshot every restore under faults restores, each
// into a server of its own (an account runs one import job at a time).
type faultSnapshot struct {
	repoDir string
	snap    *snapshotData
}

// backupForRestores backs up the source pool once, with MFA preferences,
// and checks that the snapshot is the pool (the oracle's input).
func backupForRestores(t tb) *faultSnapshot {
	t.Helper()
	users, groups := faultPool()
	srv, res := newFake(t, users, groups)
	fs := &faultSnapshot{repoDir: filepath.Join(t.TempDir(), "repo")}
	if r := runCLI(append([]string{"backup", "--pool", res.PoolID, "--repo", fs.repoDir, "--mfa"}, global(srv.URL, faultClientScale)...)...); r.Code != 0 {
		t.Fatalf("backup:\n%s", r)
	}
	fs.snap = loadSnapshot(t, fs.repoDir)
	checkSnapshotIsSource(t, fs.snap, readPool(t, sdkClient(t, srv.URL), res.PoolID))
	return fs
}

// restoreTarget is a fresh server with an empty target pool, and the
// restore command (through via) of the shared snapshot into it.
type restoreTarget struct {
	srv    *cognitotest.Server
	pool   string
	dir    string
	via    string
	fs     *faultSnapshot
	runs   int
	result result
}

func newRestoreTarget(t tb, fs *faultSnapshot, via string) *restoreTarget {
	t.Helper()
	srv := newServer(t)
	return &restoreTarget{srv: srv, pool: newTarget(t, srv, "target"), dir: t.TempDir(), via: via, fs: fs}
}

func (rt *restoreTarget) args(endpoint string) []string {
	a := []string{"restore", "latest", "--repo", rt.fs.repoDir, "--to", rt.pool, "--output", "json",
		"--state-file", filepath.Join(rt.dir, "state"), "--mapping-file", filepath.Join(rt.dir, "subs")}
	if rt.via == viaImport {
		a = append(a, "--via", viaImport, "--import-role-arn", importRole)
	}
	return append(a, global(endpoint, faultClientScale)...)
}

// run runs the restore, and again (same command, the fault still in place)
// while a run gives up because one call met the fault on all its attempts:
// a failed restore is resumed, never started over.
func (rt *restoreTarget) run(t tb, endpoint string) result {
	t.Helper()
	for rt.runs < 4 {
		rt.result = runCLI(rt.args(endpoint)...)
		rt.runs++
		if !retriesExhausted(rt.result) || !strings.Contains(rt.result.Stderr, "run the same command again to resume") {
			break
		}
		t.Logf("run %d gave up after 10 attempts of one call; resuming", rt.runs)
	}
	return rt.result
}

// check judges the target against the snapshot (checkAgainstSnapshot):
// users, attributes, status, enabled flag, MFA, links, groups,
// memberships, the exit status and the sub mapping. It returns what
// differs.
func (rt *restoreTarget) check(t tb, r result) string {
	t.Helper()
	msg, _ := judge(t, rt.fs.snap, rt.srv.URL, rt.pool, rt.via, filepath.Join(rt.dir, "subs"), r)
	return msg
}

// idempotentWrites are the restore's write calls whose repetition must be
// harmless.
var idempotentWrites = []string{"CreateGroup", "AdminSetUserPassword", "AdminAddUserToGroup", "AdminDisableUser", "AdminSetUserMFAPreference", "AdminLinkProviderForUser"}

// importFaults are the faults of the import path: the storms and resets of
// the admin path, aimed at the import job's calls too (GetCSVHeader,
// CreateUserImportJob, StartUserImportJob, DescribeUserImportJob, in one
// sequence where every fault costs a whole backoff), and at the users the
// import hands to the admin API.
func importFaults() []faultCase {
	storm, resets := tier(60, 200), tier(30, 0)
	resetName := "connection resets: every 7th call"
	if resets > 0 {
		resetName = fmt.Sprintf("connection resets: every 7th call, %d calls", resets)
	}
	return []faultCase{
		{fmt.Sprintf("throttle storm: every 2nd call, %d calls", storm), cognitotest.Fault{Kind: cognitotest.FaultThrottle, Every: 2, Count: storm, After: tier(100, 0)}},
		{"throttle storm: 2 DescribeUserImportJob calls in a row", cognitotest.Fault{Operation: "DescribeUserImportJob", Kind: cognitotest.FaultThrottle, Count: 2}},
		{"5xx burst: 2 CreateUserImportJob calls in a row", cognitotest.Fault{Operation: "CreateUserImportJob", Kind: cognitotest.FaultServerError, Count: 2}},
		{"5xx burst: 2 StartUserImportJob calls in a row", cognitotest.Fault{Operation: "StartUserImportJob", Kind: cognitotest.FaultServerError, Count: 2}},
		{"5xx burst: 20 AdminCreateUser calls in a row", cognitotest.Fault{Operation: "AdminCreateUser", Kind: cognitotest.FaultServerError, Count: 20, After: 10}},
		{"latency spikes: 200ms on every 10th call", cognitotest.Fault{Kind: cognitotest.FaultLatency, Latency: 200 * time.Millisecond, Every: 10}},
		{resetName, cognitotest.Fault{Kind: cognitotest.FaultReset, Every: 7, Count: resets}},
	}
}

// lostCase loses the answer to every n-th successful call of ops.
type lostCase struct {
	name  string
	every int
	ops   []string
}

// lostCases are the lost-response scenarios of a path. The long tier loses
// the admin writes operation by operation.
func lostCases(via string) []lostCase {
	cases := []lostCase{{"every 8th write but AdminCreateUser", 8, idempotentWrites}}
	if longTier {
		cases = nil
		for _, op := range idempotentWrites {
			cases = append(cases, lostCase{"every 4th " + op, 4, []string{op}})
		}
	}
	cases = append(cases, lostCase{"every 10th AdminCreateUser", 10, []string{"AdminCreateUser"}})
	if via == viaImport {
		cases = append(cases,
			lostCase{"every 2nd GetCSVHeader, CreateUserImportJob or DescribeUserImportJob", 2, []string{"GetCSVHeader", "CreateUserImportJob", "DescribeUserImportJob"}},
			// The job runs; the client, not knowing, starts it again.
			lostCase{"StartUserImportJob", 1, []string{"StartUserImportJob"}})
	}
	return cases
}

func restoreCases() []bgCase {
	var fs *faultSnapshot
	ready := make(chan struct{})
	// snapshotFor waits for the shared snapshot.
	snapshotFor := func(t tb) *faultSnapshot {
		<-ready
		if fs == nil {
			t.Fatalf("no snapshot to restore: the backup failed (see the no-fault restore)")
		}
		return fs
	}
	noFault := func(via string) func(t tb, sc *scenario) {
		return func(t tb, sc *scenario) {
			fs := snapshotFor(t)
			rt := newRestoreTarget(t, fs, via)
			r := rt.run(t, rt.srv.URL)
			msg, got := judge(t, rt.fs.snap, rt.srv.URL, rt.pool, via, filepath.Join(rt.dir, "subs"), r)
			if msg != "" {
				t.Fatalf("restore --via %s without faults: %s", via, msg)
			}
			// The same command once more finds everything done: it changes
			// nothing, and its report still accounts for every difference.
			again := runCLI(rt.args(rt.srv.URL)...)
			msg, after := judge(t, rt.fs.snap, rt.srv.URL, rt.pool, via, filepath.Join(rt.dir, "subs"), again)
			if msg != "" {
				t.Fatalf("restore --via %s run again after it finished: %s", via, msg)
			}
			if d := unchanged(got, after); len(d) > 0 {
				t.Fatalf("running the finished restore again changed the target:\n%s", first(d, 20))
			}
			rep := parseRestore(t, r)
			sc.Detail = fmt.Sprintf("exit %d, %v; what the snapshot says (%d items not restored, %d restored not exactly, listed); a second run changed nothing",
				r.Code, r.Took.Round(10*time.Millisecond), len(rep.Report.NotRestored), len(rep.Report.Changed))
		}
	}
	cases := []bgCase{
		{"restore: no fault", func(t tb, sc *scenario) {
			func() {
				defer close(ready)
				fs = backupForRestores(t)
			}()
			noFault(viaAdmin)(t, sc)
		}},
		{"restore --via import: no fault", noFault(viaImport)},
	}
	cases = append(cases, pathCases(viaAdmin, restoreFaults(), snapshotFor)...)
	cases = append(cases, pathCases(viaImport, importFaults(), snapshotFor)...)
	return cases
}

// pathCases are the restore-under-faults scenarios of one path: injected
// faults, then lost responses; each judged against the snapshot.
func pathCases(via string, faults []faultCase, snapshotFor func(tb) *faultSnapshot) []bgCase {
	prefix := "restore: "
	if via == viaImport {
		prefix = "restore --via import: "
	}
	var cases []bgCase
	for _, fc := range faults {
		cases = append(cases, bgCase{prefix + fc.name, func(t tb, sc *scenario) {
			rt := newRestoreTarget(t, snapshotFor(t), via)
			before := calls(rt.srv, fc.fault.Operation)
			remove := rt.srv.InjectFault(fc.fault)
			r := rt.run(t, rt.srv.URL)
			remove()
			sc.Injected = hits(fc.fault, calls(rt.srv, fc.fault.Operation)-before)
			if sc.Injected == 0 {
				t.Fatalf("the fault hit no call")
			}
			if msg := rt.check(t, r); msg != "" {
				t.Fatalf("restore --via %s under %s (%d faults, %d run(s)): %s", via, fc.name, sc.Injected, rt.runs, msg)
			}
			sc.Survived = sc.Injected
			sc.Detail = fmt.Sprintf("%d run(s), %v; the target is what the snapshot says", rt.runs, r.Took.Round(10*time.Millisecond))
		}})
	}
	// Responses lost after the fake applied the call: the client sees a
	// dropped connection and sends the same call again.
	for _, lc := range lostCases(via) {
		cases = append(cases, bgCase{prefix + "responses lost after the call: " + lc.name, func(t tb, sc *scenario) {
			rt := newRestoreTarget(t, snapshotFor(t), via)
			lossy := newLossy(t, rt.srv, lc.every, lc.ops...)
			r := rt.run(t, lossy.URL)
			sc.Injected = lossy.Lost()
			if sc.Injected == 0 {
				t.Fatalf("no response was lost")
			}
			if msg := rt.check(t, r); msg != "" {
				t.Fatalf("restore --via %s with %d lost responses (%d run(s)): %s", via, sc.Injected, rt.runs, msg)
			}
			sc.Survived = sc.Injected
			sc.Detail = fmt.Sprintf("%d run(s), %v; the target is what the snapshot says", rt.runs, r.Took.Round(10*time.Millisecond))
		}})
	}
	return cases
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(len(lines), n)], "; ")
}

// ---- lost responses ----

// lossy is a proxy in front of the fake that lets it apply every call but,
// for every n-th successful call of the named operations, drops the
// connection instead of answering: the client cannot tell whether the call
// took effect.
type lossy struct {
	URL   string
	next  http.Handler
	ops   map[string]bool
	every int

	mu         sync.Mutex
	seen, lost int
}

func newLossy(t tb, srv *cognitotest.Server, every int, ops ...string) *lossy {
	t.Helper()
	l := &lossy{next: srv.Service, ops: map[string]bool{}, every: every}
	for _, op := range ops {
		l.ops[op] = true
	}
	hs := httptest.NewServer(l)
	t.Cleanup(hs.Close)
	l.URL = hs.URL
	return l
}

func (l *lossy) Lost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

func (l *lossy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
	if !l.ops[op] {
		l.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	lose := false
	l.mu.Lock()
	if rec.Code == http.StatusOK {
		l.seen++
		if lose = l.seen%l.every == 0; lose {
			l.lost++
		}
	}
	l.mu.Unlock()
	if lose {
		dropConnection(w)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
