package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// openSigned opens a repository the CLI created on this "machine" with the
// key and pin its trust store recorded, as a writer such as the Lambda
// would (the Lambda with its KMS key).
func openSigned(t *testing.T, repoDir string) *repo.Repo {
	t.Helper()
	ctx := context.Background()
	ts, err := sign.LoadTrust(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "cogvault", "trust.json"))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(repoDir)
	e, ok := ts.Lookup("file://" + abs)
	if !ok {
		t.Fatalf("the trust store has no entry for %s", repoDir)
	}
	key, err := sign.LoadKeyFile(e.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.NewDir(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := repo.Open(ctx, store, repo.OpenOptions{RepoKey: key.Public(), RepoID: e.ID,
		Signer: func(context.Context) (sign.Signer, error) { return key, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// writes counts the calls to Cognito operations that change something.
func writes(srv *cognitotest.Server) int64 {
	var n int64
	for op, st := range srv.Stats() {
		if strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "Get") ||
			strings.HasPrefix(op, "AdminGet") || strings.HasPrefix(op, "AdminList") {
			continue
		}
		n += st.Calls
	}
	return n
}

// copyDir copies a repository directory, so that each attack starts from
// the same good repository.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// signedEnv is a signed, age-encrypted repository holding one backup of a
// victim pool, the trust store of the machine that made it, and an
// attacker's own (unsigned) repository holding a snapshot of a pool with
// "mallory", email verified, in "admins".
type signedEnv struct {
	srv                 *cognitotest.Server
	victim, evil        string // pool ids
	dir, good, attacker string
	identity            string // age identity file
	recipient           string // the repository's age recipient
	attackerRecipient   string
}

func newSignedEnv(t *testing.T) *signedEnv {
	t.Helper()
	ctx := context.Background()
	isolateAWS(t)
	e := &signedEnv{srv: cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true}), dir: t.TempDir()}
	src, _ := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "victim", Users: 30, Groups: 2})
	e.victim = src.PoolID
	id, _ := age.GenerateX25519Identity()
	e.identity = filepath.Join(e.dir, "owner.agekey")
	e.recipient = id.Recipient().String()
	os.WriteFile(e.identity, []byte(id.String()+"\n"), 0o600)
	e.good = filepath.Join(e.dir, "good")
	if code, out, errOut := run(t, ctx, "init", "--repo", e.good, "--age-recipient", id.Recipient().String()); code != 0 || !strings.Contains(out, "public key: ed25519:") {
		t.Fatalf("init: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, ctx, "backup", "--pool", e.victim, "--repo", e.good, "--endpoint-url", e.srv.URL, "--region", "us-east-1"); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}

	// The attacker: a pool with mallory in admins, backed up into a
	// repository of their own with the tool itself.
	evil, _ := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "victim", Users: 0, Groups: 0})
	e.evil = evil.PoolID
	api := newFakeClient(t, e.srv)
	_, err := api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &e.evil, GroupName: aws.String("admins")})
	if err == nil {
		_, err = api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &e.evil, Username: aws.String("mallory"), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("mallory@example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}})
	}
	if err == nil {
		_, err = api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &e.evil, Username: aws.String("mallory"), GroupName: aws.String("admins")})
	}
	if err != nil {
		t.Fatal(err)
	}
	e.attacker = filepath.Join(e.dir, "attacker")
	if code, _, errOut := run(t, ctx, "init", "--no-signing", "--repo", e.attacker); code != 0 {
		t.Fatal(errOut)
	}
	time.Sleep(2 * time.Millisecond) // the forged snapshot must be the newer one
	if code, _, errOut := run(t, ctx, "backup", "--pool", e.evil, "--repo", e.attacker, "--endpoint-url", e.srv.URL, "--region", "us-east-1"); code != 0 {
		t.Fatal(errOut)
	}
	ar, _ := age.GenerateX25519Identity()
	e.attackerRecipient = ar.Recipient().String()
	return e
}

