package restore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

// TestStoppedRestoreResumesInSteps: a restore that Options.Stop ends every
// few items returns ErrStopped, and runs with the same state file finish
// it: users and memberships both progress from step to step (memberships
// by the watermark the state records), so the number of steps is bounded,
// and the pool ends as the snapshot says.
func TestStoppedRestoreResumesInSteps(t *testing.T) {
	e := setup(t, 120, 4)
	const perStep = 15
	work := e.snap.Counts.Users + e.snap.Counts.Memberships
	var rep *restore.Report
	steps := 0
	for ; ; steps++ {
		if int64(steps) > work/perStep+10 {
			t.Fatalf("%d steps of %d items each for %d users and memberships: the restore does not progress", steps, perStep, work)
		}
		var asked atomic.Int64
		r, err := e.restore(t, restore.Options{Workers: 2, Stop: func() bool { return asked.Add(1) > perStep }})
		if errors.Is(err, restore.ErrStopped) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rep = r
		break
	}
	if steps < 3 {
		t.Fatalf("finished in %d steps: the test wants several", steps+1)
	}
	explained(t, e, rep)
	if n := e.srv.OpStats("AdminAddUserToGroup").Calls; n > e.snap.Counts.Memberships+int64(2*(steps+1)) {
		t.Fatalf("%d AdminAddUserToGroup calls for %d memberships in %d steps: steps repeat each other's work", n, e.snap.Counts.Memberships, steps+1)
	}
}

// TestImportRestoreResumesInSteps: a restore through several import jobs
// (20 users a file) that Options.Stop ends every few asks, with the fake
// holding each job InProgress for the first step that meets it, stops
// between polls and before files and is finished by runs with the same
// state file: every job is created once (the next run picks a running one
// up by id), the users of one job's file are the ones the state ties to
// it, the imported users stay RESET_REQUIRED in every later step, and the
// pool ends as the snapshot says.
func TestImportRestoreResumesInSteps(t *testing.T) {
	e := setup(t, 120, 4)
	opts := importOpts(t)
	opts.Import.MaxUsers = 20
	release := e.srv.HoldImportJobs()
	defer release()
	var rep *restore.Report
	steps, jobsSeen := 0, int64(0)
	for ; ; steps++ {
		if steps > 200 {
			t.Fatalf("%d steps: the restore does not progress", steps)
		}
		var asked atomic.Int64
		o := opts
		o.Workers = 2
		o.Stop = func() bool { return asked.Add(1) > 3 }
		r, err := e.restore(t, o)
		if n := e.srv.OpStats("CreateUserImportJob").Calls; n > jobsSeen {
			// A new job: held through this step, released for the next.
			jobsSeen = n
			release()
			release = e.srv.HoldImportJobs()
		} else {
			release()
		}
		if errors.Is(err, restore.ErrStopped) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rep = r
		break
	}
	release()
	t.Logf("%d jobs in %d steps", len(rep.ImportJobs), steps+1)
	if len(rep.ImportJobs) < 3 || steps < len(rep.ImportJobs) {
		t.Fatalf("%d jobs in %d steps: the test wants several jobs, each met running by a step", len(rep.ImportJobs), steps+1)
	}
	explained(t, e, rep)
	if n := e.srv.OpStats("CreateUserImportJob").Calls; n != int64(len(rep.ImportJobs)) {
		t.Fatalf("%d jobs created, %d in the report: a step created a job for users another job had", n, len(rep.ImportJobs))
	}
	imported := 0
	for _, j := range rep.ImportJobs {
		if j.Status != "Succeeded" || j.Imported != int64(j.Users) || j.Users > 20 {
			t.Fatalf("job %+v: want every user of its file imported, at most 20", j)
		}
		imported += j.Users
	}
	reset := 0
	for _, st := range statuses(t, e) {
		if st == types.UserStatusTypeResetRequired {
			reset++
		}
	}
	if reset != imported || rep.UsersImported != imported {
		t.Fatalf("%d users RESET_REQUIRED, %d reported imported, the jobs imported %d", reset, rep.UsersImported, imported)
	}
	if n := count(rep.Changed, "path", "import line failed"); n != 0 {
		t.Fatalf("%d users of a job went through the admin API", n)
	}
}

