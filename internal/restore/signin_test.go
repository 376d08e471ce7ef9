package restore_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// backupPool takes a snapshot of pool into a new repository in dir.
func backupPool(t *testing.T, e *env, pool, name string) (*repo.Repo, *snapshot.Manifest) {
	t.Helper()
	store, _ := storage.NewDir(filepath.Join(e.dir, name))
	m, err := backup.Run(ctx, e.api, store, backup.Options{PoolID: pool, MFA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return repo.New(store), m
}

// emailEnv is env with a source and a target that sign in with email.
func emailEnv(t *testing.T, users, groups int) *env {
	t.Helper()
	e := setup(t, 0, 0)
	src, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "email-source", Users: users, Groups: groups, Seed: 21, UsernameAttributes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "email-target", Seed: 22, UsernameAttributes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	e.source, e.target = src, tgt.PoolID
	e.repo, e.snap = backupPool(t, e, src.PoolID, "email-repo")
	return e
}

// sameUsersByEmail is the oracle of a restore into a pool that signs in
// with email: every user of the snapshot that has an email is found in the
// target by that email, with the snapshot's attributes, enabled flag,
// status, MFA preferences and groups, except where the report says why not;
// the target holds no one else.
func sameUsersByEmail(t *testing.T, e *env, rep *restore.Report) {
	t.Helper()
	excused := map[string]map[string]bool{} // username → what
	for _, it := range append(append([]restore.Item{}, rep.Changed...), rep.NotRestored...) {
		if excused[it.Username] == nil {
			excused[it.Username] = map[string]bool{}
		}
		excused[it.Username][it.What] = true
	}
	groups := map[string][]string{}
	for mm, err := range e.repo.Memberships(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		groups[mm.Username] = append(groups[mm.Username], mm.Group)
	}
	compared := 0
	for u, err := range e.repo.Users(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		email, ok := u.Attr("email")
		if u.Status == "EXTERNAL_PROVIDER" || !ok {
			if !excused[u.Username]["user"] {
				t.Fatalf("user %s (no email, or federated) is not reported", u.Username)
			}
			continue
		}
		ex := excused[u.Username]
		if ex["user"] {
			continue
		}
		g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(email)})
		if err != nil {
			t.Fatalf("user %s: not found by its email in the target: %v", u.Username, err)
		}
		compared++
		got := map[string]string{}
		for _, a := range g.UserAttributes {
			got[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		for _, a := range u.Attributes {
			if a.Name == "sub" || a.Name == "identities" || ex["attribute "+a.Name] {
				continue
			}
			if got[a.Name] != a.Value {
				t.Errorf("user %s: attribute %s is %q, the snapshot has %q", u.Username, a.Name, got[a.Name], a.Value)
			}
			delete(got, a.Name)
		}
		for name := range got {
			if name != "sub" && name != "identities" && !ex["attribute "+name] {
				t.Errorf("user %s: attribute %s appeared", u.Username, name)
			}
		}
		if g.Enabled != u.Enabled {
			t.Errorf("user %s: enabled %v, the snapshot has %v", u.Username, g.Enabled, u.Enabled)
		}
		if string(g.UserStatus) != u.Status && !ex["status"] {
			t.Errorf("user %s: status %s, the snapshot has %s, and the report does not say why", u.Username, g.UserStatus, u.Status)
		}
		if u.MFA != nil && !ex["TOTP MFA"] && !slices.Equal(g.UserMFASettingList, u.MFA.UserMFASettingList) {
			t.Errorf("user %s: MFA %v, the snapshot has %v", u.Username, g.UserMFASettingList, u.MFA.UserMFASettingList)
		}
		have := groupsOf(t, e, aws.ToString(g.Username))
		want := groups[u.Username]
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			t.Errorf("user %s: groups %v, the snapshot has %v", u.Username, have, want)
		}
	}
	n := 0
	for _, err := range cognito.Users(ctx, e.api, e.target, "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != compared || compared == 0 {
		t.Fatalf("the target holds %d users, %d were compared", n, compared)
	}
}

func TestRestoreIntoEmailUsernamePool(t *testing.T) {
	for _, via := range []string{restore.ViaAdmin, restore.ViaImport} {
		t.Run(via, func(t *testing.T) {
			e := emailEnv(t, 300, 6)
			opts := restore.Options{Via: via, Import: restore.ImportOptions{RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, TempDir: t.TempDir()}}
			rep, err := e.restore(t, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.UsersCreate < 250 {
				t.Fatalf("created %d users of 300: %+v", rep.UsersCreate, rep.NotRestored[:min(5, len(rep.NotRestored))])
			}
			if via == restore.ViaImport && rep.UsersImported == 0 {
				t.Fatal("no user went through an import job")
			}
			sameUsersByEmail(t, e, rep)
			// diff pairs users by email: only what the report lists differs.
			d, err := diff.Compare(ctx, diff.SnapshotSource{Repo: e.repo, Manifest: e.snap}, diff.LiveSource{API: e.api, PoolID: e.target},
				diff.Options{IgnoreAttributes: []string{"sub"}, MatchBy: "email"})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.UsersAdded)+len(d.MembershipsAdded)+len(d.MembershipsRemoved) != 0 || len(d.UsersRemoved) != count(rep.NotRestored, "user", "") {
				t.Fatalf("diff by email: %d added, %d removed (%d reported), memberships +%d -%d",
					len(d.UsersAdded), len(d.UsersRemoved), count(rep.NotRestored, "user", ""), len(d.MembershipsAdded), len(d.MembershipsRemoved))
			}
			// The mapping pairs the old opaque username with the new one.
			for _, m := range rep.Mappings {
				if m.NewUsername == "" || m.NewUsername == m.Username || m.NewUsername != strings.ToLower(m.NewUsername) || len(m.NewUsername) != 36 {
					t.Fatalf("mapping %+v: want a new opaque username", m)
				}
			}
			if e.srv.MessagesSent() != 0 {
				t.Fatalf("restore sent %d messages", e.srv.MessagesSent())
			}
			// A second run finds every user by its email: nothing is created.
			before := e.srv.OpStats("AdminCreateUser").Calls
			again, err := e.restore(t, opts)
			if err != nil || again.UsersCreate != 0 || e.srv.OpStats("AdminCreateUser").Calls != before {
				t.Fatalf("second run: %v, %d to create", err, again.UsersCreate)
			}
			// A fresh state file into the same pool: every user exists.
			opts.StatePath = filepath.Join(t.TempDir(), "other.state")
			fresh, err := e.restore(t, opts)
			if err != nil || fresh.UsersCreate != 0 || fresh.UsersSkip != rep.UsersCreate {
				t.Fatalf("fresh run: %v, create %d skip %d, want skip %d", err, fresh.UsersCreate, fresh.UsersSkip, rep.UsersCreate)
			}
		})
	}
}

// A snapshot of a pool with usernames, restored into one that signs in with
// email: users sign in with their email; those without one are reported.
func TestRestorePlainSnapshotIntoEmailPool(t *testing.T) {
	e := setup(t, 200, 4)
	tgt, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "email-target", Seed: 22, UsernameAttributes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	e.target = tgt.PoolID
	rep, err := e.restore(t, restore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	noEmail := count(rep.NotRestored, "user", "signs in with email and the user has none")
	if noEmail == 0 {
		t.Fatal("phone-only users are not reported")
	}
	renamed := count(rep.Changed, "username", "")
	if renamed != rep.UsersCreate {
		t.Fatalf("%d users created, %d told that they sign in with email now", rep.UsersCreate, renamed)
	}
	sameUsersByEmail(t, e, rep)
}

// A snapshot of a pool that signs in with email cannot go into a pool where
// its users would have only their opaque username: refused before any
// write. With email as an alias, it is restored.
func TestRestoreEmailSnapshotIntoUsernamePool(t *testing.T) {
	e := emailEnv(t, 50, 2)
	out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("plain"), Schema: customSchema()})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
	e.srv.ResetStats()
	_, err = e.restore(t, restore.Options{})
	if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), "alias") {
		t.Fatalf("restore into a pool without email alias: %v", err)
	}
	if n := e.srv.OpStats("AdminCreateUser").Calls + e.srv.OpStats("CreateGroup").Calls; n != 0 {
		t.Fatalf("refused restore made %d writes", n)
	}
	out, err = e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("alias"), Schema: customSchema(),
		AliasAttributes: []types.AliasAttributeType{types.AliasAttributeTypeEmail}})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
	rep, err := e.restore(t, restore.Options{StatePath: filepath.Join(t.TempDir(), "alias.state")})
	if err != nil || rep.UsersCreate == 0 {
		t.Fatalf("restore into an email-alias pool: %v %+v", err, rep)
	}
	explained(t, e, rep)
}

func customSchema() []types.SchemaAttributeType {
	var schema []types.SchemaAttributeType
	for _, name := range cognitotest.CustomAttributes {
		sa := types.SchemaAttributeType{Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(name != "tenant_id")}
		if name == "score" {
			sa.AttributeDataType = types.AttributeDataTypeNumber
		}
		schema = append(schema, sa)
	}
	return schema
}

// groupsOf lists the groups of a target user, read from the target.
func groupsOf(t *testing.T, e *env, username string) []string {
	t.Helper()
	var out []string
	in := &cip.AdminListGroupsForUserInput{UserPoolId: &e.target, Username: &username, Limit: aws.Int32(60)}
	for {
		page, err := e.api.AdminListGroupsForUser(ctx, in)
		if err != nil {
			t.Fatalf("groups of %s: %v", username, err)
		}
		for _, g := range page.Groups {
			out = append(out, aws.ToString(g.GroupName))
		}
		if aws.ToString(page.NextToken) == "" {
			return out
		}
		in.NextToken = page.NextToken
	}
}
