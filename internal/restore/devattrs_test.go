package restore_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

// devEnv is e with a source whose users have a developer-only attribute,
// backed up, and a target that has the attribute when targetDev is set.
func devEnv(t *testing.T, users int, targetDev bool) *env {
	t.Helper()
	e := setup(t, 0, 0)
	src, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "dev-source", Users: users, Seed: 11, DevAttribute: true})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "dev-target", Seed: 12, DevAttribute: targetDev})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := storage.NewDir(e.dir + "/repo")
	m, err := backup.Run(ctx, e.api, store, backup.Options{PoolID: src.PoolID, MFA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.source, e.target, e.snap = src, tgt.PoolID, m
	return e
}

// Developer-only attributes are backed up and restored, by either path
// (only an admin may write them; the import path sends users whose
// attribute the import file has no column for through the admin API).
func TestDeveloperOnlyAttributesAreRestored(t *testing.T) {
	for _, via := range []string{restore.ViaAdmin, restore.ViaImport} {
		t.Run(via, func(t *testing.T) {
			e := devEnv(t, 60, true)
			want := map[string]string{}
			for u, err := range e.repo.Users(ctx, e.snap) {
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := u.Attr(cognitotest.DevAttributeName); ok {
					want[u.Username] = v
				}
			}
			if len(want) == 0 {
				t.Fatal("the backup kept no developer-only value")
			}
			opts := importOpts(t)
			opts.Via = via
			rep, err := e.restore(t, opts)
			if err != nil {
				t.Fatal(err)
			}
			explained(t, e, rep)
			restored := 0
			for _, mp := range rep.Mappings {
				v, ok := want[mp.Username]
				if !ok {
					continue
				}
				g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(mp.NewUsername)})
				if err != nil {
					t.Fatal(err)
				}
				if got := attr(g.UserAttributes, cognitotest.DevAttributeName); got != v {
					t.Fatalf("%s: %s = %q after restore, want %q", mp.Username, cognitotest.DevAttributeName, got, v)
				}
				restored++
			}
			if restored == 0 {
				t.Fatal("no user with a developer-only value was restored")
			}
		})
	}
}

// A target without the developer-only attribute is refused before any
// write, and the error says what to add.
func TestMissingDeveloperOnlyAttributeIsRefused(t *testing.T) {
	e := devEnv(t, 20, false)
	_, err := e.restore(t, restore.Options{})
	if err == nil || !strings.Contains(err.Error(), cognitotest.DevAttributeName) || !strings.Contains(err.Error(), "DeveloperOnlyAttribute") {
		t.Fatalf("restore into a pool without %s: %v", cognitotest.DevAttributeName, err)
	}
	if n := e.srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("%d users created before the refusal", n)
	}
}