// waitCalls blocks until the fake has answered op more than n times (the
// test waits for an event, it times nothing).
func waitCalls(e *env, op string, n int64) {
	for e.srv.OpStats(op).Calls <= n {
		time.Sleep(time.Millisecond)
	}
}

// TestKilledImportRestoreWaitsForItsJob: a run killed while its job runs
// (the job held InProgress) leaves the job in the state; the next run, with
// no Stop at all (the CLI's resume), waits for that job by id and creates
// none: the job's users are imported once and stay RESET_REQUIRED, none
// goes through the admin API for a job that had not ended.
func TestKilledImportRestoreWaitsForItsJob(t *testing.T) {
	e := setup(t, 60, 2)
	opts := importOpts(t)
	opts.Target, opts.StatePath = e.target, filepath.Join(e.dir, "state.jsonl")
	release := e.srv.HoldImportJobs()
	defer release()
	killed, kill := context.WithCancel(context.Background())
	go func() { waitCalls(e, "StartUserImportJob", 0); kill() }()
	if _, err := restore.Run(killed, e.api, e.repo, e.snap, opts, nil); err == nil {
		t.Fatal("the killed run finished")
	}
	described := e.srv.OpStats("DescribeUserImportJob").Calls
	go func() { waitCalls(e, "DescribeUserImportJob", described); release() }()
	rep, err := restore.Run(ctx, e.api, e.repo, e.snap, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	explained(t, e, rep)
	if n := e.srv.OpStats("CreateUserImportJob").Calls; n != 1 || len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Succeeded" {
		t.Fatalf("%d jobs created, report %+v: want the killed run's one job, waited for", n, rep.ImportJobs)
	}
	reset := 0
	for _, st := range statuses(t, e) {
		if st == types.UserStatusTypeResetRequired {
			reset++
		}
	}
	if reset != rep.ImportJobs[0].Users || rep.UsersImported != reset {
		t.Fatalf("%d RESET_REQUIRED, %d reported imported, the job carried %d", reset, rep.UsersImported, rep.ImportJobs[0].Users)
	}
	if n := count(rep.Changed, "path", "import line failed"); n != 0 {
		t.Fatalf("%d users of the running job went through the admin API", n)
	}
}

// TestUsersOfAFileThatNeverBecameAJobGoIntoALaterFile: a run fails after
// it wrote the intents of its first file but before a job was created for
// it; the next run puts those users into a new import file (no job carried
// them: never the admin path for that alone, bug 7 of the steps review),
// and the state ties to each new job only the users of its own file: when
// that job ends Stopped, its end is blamed on its users alone.
func TestUsersOfAFileThatNeverBecameAJobGoIntoALaterFile(t *testing.T) {
	e := setup(t, 60, 2)
	opts := importOpts(t)
	opts.Import.MaxUsers = 10
	remove := e.srv.InjectFault(cognitotest.Fault{Operation: "CreateUserImportJob", Kind: cognitotest.FaultError, Code: "NotAuthorizedException", Count: 1})
	if _, err := e.restore(t, opts); err == nil {
		t.Fatal("the run whose job could not be created finished")
	}
	remove()
	e.srv.StopImportJobsAfter(3)
	rep, err := e.restore(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	explained(t, e, rep)
	orphans := count(rep.Changed, "path", "not found in the target after the job")
	blamed := count(rep.Changed, "path", "ended Stopped")
	if orphans != 0 {
		t.Fatalf("%d users restored through the admin API as not found after the jobs: the file that never became a job had 10, which a later file must carry", orphans)
	}
	want, carried := 0, 0
	for _, j := range rep.ImportJobs {
		want += j.Users - int(j.Imported)
		carried += j.Users
	}
	if carried != rep.UsersImported+want {
		t.Fatalf("the jobs carried %d users, %d imported and %d not: a user was carried twice or by none", carried, rep.UsersImported, want)
	}
	if blamed != want {
		t.Fatalf("%d users blamed on a job that ended Stopped, the jobs left %d unimported", blamed, want)
	}
}
