package faulttest

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// cogvaultBin is the real binary, built once by TestMain.
var cogvaultBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cogvault-faulttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Built before the environment is isolated: go build needs the
	// machine's module and build caches.
	if cogvaultBin, err = buildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := isolateProcess(home); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if testing.Verbose() {
		printSummary()
	}
	return code
}

// buildBinary builds ./cmd/cogvault from the module root (two levels up),
// with -race when this test runs under -race so that the build reuses the
// packages already compiled for the test.
func buildBinary(dir string) (string, error) {
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(dir, "cogvault")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/cogvault")
	cmd := exec.Command(goTool, args...)
	cmd.Dir = filepath.Join("..", "..")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if testing.Verbose() {
		fmt.Printf("built %s in %v (race %v)\n", bin, time.Since(start).Round(time.Millisecond), raceEnabled)
	}
	return bin, nil
}

// ---- crash during backup ----

// backupClientScale paces crashed backups at Cognito's default quotas ×4:
// a run takes long enough for kills to land all over it.
const backupClientScale = 4

// TestFaultCrash SIGKILLs the real binary during backups and restores. The
// scenarios run side by side (see runSideBySide).
func TestFaultCrash(t *testing.T) {
	t.Parallel()
	pruned := make(chan pruneOutcome, 1)   // what prune left of killed backups
	env := make(chan *restoreEnv, 1)       // the crashed admin restores' snapshot
	envImport := make(chan *restoreEnv, 1) // the crashed import restores' snapshot
	runSideBySide(t, []bgCase{
		{"crash: SIGKILL during backup", func(t tb, sc *scenario) { crashBackup(t, sc, pruned) }},
		{"crash: prune after SIGKILLed backups", func(t tb, sc *scenario) {
			po, ok := <-pruned
			if !ok {
				t.Fatalf("the backup crash scenario did not get as far as prune")
			}
			rest := po.rest
			sc.Injected, sc.Survived = po.runs, po.runs-po.runsLeft
			if len(rest) > 0 {
				sc.Detail = fmt.Sprintf("prune left %d path(s) of %d killed run(s)", len(rest), po.runsLeft)
				t.Fatalf("after prune, killed backups still left:\n%s", first(rest, 20))
			}
			sc.Detail = "prune removed everything the killed runs left"
		}},
		{"crash: SIGKILL during restore", func(t tb, sc *scenario) { crashRestore(t, sc, env, viaAdmin) }},
		{"crash: restore resumed after a torn state-file line", func(t tb, sc *scenario) { tornState(t, sc, env) }},
		{"crash: SIGKILL during restore --via import", func(t tb, sc *scenario) { crashRestore(t, sc, envImport, viaImport) }},
		{"crash: restore --via import resumed after a torn state-file line", func(t tb, sc *scenario) { tornState(t, sc, envImport) }},
	})
}

// pruneOutcome is what prune made of the data killed backups left.
type pruneOutcome struct {
	runs     int      // killed runs that left data
	runsLeft int      // of which prune left something
	rest     []string // what it left
}

