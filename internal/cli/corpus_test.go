package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/klauspost/compress/zstd"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// TestBadInputCorpus runs the real CLI over a corpus of bad input: damaged
// snapshots (truncated and bit-flipped chunks, manifests whose checksums,
// counts or format version lie, a snapshot without manifest, records with
// missing fields or non-UTF-8 bytes), values at and above Cognito's length
// limits and values that break naive CSV, usernames that collide under case
// folding, and repository URLs that point nowhere or at a bucket the caller
// may not read.
//
// Every case starts from a real snapshot (cogvault backup of a small fake
// pool, or of a pool built for the case) and changes only what it names;
// static inputs live in testdata/corpus. For every command the case runs, the
// test checks the exit code, that the output names the damaged object and
// says what to do, that it is a message and not a stack or an XML dump, that
// no attribute value of the data appears in it, and, for restores that
// reject their input, that the target pool is unchanged.
//
// A check that fails is a failure: a known bug is a failing check, never a
// skip, so a regression shows as FAIL.
func TestBadInputCorpus(t *testing.T) {
	corpusIsolateAWS(t)
	start := time.Now()
	e := newCorpusEnv(t)
	for _, c := range corpusCases() {
		t.Run(c.name, func(t *testing.T) {
			f := c.fixture(t, e)
			var failed []string
			for i, st := range c.steps {
				failed = append(failed, runCorpusStep(t, e, f, i, st)...)
			}
			if len(failed) > 0 {
				t.Fatalf("%d check(s) failed:\n\n%s", len(failed), strings.Join(failed, "\n\n"))
			}
		})
	}
	t.Logf("corpus done in %s", time.Since(start).Round(time.Millisecond))
}

// ---- the cases -------------------------------------------------------------

type corpusCase struct {
	name string
	// fixture builds the repository the steps read.
	fixture func(t *testing.T, e *corpusEnv) *corpusFixture
	steps   []corpusStep
}

