package migration_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
	"github.com/cogvault/cogvault/internal/storage/s3fake"
)

// countingStore counts what reaches the repository's S3 store.
type countingStore struct {
	storage.Store
	gets, puts, deletes atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader) error {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, r)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *countingStore) counts() [3]int64 {
	return [3]int64{c.gets.Load(), c.puts.Load(), c.deletes.Load()}
}

// signedRepo is a signed repository on a fake S3, as the capture function
// writes it.
func signedRepo(t *testing.T) (*repo.Repo, *countingStore) {
	t.Helper()
	raw := s3fake.New(t, "repo").Store(t, "s3://repo/cogvault", storage.Options{})
	key, err := sign.GenerateKeyFile(filepath.Join(t.TempDir(), "k.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Init(ctx, raw, repo.Config{}, key); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: raw}
	r, _, err := repo.Open(ctx, cs, repo.OpenOptions{RepoKey: key.Public(), Signer: func(context.Context) (sign.Signer, error) { return key, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return r, cs
}

// pendingName and pendingBody are the function's pending record of a
// sign-in value (the contract in records.go): the key is the sha256 of the
// value, lower-cased only when email-shaped; the record binds the exact
// value (its sha256) and the time of the migration.
func pendingName(signIn string) string {
	if strings.Contains(signIn, "@") {
		signIn = strings.ToLower(signIn)
	}
	return "pending/" + sha(signIn) + ".json"
}

func pendingBody(oldSub, oldUsername, signIn string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"oldSub": oldSub, "oldUsername": oldUsername, "signIn": sha(signIn), "at": at.UTC()})
	return b
}

func sha(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func (w *world) groups(t *testing.T, pool, name string) []string {
	t.Helper()
	out, err := w.api.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &pool, Username: &name})
	if err != nil {
		t.Fatal(err)
	}
	var gs []string
	for _, g := range out.Groups {
		gs = append(gs, aws.ToString(g.GroupName))
	}
	sort.Strings(gs)
	return gs
}

// userInGroups is a confirmed, enabled source user in two groups or more.
func (w *world) userInGroups(t *testing.T) (string, []string) {
	t.Helper()
	for _, u := range w.sourceUsers(t, types.UserStatusTypeConfirmed, true) {
		name := aws.ToString(u.Username)
		if gs := w.groups(t, w.source, name); len(gs) >= 2 {
			return name, gs
		}
	}
	t.Fatal("no confirmed source user in two groups")
	return "", nil
}

// copyGroups creates the source's groups in the target, but skip.
func (w *world) copyGroups(t *testing.T, skip string) {
	t.Helper()
	out, err := w.api.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &w.source})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.Groups {
		if aws.ToString(g.GroupName) == skip {
			continue
		}
		if _, err := w.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &w.target, GroupName: g.GroupName}); err != nil {
			t.Fatal(err)
		}
	}
}

type userRecord struct {
	OldSub, NewSub, OldUsername, NewUsername string
	Groups                                   []string
}

// migrated checks what PostAuthentication left for the user who signed
// in as signIn: the target user in its source groups (but skipped), a
// signed users/<newSub>.json naming both subs, no pending record.
func (w *world) migrated(t *testing.T, signIn, oldName, skip string, srcGroups []string) {
	t.Helper()
	_, oldSub := w.want(t, oldName)
	tu, err := w.get(w.target, signIn)
	if err != nil {
		t.Fatal(err)
	}
	newSub, newName := attrMap(tu.UserAttributes)["sub"], aws.ToString(tu.Username)
	var want []string
	for _, g := range srcGroups {
		if g != skip {
			want = append(want, g)
		}
	}
	if got := w.groups(t, w.target, newName); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("target groups: %d of %d, or others", len(got), len(want))
	}
	b, err := w.repo.GetMigrationRecord(ctx, w.target, "users/"+newSub+".json")
	if err != nil {
		t.Fatalf("users record: %v", err)
	}
	var rec userRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	sort.Strings(rec.Groups)
	if rec.OldSub != oldSub || rec.NewSub != newSub || rec.OldUsername != oldName || rec.NewUsername != newName ||
		strings.Join(rec.Groups, ",") != strings.Join(want, ",") {
		t.Errorf("users record: old sub %v, new sub %v, old name %v, new name %v, groups %v",
			rec.OldSub == oldSub, rec.NewSub == newSub, rec.OldUsername == oldName, rec.NewUsername == newName, len(rec.Groups))
	}
	if _, err := w.repo.GetMigrationRecord(ctx, w.target, pendingName(signIn)); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("pending record after the first sign-in: %v", err)
	}
}

// TestMigratedUserJoinsItsSourceGroups: the migrating sign-in leaves the
// user in its source groups (a group the target lacks skipped), old sub →
// new sub journaled and verified, and the pending record gone; a second
// sign-in reads the pending records of its sign-in values and changes
// nothing.
func TestMigratedUserJoinsItsSourceGroups(t *testing.T) {
	w := newWorld(t)
	name, gs := w.userInGroups(t)
	w.copyGroups(t, gs[0])
	if _, err := w.signIn(name, sourcePW); err != nil {
		t.Fatal(err)
	}
	w.migrated(t, name, name, gs[0], gs)

	before, adds := w.store.counts(), w.srv.OpStats("AdminAddUserToGroup").Calls
	if _, err := w.signIn(name, sourcePW); err != nil {
		t.Fatal(err)
	}
	after := w.store.counts()
	values := 1 // a plain-username target: the username only
	if after[0]-before[0] != int64(values) || after[1] != before[1] || after[2] != before[2] ||
		w.srv.OpStats("AdminAddUserToGroup").Calls != adds {
		t.Errorf("second sign-in: %d GETs (want %d), %d PUTs, %d DELETEs, %d AdminAddUserToGroup", after[0]-before[0], values,
			after[1]-before[1], after[2]-before[2], w.srv.OpStats("AdminAddUserToGroup").Calls-adds)
	}
}