// crashBackup kills backups at random points; after each kill the
// repository holds complete snapshots only. It sends what prune could not
// remove of the killed runs' data on pruned.
func crashBackup(t tb, sc *scenario, pruned chan<- pruneOutcome) {
	defer close(pruned)
	kills := 5
	if longTier {
		kills = 40
	}
	srv, res := newFake(t, poolUsers, poolGroups)
	rng := newRand(t)
	g := global(srv.URL, backupClientScale)
	dir := t.TempDir()
	backupArgs := func(repo string) []string {
		// Small chunks: kills land between objects as well as inside one.
		return append([]string{"backup", "--pool", res.PoolID, "--repo", repo, "--chunk-records", "150"}, g...)
	}

	// Uninterrupted runs say how long a backup takes (the first run of a
	// fresh binary pays for loading it: warm it up first) and how many
	// files it writes.
	runBin(t, 0, "version")
	var full time.Duration
	files := 0
	for i := range 2 {
		measure := filepath.Join(dir, fmt.Sprint("measure", i))
		ref := runBin(t, 0, backupArgs(measure)...)
		if ref.Code != 0 {
			t.Fatalf("uninterrupted backup:\n%s", ref)
		}
		if full == 0 || ref.Took < full {
			full = ref.Took
		}
		files = len(repoFiles(t, measure))
	}
	t.Logf("an uninterrupted backup takes %v and writes %d files", full.Round(time.Millisecond), files)

	repoDir := filepath.Join(dir, "repo")
	var absent, complete, finished int
	known := map[string]bool{}
	for i := 0; sc.Injected < kills && i < 3*kills; i++ {
		// Half the kills land at a random time, half after a random
		// number of files (temporary ones included) appeared: between
		// objects, inside one, around the manifest.
		var r result
		var at string
		if i%2 == 0 {
			delay := time.Duration(1 + rng.Int64N(int64(full)))
			at = fmt.Sprintf("after %v", delay.Round(time.Millisecond))
			r = runBin(t, delay, backupArgs(repoDir)...)
		} else {
			k := 1 + rng.IntN(2*files) // each file is a temporary first; the last is the manifest
			at = fmt.Sprintf("after %d new file(s)", k)
			old := repoFiles(t, repoDir)
			seen := map[string]bool{}
			r = runBinUntil(t, func(time.Duration) bool {
				for f := range repoFiles(t, repoDir) {
					if !old[f] {
						seen[f] = true
						// The first such kill always lands inside an
						// object's write, whatever the draw.
						if i == 1 && strings.HasPrefix(filepath.Base(f), ".tmp-") {
							return true
						}
					}
				}
				return len(seen) >= k
			}, backupArgs(repoDir)...)
			if i == 1 {
				at = "while an object was being written"
			}
		}
		ids := snapshotIDs(t, repoDir)
		var fresh []string
		for _, id := range ids {
			if !known[id] {
				fresh = append(fresh, id)
				known[id] = true
			}
		}
		switch {
		case r.Killed && len(fresh) == 0:
			absent++
		case r.Killed && len(fresh) == 1:
			complete++ // killed after its manifest was written
		case !r.Killed && r.Code == 0 && len(fresh) == 1:
			finished++
			full = min(full, r.Took) // runs got faster: aim the kills at what one takes now
		default:
			t.Fatalf("run %d (kill %s): %d new snapshot(s) %v\n%s", i, at, len(fresh), fresh, r)
		}
		for _, id := range fresh {
			if v := runBin(t, 0, "verify", "--repo", repoDir, id); v.Code != 0 {
				t.Fatalf("run %d (kill %s) left snapshot %s that does not verify:\n%s", i, at, id, v)
			}
		}
		if r.Killed {
			sc.Injected++
			sc.Survived++ // every check above held
		}
		t.Logf("run %d: kill %s: killed %v, exit %d, new snapshot %v", i, at, r.Killed, r.Code, fresh)
	}
	// Every manifest on disk is a snapshot that verifies: nothing half-written.
	if v := runBin(t, 0, "verify", "--repo", repoDir); v.Code != 0 {
		t.Fatalf("verify of the whole repository:\n%s", v)
	}
	manifests, _ := filepath.Glob(filepath.Join(repoDir, "snapshots", "*.json"))
	if len(manifests) != len(known) {
		t.Fatalf("%d manifest files on disk, %d snapshots listed: %v", len(manifests), len(known), manifests)
	}

	// What killed runs left is exactly what prune would remove.
	left := leftovers(t, repoDir, known)
	dry := runBin(t, 0, "prune", "--repo", repoDir, "--grace", "1ns", "--dry-run", "--output", "json")
	if dry.Code != 0 {
		t.Fatalf("prune --dry-run:\n%s", dry)
	}
	var plan struct {
		Snapshots   []string `json:"snapshots"`
		DataObjects int      `json:"dataObjects"`
	}
	if err := json.Unmarshal([]byte(dry.Stdout), &plan); err != nil {
		t.Fatalf("prune --dry-run output: %v\n%s", err, dry)
	}
	var visible []string
	objects, temps := 0, 0
	for id, l := range left {
		if len(l.objects) > 0 {
			visible = append(visible, id)
			objects += len(l.objects)
		}
		temps += len(l.temps)
	}
	sort.Strings(visible)
	sort.Strings(plan.Snapshots)
	if !slices.Equal(visible, plan.Snapshots) || objects != plan.DataObjects {
		t.Fatalf("killed backups left data of %v (%d objects); prune would remove %v (%d objects)", visible, objects, plan.Snapshots, plan.DataObjects)
	}

	// A clean run afterwards succeeds, verifies and matches the pool.
	r := runBin(t, 0, backupArgs(repoDir)...)
	if r.Code != 0 {
		t.Fatalf("backup after the crashes:\n%s", r)
	}
	if v := runBin(t, 0, "verify", "--repo", repoDir, "latest"); v.Code != 0 {
		t.Fatalf("verify latest:\n%s", v)
	}
	if d := runBin(t, 0, append([]string{"diff", "--repo", repoDir, "latest"}, g...)...); d.Code != 0 || !strings.Contains(d.Stdout, "no differences") {
		t.Fatalf("diff of the clean backup with the live pool:\n%s", d)
	}
	for _, id := range snapshotIDs(t, repoDir) {
		known[id] = true
	}
	sc.Detail = fmt.Sprintf("%d kills left no snapshot, %d a complete one (%d runs ended before their kill); every snapshot verifies; "+
		"prune --dry-run lists exactly the %d object(s) of %d killed run(s) (plus %d temporary file(s) it cannot see); clean re-run verified, no diff",
		absent, complete, finished, objects, len(visible), temps)

	// Prune, then see what is left of the killed runs.
	if p := runBin(t, 0, "prune", "--repo", repoDir, "--grace", "1ns"); p.Code != 0 {
		t.Fatalf("prune:\n%s", p)
	}
	po := pruneOutcome{runs: len(left)}
	after := leftovers(t, repoDir, known)
	for id, l := range after {
		for _, f := range append(l.objects, l.temps...) {
			po.rest = append(po.rest, filepath.Join("data", id, f))
		}
		if len(l.objects)+len(l.temps) == 0 {
			po.rest = append(po.rest, filepath.Join("data", id)+"/ (empty directory)")
		}
	}
	po.runsLeft = len(after)
	sort.Strings(po.rest)
	if v := runBin(t, 0, "verify", "--repo", repoDir); v.Code != 0 {
		t.Fatalf("verify after prune:\n%s", v)
	}
	pruned <- po
}