// victimCopy is a fresh copy of the good repository; the trust store pins
// it as the good one is pinned (same machine, same key).
func (e *signedEnv) victimCopy(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	copyDir(t, e.good, p)
	ts, _ := sign.LoadTrust(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "cogvault", "trust.json"))
	good, _ := ts.Lookup("file://" + e.good)
	if err := ts.Record("file://"+p, good); err != nil {
		t.Fatal(err)
	}
	return p
}

// plantForgedSnapshot is attack 1: the attacker's plaintext chunks and a
// newer manifest whose sha256 sums match them, relabelled as the victim
// pool's.
func (e *signedEnv) plantForgedSnapshot(t *testing.T, repoDir string) string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(e.attacker, "snapshots", "*.json"))
	if len(ms) != 1 {
		t.Fatalf("attacker manifests: %v", ms)
	}
	id := strings.TrimSuffix(filepath.Base(ms[0]), ".json")
	b, _ := os.ReadFile(ms[0])
	b = []byte(strings.ReplaceAll(string(b), e.evil, e.victim))
	os.WriteFile(filepath.Join(repoDir, "snapshots", id+".json"), b, 0o600)
	copyDir(t, filepath.Join(e.attacker, "data", id), filepath.Join(repoDir, "data", id))
	return "snapshots/" + id + ".json"
}

// plantEvent is attack 2: one plaintext journal event creating mallory.
func (e *signedEnv) plantEvent(t *testing.T, repoDir string, at time.Time) string {
	t.Helper()
	ev := &snapshot.Event{FormatVersion: 1, PoolID: e.victim, Kind: snapshot.EventUser, Time: at, Source: "AdminCreateUser", EventID: "forged",
		User: &snapshot.User{Username: "mallory", Sub: "11111111-2222-4333-8444-555555555555", Enabled: true, Status: "CONFIRMED",
			Attributes: []snapshot.Attribute{{Name: "sub", Value: "11111111-2222-4333-8444-555555555555"}, {Name: "email", Value: "mallory@example.com"}, {Name: "email_verified", Value: "true"}}},
		Groups: []string{"admins"}, GroupsKnown: true}
	key, err := snapshot.JournalKey(ev)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ev)
	p := filepath.Join(repoDir, filepath.FromSlash(key))
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return key
}

// refused runs a reading command that must be refused: exit 1, the
// object named in the message, and no write to any pool.
func (e *signedEnv) refused(t *testing.T, what, object string, args ...string) {
	t.Helper()
	before := writes(e.srv)
	pools := len(e.srv.Stats())
	code, out, errOut := run(t, context.Background(), append(args, "--age-identity", e.identity, "--endpoint-url", e.srv.URL, "--region", "us-east-1")...)
	if code != 1 || !strings.Contains(out+errOut, object) {
		t.Errorf("%s: %s: exit %d, want 1 naming %s\n%s\n%s", what, strings.Join(args, " "), code, object, out, errOut)
	}
	if n := writes(e.srv) - before; n != 0 {
		t.Errorf("%s: %s made %d write(s) to Cognito", what, args[0], n)
	}
	_ = pools
}

func (e *signedEnv) target(t *testing.T) string {
	t.Helper()
	tgt, _ := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "victim", Users: 0, Groups: 0})
	return tgt.PoolID
}

func (e *signedEnv) restoreArgs(t *testing.T, repoDir string, extra ...string) []string {
	return append([]string{"restore", "--repo", repoDir, "--pool", e.victim, "--to", e.target(t),
		"--state-file", filepath.Join(e.dir, "state-"+filepath.Base(repoDir)), "--mapping-file", filepath.Join(e.dir, "subs-"+filepath.Base(repoDir))}, extra...)
}

