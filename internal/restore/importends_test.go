package restore_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
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

// A job that ends Failed ("Too many users have failed or been skipped")
// part-way is finished like a stopped one: its users stay as the job left
// them, the rest go through the admin API, and the report names the end.
func TestImportJobThatEndsFailedIsFinished(t *testing.T) {
	e := setup(t, 300, 4)
	e.srv.FailImportJobsAfter(25)
	rep, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Failed" || rep.ImportJobs[0].Imported == 0 {
		t.Fatalf("jobs %+v: want one, Failed after some users", rep.ImportJobs)
	}
	if rep.UsersImported != int(rep.ImportJobs[0].Imported) {
		t.Fatalf("%d users counted as imported, the job imported %d", rep.UsersImported, rep.ImportJobs[0].Imported)
	}
	if count(rep.Changed, "path", "ended Failed (Too many users have failed or been skipped during the import.)") == 0 {
		t.Fatal("no user is reported as restored through the admin API because its job failed")
	}
	explained(t, e, rep)
}

// An upload that begins after the presigned URL lapsed (15 minutes) is
// refused; the restore creates a new job for a new URL and carries on.
func TestImportExpiredUploadURLGetsANewJob(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := setupWith(t, 100, 0, cognitotest.Options{NoQuotas: true, Now: clock})
	opts := importOpts(t)
	first := true
	opts.Import.HTTPClient = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut && first {
			first = false
			mu.Lock()
			now = now.Add(16 * time.Minute) // a slow start: the URL has lapsed
			mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	rep, err := e.restore(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.srv.OpStats("CreateUserImportJob").Calls; n != 2 {
		t.Fatalf("%d jobs created, want 2: one whose URL lapsed, one that ran", n)
	}
	if len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Succeeded" || rep.UsersImported == 0 {
		t.Fatalf("jobs %+v, imported %d", rep.ImportJobs, rep.UsersImported)
	}
	explained(t, e, rep)
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Only one import job may be active per account: a start refused for
// another job (PreconditionNotMetException, StartUserImportJob's code) is
// retried until it goes through; one that stays refused ends the restore
// with an error that says why.
func TestImportStartWaitsForAnotherActiveJob(t *testing.T) {
	e := setup(t, 60, 0)
	e.srv.InjectFault(cognitotest.Fault{Operation: "StartUserImportJob", Kind: cognitotest.FaultError, Code: "PreconditionNotMetException", Count: 2})
	rep, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Succeeded" {
		t.Fatalf("jobs %+v: want one that ran once the other ended", rep.ImportJobs)
	}

	e = setup(t, 60, 0)
	e.srv.InjectFault(cognitotest.Fault{Operation: "StartUserImportJob", Kind: cognitotest.FaultError, Code: "PreconditionNotMetException"})
	opts := importOpts(t)
	opts.Import.StartWait = time.Millisecond
	_, err = e.restore(t, opts)
	if err == nil || !strings.Contains(err.Error(), "another user import job stayed active") {
		t.Fatalf("start refused throughout: %v", err)
	}
}