// repoFiles lists the files under data/ and snapshots/ of a repository
// directory, temporary ones included.
func repoFiles(t tb, repoDir string) map[string]bool {
	out := map[string]bool{}
	for _, top := range []string{"data", "snapshots"} {
		_ = filepath.WalkDir(filepath.Join(repoDir, top), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out[path] = true
			}
			return nil // files come and go while a backup runs
		})
	}
	return out
}

// snapshotIDs lists the repository's snapshots through the binary; a
// damaged manifest fails the test. A backup killed before it created the
// repository leaves none.
func snapshotIDs(t tb, repoDir string) []string {
	t.Helper()
	if _, err := os.Stat(repoDir); os.IsNotExist(err) {
		return nil
	}
	r := runBin(t, 0, "snapshots", "--repo", repoDir, "--output", "json")
	if r.Code != 0 {
		t.Fatalf("snapshots:\n%s", r)
	}
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("snapshots output: %v\n%s", err, r)
	}
	ids := make([]string, 0, len(list))
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids
}

type leftover struct {
	objects []string // complete objects: prune sees them
	temps   []string // .tmp-* files of writes cut short
}

// leftovers reads data/ on disk: every snapshot directory without a
// manifest and what it holds.
func leftovers(t tb, repoDir string, snapshots map[string]bool) map[string]*leftover {
	t.Helper()
	out := map[string]*leftover{}
	dirs, err := os.ReadDir(filepath.Join(repoDir, "data"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if snapshots[d.Name()] {
			continue
		}
		l := &leftover{}
		out[d.Name()] = l
		if !d.IsDir() {
			l.objects = append(l.objects, d.Name())
			continue
		}
		files, err := os.ReadDir(filepath.Join(repoDir, "data", d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasPrefix(f.Name(), ".tmp-") {
				l.temps = append(l.temps, f.Name())
			} else {
				l.objects = append(l.objects, f.Name())
			}
		}
	}
	return out
}

// ---- crash during restore ----

// restoreClientScale paces crashed restores at Cognito's default quotas ×16.
const restoreClientScale = 16

// restoreEnv is a snapshot to restore, through one path, and what an
// uninterrupted restore of it costs.
type restoreEnv struct {
	srv     *cognitotest.Server
	via     string
	dir     string
	repoDir string
	snap    *snapshotData
	// full and stateSize are how long an uninterrupted restore took and how
	// large its state file grew: they only aim the kills. What a restore
	// must reach is the oracle's business (checkAgainstSnapshot).
	full      time.Duration
	stateSize int64
}

// args is the restore command of target (state and mapping files named
// after name), sent to endpoint.
func (e *restoreEnv) args(endpoint, target, name string) []string {
	a := []string{"restore", "latest", "--repo", e.repoDir, "--to", target, "--output", "json",
		"--state-file", filepath.Join(e.dir, name+".state"), "--mapping-file", filepath.Join(e.dir, name+".subs")}
	if e.via == viaImport {
		a = append(a, "--via", viaImport, "--import-role-arn", importRole)
	}
	return append(a, global(endpoint, restoreClientScale)...)
}

// check judges a target that a restore finished (last) against the
// snapshot; it returns the differences and the target as read.
func (e *restoreEnv) check(t tb, endpoint, target, name string, last result) (string, *poolState) {
	t.Helper()
	return judge(t, e.snap, endpoint, target, e.via, filepath.Join(e.dir, name+".subs"), last)
}

// restoreCrashSize is the pool, kills and kills per target of a restore
// crash scenario. The import path costs a job and its polling per run: its
// short tier is smaller.
func restoreCrashSize(via string) (users, groups, kills, perTarget int) {
	switch {
	case longTier && via == viaImport:
		return poolUsers, poolGroups, 20, 5
	case longTier:
		return poolUsers, poolGroups, 40, 8
	case via == viaImport:
		return 150, 6, 3, 3
	}
	return 300, 10, 5, 5
}

// crashRestore kills restores (through via) at random points and re-runs
// the same command until it finishes; the target must then be what the
// snapshot says (the oracle), and one more run must change nothing. It
// shares its snapshot on envc.
func crashRestore(t tb, sc *scenario, envc chan<- *restoreEnv, via string) {
	defer close(envc)
	users, groups, kills, perTarget := restoreCrashSize(via)
	srv, res := newFake(t, users, groups)
	rng := newRand(t)
	e := &restoreEnv{srv: srv, via: via, dir: t.TempDir()}
	e.repoDir = filepath.Join(e.dir, "repo")
	if r := runBin(t, 0, append([]string{"backup", "--pool", res.PoolID, "--repo", e.repoDir, "--mfa"}, global(srv.URL, restoreClientScale)...)...); r.Code != 0 {
		t.Fatalf("backup:\n%s", r)
	}
	e.snap = loadSnapshot(t, e.repoDir)
	checkSnapshotIsSource(t, e.snap, readPool(t, sdkClient(t, srv.URL), res.PoolID))

	// An uninterrupted restore into a fresh pool says how long a run takes
	// and how much state it writes, to aim the kills; it is judged like
	// every other.
	measure := newTarget(t, srv, "measure")
	ref := runBin(t, 0, e.args(srv.URL, measure, "measure")...)
	if msg, _ := e.check(t, srv.URL, measure, "measure", ref); msg != "" {
		t.Fatalf("uninterrupted restore: %s", msg)
	}
	e.full, e.stateSize = ref.Took, fileSize(filepath.Join(e.dir, "measure.state"))
	full := e.full
	refRep := parseRestore(t, ref)
	t.Logf("an uninterrupted restore takes %v: exit %d, %d users created, %d not restored, %d not exactly",
		full.Round(time.Millisecond), ref.Code, refRep.Report.UsersCreate, len(refRep.Report.NotRestored), len(refRep.Report.Changed))
	envc <- e

	var details []string
	midUser := 0    // kills that caught a user between its intent record and its creation record
	progressed := 0 // kills after the run had recorded progress
	restored := 0
	for round := 0; sc.Injected < kills && round < 2*kills; round++ {
		name := fmt.Sprintf("target%d", round)
		target := newTarget(t, srv, name)
		killed, runs := 0, 0
		// Each kill lands somewhere in what the run has left to do: a
		// resumed run skips the users done, but lists the target again.
		remaining := full
		var last result
		var before stateCounts
		for {
			// Half the kills land at a random time, half once the state
			// file grew by a random share of what is left to record.
			var delay time.Duration
			var at string
			statePath := filepath.Join(e.dir, name+".state")
			if killed < perTarget && sc.Injected < kills {
				delay = time.Duration(1 + rng.Int64N(int64(remaining)))
				at = fmt.Sprintf("after %v", delay.Round(time.Millisecond))
			}
			size0 := fileSize(statePath)
			if delay > 0 && killed%2 == 1 && e.stateSize > size0 {
				grow := 1 + rng.Int64N(e.stateSize-size0)
				at = fmt.Sprintf("after %d more bytes of state", grow)
				last = runBinUntil(t, func(time.Duration) bool { return fileSize(statePath) >= size0+grow }, e.args(srv.URL, target, name)...)
			} else {
				last = runBin(t, delay, e.args(srv.URL, target, name)...)
			}
			runs++
			if delay > 0 && !last.Killed && killed == 0 && last.Took < full {
				// It finished before the kill: runs are faster than the
				// measured run was. Aim the next kills at what a run takes.
				full = last.Took
			}
			if last.Killed {
				killed++
				sc.Injected++
				remaining = min(full, remaining-delay+full/5)
				st := readState(t, statePath)
				caught := 0
				for u := range st.pending {
					if !before.pending[u] {
						caught++
					}
				}
				if caught > 0 {
					midUser++
				}
				if st.records() > before.records() {
					progressed++
				}
				t.Logf("%s run %d: killed %s; state: %d intents, %d created, %d done (+%d records), %d user(s) newly caught between intent and created",
					name, runs, at, st.intents, st.created, st.done, st.records()-before.records(), caught)
				before = st
				continue
			}
			break
		}
		msg, got := e.check(t, srv.URL, target, name, last)
		if msg != "" {
			t.Fatalf("%s after %d kills (%d runs): %s", name, killed, runs, msg)
		}
		// Running the finished restore again changes nothing.
		again := runBin(t, 0, e.args(srv.URL, target, name)...)
		rep := parseRestore(t, again)
		if again.Code != last.Code || rep.Report.UsersCreate != 0 || rep.Report.UsersResumed != 0 {
			t.Fatalf("%s: running the finished restore again: exit %d (the run before %d), %d users to create, %d resumed\n%s",
				name, again.Code, last.Code, rep.Report.UsersCreate, rep.Report.UsersResumed, again)
		}
		msg, after := e.check(t, srv.URL, target, name, again)
		if msg != "" {
			t.Fatalf("%s: after running the finished restore again: %s", name, msg)
		}
		if d := unchanged(got, after); len(d) > 0 {
			t.Fatalf("%s: running the finished restore again changed the target:\n%s", name, first(d, 20))
		}
		restored = len(got.Users)
		sc.Survived += killed
		details = append(details, fmt.Sprintf("%s: %d kills, %d runs", name, killed, runs))
	}
	if n := srv.MessagesSent(); n != 0 {
		t.Fatalf("the restores sent %d messages", n)
	}
	sc.Detail = fmt.Sprintf("every re-run reached what the snapshot says (%d users restored; attributes, status, enabled, MFA, links, groups, memberships, exit status, sub mapping; "+
		"one more run changes nothing); %d kill(s) after a run recorded progress, %d caught a user between intent and creation; %s",
		restored, progressed, midUser, strings.Join(details, "; "))
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

type stateCounts struct {
	intents, created, done int
	pending                map[string]bool // users with an intent record and no created record
}

// readState counts the records of a restore state file. A torn last line
// (a kill during a write) is not counted.
func readState(t tb, path string) stateCounts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	c := stateCounts{pending: map[string]bool{}}
	intent, created := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		var r struct{ E, U string }
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		switch r.E {
		case "intent":
			c.intents++
			intent[r.U] = true
		case "created":
			c.created++
			created[r.U] = true
		case "done":
			c.done++
		}
	}
	for u := range intent {
		if !created[u] {
			c.pending[u] = true
		}
	}
	return c
}

func (c stateCounts) records() int { return c.intents + c.created + c.done }

// tornState: a process killed in the middle of a write leaves a torn last
// line in the state file; restore.openState says it expects one. A killed
// run, a torn line, then the same command until it finishes, and once more:
// the target must be what the snapshot says. It runs on a server of its
// own (an account runs one import job at a time).
func tornState(t tb, sc *scenario, envc <-chan *restoreEnv) {
	e, ok := <-envc
	if !ok {
		t.Fatalf("the restore crash scenario did not get as far as its snapshot")
	}
	const name = "torn"
	srv := newServer(t)
	target := newTarget(t, srv, name)
	// The kill waits for the state file too: on a loaded machine half a run
	// may not get past start-up, and a torn line needs a file to land in.
	path := filepath.Join(e.dir, name+".state")
	for delay := e.full / 2; ; delay = delay * 3 / 4 {
		kill := func(elapsed time.Duration) bool { return elapsed >= delay && fileSize(path) > 0 }
		if r := runBinUntil(t, kill, e.args(srv.URL, target, name)...); r.Killed {
			break
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// What a write cut short leaves: the start of a record, no newline.
	if _, err := f.WriteString(`{"e":"intent","u":"us`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sc.Injected = 2 // the kill and the torn line
	next := runBin(t, 0, e.args(srv.URL, target, name)...)
	msg, got := e.check(t, srv.URL, target, name, next)
	if msg != "" {
		t.Fatalf("the run after the torn line: %s", msg)
	}
	again := runBin(t, 0, e.args(srv.URL, target, name)...)
	msg, after := e.check(t, srv.URL, target, name, again)
	if msg != "" {
		t.Fatalf("running it once more after a torn state line: %s", msg)
	}
	if d := unchanged(got, after); len(d) > 0 {
		t.Fatalf("running the finished restore again changed the target:\n%s", first(d, 20))
	}
	sc.Survived = sc.Injected
	sc.Detail = fmt.Sprintf("the next run resumed and reached what the snapshot says (%d users); one more changed nothing", len(got.Users))
}
