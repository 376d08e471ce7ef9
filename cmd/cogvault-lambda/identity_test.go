package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/secretstest"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

const ageHeader = "age-encryption.org/v1\n"

// encrypted is a directory repository initialised with an age recipient,
// the identity file 'cogvault key generate' wrote for it, and a fake
// Secrets Manager the worker's environment points at.
type encrypted struct {
	dir, identity string // identity: the file's text
	recipient     string
	sm            *secretstest.Server
	arn           string
}

// newEncrypted sets the function's environment (lambdaEnv) for pool and an
// encrypted repository; the identity is in the secret, which the
// environment names when withSecret.
func newEncrypted(t *testing.T, url, pool string, withSecret bool) *encrypted {
	t.Helper()
	e := &encrypted{dir: t.TempDir(), sm: secretstest.NewTestServer(t)}
	lambdaEnv(t, url, e.dir, pool)
	e.identity, e.recipient = generateIdentity(t)
	store, _ := storage.NewDir(e.dir)
	if err := repo.Init(context.Background(), store, repo.Config{Encryption: repo.EncryptionAge, Recipients: []string{e.recipient}}, nil); err != nil {
		t.Fatal(err)
	}
	e.arn = secretstest.ARN("us-east-1", "123456789012", "cogvault/worker-age-identity")
	e.sm.PutString(e.arn, e.identity)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", e.sm.URL)
	t.Setenv(ageIdentityVar, "")
	if withSecret {
		t.Setenv(ageIdentityVar, e.arn)
	}
	return e
}

// generateIdentity runs 'cogvault key generate' and returns the file's
// text (the secret's contract) and the recipient it printed.
func generateIdentity(t *testing.T) (text, recipient string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "worker.agekey")
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), []string{"key", "generate", "--file", file}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("cogvault key generate: exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "#") || !strings.Contains(string(b), "AGE-SECRET-KEY-1") {
		t.Fatalf("the identity file has no comment or no key: the test wants what key generate writes")
	}
	return string(b), strings.TrimSpace(out.String())
}

// reader opens the repository as a reader holding the identity: the oracle's
// view of what the worker wrote.
func (e *encrypted) reader(t *testing.T) *repo.Repo {
	t.Helper()
	ids, err := age.ParseIdentities(strings.NewReader(e.identity))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := storage.NewDir(e.dir)
	r, _, err := repo.Open(context.Background(), store, repo.OpenOptions{Identities: ids})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// secretKey is the identity's key line, what must never reach a log.
func (e *encrypted) secretKey(t *testing.T) string {
	t.Helper()
	for _, l := range strings.Split(e.identity, "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			return l
		}
	}
	t.Fatal("no key line")
	return ""
}

// invokeWorker invokes the function as Lambda does, start-up included
// (lazyHandler, its budget): a new environment with an empty TMPDIR and a
// deadline of d. Its logs and metric lines are appended to logs.
func invokeWorker(t *testing.T, d time.Duration, req map[string]any, logs *bytes.Buffer) (map[string]any, error) {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	log := slog.New(slog.NewJSONHandler(logs, nil))
	l := newLazyHandler(func(ctx context.Context) (*capture.Handler, error) { return newHandler(ctx, log) }, log, logs)
	return invokeLazy(t, l, d, req)
}

func invokeLazy(t *testing.T, l *lazyHandler, d time.Duration, req map[string]any) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	b, _ := json.Marshal(req)
	out, err := l.Handle(ctx, b)
	if err != nil {
		return nil, err
	}
	var ans map[string]any
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatal(err)
	}
	return ans, nil
}

// stepUntilDone sends orig, then orig plus each answer's "resume", as the
// state machine does, each step a fresh environment with deadline d; it
// returns the last answer, the number of steps and every answer's text.
func stepUntilDone(t *testing.T, d time.Duration, orig map[string]any, logs *bytes.Buffer) (map[string]any, int, []byte) {
	t.Helper()
	req := maps.Clone(orig)
	var answers []byte
	for steps := 1; steps <= 200; steps++ {
		ans, err := invokeWorker(t, d, req, logs)
		if err != nil {
			t.Fatalf("step %d: %v", steps, err)
		}
		b, _ := json.Marshal(ans)
		answers = append(answers, b...)
		if ans["done"] == true {
			return ans, steps, answers
		}
		if ans["done"] != false || ans["resume"] == nil {
			t.Fatalf("step %d answered %s: want done false with a resume", steps, b)
		}
		req = maps.Clone(orig)
		req["resume"] = ans["resume"]
	}
	t.Fatal("not done after 200 steps")
	return nil, 0, nil
}

