package restore_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

// A target pool that refuses the `sub ^=` shard filter is still listed
// (in one chain), so a second restore run finds every user the first made
// and re-creates none: both through the admin API and through import jobs.
func TestRestoreIntoAPoolThatRefusesTheShardFilter(t *testing.T) {
	e := setup(t, 80, 2)
	e.srv.SetSubPrefix(cognitotest.SubPrefixRefused)
	first, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if first.UsersImported == 0 {
		t.Fatal("nothing imported")
	}
	creates := e.srv.OpStats("AdminCreateUser").Calls
	fresh := importOpts(t)
	fresh.StatePath = filepath.Join(t.TempDir(), "second.jsonl") // a fresh run, not a resumed one
	again, err := e.restore(t, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.srv.OpStats("AdminCreateUser").Calls - creates; n != 0 || again.UsersImported != 0 {
		t.Fatalf("second run created %d users and imported %d: the target listing missed them", n, again.UsersImported)
	}
	reset := 0
	for _, st := range statuses(t, e) {
		if st == types.UserStatusTypeResetRequired {
			reset++
		}
	}
	if reset < first.UsersImported {
		t.Fatalf("%d RESET_REQUIRED of %d imported", reset, first.UsersImported)
	}
}

// A user that exists in the target but that its lagging listing does not
// show is never adopted or overwritten: the create finds it, and the report
// says why it was left alone.
func TestUserTheTargetListingLagsOnIsLeftAlone(t *testing.T) {
	e := setup(t, 30, 1)
	var name string
	for u, err := range e.repo.Users(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Status == "CONFIRMED" && !strings.Contains(u.Username, "_") {
			name = u.Username
			break
		}
	}
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &e.target, Username: &name,
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	e.srv.SetListingLag(time.Hour)
	rep, err := e.restore(t, restore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range rep.NotRestored {
		if it.Username == name && strings.Contains(it.Reason, "eventually consistent") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no report item for %s, which the listing did not show: %+v", name, rep.NotRestored)
	}
	g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: &name})
	if err != nil || g.UserStatus != types.UserStatusTypeForceChangePassword || len(g.UserAttributes) != 1 {
		t.Fatalf("the existing user was changed: %v %s %d attributes", err, g.UserStatus, len(g.UserAttributes))
	}
}