// TestSignedRepositoryRefusesTheReviewAttacks does the four attacks of
// issue 17 on a signed, age-encrypted repository, through the CLI, against
// the fake Cognito: each is refused by verify, restore and restore --at
// with exit 1, the object named, and no write to any pool.
func TestSignedRepositoryRefusesTheReviewAttacks(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

	t.Run("1 forged newer manifest over plaintext chunks", func(t *testing.T) {
		r := e.victimCopy(t, "attack1")
		key := e.plantForgedSnapshot(t, r)
		e.refused(t, "forged manifest", key, "verify", "--repo", r)
		e.refused(t, "forged manifest", key, e.restoreArgs(t, r)...)
		e.refused(t, "forged manifest", key, e.restoreArgs(t, r, "--at", at)...)
		before := e.srv.Stats()["CreateUserPool"].Calls
		e.refused(t, "forged manifest", key, "restore", "latest", "--repo", r, "--pool", e.victim, "--create-pool", "restored", "--state-file", e.dir+"/cp-state", "--mapping-file", e.dir+"/cp-subs")
		if e.srv.Stats()["CreateUserPool"].Calls != before {
			t.Error("restore --create-pool created a pool from a forged manifest")
		}
	})
	t.Run("2 plaintext journal event", func(t *testing.T) {
		r := e.victimCopy(t, "attack2")
		key := e.plantEvent(t, r, time.Now().Add(time.Minute))
		e.refused(t, "plaintext journal event", key, e.restoreArgs(t, r, "--at", at)...)
	})
	t.Run("2b journal event signed by another key", func(t *testing.T) {
		r := e.victimCopy(t, "attack2b")
		key := e.plantEvent(t, r, time.Now().Add(time.Minute))
		other, _ := sign.GenerateKeyFile(filepath.Join(e.dir, "mallory-signing.key"))
		p := filepath.Join(r, filepath.FromSlash(key))
		b, _ := os.ReadFile(p)
		env, _ := sign.Seal(ctx, other, openSigned(t, r).Trust.ID, repo.KindJournal, key, b)
		os.WriteFile(p, env, 0o600)
		e.refused(t, "journal event signed by another key", key, e.restoreArgs(t, r, "--at", at)...)
	})
	t.Run("plaintext chunk under a legitimate manifest", func(t *testing.T) {
		r := e.victimCopy(t, "chunk")
		ids, _ := filepath.Glob(filepath.Join(r, "data", "*", "users-000001.jsonl.zst"))
		evil, _ := filepath.Glob(filepath.Join(e.attacker, "data", "*", "users-000001.jsonl.zst"))
		b, _ := os.ReadFile(evil[0])
		os.Remove(ids[0])
		os.WriteFile(ids[0], b, 0o600)
		rel, _ := filepath.Rel(r, ids[0])
		// Refused as plaintext, before any checksum is computed.
		if _, out, errOut := run(t, ctx, "verify", "--repo", r, "--age-identity", e.identity); !strings.Contains(out+errOut, "stored in plaintext") {
			t.Errorf("plaintext chunk not refused as such:\n%s\n%s", out, errOut)
		}
		e.refused(t, "plaintext chunk", filepath.ToSlash(rel), "verify", "--repo", r)
		e.refused(t, "plaintext chunk", filepath.ToSlash(rel), e.restoreArgs(t, r)...)
		e.refused(t, "plaintext chunk", filepath.ToSlash(rel), e.restoreArgs(t, r, "--at", at)...)
	})
	t.Run("chunk re-encrypted to the repository's own recipient", func(t *testing.T) {
		// The recipients are public: anyone can encrypt a chunk the
		// repository decrypts; the signed manifest's checksums refuse it
		// (restore checks the whole snapshot before its first write).
		r := e.victimCopy(t, "reencrypted")
		ours, _ := filepath.Glob(filepath.Join(r, "data", "*", "members-000001.jsonl.zst"))
		evil, _ := filepath.Glob(filepath.Join(e.attacker, "data", "*", "members-000001.jsonl.zst"))
		plain, _ := os.ReadFile(evil[0])
		rcpt, _ := age.ParseX25519Recipient(e.recipient)
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, rcpt)
		w.Write(plain)
		w.Close()
		os.Remove(ours[0])
		os.WriteFile(ours[0], buf.Bytes(), 0o600)
		rel, _ := filepath.Rel(r, ours[0])
		e.refused(t, "re-encrypted chunk", filepath.ToSlash(rel), "verify", "--repo", r)
		e.refused(t, "re-encrypted chunk", filepath.ToSlash(rel), e.restoreArgs(t, r)...)
	})
	t.Run("3 config.json removed", func(t *testing.T) {
		r := e.victimCopy(t, "attack3")
		os.Remove(filepath.Join(r, "config.json"))
		e.refused(t, "removed config", "config.json", "verify", "--repo", r)
		e.refused(t, "removed config", "config.json", e.restoreArgs(t, r)...)
		e.refused(t, "removed config", "config.json", e.restoreArgs(t, r, "--at", at)...)
		before, _ := os.ReadDir(filepath.Join(r, "data"))
		e.refused(t, "removed config", "config.json", "backup", "--pool", e.victim, "--repo", r)
		if after, _ := os.ReadDir(filepath.Join(r, "data")); len(after) != len(before) {
			t.Error("a backup wrote into a repository whose config.json was removed")
		}
	})
	t.Run("4 config.json replaced with another recipient", func(t *testing.T) {
		for name, signer := range map[string]bool{"unsigned": false, "signed by another key": true} {
			r := e.victimCopy(t, "attack4-"+strings.ReplaceAll(name, " ", "-"))
			os.Remove(filepath.Join(r, "config.json"))
			store, _ := storage.NewDir(r)
			var s sign.Signer
			if signer {
				s, _ = sign.GenerateKeyFile(filepath.Join(e.dir, "mallory-"+filepath.Base(r)+".key"))
			}
			if err := repo.Init(ctx, store, repo.Config{Encryption: repo.EncryptionAge, Recipients: []string{e.attackerRecipient}}, s); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadDir(filepath.Join(r, "data"))
			e.refused(t, name+" config", "config.json", "backup", "--pool", e.victim, "--repo", r, "--include-secrets")
			if after, _ := os.ReadDir(filepath.Join(r, "data")); len(after) != len(before) {
				t.Errorf("%s: a backup wrote to the attacker's recipient", name)
			}
			e.refused(t, name+" config", "config.json", "verify", "--repo", r)
			e.refused(t, name+" config", "config.json", e.restoreArgs(t, r)...)
		}
	})
	t.Run("legitimate backup and restore still work", func(t *testing.T) {
		r := e.victimCopy(t, "legit")
		if code, _, errOut := run(t, ctx, "backup", "--pool", e.victim, "--repo", r, "--endpoint-url", e.srv.URL, "--region", "us-east-1"); code != 0 {
			t.Fatalf("second backup: %s", errOut)
		}
		args := append(e.restoreArgs(t, r), "--age-identity", e.identity, "--endpoint-url", e.srv.URL, "--region", "us-east-1")
		if code, out, errOut := run(t, ctx, "verify", "--repo", r, "--age-identity", e.identity); code != 0 {
			t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
		}
		before := e.srv.Stats()["AdminCreateUser"].Calls
		if code, out, errOut := run(t, ctx, args...); code != 0 && code != 3 {
			t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
		}
		if e.srv.Stats()["AdminCreateUser"].Calls-before != 30 {
			t.Fatalf("restore created %d users, want 30", e.srv.Stats()["AdminCreateUser"].Calls-before)
		}
	})
}