// corpusStep is one command and what it must do. In args and want,
// placeholders are replaced: {repo} {id} {manifest} {users1} {users2}
// {members} {pool} (object keys of the fixture's snapshot), {target} (a new,
// empty pool created for the step), {src} (the fixture's source pool) and
// {from} (import-legacy's source). --repo {repo}, the fake's endpoint and,
// for restore, a private state and mapping file are added.
type corpusStep struct {
	args []string
	// exit is the wanted exit code; anyFailure accepts every code but 0.
	exit int
	// want are substrings the output (stdout and stderr) must hold: the
	// object named, and what to do.
	want []string
	// wantAny, when set, needs at least one of its substrings.
	wantAny []string
	// advise needs one of the phrases of advice: the error says what to do.
	advise bool
	// after checks more (restored values, files left behind); it returns
	// a description of what is wrong, or "".
	after func(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string
	// more are further checks like after, by name.
	more map[string]func(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string
}

const anyFailure = -1

// The corpus found nine bugs when it was written (restore writing before it
// had read the snapshot, errors without advice, decoder symptoms instead of
// checksum verdicts, "latest" hiding damaged manifests, non-UTF-8 accepted,
// over-long values sent and refused without the attribute's name,
// contradictory import notes, read-only commands creating a mistyped
// repository); all are fixed. A new one is a failing check until it is fixed.

func corpusCases() []corpusCase {
	verify := func(extra ...string) []string { return append([]string{"verify"}, extra...) }
	restore := func(ref string, extra ...string) []string {
		return append([]string{"restore", ref, "--to", "{target}"}, extra...)
	}
	const fix = "restore from an older snapshot or re-run backup"
	const role = "arn:aws:iam::123456789012:role/import"
	return []corpusCase{
		// ---- damaged data objects ----
		{
			name:    "truncated users chunk",
			fixture: damage(func(t *testing.T, f *corpusFixture) { truncateObject(t, f, "users-000002.jsonl.zst", 0.6) }),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users2}: object is damaged: size mismatch", fix}},
				{args: verify("{id}"), exit: 1, want: []string{"{users2}: object is damaged: size mismatch", fix}},
				{args: restore("{id}"), exit: 1, want: []string{"{users2}", "size mismatch", fix}},
				{args: []string{"diff", "{id}"}, exit: 2, want: []string{"{users2}", "size mismatch", fix}},
			},
		},
		{
			name:    "bit-flipped users chunk",
			fixture: damage(func(t *testing.T, f *corpusFixture) { flipByte(t, f, "users-000001.jsonl.zst", 0.5) }),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: object is damaged: sha256 mismatch", fix}},
				{args: restore("latest"), exit: 1, want: []string{"{users1}", "sha256 mismatch", fix}},
				{args: []string{"diff", "latest"}, exit: 2, want: []string{"{users1}", "sha256 mismatch", fix}},
			},
		},
		{
			name:    "bit-flipped members chunk",
			fixture: damage(func(t *testing.T, f *corpusFixture) { flipByte(t, f, "members-000001.jsonl.zst", 0.3) }),
			steps: []corpusStep{
				{args: verify("{id}"), exit: 1, want: []string{"{members}: object is damaged: sha256 mismatch", fix}},
				{args: restore("{id}"), exit: 1, want: []string{"{members}", "sha256 mismatch", fix}},
			},
		},
		{
			name:    "truncated pool object",
			fixture: damage(func(t *testing.T, f *corpusFixture) { truncateObject(t, f, "pool.json.zst", 0.5) }),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{pool}: object is damaged: size mismatch", fix}},
				// The pool object is read before anything is written.
				{args: restore("{id}"), exit: 1, want: []string{"{pool}", "size mismatch", fix}},
			},
		},
		{
			name:    "users chunk missing from the repository",
			fixture: damage(func(t *testing.T, f *corpusFixture) { removeFile(t, f.object("users-000002.jsonl.zst")) }),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users2}: missing"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users2}", "does not exist"}, advise: true},
			},
		},
		{
			name: "chunk of another kind",
			fixture: damage(func(t *testing.T, f *corpusFixture) {
				copyObjectAs(t, f, "members-000001.jsonl.zst", "users-000002.jsonl.zst", "users")
			}),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users2}", `holds "members" records, want "users"`}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users2}", `holds "members" records`}, advise: true},
			},
		},
		{
			name: "chunk of format version 99",
			fixture: damage(func(t *testing.T, f *corpusFixture) {
				rewriteChunk(t, f, "users-000001.jsonl.zst", "users", 99, chunkLines(t, f, "users-000001.jsonl.zst"))
			}),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: format version 99 is newer", "upgrade cogvault"}},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}", "upgrade cogvault"}},
			},
		},

		// ---- manifests that lie ----
		{
			name: "manifest sha256 lies",
			fixture: damage(func(t *testing.T, f *corpusFixture) {
				editManifest(t, f, func(m *snapshot.Manifest) { objectOf(t, m, "users-000001.jsonl.zst").SHA256 = strings.Repeat("ab", 32) })
			}),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: object is damaged: sha256 mismatch", fix}},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}", "sha256 mismatch", fix}},
			},
		},
		{
			name: "manifest record count lies",
			fixture: damage(func(t *testing.T, f *corpusFixture) {
				editManifest(t, f, func(m *snapshot.Manifest) {
					objectOf(t, m, "users-000001.jsonl.zst").Records++
					m.Counts.Users++ // the manifest adds up: only the object disagrees
				})
			}),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: object is damaged: holds 20 records, the manifest says 21"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}", "the manifest says 21"}, advise: true},
			},
		},
		{
			name: "manifest counts disagree with its objects",
			fixture: damage(func(t *testing.T, f *corpusFixture) {
				editManifest(t, f, func(m *snapshot.Manifest) { m.Counts.Users += 5 })
			}),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{manifest}", "manifest counts 35 users but its objects hold 30"}, advise: true},
				{args: []string{"snapshots"}, exit: 1, want: []string{"damaged manifest {manifest}", "run 'cogvault verify'"}},
				{args: restore("{id}"), exit: 2, want: []string{"{manifest}", "manifest counts 35 users"}, advise: true},
				{args: restore("latest"), exit: 2, want: []string{"{manifest}"}, advise: true},
			},
		},
		{
			name:    "manifest of format version 99",
			fixture: staticManifest("format-99.json"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{manifest}: format version 99 is newer", "upgrade cogvault"}},
				{args: []string{"snapshots"}, exit: 1, want: []string{"{manifest}", "upgrade cogvault"}},
				{args: restore("{id}"), exit: 2, want: []string{"{manifest}", "upgrade cogvault"}},
				{args: verify("latest"), exit: 2, want: []string{"{manifest}", "upgrade cogvault"}},
			},
		},
		{
			name:    "manifest that is not JSON",
			fixture: staticManifest("not-json.json"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{manifest}: invalid snapshot data: not a manifest"}, advise: true},
				{args: []string{"snapshots"}, exit: 1, want: []string{"{manifest}", "run 'cogvault verify'"}},
				{args: restore("{id}"), exit: 2, want: []string{"{manifest}", "not a manifest"}, advise: true},
			},
		},
		{
			name:    "manifest with object names outside the snapshot",
			fixture: staticManifest("path-traversal.json"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{manifest}", `manifest object name "../../../../etc/passwd"`}, advise: true},
				{args: restore("{id}"), exit: 2, want: []string{"{manifest}", "../../../../etc/passwd"}, advise: true},
			},
		},
		{
			name: "snapshot without manifest",
			fixture: damage(func(t *testing.T, f *corpusFixture) {
				removeFile(t, filepath.Join(f.repo, filepath.FromSlash(f.manifestKey())))
			}),
			steps: []corpusStep{
				// A backup that never finished is no snapshot (docs/format.md):
				// listing shows nothing, naming it is an error.
				{args: []string{"snapshots"}, exit: 0, want: []string{"SNAPSHOT"}},
				{args: restore("latest"), exit: 2, want: []string{"no such snapshot in {repo}", "no complete snapshot"}, advise: true},
				{args: restore("{id}"), exit: 2, want: []string{"snapshot {id}: no such snapshot in {repo}"}, advise: true},
				{args: verify("{id}"), exit: 2, want: []string{"snapshot {id}: no such snapshot"}, advise: true},
			},
		},

		// ---- records ----
		{
			name:    "user record without sub",
			fixture: staticChunk("users-000001.jsonl.zst", "users", "users-missing-sub.jsonl"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: record 3: invalid snapshot data: user \"corpus-no-sub\" without sub"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}: record 3", "without sub"}, advise: true},
			},
		},
		{
			name:    "user record without username",
			fixture: staticChunk("users-000001.jsonl.zst", "users", "users-missing-username.jsonl"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: record 3: invalid snapshot data: user without username"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}: record 3", "without username"}, advise: true},
			},
		},
		{
			name:    "user record without status",
			fixture: staticChunk("users-000001.jsonl.zst", "users", "users-missing-status.jsonl"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: record 3: invalid snapshot data: user \"corpus-no-status\" without status"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}: record 3", "without status"}, advise: true},
			},
		},
		{
			name:    "membership record without group",
			fixture: staticChunk("members-000001.jsonl.zst", "members", "members-missing-group.jsonl"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{members}: record 2: invalid snapshot data: membership without group"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{members}: record 2"}, advise: true},
			},
		},
		{
			name:    "non-UTF-8 bytes in a user record",
			fixture: staticChunk("users-000001.jsonl.zst", "users", "users-not-utf8.jsonl"),
			steps: []corpusStep{
				{args: verify(), exit: 1, want: []string{"{users1}: record 2", "UTF-8"}, advise: true},
				{args: restore("{id}"), exit: 1, want: []string{"{users1}: record 2", "UTF-8"}, advise: true, after: latin1NotRestored},
			},
		},

		// ---- values that are valid and must round-trip, or be reported ----
		{
			name:    "values at the length limits and CSV-hostile values round-trip",
			fixture: hostilePool,
			steps: []corpusStep{
				{args: verify("{id}"), exit: 0, want: []string{"{id}: ok"}},
				{args: restore("{id}", "--via", "admin"), exit: 0, want: []string{"restored: snapshot {id}"}, after: sameValues(false)},
				{args: restore("{id}", "--via", "import", "--import-role-arn", role), exit: 0, want: []string{"import job(s)"}, after: sameValues(true),
					more: map[string]func(*testing.T, *corpusEnv, *corpusFixture, *corpusResult) string{"report": importedStatusNotes}},
			},
		},
		{
			name:    "legacy events with CSV-hostile values and unusable events",
			fixture: legacyRepo,
			steps: []corpusStep{
				// The events that are not usable are named and skipped, the
				// rest imported; the snapshot is sound and restores exactly.
				{args: []string{"import-legacy", "--from", "{from}"}, exit: 3, want: []string{
					"skipped cognito_user_legacy.nosub: the event has no userName, userPoolId or sub",
					"skipped cognito_user_legacy.notjson: not a PostConfirmation event"}},
				{args: verify("latest"), exit: 0, want: []string{": ok"}},
				{args: restore("latest", "--via", "admin"), exit: 0, after: legacyValues},
				// A Latin-1 event can be neither restored exactly (Cognito
				// takes only UTF-8) nor imported as it is: it is skipped and
				// named, never changed.
				{args: []string{"import-legacy", "--from", "{from}", "--repo", "{repo}-again"}, exit: 3,
					want: []string{"skipped cognito_user_legacy.latin1", "UTF-8"}},
				{args: restore("latest", "--via", "admin"), exit: 0, after: latin1NotRestored},
			},
		},
		{
			name:    "standard attribute above 2048 characters",
			fixture: overlongName,
			steps: []corpusStep{
				// The base pool holds federated-only users: exit 3 in any case.
				{args: restore("{id}"), exit: 3, want: []string{"- attribute name: holds 2049 characters", "[1: corpus.overlong]"}, after: overlongNotCreated},
			},
		},
		{
			name:    "custom attribute longer than the target allows",
			fixture: widePool,
			steps: []corpusStep{
				{args: restore("{id}", "--via", "admin"), exit: 3, want: []string{"- attribute custom:tenant_id: holds", "too.long"}, after: onlyFitsRestored},
				{args: restore("{id}", "--via", "import", "--import-role-arn", role), exit: 3, want: []string{"- attribute custom:tenant_id: holds", "too.long"},
					after: onlyFitsRestored},
			},
		},
		{
			name:    "usernames that collide under case-insensitivity",
			fixture: caseSensitivePool,
			steps: []corpusStep{
				{args: restore("{id}", "--via", "admin"), exit: 3, want: []string{"case-insensitive"}, after: oneAliceRestored},
				{args: restore("{id}", "--via", "import", "--import-role-arn", role), exit: 3, want: []string{"case-insensitive"}, after: oneAliceRestored},
			},
		},

		// ---- repositories that are not there ----
		{
			name:    "repository path that does not exist",
			fixture: missingDir,
			steps: []corpusStep{
				{args: verify(), exit: 2, want: []string{"{repo}", "does not exist"}, after: repoNotCreated},
				{args: []string{"snapshots"}, exit: 2, want: []string{"{repo}", "does not exist"}, after: repoNotCreated},
				{args: restore("latest"), exit: 2, want: []string{"{repo}", "does not exist"}, after: repoNotCreated},
				{args: []string{"diff", "latest"}, exit: 2, want: []string{"{repo}", "does not exist"}, after: repoNotCreated},
			},
		},
		{
			name:    "repository path that is a file",
			fixture: fileAsRepo,
			steps: []corpusStep{
				{args: verify(), exit: 2, want: []string{"{repo}", "not a directory"}},
				{args: []string{"snapshots"}, exit: 1, want: []string{"{repo}", "not a directory"}},
				{args: restore("latest"), exit: anyFailure, want: []string{"{repo}", "not a directory"}},
			},
		},
		{
			name:    "S3 bucket that does not exist",
			fixture: s3Repo("s3://bucket-that-does-not-exist/p", false),
			steps: []corpusStep{
				{args: verify(), exit: 2, want: []string{"{repo}", "the bucket does not exist"}},
				{args: []string{"snapshots"}, exit: 1, want: []string{"{repo}", "the bucket does not exist"}},
				{args: restore("latest"), exit: 2, want: []string{"{repo}", "the bucket does not exist"}},
				{args: []string{"diff", "latest"}, exit: 2, want: []string{"{repo}", "the bucket does not exist"}},
			},
		},
		{
			name:    "S3 bucket without permission",
			fixture: s3Repo("s3://corpus-locked/cognito", true),
			steps: []corpusStep{
				{args: verify(), exit: 2, want: []string{"{repo}", "permission denied"}},
				{args: []string{"snapshots"}, exit: 1, want: []string{"{repo}", "permission denied"}},
				{args: restore("latest"), exit: 1, want: []string{"{repo}", "permission denied"}},
				// Opening a repository reads its config.json first.
				{args: verify("20250101T000000.000Z-c0ffee00"), exit: 2, want: []string{"{repo}/config.json", "permission denied"}},
			},
		},
	}
}

