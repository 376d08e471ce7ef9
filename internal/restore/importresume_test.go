package restore_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

// Guards the look-up by name of bug 7's fix (steps review): a file whose
// job started but whose "job" record the state lacks (simulated by cutting
// that record out of the state file) is picked up by its name through
// ListUserImportJobs, not carried by a second job: one job, every user it
// carried imported and RESET_REQUIRED.
func TestImportRestorePicksUpAJobItsStateDidNotRecord(t *testing.T) {
	e := setup(t, 60, 0)
	release := e.srv.HoldImportJobs()
	defer release()
	opts := importOpts(t)
	opts.Stop = func() bool { return e.srv.OpStats("StartUserImportJob").Calls > 0 }
	if _, err := e.restore(t, opts); !errors.Is(err, restore.ErrStopped) {
		t.Fatalf("first run: %v, want it stopped while its job runs", err)
	}
	path := filepath.Join(e.dir, "state.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept [][]byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"e":"job"`)) {
			kept = append(kept, line)
		}
	}
	if len(kept) == len(bytes.SplitAfter(b, []byte("\n"))) {
		t.Fatal("the state has no job record to cut")
	}
	if err := os.WriteFile(path, bytes.Join(kept, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	release()

	rep, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	explained(t, e, rep)
	if n := e.srv.OpStats("CreateUserImportJob").Calls; n != 1 || len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Succeeded" {
		t.Fatalf("%d jobs created, report %+v: want the one job, found by its name", n, rep.ImportJobs)
	}
	reset := 0
	for _, st := range statuses(t, e) {
		if st == types.UserStatusTypeResetRequired {
			reset++
		}
	}
	if reset == 0 || reset != rep.UsersImported || rep.ImportJobs[0].Users != rep.UsersImported {
		t.Fatalf("%d RESET_REQUIRED, %d imported, the job carried %d", reset, rep.UsersImported, rep.ImportJobs[0].Users)
	}
	for _, it := range rep.Changed {
		if strings.Contains(it.Reason, "import line failed") {
			t.Fatalf("a user of the job went through the admin API: %+v", it)
		}
	}
}

// Guards the minor of bug 8 (steps review): StartWait counts from the
// first refused start, kept in the state, not again in every step: a
// restore in steps whose job another active job keeps from starting fails
// once StartWait has passed since then, rather than looping steps for
// ever. Each step stops 100 ms after it begins; StartWait is 300 ms.
func TestImportStartWaitSpansSteps(t *testing.T) {
	e := setup(t, 30, 0)
	e.srv.InjectFault(cognitotest.Fault{Operation: "StartUserImportJob", Kind: cognitotest.FaultError, Code: "PreconditionNotMetException"})
	for step := 0; step < 30; step++ {
		opts := importOpts(t)
		opts.Import.StartWait = 300 * time.Millisecond
		begin := time.Now()
		opts.Stop = func() bool { return time.Since(begin) > 100*time.Millisecond }
		_, err := e.restore(t, opts)
		switch {
		case errors.Is(err, restore.ErrStopped):
			continue
		case err != nil && strings.Contains(err.Error(), "another user import job stayed active"):
			if n := e.srv.OpStats("CreateUserImportJob").Calls; n != 1 {
				t.Fatalf("%d jobs created: want the one, waited for across steps", n)
			}
			return
		default:
			t.Fatalf("step %d: %v", step, err)
		}
	}
	t.Fatal("30 steps of 100 ms and the start is still retried: StartWait (300 ms) restarts in every step")
}

// Guards bug 7 of the steps review where the job exists: a run cut during
// the upload leaves a job Created, maybe with no file, that no record
// names. The next run finds it by name, never starts it (a job is started
// only once recorded, so a Created one may lack its file: started, it
// would fail and send its users to the admin API), and carries the file's
// users in a new job; the bare job expires unused.
func TestImportRestoreCutDuringUploadNeverStartsTheBareJob(t *testing.T) {
	e := setup(t, 60, 0)
	opts := importOpts(t)
	opts.Import.HTTPClient = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut {
			return nil, errors.New("cut: the step's time ran out")
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	if _, err := e.restore(t, opts); err == nil || !strings.Contains(err.Error(), "cut") {
		t.Fatalf("the run cut during its upload: %v", err)
	}
	rep, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	explained(t, e, rep)
	if n := count(rep.Changed, "path", "import line failed"); n != 0 {
		t.Fatalf("%d users went through the admin API as failed import lines; jobs %+v", n, rep.ImportJobs)
	}
	if l, c := e.srv.OpStats("ListUserImportJobs").Calls, e.srv.OpStats("CreateUserImportJob").Calls; l == 0 || c != 2 || len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Status != "Succeeded" {
		t.Fatalf("%d ListUserImportJobs, %d CreateUserImportJob calls, jobs %+v: want the bare job looked for and left, one new job that ran", l, c, rep.ImportJobs)
	}
	if rep.UsersImported == 0 || rep.ImportJobs[0].Users != rep.UsersImported {
		t.Fatalf("%d imported, the job carried %d", rep.UsersImported, rep.ImportJobs[0].Users)
	}
}
