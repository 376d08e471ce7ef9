package restore_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
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