// TestSnapshotInStepsInAnEncryptedRepository: with the age identity read
// from Secrets Manager, the scheduled snapshot in an age-encrypted
// repository runs in steps like any other (each step a fresh environment
// with a second), and reads back what earlier steps wrote. The snapshot
// verifies and holds exactly the pool's users, groups and memberships; its
// chunks are stored encrypted; no log line or answer carries the identity.
func TestSnapshotInStepsInAnEncryptedRepository(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 3000 * raceFactor, Groups: 4})
	if err != nil {
		t.Fatal(err)
	}
	e := newEncrypted(t, srv.URL, src.PoolID, true)
	var logs bytes.Buffer
	_, steps, answers := stepUntilDone(t, raceFactor*time.Second, map[string]any{"action": "snapshot"}, &logs)
	if steps < 3 {
		t.Fatalf("%d steps: the test wants a snapshot that takes several steps in the encrypted repository", steps)
	}
	t.Logf("snapshot in %d steps", steps)
	if n := e.sm.Calls(); n != steps {
		t.Fatalf("%d GetSecretValue calls for %d fresh environments: want one each, at start-up", n, steps)
	}

	r := e.reader(t)
	ctx := context.Background()
	m, err := r.Resolve(ctx, "latest", src.PoolID)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.Verify(ctx, m); err != nil || !res.OK() {
		t.Fatalf("the stepped snapshot does not verify: %v %+v", err, res)
	}
	got := snapView(t, r, m)
	if want := poolView(t, fakeClient(srv.URL), src.PoolID); !reflect.DeepEqual(got, want) {
		t.Fatalf("the stepped snapshot differs from the pool: %d users, %d groups, %d memberships; the pool has %d, %d, %d",
			len(got.users), len(got.groups), len(got.members), len(want.users), len(want.groups), len(want.members))
	}
	assertEncrypted(t, e, snapshot.DataKey(m.ID, ""), len(m.Objects))
	if left, err := r.Checkpoints(ctx, "snapshot/"); err != nil || len(left) != 0 {
		t.Fatalf("checkpoints left after the last step: %v %v", left, err)
	}
	noSecret(t, e, logs.Bytes(), answers)
}

// assertEncrypted checks that at least want objects under prefix are
// stored, each of them age-encrypted.
func assertEncrypted(t *testing.T, e *encrypted, prefix string, want int) {
	t.Helper()
	store, _ := storage.NewDir(e.dir)
	n := 0
	for o, err := range store.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		rc, err := store.Get(context.Background(), o.Key)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, len(ageHeader))
		_, err = io.ReadFull(rc, head)
		rc.Close()
		if err != nil || string(head) != ageHeader {
			t.Fatalf("%s is stored in plaintext, in an encrypted repository", o.Key)
		}
		n++
	}
	if n < want || n == 0 {
		t.Fatalf("%d objects under %s, want %d", n, prefix, want)
	}
}

// noSecret fails when any of texts carries the identity's key.
func noSecret(t *testing.T, e *encrypted, texts ...[]byte) {
	t.Helper()
	key := e.secretKey(t)
	for _, b := range texts {
		if bytes.Contains(b, []byte(key)) || bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(key))) {
			t.Fatal("the age identity appears in a log line or an answer")
		}
	}
}