// TestInitUpgradeSignsAnOldRepository: a repository from before signing
// (no config.json, or an unsigned one) is refused or read with a warning
// until 'init --upgrade' checks and signs it; a damaged one is not signed.
func TestInitUpgradeSignsAnOldRepository(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 20, Groups: 2})
	dir := t.TempDir()
	aws := []string{"--endpoint-url", srv.URL, "--region", "us-east-1"}
	old := func(name string) string {
		p := filepath.Join(dir, name)
		if code, _, errOut := run(t, ctx, "init", "--no-signing", "--repo", p); code != 0 {
			t.Fatal(errOut)
		}
		if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID, "--repo", p}, aws...)...); code != 0 {
			t.Fatal(errOut)
		}
		store, _ := storage.NewDir(p)
		r, _, err := repo.Open(ctx, store, repo.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ev := &snapshot.Event{PoolID: src.PoolID, Kind: snapshot.EventGroupDeleted, Time: time.Now(), Group: &snapshot.Group{Name: "g"}, EventID: "e1", Source: "DeleteGroup"}
		if _, err := r.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		return p
	}

	unsigned := old("unsigned")
	if code, out, errOut := run(t, ctx, "verify", "--repo", unsigned); code != 0 || !strings.Contains(errOut, "not signed") {
		t.Fatalf("verify of an unsigned repository: exit %d, no warning\n%s\n%s", code, out, errOut)
	}
	noConfig := old("no-config")
	os.Remove(filepath.Join(noConfig, "config.json"))
	if code, _, errOut := run(t, ctx, "snapshots", "--repo", noConfig); code != 1 || !strings.Contains(errOut, "config.json") || !strings.Contains(errOut, "init --upgrade") {
		t.Fatalf("snapshots of a repository without config.json: exit %d %s", code, errOut)
	}

	damaged := old("damaged")
	chunks, _ := filepath.Glob(filepath.Join(damaged, "data", "*", "users-000001.jsonl.zst"))
	b, _ := os.ReadFile(chunks[0])
	b[len(b)/2] ^= 0xff
	os.Remove(chunks[0])
	os.WriteFile(chunks[0], b, 0o600)
	cfgBefore, _ := os.ReadFile(filepath.Join(damaged, "config.json"))
	if code, _, errOut := run(t, ctx, "init", "--upgrade", "--repo", damaged); code != 1 || !strings.Contains(errOut, "users-000001.jsonl.zst") || !strings.Contains(errOut, "nothing was signed") {
		t.Fatalf("upgrade of a damaged repository: exit %d %s", code, errOut)
	}
	if after, _ := os.ReadFile(filepath.Join(damaged, "config.json")); string(after) != string(cfgBefore) {
		t.Fatal("a failed upgrade changed config.json")
	}
	if code, _, errOut := run(t, ctx, "verify", "--repo", damaged); code != 1 || strings.Contains(errOut, "pinned") {
		t.Fatalf("a failed upgrade pinned a key: exit %d %s", code, errOut)
	}

	for _, p := range []string{unsigned, noConfig} {
		code, out, errOut := run(t, ctx, "init", "--upgrade", "--repo", p)
		if code != 0 || !strings.Contains(out, "1 snapshot(s) checked and signed, 1 journal event(s) signed") {
			t.Fatalf("upgrade %s: exit %d\n%s\n%s", p, code, out, errOut)
		}
		code, out, errOut = run(t, ctx, "verify", "--repo", p)
		if code != 0 || strings.Contains(errOut, "warning") {
			t.Fatalf("verify after upgrade: exit %d\n%s\n%s", code, out, errOut)
		}
		if code, out, errOut := run(t, ctx, "journal", "list", "--repo", p, "--pool", src.PoolID); code != 0 || !strings.Contains(out, "DeleteGroup") {
			t.Fatalf("journal list after upgrade: exit %d\n%s\n%s", code, out, errOut)
		}
		if r := openSigned(t, p); !r.Trust.Signed {
			t.Fatal("not signed after upgrade")
		}
		// Upgrading again (or resuming a stopped run) changes nothing.
		if code, _, errOut := run(t, ctx, "init", "--upgrade", "--repo", p); code != 0 {
			t.Fatalf("second upgrade: exit %d %s", code, errOut)
		}
		if code, _, errOut := run(t, ctx, "verify", "--repo", p); code != 0 {
			t.Fatalf("verify after a second upgrade: exit %d %s", code, errOut)
		}
	}
}

