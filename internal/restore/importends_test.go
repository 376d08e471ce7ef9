package restore_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

func importOpts(t *testing.T) restore.Options {
	return restore.Options{Via: restore.ViaImport, Import: restore.ImportOptions{
		RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, TempDir: t.TempDir()}}
}

// statuses reads every target user's status.
func statuses(t *testing.T, e *env) map[string]types.UserStatusType {
	t.Helper()
	out := map[string]types.UserStatusType{}
	for u, err := range cognito.Users(ctx, e.api, e.target, "") {
		if err != nil {
			t.Fatal(err)
		}
		out[aws.ToString(u.Username)] = u.UserStatus
	}
	return out
}

// A job that ends Stopped part-way keeps the users it imported as the job
// left them (RESET_REQUIRED); the rest go through the admin API, and the
// report names the job's end.
func TestImportJobThatEndsStoppedIsFinished(t *testing.T) {
	e := setup(t, 300, 4)
	e.srv.StopImportJobsAfter(25)
	rep, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Stopped" || rep.ImportJobs[0].Imported != 25 {
		t.Fatalf("jobs %+v: want one, Stopped after 25 users", rep.ImportJobs)
	}
	if rep.UsersImported != 25 {
		t.Fatalf("%d users counted as imported, the job imported 25", rep.UsersImported)
	}
	afterStop := count(rep.Changed, "path", "ended Stopped")
	if afterStop == 0 {
		t.Fatal("no user is reported as restored through the admin API because its job stopped")
	}
	reset := 0
	for _, st := range statuses(t, e) {
		if st == types.UserStatusTypeResetRequired {
			reset++
		}
	}
	if reset < 25 {
		t.Fatalf("%d users are RESET_REQUIRED; the 25 the job imported must stay so", reset)
	}
	explained(t, e, rep)
}

// ListUsers is eventually consistent: users the job imported that the
// listing does not show yet are found with AdminGetUser, never created
// again through the admin API (which would make them CONFIRMED).
func TestImportedUsersMissingFromTheListingAreNotRecreated(t *testing.T) {
	e := setup(t, 200, 0)
	e.srv.SetListingLag(time.Hour)
	rep, err := e.restore(t, importOpts(t))
	e.srv.SetListingLag(0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.UsersImported == 0 {
		t.Fatal("no user counted as imported")
	}
	for _, it := range rep.Changed {
		if it.What == "path" && strings.Contains(it.Reason, "import line failed") {
			t.Fatalf("an imported user the listing did not show was sent to the admin path: %+v", it)
		}
	}
	imported := 0
	for _, st := range statuses(t, e) {
		if st == types.UserStatusTypeResetRequired {
			imported++
		}
	}
	if imported < rep.UsersImported {
		t.Fatalf("%d users RESET_REQUIRED, %d imported: some were turned CONFIRMED", imported, rep.UsersImported)
	}
	explained(t, e, rep)
}

// A resumed import restore reports the status of the users an earlier run
// imported as a fresh run does: every user whose status in the target is
// not the snapshot's is named.
func TestResumedImportReportsStatusChanges(t *testing.T) {
	e := setup(t, 200, 2)
	state := filepath.Join(t.TempDir(), "state")
	opts := importOpts(t)
	opts.StatePath = state
	// The first run dies after the import job, in the admin path.
	e.srv.InjectFault(cognitotest.Fault{Operation: "AdminSetUserPassword", Kind: cognitotest.FaultError, Code: "NotAuthorizedException"})
	if _, err := e.restore(t, opts); err == nil {
		t.Fatal("the first run did not fail")
	}
	e.srv.ClearFaults()
	rep, err := e.restore(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	noted := map[string]bool{}
	for _, it := range rep.Changed {
		if it.What == "status" {
			noted[it.Username] = true
		}
	}
	users, _ := snapshotUsers(t, e)
	got := statuses(t, e)
	for _, u := range users {
		st, ok := got[u.Username]
		if ok && string(st) != u.Status && !noted[u.Username] {
			t.Fatalf("user %s is %s (snapshot: %s) and the resumed run does not say so", u.Username, st, u.Status)
		}
	}
	explained(t, e, rep)
}

// --users-file may name users by the email they sign in with.
func TestUsersFileByEmail(t *testing.T) {
	e := emailEnv(t, 40, 0)
	users, _ := snapshotUsers(t, e)
	var pick string
	for _, u := range users {
		if v, ok := u.Attr("email"); ok && u.Status != "EXTERNAL_PROVIDER" {
			pick = v
			break
		}
	}
	rep, err := e.restore(t, restore.Options{Users: map[string]bool{pick: true}})
	if err != nil || rep.UsersCreate != 1 {
		t.Fatalf("restore of %s: %v, %d created", pick, err, rep.UsersCreate)
	}
	if _, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(pick)}); err != nil {
		t.Fatalf("%s not restored: %v", pick, err)
	}
}

// A restore that dies after its import job, while it finishes the imported
// users, is resumed (through either path) without turning any imported
// user from RESET_REQUIRED into CONFIRMED.
func TestImportedUsersStayResetRequiredWhenResumed(t *testing.T) {
	for _, via := range []string{restore.ViaImport, restore.ViaAdmin} {
		t.Run(via, func(t *testing.T) {
			e := setup(t, 300, 2)
			opts := importOpts(t)
			opts.StatePath = filepath.Join(t.TempDir(), "state")
			opts.Workers = 2
			e.srv.InjectFault(cognitotest.Fault{Operation: "AdminSetUserMFAPreference", Kind: cognitotest.FaultError, Code: "InternalErrorException"})
			if _, err := e.restore(t, opts); err == nil {
				t.Fatal("the first run did not fail")
			}
			e.srv.ClearFaults()
			imported := map[string]bool{}
			for name, st := range statuses(t, e) {
				if st == types.UserStatusTypeResetRequired {
					imported[name] = true
				}
			}
			if len(imported) == 0 {
				t.Fatal("the first run imported no one")
			}
			opts.Via = via
			rep, err := e.restore(t, opts)
			if err != nil {
				t.Fatal(err)
			}
			after := statuses(t, e)
			for name := range imported {
				if after[name] != types.UserStatusTypeResetRequired {
					t.Fatalf("imported user %s is %s after the resumed run", name, after[name])
				}
			}
			explained(t, e, rep)
		})
	}
}