// ---- running a step ----------------------------------------------------------

type corpusResult struct {
	code           int
	stdout, stderr string
	panicked       string
	target         string // the pool {target} named, if any
	args           []string
}

func (r *corpusResult) String() string {
	var args []string // without the --quota-rate flags every step has
	for i := 0; i < len(r.args); i++ {
		if r.args[i] == "--quota-rate" {
			i++
			continue
		}
		args = append(args, r.args[i])
	}
	return fmt.Sprintf("cogvault %s\nexit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
}

// runCorpusStep runs one step and returns the checks that failed.
func runCorpusStep(t *testing.T, e *corpusEnv, f *corpusFixture, i int, st corpusStep) (failed []string) {
	t.Helper()
	for k, v := range f.env {
		t.Setenv(k, v)
	}
	r := &corpusResult{}
	var before poolCounts
	if slices.Contains(st.args, "{target}") {
		res, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: fmt.Sprintf("corpus-target-%d", e.nextSeed()), Seed: e.nextSeed()})
		if err != nil {
			t.Fatal(err)
		}
		r.target = res.PoolID
		before = e.counts(t, r.target)
	}
	expand := f.replacer(r.target)
	for _, a := range st.args {
		r.args = append(r.args, expand.Replace(a))
	}
	if !slices.Contains(r.args, "--repo") {
		r.args = append(r.args, "--repo", f.repo)
	}
	r.args = append(r.args, corpusAWSFlags(e)...)
	if r.args[0] == "restore" {
		dir := t.TempDir()
		r.args = append(r.args, "--state-file", dir+"/state", "--mapping-file", dir+"/subs")
	}
	r.run(t)
	t.Logf("step %d: %s", i, r)

	check := func(name string, problem string) {
		t.Helper()
		if problem != "" {
			failed = append(failed, fmt.Sprintf("step %d (%s check): %s\n%s", i, name, problem, indent(r.String())))
		}
	}

	if r.panicked != "" {
		t.Fatalf("step %d: cogvault panicked: %s\n%s", i, r.panicked, r)
	}
	out := r.stdout + r.stderr
	switch {
	case st.exit == anyFailure && r.code == 0:
		check("exit", "exit 0, want a failure")
	case st.exit != anyFailure && r.code != st.exit:
		check("exit", fmt.Sprintf("exit %d, want %d", r.code, st.exit))
	}
	var missing []string
	for _, w := range st.want {
		if w = expand.Replace(w); !strings.Contains(out, w) {
			missing = append(missing, fmt.Sprintf("%q", w))
		}
	}
	if len(st.wantAny) > 0 && !slices.ContainsFunc(st.wantAny, func(w string) bool { return strings.Contains(out, expand.Replace(w)) }) {
		missing = append(missing, fmt.Sprintf("one of %q", st.wantAny))
	}
	if st.advise && !slices.ContainsFunc(advice, func(w string) bool { return strings.Contains(out, w) }) {
		missing = append(missing, "advice on what to do (one of "+strings.Join(advice, ", ")+")")
	}
	if len(missing) > 0 {
		check("message", "the output lacks "+strings.Join(missing, ", "))
	}
	check("quiet", quietProblem(r))
	check("values", leakedValue(r, append(slices.Clone(e.secrets), f.secrets...)))
	if r.target != "" && st.exit != 0 && st.exit != 3 {
		if after := e.counts(t, r.target); after != before {
			check("target", fmt.Sprintf("the input was rejected, but the target pool %s changed: %d users and %d groups before, %d and %d after",
				r.target, before.users, before.groups, after.users, after.groups))
		}
	}
	if st.after != nil {
		check("after", st.after(t, e, f, r))
	}
	for _, name := range slices.Sorted(maps.Keys(st.more)) {
		check(name, st.more[name](t, e, f, r))
	}
	return failed
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// advice is what an error about bad input may tell the operator to do;
// steps with advise need one of them.
var advice = []string{"restore from an older snapshot", "re-run backup", "run 'cogvault backup", "upgrade cogvault",
	"run 'cogvault verify'", "see 'cogvault snapshots'", "use another snapshot", "check --repo"}