// TestKeysAndPinsAcrossMachines: init on one machine signs with a key it
// keeps private and pins; another machine (another config directory) reads
// with --repo-key, or records the key on first use and then refuses a
// change; key generate makes both kinds of key.
func TestKeysAndPinsAcrossMachines(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 10, Groups: 1})
	dir := t.TempDir()
	aws := []string{"--endpoint-url", srv.URL, "--region", "us-east-1"}
	machineA := os.Getenv("XDG_CONFIG_HOME")

	// key generate: an age identity and a signing key, 0600, never replaced.
	code, out, errOut := run(t, ctx, "key", "generate", "--file", dir+"/id.agekey")
	if code != 0 || !strings.HasPrefix(out, "age1") {
		t.Fatalf("key generate: exit %d %s %s", code, out, errOut)
	}
	code, out, errOut = run(t, ctx, "key", "generate", "--signing", "--file", dir+"/ci.key")
	if code != 0 || !strings.HasPrefix(out, "ed25519:") {
		t.Fatalf("key generate --signing: exit %d %s %s", code, out, errOut)
	}
	ciPub := strings.TrimSpace(out)
	for _, f := range []string{dir + "/id.agekey", dir + "/ci.key"} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if code, _, _ := run(t, ctx, "key", "generate", "--signing", "--file", dir+"/ci.key"); code != 1 {
		t.Fatal("key generate replaced a key file")
	}

	// init without flags: a new key under the config directory, pinned.
	repoA := dir + "/a"
	code, out, errOut = run(t, ctx, "init", "--repo", repoA)
	if code != 0 || !strings.Contains(out, "public key: ed25519:") {
		t.Fatalf("init: exit %d %s %s", code, out, errOut)
	}
	pub := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "public key: ", 2)[1], "\n", 2)[0])
	keys, _ := filepath.Glob(filepath.Join(machineA, "cogvault", "keys", "*.key"))
	if len(keys) != 1 {
		t.Fatalf("keys: %v", keys)
	}
	if fi, _ := os.Stat(filepath.Dir(keys[0])); fi.Mode().Perm() != 0o700 {
		t.Fatalf("keys directory mode %v", fi.Mode().Perm())
	}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID, "--repo", repoA}, aws...)...); code != 0 {
		t.Fatalf("backup with no flag: %s", errOut)
	}

	// Machine B: no trust store entry, no key.
	t.Setenv("XDG_CONFIG_HOME", dir+"/machine-b")
	if code, out, errOut := run(t, ctx, "verify", "--repo", repoA, "--repo-key", pub); code != 0 || strings.Contains(errOut, "first use") {
		t.Fatalf("verify with --repo-key: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, ctx, "verify", "--repo", repoA, "--repo-key", ciPub); code != 1 || !strings.Contains(errOut, "config.json") {
		t.Fatalf("verify with another --repo-key: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, ctx, "snapshots", "--repo", repoA); code != 0 || !strings.Contains(errOut, "on first use") || !strings.Contains(errOut, pub) {
		t.Fatalf("first use: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID, "--repo", repoA}, aws...)...); code != 1 || !strings.Contains(errOut, "signing key") {
		t.Fatalf("backup without the signing key: exit %d %s", code, errOut)
	}
	// The repository is replaced by another one signed by another key: the
	// pin refuses it.
	os.RemoveAll(repoA)
	if code, _, errOut := run(t, ctx, "init", "--repo", repoA, "--signing-key", dir+"/ci.key"); code != 1 || !strings.Contains(errOut, "already pins") {
		t.Fatalf("init over a pinned repository: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(repoA + "/config.json"); err == nil {
		t.Fatal("a refused init wrote config.json")
	}
	t.Setenv("XDG_CONFIG_HOME", dir+"/machine-c")
	if code, _, errOut := run(t, ctx, "init", "--repo", repoA, "--signing-key", dir+"/ci.key"); code != 0 {
		t.Fatalf("init --signing-key: %s", errOut)
	}
	t.Setenv("XDG_CONFIG_HOME", dir+"/machine-b")
	if code, _, errOut := run(t, ctx, "snapshots", "--repo", repoA); code != 1 || !strings.Contains(errOut, "config.json") {
		t.Fatalf("a replaced repository on a pinned machine: exit %d %s", code, errOut)
	}

	// --no-signing: readers warn.
	t.Setenv("XDG_CONFIG_HOME", machineA)
	if code, out, _ := run(t, ctx, "init", "--no-signing", "--repo", dir+"/plain"); code != 0 || !strings.Contains(out, "NOT signed") {
		t.Fatalf("init --no-signing: %s", out)
	}
	if code, _, errOut := run(t, ctx, "snapshots", "--repo", dir+"/plain"); code != 0 || !strings.Contains(errOut, "warning: the repository is not signed") {
		t.Fatalf("reading an unsigned repository: exit %d %s", code, errOut)
	}
}