// TestRestoreInStepsFromAnEncryptedRepository: an admin-path restore from
// an age-encrypted repository runs on AWS, in steps from fresh
// environments, with the identity from Secrets Manager: it reads the
// snapshot and its own checkpoints back. The pool ends as the snapshot
// (the oracle of TestRestoreInStepsFromFreshEnvironments), the sub mapping
// and the state in the repository are encrypted, and no log line names the
// identity.
func TestRestoreInStepsFromAnEncryptedRepository(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 200, Groups: 3})
	if err != nil {
		t.Fatal(err)
	}
	target, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "restored"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEncrypted(t, srv.URL, src.PoolID, true)
	var logs bytes.Buffer
	if ans, err := invokeWorker(t, time.Minute, map[string]any{"action": "snapshot"}, &logs); err != nil || ans["done"] != true {
		t.Fatalf("snapshot answered %v %v, want done true", ans, err)
	}
	final, steps, answers := stepUntilDone(t, 3*time.Second, map[string]any{"action": "restore", "targetPoolId": target.PoolID}, &logs)
	if steps < 3 {
		t.Fatalf("%d steps: the test wants a restore that takes several steps", steps)
	}
	t.Logf("restored in %d steps", steps)

	ctx := context.Background()
	r := e.reader(t)
	m, err := r.Resolve(ctx, "latest", src.PoolID)
	if err != nil {
		t.Fatal(err)
	}
	if final["reportCheckpoint"] != restore.ReportCheckpoint(target.PoolID, m.ID) {
		t.Fatalf("final answer's reportCheckpoint %v", final["reportCheckpoint"])
	}
	rc, err := r.GetCheckpoint(ctx, restore.ReportCheckpoint(target.PoolID, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	var rep restore.Report
	if err := json.NewDecoder(rc).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	sameAsSnapshot(t, r, m, fakeClient(srv.URL), target.PoolID, &rep)
	rc, err = r.GetCheckpoint(ctx, restore.StateCheckpoint(target.PoolID, m.ID)+"submap.json")
	if err != nil {
		t.Fatal(err)
	}
	var subs []restore.SubMapping
	if err := json.NewDecoder(rc).Decode(&subs); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if restored := m.Counts.Users - int64(countWhat(rep.NotRestored, "user")); int64(len(subs)) != restored || restored == 0 {
		t.Fatalf("the repository's sub mapping has %d users, %d were restored", len(subs), restored)
	}
	assertEncrypted(t, e, repo.CheckpointPrefix+restore.StateCheckpoint(target.PoolID, m.ID), 2)
	noSecret(t, e, logs.Bytes(), answers)
}

// TestWorkerAgeIdentityStartupFailures: a secret that is missing, refused,
// binary, not an identity, or another repository's identity, and a
// variable that is not an ARN, each fail the worker's start-up with an
// error that names the variable and the secret (no secret text, in the
// error or the logs), counted in CaptureFailures; once the secret is
// fixed, the next invocation of the same environment starts.
func TestWorkerAgeIdentityStartupFailures(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 20, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := generateIdentity(t)
	cases := []struct {
		name   string
		set    func(t *testing.T, e *encrypted) (secretText string)
		want   string
		noFix  bool // the fake cannot lift a refusal
		notARN bool
	}{
		{name: "missing secret", set: func(t *testing.T, e *encrypted) string {
			e.arn = secretstest.ARN("us-east-1", "123456789012", "nothing")
			t.Setenv(ageIdentityVar, e.arn)
			return ""
		}, want: "ResourceNotFoundException"},
		{name: "secret with no value", set: func(t *testing.T, e *encrypted) string {
			e.arn = secretstest.ARN("us-east-1", "123456789012", "empty")
			e.sm.PutEmpty(e.arn)
			t.Setenv(ageIdentityVar, e.arn)
			return ""
		}, want: "ResourceNotFoundException"},
		{name: "access denied", set: func(t *testing.T, e *encrypted) string { e.sm.Deny(e.arn); return e.identity }, want: "AccessDeniedException", noFix: true},
		{name: "binary", set: func(t *testing.T, e *encrypted) string { e.sm.PutBinary(e.arn, []byte(e.identity)); return e.identity }, want: "binary value"},
		{name: "not an identity", set: func(t *testing.T, e *encrypted) string {
			e.sm.PutString(e.arn, "hunter2-not-a-key")
			return "hunter2-not-a-key"
		}, want: "not an age identity file"},
		{name: "the public key", set: func(t *testing.T, e *encrypted) string { e.sm.PutString(e.arn, e.recipient); return e.recipient }, want: "recipient (age1…, the public key)"},
		{name: "key/value JSON", set: func(t *testing.T, e *encrypted) string {
			b, _ := json.Marshal(map[string]string{"identity": e.identity})
			e.sm.PutString(e.arn, string(b))
			return e.secretKey(t)
		}, want: "key/value (JSON)"},
		{name: "another repository's identity", set: func(t *testing.T, e *encrypted) string {
			e.sm.PutString(e.arn, other)
			return other[strings.Index(other, "AGE-SECRET-KEY-"):]
		}, want: "matches none of the repository's recipients"},
		{name: "not an ARN", set: func(t *testing.T, e *encrypted) string {
			t.Setenv(ageIdentityVar, "cogvault/worker-age-identity")
			return ""
		},
			want: "want a Secrets Manager secret ARN", notARN: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEncrypted(t, srv.URL, src.PoolID, true)
			secretText := c.set(t, e)
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			l := newLazyHandler(func(ctx context.Context) (*capture.Handler, error) { return newHandler(ctx, log) }, log, &logs)
			t.Setenv("TMPDIR", t.TempDir())
			_, err := invokeLazy(t, l, time.Minute, map[string]any{"action": "snapshot"})
			if err == nil {
				t.Fatal("the worker started")
			}
			msg := err.Error()
			if !strings.Contains(msg, ageIdentityVar) || !strings.Contains(msg, c.want) || !c.notARN && !strings.Contains(msg, e.arn) {
				t.Fatalf("start-up error %q: want %s, the ARN and %q", msg, ageIdentityVar, c.want)
			}
			if !strings.Contains(logs.String(), "start-up failed") || !strings.Contains(logs.String(), `"CaptureFailures":1`) {
				t.Fatalf("the failure is not logged and counted:\n%s", logs.String())
			}
			for _, s := range []string{secretText, e.secretKey(t)} {
				if s != "" && (strings.Contains(msg, s) || strings.Contains(logs.String(), s)) {
					t.Fatalf("the secret's text is in the error or the logs:\n%s\n%s", msg, logs.String())
				}
			}
			if c.noFix {
				return
			}
			// Fixed: the same environment starts on its next invocation.
			t.Setenv(ageIdentityVar, e.arn)
			e.sm.PutString(e.arn, e.identity)
			if ans, err := invokeLazy(t, l, time.Minute, map[string]any{"action": "snapshot"}); err != nil || ans["done"] != true {
				t.Fatalf("after the secret was fixed: %v %v", ans, err)
			}
		})
	}
}