// corpusAWSFlags point the CLI at the fake Cognito and lift its client-side
// pacing (the fake runs without quotas): a restore otherwise paces itself at
// Cognito's default rates, which is right against AWS and slow here.
func corpusAWSFlags(e *corpusEnv) []string {
	out := []string{"--endpoint-url", e.srv.URL, "--region", "us-east-1"}
	for _, c := range quota.Categories() {
		out = append(out, "--quota-rate", string(c)+"=100000")
	}
	return out
}

func (r *corpusResult) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb corpusBuf
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
		}()
		r.code = cli.Main(ctx, r.args, strings.NewReader(""), &out, &errb)
	}()
	r.stdout, r.stderr = out.String(), errb.String()
}

// quietProblem says what is wrong with the shape of the output: a stack, a
// raw XML error document, or more than a few lines of messages on stderr
// (progress log lines, "time=… msg=progress", do not count).
func quietProblem(r *corpusResult) string {
	out := r.stdout + r.stderr
	for _, bad := range []string{"panic", "goroutine ", ".go:", "<?xml", "<Error>", "</Code>", "runtime error"} {
		if strings.Contains(out, bad) {
			return fmt.Sprintf("the output holds %q: a stack trace or a raw service answer, not a message", bad)
		}
	}
	var msgs []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, "time=") {
			msgs = append(msgs, l)
		}
	}
	if len(msgs) > 3 {
		return fmt.Sprintf("stderr has %d lines of messages, want one (or a few)", len(msgs))
	}
	if r.code != 0 && r.code != 3 && !strings.Contains(r.stderr, "cogvault: ") {
		return "the command failed without an error message on stderr"
	}
	return ""
}

// leakedValue returns a description of the first attribute value found in
// the output: cogvault never prints values.
func leakedValue(r *corpusResult, secrets []string) string {
	out := r.stdout + r.stderr
	for _, s := range secrets {
		// Short values ("\"", "true") occur in any text.
		if utf8.RuneCountInString(strings.TrimSpace(s)) >= 6 && strings.Contains(out, s) {
			return fmt.Sprintf("the output contains the attribute value %q", s)
		}
	}
	return ""
}

type corpusBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *corpusBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *corpusBuf) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func corpusIsolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "", "COGVAULT_REPO": "",
		"AWS_CONFIG_FILE": dir + "/config", "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
		"XDG_STATE_HOME": dir + "/state", // restore's side files: never the developer's
	} {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "") // restored after the test …
	os.Unsetenv("AWS_ENDPOINT_URL_S3")  // … and unset: an empty value would still count as set for the SDK
}

// ---- the environment every case shares ----------------------------------------

type corpusEnv struct {
	srv     *cognitotest.Server
	api     *cip.Client
	work    string
	base    string // a repository with one good snapshot of srcPool
	id      string
	srcPool string
	secrets []string // attribute values of the source pool
	seed    uint64
	mu      sync.Mutex
}

func (e *corpusEnv) nextSeed() uint64 { e.mu.Lock(); defer e.mu.Unlock(); e.seed++; return e.seed }

func newCorpusEnv(t *testing.T) *corpusEnv {
	t.Helper()
	e := &corpusEnv{srv: cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true}), work: t.TempDir(), seed: 100}
	// Import-job logs come from CloudWatch Logs, which --endpoint-url does not redirect.
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", e.srv.URL)
	e.api = corpusClient(e.srv)
	res, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "corpus-src", Users: 30, Groups: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	e.srcPool = res.PoolID
	e.base = filepath.Join(e.work, "base")
	// Two user objects, so that damage can sit behind a good object.
	e.id = corpusBackup(t, e, e.srcPool, e.base, "--chunk-records", "20")
	e.secrets = poolValues(t, e, e.srcPool)
	if len(e.secrets) < 30 {
		t.Fatalf("only %d values to look for in the output", len(e.secrets))
	}
	for _, name := range []string{"users-000001.jsonl.zst", "users-000002.jsonl.zst", "members-000001.jsonl.zst", "pool.json.zst"} {
		if _, err := os.Stat(filepath.Join(e.base, "data", e.id, name)); err != nil {
			t.Fatalf("the base snapshot has no %s: %v", name, err)
		}
	}
	return e
}

func corpusClient(srv *cognitotest.Server) *cip.Client {
	return cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
}

// corpusBackup backs pool up into repo with the real CLI and returns the
// snapshot id.
func corpusBackup(t *testing.T, e *corpusEnv, pool, repo string, extra ...string) string {
	t.Helper()
	// The corpus damages manifests by hand to reach the checks behind the
	// signature (checksums, counts, versions), so its repositories are
	// unsigned; signed_test.go covers what signing refuses.
	if _, err := os.Stat(filepath.Join(repo, "config.json")); err != nil {
		in := &corpusResult{args: []string{"init", "--no-signing", "--repo", repo}}
		if in.run(t); in.code != 0 {
			t.Fatalf("init: %s", in)
		}
	}
	r := &corpusResult{args: append(append([]string{"backup", "--pool", pool, "--repo", repo, "--output", "json"}, corpusAWSFlags(e)...), extra...)}
	r.run(t)
	var sum struct{ Snapshot string }
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || r.code != 0 || sum.Snapshot == "" {
		t.Fatalf("backup: %v\n%s", err, r)
	}
	return sum.Snapshot
}