func mustGet(t *testing.T, w *world, pool, name string) *cip.AdminGetUserOutput {
	t.Helper()
	u, err := w.get(pool, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var failedKey = regexp.MustCompile(`^migrations/[\w-]+/failed/\d{19}-[a-z]+(-[a-z]+)*\.json$`)

// TestFailedMigrationsAreCountedWithoutNames: a refusal for another reason
// than a wrong password or an unknown user leaves failed/<nanos>-<reason>
// holding the time and the reason only.
func TestFailedMigrationsAreCountedWithoutNames(t *testing.T) {
	w := newWorld(t)
	temp := "temp-user"
	if _, err := w.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &w.source, Username: &temp,
		TemporaryPassword: aws.String(sourcePW), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	disabled := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, false)[0].Username)
	confirmed := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, true)[0].Username)
	for _, c := range []struct{ name, pw string }{{confirmed, wrongPW}, {"nobody-at-all", sourcePW}, {temp, sourcePW}, {disabled, sourcePW}} {
		if _, err := w.signIn(c.name, c.pw); err == nil {
			t.Fatalf("sign-in migrated a user it must refuse")
		}
	}
	var reasons []string
	for o, err := range w.store.List(ctx, "migrations/") {
		if err != nil {
			t.Fatal(err)
		}
		if !failedKey.MatchString(o.Key) {
			t.Errorf("unexpected record %s", o.Key)
			continue
		}
		b, err := w.repo.GetMigrationRecord(ctx, w.target, strings.TrimPrefix(o.Key, "migrations/"+w.target+"/"))
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		_ = json.Unmarshal(b, &rec)
		if len(rec) != 2 || rec["at"] == nil || !strings.HasSuffix(o.Key, "-"+rec["reason"].(string)+".json") {
			t.Errorf("failed record %s: %s", o.Key, b)
		}
		for _, n := range []string{temp, disabled, confirmed} {
			if strings.Contains(string(b), n) || strings.Contains(o.Key, n) {
				t.Errorf("failed record %s names a user", o.Key)
			}
		}
		reasons = append(reasons, rec["reason"].(string))
	}
	sort.Strings(reasons)
	if strings.Join(reasons, ",") != "disabled,must-change-password" {
		t.Errorf("failed reasons %v, want disabled and must-change-password only", reasons)
	}
}

// TestRetriedPostAuthenticationIsHarmless: a PostAuthentication that ran
// before (groups added, users/ record written) but whose pending record
// is still there, as after a retry, finishes again without error: the
// record is not rewritten and the pending record goes.
func TestRetriedPostAuthenticationIsHarmless(t *testing.T) {
	w := newWorld(t)
	name, gs := w.userInGroups(t)
	w.copyGroups(t, "")
	if _, err := w.signIn(name, sourcePW); err != nil {
		t.Fatal(err)
	}
	_, oldSub := w.want(t, name)
	pending := pendingBody(oldSub, name, name, time.Now())
	if err := w.repo.PutMigrationRecord(ctx, w.target, pendingName(name), pending); err != nil {
		t.Fatal(err)
	}
	if _, err := w.signIn(name, sourcePW); err != nil {
		t.Fatal(err)
	}
	w.migrated(t, name, name, "", gs)
}

// TestForgotPasswordMigrationFinishesAtTheFirstSignIn: a user migrated by
// "forgot password" (RESET_REQUIRED) gets its groups and users/ record at
// the first sign-in after the reset.
func TestForgotPasswordMigrationFinishesAtTheFirstSignIn(t *testing.T) {
	w := newWorld(t)
	w.copyGroups(t, "")
	var name string
	for _, u := range w.sourceUsers(t, types.UserStatusTypeConfirmed, true) {
		m := attrMap(u.Attributes)
		if n := aws.ToString(u.Username); (m["email_verified"] == "true" || m["phone_number_verified"] == "true") && len(w.groups(t, w.source, n)) > 0 {
			name = n
			break
		}
	}
	if name == "" {
		t.Fatal("no recoverable source user in a group")
	}
	if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.repo.GetMigrationRecord(ctx, w.target, pendingName(name)); err != nil {
		t.Fatalf("pending record after forgot password: %v", err)
	}
	var code string
	for _, m := range w.srv.Outbox() {
		if m.Pool == w.target && m.Username == name && m.Kind == "forgot-password" {
			code = m.Code
		}
	}
	const newPW = "Reset-pass-44"
	if _, err := w.api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: &w.tgClient, Username: &name,
		ConfirmationCode: &code, Password: aws.String(newPW)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.signIn(name, newPW); err != nil {
		t.Fatal(err)
	}
	w.migrated(t, name, name, "", w.groups(t, w.source, name))
}