// TestEncryptedRepositoryWithoutIdentity: a function without the variable
// (the capture and migration functions, or a worker deployed without the
// secret) never calls Secrets Manager; its restore from an encrypted
// repository is refused before anything is read or written, naming the
// variable. A worker whose identity passes the start-up check (it is one of
// config.json's recipients) but cannot decrypt an object refuses clearly
// at that object.
func TestEncryptedRepositoryWithoutIdentity(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 20, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	target, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "restored"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEncrypted(t, srv.URL, src.PoolID, false)
	var logs bytes.Buffer
	if ans, err := invokeWorker(t, time.Minute, map[string]any{"action": "snapshot"}, &logs); err != nil || ans["done"] != true {
		t.Fatalf("snapshot without the identity (one invocation) answered %v %v", ans, err)
	}
	_, err = invokeWorker(t, time.Minute, map[string]any{"action": "restore", "targetPoolId": target.PoolID}, &logs)
	if err == nil || !strings.Contains(err.Error(), "holds no age identity to read it: set "+ageIdentityVar) {
		t.Fatalf("restore without the identity: %v; want a refusal naming %s", err, ageIdentityVar)
	}
	if n := e.sm.Calls(); n != 0 {
		t.Fatalf("%d Secrets Manager calls without %s", n, ageIdentityVar)
	}
	if n := srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("the refused restore created %d users", n)
	}

	// config.json gains a second recipient, whose identity the worker gets:
	// it starts, and the snapshot written to the first alone is refused.
	other, otherRecipient := generateIdentity(t)
	cfgPath := filepath.Join(e.dir, snapshot.ConfigKey)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg repo.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Recipients = append(cfg.Recipients, otherRecipient)
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.sm.PutString(e.arn, other)
	t.Setenv(ageIdentityVar, e.arn)
	_, err = invokeWorker(t, time.Minute, map[string]any{"action": "restore", "targetPoolId": target.PoolID}, &logs)
	if err == nil || !strings.Contains(err.Error(), "matches none of the recipients of an object") {
		t.Fatalf("restore with an identity the snapshot was not written to: %v", err)
	}
	noSecret(t, &encrypted{identity: other}, logs.Bytes(), []byte(err.Error()))
}

// The variable is listed with the function's others, which the Terraform
// module's test checks its environment against.
func TestAgeIdentityVarIsListed(t *testing.T) {
	if !slices.Contains(capture.EnvVars, ageIdentityVar) {
		t.Fatalf("capture.EnvVars lacks %s", ageIdentityVar)
	}
}

// TestHungSecretsManagerIsBoundedByStartup: a Secrets Manager that never
// answers ends the worker's start-up at its budget (the invocation's own
// deadline is far away), naming the variable; once it answers, the next
// invocation of the same environment starts.
func TestHungSecretsManagerIsBoundedByStartup(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 5, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := newEncrypted(t, srv.URL, src.PoolID, true)
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release) // before Close, which waits for the handlers
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", hung.URL)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	l := newLazyHandler(func(ctx context.Context) (*capture.Handler, error) { return newHandler(ctx, log) }, log, &logs)
	l.budgets = [2]time.Duration{200 * time.Millisecond, 200 * time.Millisecond}
	_, err = invokeLazy(t, l, 10*time.Minute, map[string]any{"action": "snapshot"})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), ageIdentityVar) {
		t.Fatalf("snapshot while Secrets Manager hangs: %v, want the start-up deadline naming %s", err, ageIdentityVar)
	}
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", e.sm.URL)
	if ans, err := invokeLazy(t, l, 10*time.Minute, map[string]any{"action": "snapshot"}); err != nil || ans["done"] != true {
		t.Fatalf("the next invocation, Secrets Manager answering: %v %v", ans, err)
	}
	noSecret(t, e, logs.Bytes())
}