// poolValues returns the attribute values of a pool worth looking for in
// the output: long enough not to occur by chance.
func poolValues(t *testing.T, e *corpusEnv, pool string) []string {
	t.Helper()
	var out []string
	for _, attrs := range poolUsers(t, e, pool) {
		for k, v := range attrs {
			switch k {
			case "sub", "email_verified", "phone_number_verified", "identities", "custom:score", "custom:tenant_id", "locale", "zoneinfo":
				continue
			}
			if utf8.RuneCountInString(strings.TrimSpace(v)) >= 8 {
				out = append(out, v)
			}
		}
	}
	return out
}

type poolCounts struct{ users, groups int }

func (e *corpusEnv) counts(t *testing.T, pool string) poolCounts {
	t.Helper()
	var c poolCounts
	for _, err := range cognito.Users(context.Background(), e.api, pool, "") {
		if err != nil {
			t.Fatal(err)
		}
		c.users++
	}
	for _, err := range cognito.Groups(context.Background(), e.api, pool) {
		if err != nil {
			t.Fatal(err)
		}
		c.groups++
	}
	return c
}

// poolUsers returns every user's attributes (sub excluded), by username.
func poolUsers(t *testing.T, e *corpusEnv, pool string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for u, err := range cognito.Users(context.Background(), e.api, pool, "") {
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string]string{}
		for _, a := range u.Attributes {
			attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		out[aws.ToString(u.Username)] = attrs
	}
	return out
}

func poolStatus(t *testing.T, e *corpusEnv, pool string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for u, err := range cognito.Users(context.Background(), e.api, pool, "") {
		if err != nil {
			t.Fatal(err)
		}
		out[aws.ToString(u.Username)] = string(u.UserStatus)
	}
	return out
}

// ---- fixtures ---------------------------------------------------------------

type corpusFixture struct {
	repo    string
	id      string
	secrets []string          // more values that must never be printed
	env     map[string]string // environment of every step
	src     string            // the source pool of the snapshot
	from    string            // import-legacy's source
	data    map[string]map[string]string
}

func (f *corpusFixture) object(name string) string {
	return filepath.Join(f.repo, "data", f.id, name)
}

func (f *corpusFixture) manifestKey() string { return snapshot.ManifestKey(f.id) }

func (f *corpusFixture) replacer(target string) *strings.Replacer {
	key := func(name string) string { return snapshot.DataKey(f.id, name) }
	return strings.NewReplacer("{repo}", f.repo, "{id}", f.id, "{manifest}", f.manifestKey(),
		"{users1}", key("users-000001.jsonl.zst"), "{users2}", key("users-000002.jsonl.zst"),
		"{members}", key("members-000001.jsonl.zst"), "{pool}", key("pool.json.zst"),
		"{target}", target, "{src}", f.src, "{from}", f.from)
}

// damage copies the shared good snapshot and applies fn to the copy.
func damage(fn func(t *testing.T, f *corpusFixture)) func(t *testing.T, e *corpusEnv) *corpusFixture {
	return func(t *testing.T, e *corpusEnv) *corpusFixture {
		t.Helper()
		f := &corpusFixture{repo: filepath.Join(t.TempDir(), "repo"), id: e.id, env: map[string]string{}, src: e.srcPool}
		copyTree(t, e.base, f.repo)
		fn(t, f)
		return f
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func truncateObject(t *testing.T, f *corpusFixture, name string, frac float64) {
	t.Helper()
	p := f.object(name)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, int64(float64(fi.Size())*frac)); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, f *corpusFixture, name string, at float64) {
	t.Helper()
	p := f.object(name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[int(float64(len(b))*at)] ^= 0x10
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readManifest(t *testing.T, f *corpusFixture) *snapshot.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.repo, filepath.FromSlash(f.manifestKey())))
	if err != nil {
		t.Fatal(err)
	}
	var m snapshot.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// editManifest rewrites the manifest in place, without validating it: the
// point is to make it lie.
func editManifest(t *testing.T, f *corpusFixture, fn func(m *snapshot.Manifest)) {
	t.Helper()
	m := readManifest(t, f)
	fn(m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.repo, filepath.FromSlash(f.manifestKey())), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func objectOf(t *testing.T, m *snapshot.Manifest, name string) *snapshot.ObjectInfo {
	t.Helper()
	for i := range m.Objects {
		if m.Objects[i].Name == name {
			return &m.Objects[i]
		}
	}
	t.Fatalf("the manifest lists no %s", name)
	return nil
}

// chunkLines returns the record lines of one of the fixture's chunks.
func chunkLines(t *testing.T, f *corpusFixture, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(f.object(name))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	plain, err := dec.DecodeAll(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(plain, []byte("\n")), []byte("\n"))
	return lines[1:] // without the header
}

// rewriteChunk stores lines as a complete, well-formed chunk (header,
// zstd) and makes the manifest describe it exactly: only what the lines
// (or the header's version) say is wrong.
func rewriteChunk(t *testing.T, f *corpusFixture, name, kind string, version int, lines [][]byte) {
	t.Helper()
	var plain bytes.Buffer
	fmt.Fprintf(&plain, `{"format":"cogvault-chunk","version":%d,"kind":%q}`+"\n", version, kind)
	for _, l := range lines {
		plain.Write(l)
		plain.WriteByte('\n')
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	stored := enc.EncodeAll(plain.Bytes(), nil)
	if err := os.WriteFile(f.object(name), stored, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	editManifest(t, f, func(m *snapshot.Manifest) {
		o := objectOf(t, m, name)
		*o = snapshot.ObjectInfo{Name: name, Kind: kind, Size: int64(len(stored)), SHA256: sum(stored), PlainSHA256: sum(plain.Bytes()), Records: int64(len(lines))}
		recount(m)
	})
}

// recount makes the manifest's counts add up to its objects' records.
func recount(m *snapshot.Manifest) {
	m.Counts.Users, m.Counts.Memberships = 0, 0
	for _, o := range m.Objects {
		switch o.Kind {
		case snapshot.KindUsers:
			m.Counts.Users += o.Records
		case snapshot.KindMembers:
			m.Counts.Memberships += o.Records
		}
	}
}

// copyObjectAs stores the records of chunk from (with its header's kind)
// under the name of chunk to, described truthfully by the manifest except
// for the kind it expects there.
func copyObjectAs(t *testing.T, f *corpusFixture, from, to, wantKind string) {
	t.Helper()
	rewriteChunk(t, f, to, "members", 1, chunkLines(t, f, from))
	editManifest(t, f, func(m *snapshot.Manifest) {
		objectOf(t, m, to).Kind = wantKind
		recount(m)
	})
}

// staticChunk replaces a chunk of the good snapshot with the records of a
// corpus file, checksums and counts made to match.
func staticChunk(name, kind, file string) func(t *testing.T, e *corpusEnv) *corpusFixture {
	return func(t *testing.T, e *corpusEnv) *corpusFixture {
		f := damage(func(t *testing.T, f *corpusFixture) {
			b, err := os.ReadFile(filepath.Join("testdata", "corpus", file))
			if err != nil {
				t.Fatal(err)
			}
			rewriteChunk(t, f, name, kind, 1, bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")))
		})(t, e)
		f.secrets = append(f.secrets, corpusFileValues(t, file)...)
		return f
	}
}

// corpusFileValues returns the attribute values of a corpus JSONL file, as
// stored and as a JSON decoder would turn them into valid UTF-8.
func corpusFileValues(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		var rec struct{ Attributes []snapshot.Attribute }
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		for _, a := range rec.Attributes {
			if a.Name != "sub" && len(a.Value) >= 8 && a.Value != "true" {
				out = append(out, a.Value)
			}
		}
	}
	// The raw bytes of values that are not UTF-8.
	for _, m := range [][]byte{[]byte("Caf\xe9 Zo\xeb Secret"), []byte("Paris \xab\xbb")} {
		out = append(out, string(m))
	}
	return out
}

// staticManifest is a repository holding only a corpus manifest, under the
// id it claims.
func staticManifest(file string) func(t *testing.T, e *corpusEnv) *corpusFixture {
	return func(t *testing.T, e *corpusEnv) *corpusFixture {
		t.Helper()
		f := &corpusFixture{repo: filepath.Join(t.TempDir(), "repo"), id: "20250101T000000.000Z-c0ffee00", env: map[string]string{}}
		b, err := os.ReadFile(filepath.Join("testdata", "corpus", "manifests", file))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(f.repo, filepath.FromSlash(f.manifestKey()))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		// An unsigned repository: the manifest's own checks are the case.
		if err := os.WriteFile(filepath.Join(f.repo, "config.json"), []byte(`{"formatVersion":1,"encryption":"none"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
}

// overlongName gives one user of the good snapshot a name of 2,049
// characters: one more than any Cognito string attribute holds.
func overlongName(t *testing.T, e *corpusEnv) *corpusFixture {
	t.Helper()
	value := strings.Repeat("Ö", 2041) + "-Secret!"
	f := damage(func(t *testing.T, f *corpusFixture) {
		lines := chunkLines(t, f, "users-000001.jsonl.zst")
		var u snapshot.User
		if err := json.Unmarshal(lines[0], &u); err != nil {
			t.Fatal(err)
		}
		u.Username = "corpus.overlong"
		u.Status, u.Enabled, u.MFA, u.Identities = "CONFIRMED", true, nil, nil
		u.Attributes = []snapshot.Attribute{{Name: "sub", Value: u.Sub}, {Name: "name", Value: value}}
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		lines[0] = b
		rewriteChunk(t, f, "users-000001.jsonl.zst", "users", 1, lines)
	})(t, e)
	if n := utf8.RuneCountInString(value); n != 2049 {
		t.Fatalf("value of %d characters", n)
	}
	f.secrets = append(f.secrets, string([]rune(value)[2000:]))
	return f
}

func overlongNotCreated(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	if _, ok := poolUsers(t, e, r.target)["corpus.overlong"]; ok {
		return "corpus.overlong was created in the target with a value Cognito refuses"
	}
	return ""
}

// The values at and above Cognito's limits and the CSV-hostile values. Each
// user has a verified email and phone number, so that the import file can
// carry it unless one of its values cannot be written in the dialect.
func hostileUsers() map[string]map[string]string {
	lim := func(unit string, n int) string {
		s := strings.Repeat(unit, n/utf8.RuneCountInString(unit)+1)
		return string([]rune(s)[:n-1]) + "!"
	}
	users := map[string]map[string]string{
		// At Cognito's limits: 2,048 characters for standard attributes and
		// the custom attributes whose schema says 2048; custom:tenant_id is
		// 64 in the fake's populated pools. Multi-byte characters, so that a
		// limit counted in bytes shows.
		"limit.ascii":   {"name": lim("Secret, \"limit\" =", 2048), "address": lim("Secret Rd,", 2048), "custom:plan": lim("plan,", 2048), "custom:notes": lim("n", 2048), "custom:tenant_id": lim("t", 64)},
		"limit.unicode": {"given_name": lim("東", 2048), "family_name": lim("Zoë ", 2048), "custom:notes": lim("é,", 2048), "custom:tenant_id": lim("ü", 64)},
		// CSV-hostile but carried exactly by the import dialect.
		"csv.formula": {"name": "=cmd|' /C calc'!A0", "given_name": "@SUM(1+1)*cmd|' /C calc'!A0", "family_name": "+Secret-2", "custom:plan": "-2+3+cmd|' /C calc'!A0 secret"},
		"csv.quotes":  {"name": `"quoted" secret`, "family_name": `O"Brien, "Jr." secret`, "custom:plan": `a,b,,c,"d" secret`, "address": `"`},
		// Not carried by the import dialect: through the admin API.
		"csv.crlf":      {"address": "Secret line one\r\nline two", "custom:notes": "a\nb\rc secret"},
		"csv.bom":       {"given_name": "\ufeffBomSecret"},
		"csv.backslash": {"family_name": `C:\Users\secret\,`},
		"csv.space":     {"name": " padded secret "},
	}
	i := 0
	for _, name := range slices.Sorted(maps.Keys(users)) {
		i++
		users[name]["email"] = fmt.Sprintf("hostile-%d-secret@example.com", i)
		users[name]["email_verified"] = "true"
		users[name]["phone_number"] = fmt.Sprintf("+1555017%04d", i)
		users[name]["phone_number_verified"] = "true"
	}
	return users
}

// The import dialect cannot carry these; the report must say why.
var hostileViaAdmin = map[string]string{
	"csv.crlf":      "line break",
	"csv.bom":       "byte order mark",
	"csv.backslash": "backslash",
	"csv.space":     "whitespace",
}

// hostilePool creates the hostile users in a new source pool through the
// SDK and backs it up.
func hostilePool(t *testing.T, e *corpusEnv) *corpusFixture {
	t.Helper()
	res, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "corpus-hostile", Seed: e.nextSeed()})
	if err != nil {
		t.Fatal(err)
	}
	f := &corpusFixture{repo: filepath.Join(t.TempDir(), "repo"), env: map[string]string{}, src: res.PoolID, data: hostileUsers()}
	for name, attrs := range f.data {
		createUser(t, e, res.PoolID, name, attrs)
		for k, v := range attrs {
			if !strings.HasSuffix(k, "_verified") {
				f.secrets = append(f.secrets, v)
			}
		}
	}
	// Guard the test itself: the pool holds exactly what was asked, and the
	// values at the limits are at the limits.
	got := poolUsers(t, e, res.PoolID)
	if len(got) != len(f.data) {
		t.Fatalf("source pool has %d users, want %d", len(got), len(f.data))
	}
	for _, name := range []string{"limit.ascii", "limit.unicode"} {
		for k, v := range got[name] {
			want := 2048
			switch {
			case k == "custom:tenant_id":
				want = 64
			case strings.HasPrefix(k, "email") || strings.HasPrefix(k, "phone") || k == "sub":
				continue
			}
			if n := utf8.RuneCountInString(v); n != want || v != f.data[name][k] {
				t.Fatalf("%s %s has %d characters in the source pool, want %d", name, k, n, want)
			}
		}
	}
	f.id = corpusBackup(t, e, res.PoolID, f.repo)
	return f
}

func createUser(t *testing.T, e *corpusEnv, pool, name string, attrs map[string]string) {
	t.Helper()
	in := &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(k), Value: aws.String(attrs[k])})
	}
	if _, err := e.api.AdminCreateUser(context.Background(), in); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// sameValues checks that every user of the snapshot arrived in the target
// with byte-identical attributes; through import jobs, that the users the
// dialect cannot carry went through the admin API and were reported, and
// the others were imported.
func sameValues(viaImport bool) func(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	return func(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
		got := poolUsers(t, e, r.target)
		var problems []string
		for name, want := range f.data {
			g, ok := got[name]
			if !ok {
				problems = append(problems, name+" was not restored")
				continue
			}
			for k, v := range want {
				if g[k] != v {
					problems = append(problems, fmt.Sprintf("%s %s: %d bytes restored as %d bytes (%s)", name, k, len(v), len(g[k]), firstDifference(v, g[k])))
				}
			}
			for k := range g {
				if _, ok := want[k]; !ok && k != "sub" {
					problems = append(problems, fmt.Sprintf("%s has attribute %s the source did not have", name, k))
				}
			}
		}
		if len(got) != len(f.data) {
			problems = append(problems, fmt.Sprintf("the target has %d users, want %d", len(got), len(f.data)))
		}
		if !viaImport {
			// diff agrees, sub aside (the target assigns new ones).
			d := &corpusResult{args: append([]string{"diff", f.id, "--pool", r.target, "--ignore-attribute", "sub", "--repo", f.repo}, corpusAWSFlags(e)...)}
			d.run(t)
			if d.code != 0 {
				problems = append(problems, "diff of the snapshot and the restored pool: "+d.String())
			}
			if p := leakedValue(d, f.secrets); p != "" {
				problems = append(problems, "diff: "+p)
			}
		} else {
			status := poolStatus(t, e, r.target)
			for name := range f.data {
				why, viaAdmin := hostileViaAdmin[name]
				line := itemLine(r.stdout, "~", "path", name)
				switch {
				case viaAdmin && (line == "" || !strings.Contains(line, why)):
					problems = append(problems, fmt.Sprintf("%s: the report does not say it went through the admin API because of a %s", name, why))
				case viaAdmin && status[name] != "FORCE_CHANGE_PASSWORD":
					problems = append(problems, fmt.Sprintf("%s went through the admin API but is %s", name, status[name]))
				case !viaAdmin && line != "":
					problems = append(problems, fmt.Sprintf("%s could be imported but was sent through the admin API: %s", name, line))
				case !viaAdmin && status[name] != "RESET_REQUIRED":
					problems = append(problems, fmt.Sprintf("%s should have been imported (RESET_REQUIRED) but is %s", name, status[name]))
				}
			}
			want := fmt.Sprintf("imported     %d users", len(f.data)-len(hostileViaAdmin))
			if !strings.Contains(r.stdout, want) {
				problems = append(problems, fmt.Sprintf("the report does not say %q", want))
			}
		}
		return strings.Join(problems, "; ")
	}
}

// importedStatusNotes: the report says once what happened to each user's
// status, and for an imported user that is the import's RESET_REQUIRED.
func importedStatusNotes(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	var wrong []string
	for _, name := range slices.Sorted(maps.Keys(f.data)) {
		if _, viaAdmin := hostileViaAdmin[name]; viaAdmin {
			continue
		}
		if l := itemLine(r.stdout, "~", "status", name); strings.Contains(l, "FORCE_CHANGE_PASSWORD as before") {
			wrong = append(wrong, fmt.Sprintf("%s was imported but the report says %q", name, l))
		}
	}
	return strings.Join(wrong, "; ")
}

// itemLine finds the aggregated report line of kind what, after mark ("~"
// or "-"), whose examples name user; "" when there is none. A user may
// appear on several lines of one kind: the first that names it is returned.
func itemLine(out, mark, what, user string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		i := strings.LastIndex(l, " [")
		if !strings.HasPrefix(l, mark+" "+what+": ") || i < 0 {
			continue
		}
		_, names, _ := strings.Cut(strings.TrimSuffix(l[i+2:], "]"), ": ")
		if slices.Contains(strings.Split(names, ", "), user) {
			return l
		}
	}
	return ""
}

func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("first difference at byte %d", i)
}

// legacyRepo is a copy of the corpus's legacy trigger events, and where
// import-legacy is to write their snapshot.
func legacyRepo(t *testing.T, e *corpusEnv) *corpusFixture {
	t.Helper()
	f := &corpusFixture{repo: filepath.Join(t.TempDir(), "repo"), from: filepath.Join(t.TempDir(), "legacy"), env: map[string]string{},
		data: map[string]map[string]string{}}
	copyTree(t, filepath.Join("testdata", "corpus", "legacy"), f.from)
	// Values of the events that are not usable, raw and as a JSON decoder
	// would change them.
	f.secrets = append(f.secrets, "legacy-notjson-secret@example.com", "Not Json Secret", "legacy-nosub-secret@example.com",
		"legacy-latin1-secret@example.com", "Caf\xe9 Latin Secret", "Caf\uFFFD Latin Secret")
	entries, err := os.ReadDir(f.from)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(f.from, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			UserName string `json:"userName"`
			Request  struct {
				UserAttributes map[string]string `json:"userAttributes"`
			} `json:"request"`
		}
		if json.Unmarshal(b, &ev) != nil || !utf8.Valid(b) || ev.Request.UserAttributes["sub"] == "" {
			continue
		}
		attrs := map[string]string{}
		for k, v := range ev.Request.UserAttributes {
			if !strings.HasPrefix(k, "cognito:") && k != "sub" {
				attrs[k] = v
				f.secrets = append(f.secrets, v)
			}
		}
		f.data[ev.UserName] = attrs
	}
	if len(f.data) != 2 {
		t.Fatalf("the corpus has %d usable legacy events, want 2", len(f.data))
	}
	return f
}

func legacyValues(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	got := poolUsers(t, e, r.target)
	var problems []string
	for name, want := range f.data {
		for k, v := range want {
			if got[name][k] != v {
				problems = append(problems, fmt.Sprintf("%s %s: %d bytes restored as %d bytes (%s)", name, k, len(v), len(got[name][k]), firstDifference(v, got[name][k])))
			}
		}
	}
	return strings.Join(problems, "; ")
}

// latin1NotRestored: a value that is not UTF-8 cannot reach Cognito as it
// is; it must not arrive changed either.
func latin1NotRestored(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	for name, attrs := range poolUsers(t, e, r.target) {
		for k, v := range attrs {
			if strings.ContainsRune(v, utf8.RuneError) {
				return fmt.Sprintf("%s was restored with %s changed: its non-UTF-8 bytes became U+FFFD", name, k)
			}
		}
	}
	return ""
}

// widePool is a pool whose custom:tenant_id holds 2,048 characters; the
// fake's populated targets allow 64.
func widePool(t *testing.T, e *corpusEnv) *corpusFixture {
	t.Helper()
	out, err := e.api.CreateUserPool(context.Background(), &cip.CreateUserPoolInput{PoolName: aws.String("corpus-wide"),
		Schema: []types.SchemaAttributeType{{Name: aws.String("tenant_id"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(false),
			StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("0"), MaxLength: aws.String("2048")}}}})
	if err != nil {
		t.Fatal(err)
	}
	pool := aws.ToString(out.UserPool.Id)
	long := "TENANT-Secret-" + strings.Repeat("x", 51) // 65 characters: one too many
	f := &corpusFixture{repo: filepath.Join(t.TempDir(), "repo"), env: map[string]string{}, src: pool, secrets: []string{long},
		data: map[string]map[string]string{
			"fits":     {"email": "fits-secret@example.com", "email_verified": "true", "custom:tenant_id": strings.Repeat("y", 64)},
			"too.long": {"email": "too-long-secret@example.com", "email_verified": "true", "custom:tenant_id": long},
		}}
	for name, attrs := range f.data {
		createUser(t, e, pool, name, attrs)
	}
	f.id = corpusBackup(t, e, pool, f.repo)
	return f
}

func onlyFitsRestored(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	got := poolUsers(t, e, r.target)
	if _, ok := got["too.long"]; ok {
		return "too.long was created although its custom:tenant_id is longer than the target allows"
	}
	if got["fits"]["custom:tenant_id"] != f.data["fits"]["custom:tenant_id"] {
		return "fits was not restored with its custom:tenant_id of exactly 64 characters"
	}
	return ""
}

// caseSensitivePool holds "Alice", "alice" and "ALICE" (allowed in a
// case-sensitive pool) and "bob".
func caseSensitivePool(t *testing.T, e *corpusEnv) *corpusFixture {
	t.Helper()
	out, err := e.api.CreateUserPool(context.Background(), &cip.CreateUserPoolInput{PoolName: aws.String("corpus-case"),
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	pool := aws.ToString(out.UserPool.Id)
	f := &corpusFixture{repo: filepath.Join(t.TempDir(), "repo"), env: map[string]string{}, src: pool, data: map[string]map[string]string{}}
	for i, name := range []string{"Alice", "alice", "ALICE", "bob"} {
		attrs := map[string]string{"email": fmt.Sprintf("case-%d-secret@example.com", i), "email_verified": "true", "name": fmt.Sprintf("Case Secret %d", i)}
		createUser(t, e, pool, name, attrs)
		f.data[name] = attrs
		f.secrets = append(f.secrets, attrs["email"], attrs["name"])
	}
	f.id = corpusBackup(t, e, pool, f.repo)
	return f
}

func oneAliceRestored(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	got := poolUsers(t, e, r.target)
	var restored, reported []string
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		if attrs, ok := got[name]; ok {
			restored = append(restored, name)
			if attrs["email"] != f.data[name]["email"] {
				return fmt.Sprintf("%s was restored with the attributes of another user", name)
			}
		}
		if l := itemLine(r.stdout, "-", "user", name); strings.Contains(l, "the target's usernames are case-insensitive") {
			reported = append(reported, name)
		}
	}
	if len(restored) != 1 || len(reported) != 2 || slices.Contains(reported, restored[0]) {
		return fmt.Sprintf("want one of Alice/alice/ALICE restored and the other two reported; restored %v, reported %v", restored, reported)
	}
	if _, ok := got["bob"]; !ok || len(got) != 2 {
		return fmt.Sprintf("the target has %d users, want the restored Alice and bob", len(got))
	}
	return ""
}

func missingDir(t *testing.T, e *corpusEnv) *corpusFixture {
	return &corpusFixture{repo: filepath.Join(t.TempDir(), "nonexistent", "dir"), id: "20250101T000000.000Z-c0ffee00", env: map[string]string{}}
}

func repoNotCreated(t *testing.T, e *corpusEnv, f *corpusFixture, r *corpusResult) string {
	if _, err := os.Stat(filepath.Dir(f.repo)); err == nil {
		return fmt.Sprintf("%s did not exist and a read-only command created it", filepath.Dir(f.repo))
	}
	return ""
}

func fileAsRepo(t *testing.T, e *corpusEnv) *corpusFixture {
	p := filepath.Join(t.TempDir(), "repo.txt")
	if err := os.WriteFile(p, []byte("not a repository\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &corpusFixture{repo: p, id: "20250101T000000.000Z-c0ffee00", env: map[string]string{}}
}

// s3Repo serves S3 in-process (gofakes3 with one bucket, "corpus-locked",
// holding a copy of the good snapshot); with deny, every request is answered
// 403 AccessDenied, as S3 answers a caller without s3:ListBucket/GetObject.
// The CLI reaches it through AWS_ENDPOINT_URL_S3, its Cognito calls still go
// to the fake Cognito.
func s3Repo(url string, deny bool) func(t *testing.T, e *corpusEnv) *corpusFixture {
	return func(t *testing.T, e *corpusEnv) *corpusFixture {
		t.Helper()
		backend := s3mem.New()
		if err := backend.CreateBucket("corpus-locked"); err != nil {
			t.Fatal(err)
		}
		err := filepath.WalkDir(e.base, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(e.base, p)
			_, err = backend.PutObject("corpus-locked", "cognito/"+filepath.ToSlash(rel), map[string]string{}, bytes.NewReader(b), int64(len(b)), nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var h http.Handler = gofakes3.New(backend).Server()
		if deny {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>CORPUS0001</RequestId><HostId>corpus</HostId></Error>`)
			})
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return &corpusFixture{repo: url, id: e.id, env: map[string]string{"AWS_ENDPOINT_URL_S3": srv.URL}}
	}
}
