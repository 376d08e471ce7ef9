package restore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// ImportAPI is what the user-import-job path calls in addition to API.
type ImportAPI interface {
	API
	GetCSVHeader(ctx context.Context, in *cip.GetCSVHeaderInput, optFns ...func(*cip.Options)) (*cip.GetCSVHeaderOutput, error)
	CreateUserImportJob(ctx context.Context, in *cip.CreateUserImportJobInput, optFns ...func(*cip.Options)) (*cip.CreateUserImportJobOutput, error)
	StartUserImportJob(ctx context.Context, in *cip.StartUserImportJobInput, optFns ...func(*cip.Options)) (*cip.StartUserImportJobOutput, error)
	DescribeUserImportJob(ctx context.Context, in *cip.DescribeUserImportJobInput, optFns ...func(*cip.Options)) (*cip.DescribeUserImportJobOutput, error)
	ListUserImportJobs(ctx context.Context, in *cip.ListUserImportJobsInput, optFns ...func(*cip.Options)) (*cip.ListUserImportJobsOutput, error)
}

// Import file limits: https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-using-import-tool.html
const (
	maxImportUsers = 500000
	maxImportBytes = 100 << 20
)

// ImportOptions configure the import-job path.
type ImportOptions struct {
	// RoleArn lets Cognito write the job's log to CloudWatch Logs.
	RoleArn string
	// HTTPClient uploads the file to the presigned URL (default: a client
	// with a 15-minute timeout, the URL's lifetime).
	HTTPClient *http.Client
	// MaxUsers per job (default and maximum 500,000).
	MaxUsers int
	// PollInterval caps the wait between DescribeUserImportJob calls
	// (default 5s); polling starts at a twentieth of it and doubles, so
	// small jobs finish fast and long ones cost few calls.
	PollInterval time.Duration
	// TempDir holds the import files while they are uploaded (0600, removed).
	TempDir string
	// StartWait is how long a start refused because another import job is
	// active in the account is retried (default 30 minutes).
	StartWait time.Duration
	// Logs reads each job's CloudWatch log to name the reason of every
	// failed line; without it (or when the log cannot be read) failed users
	// are found from the target and sent to the admin path all the same.
	Logs LogEventsGetter
}

// LogEventsGetter reads a CloudWatch Logs stream.
type LogEventsGetter interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// importUsers runs import jobs for every planned user the dialect can
// carry, one job at a time (one job per account may be active). Jobs an
// earlier run (or step) left running are waited for by id first, never
// created again. It returns the users the admin path must handle (those
// the dialect cannot carry, disabled ones and those whose line failed), with
// the reason, and the users found in the target after the jobs, with their
// new sub and status. With Options.Stop it returns ErrStopped while a job
// runs or before it builds the next file; the state names the jobs.
func (r *run) importUsers(ctx context.Context, api ImportAPI) (admin map[string]string, imported map[string]listed, err error) {
	io_, err := r.importOptions()
	if err != nil {
		return nil, nil, err
	}
	worked, err := r.pickUpJobs(ctx, api, io_)
	if err != nil {
		return nil, nil, err
	}
	hdr, err := api.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &r.opts.Target})
	if err != nil {
		return nil, nil, fmt.Errorf("restore: CSV header of %s: %w", r.opts.Target, err)
	}
	admin = map[string]string{} // username → why the admin path
	var part *importPart
	defer func() { part.discard() }()
	var sent []string // users a job set out to create, in this run or an earlier one
	flush := func() error {
		if part == nil || part.users == 0 {
			return nil
		}
		p := part
		part, worked = nil, true
		return r.runImportJob(ctx, api, io_, p)
	}
	for u, err := range r.rp.Users(ctx, r.m) {
		if err != nil {
			return nil, nil, err
		}
		row, send := r.importable(u, hdr.CSVHeader, admin)
		if !send {
			continue
		}
		sent = append(sent, u.Username)
		if row == "" {
			continue // resumed: an earlier run's job may have carried it
		}
		if part != nil && (part.users >= io_.MaxUsers || part.size+int64(len(row))+1 > maxImportBytes) {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		if part == nil {
			// A step that has done something stops before the next file,
			// so that it never leaves one half-built.
			if worked && r.opts.Stop != nil && r.opts.Stop() {
				return nil, nil, ErrStopped
			}
			if part, err = newImportPart(io_.TempDir, hdr.CSVHeader); err != nil {
				return nil, nil, err
			}
		}
		if err := r.st.record(stateRecord{Event: "intent", Username: u.Username, Via: ViaImport}); err != nil {
			return nil, nil, err
		}
		if err := part.add(u.Username, row); err != nil {
			return nil, nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	failed := r.jobFailures()
	imported, err = r.findImported(ctx, sent, failed, admin)
	return admin, imported, err
}

// pickUpJobs waits for the import jobs the state names that have not ended
// (an earlier run or step stopped while they ran): by id, so that no second
// job is created for their users. Files recorded with no job are looked
// for by name first (pickUpFiles). It reports whether there was a job.
func (r *run) pickUpJobs(ctx context.Context, api ImportAPI, io_ ImportOptions) (bool, error) {
	if err := r.pickUpFiles(ctx, api); err != nil {
		return false, err
	}
	worked := false
	for _, j := range r.st.importJobs() {
		if j.ended {
			continue
		}
		worked = true
		if err := r.awaitJob(ctx, api, io_, j, false); err != nil {
			return worked, err
		}
	}
	return worked, nil
}

// jobFailures says, for every user of an ended job that is not known to be
// imported, why its line failed: as the job's log said, or the job's end.
func (r *run) jobFailures() map[string]string {
	failed := r.st.lineFailures()
	for _, j := range r.st.importJobs() {
		r.rep.ImportJobs = append(r.rep.ImportJobs, ImportJob{ID: j.rec.ID, Status: j.rec.Status, Message: j.rec.Message,
			Users: j.rec.Users, Imported: j.rec.Imported, Skipped: j.rec.Skipped, Failed: j.rec.Failed})
		if j.rec.Status == string(types.UserImportJobStatusTypeSucceeded) || j.rec.Status == jobEndUnknown {
			continue // an unknown end's users were found or went into a later file
		}
		why := fmt.Sprintf("its import job %s ended %s (%s)", j.rec.ID, j.rec.Status, j.rec.Message)
		for _, n := range j.names {
			if failed[n] == "" {
				failed[n] = why
			}
		}
	}
	return failed
}

func (r *run) importOptions() (ImportOptions, error) {
	io_ := r.opts.Import
	if io_.RoleArn == "" {
		return io_, errors.New("restore: the import path needs --import-role-arn (a role Cognito assumes to write the job's CloudWatch log)")
	}
	if io_.MaxUsers <= 0 || io_.MaxUsers > maxImportUsers {
		io_.MaxUsers = maxImportUsers
	}
	if io_.PollInterval <= 0 {
		io_.PollInterval = 5 * time.Second
	}
	if io_.StartWait <= 0 {
		io_.StartWait = 30 * time.Minute
	}
	if io_.HTTPClient == nil {
		io_.HTTPClient = &http.Client{Timeout: 15 * time.Minute}
	}
	return io_, nil
}

// importable decides how the import path treats u: send reports whether an
// import job carries it (row is empty for a user an earlier run's job
// carried); users for the admin path are added to admin with the reason
// ("" when the plan already explains it).
func (r *run) importable(u snapshot.User, header []string, admin map[string]string) (row string, send bool) {
	switch r.plan.act[u.Username] {
	case actCreate:
	case actResume:
		if !r.st.importIntent(u.Username) {
			admin[u.Username] = ""
			return "", false
		}
		if !r.st.unsentImport(u.Username) {
			// An earlier run's job carried it: look for it in the target
			// with the users of this run's jobs.
			return "", true
		}
		// No job that ran carried it (its run stopped before its file's
		// job started, or that job's end is unknown and the target does
		// not have it): a new file does, never the admin path.
	case actUpdate:
		admin[u.Username] = ""
		return "", false
	default:
		return "", false
	}
	if !u.Enabled {
		// An import job leaves every user enabled while it runs: a disabled
		// user goes through the admin path, disabled before it has a
		// usable password.
		admin[u.Username] = "disabled in the snapshot, and an import job would leave it enabled until the job ends"
		r.rep.locked(func() { adminStatusNote(u, r.rep) })
		return "", false
	}
	login, _ := r.tg.login(u)
	carried := u
	carried.Attributes = nil
	for _, a := range u.Attributes {
		if r.tg.writable[a.Name] || a.Name == "sub" || a.Name == "identities" {
			carried.Attributes = append(carried.Attributes, a) // the rest were dropped by the plan
		}
	}
	row, why := importRow(carried, login, header, r.opts.SubAttribute, importRules{autoVerified: r.tg.autoVerified, mfaMode: r.tg.mfaMode})
	if why != "" {
		admin[u.Username] = why
		r.rep.locked(func() { adminStatusNote(u, r.rep) })
		return "", false
	}
	return row, true
}

// findImported looks for the users the jobs were sent in the target. The
// target is the authority, not the job's counts: an imported user exists, a
// failed one does not. The listing is eventually consistent, so a user it
// does not show is read with AdminGetUser before it is called failed, and
// never created again: a user the job imported must stay as the job left it.
func (r *run) findImported(ctx context.Context, sent []string, failed, admin map[string]string) (map[string]listed, error) {
	imported, missing, who, err := r.lookUp(ctx, sent)
	if err != nil {
		return nil, err
	}
	for _, name := range missing {
		why := failed[name]
		if why == "" {
			why = "not found in the target after the job"
		}
		admin[name] = "its import line failed: " + why
		// It goes through the admin API: say what status that gives.
		adminStatusNote(snapshot.User{Username: name, Status: who[name].status}, r.rep)
	}
	return imported, nil
}

// lookUp looks for the users names (sent to import jobs) in the target:
// by one listing when there are many, else, and for those the eventually
// consistent listing does not show, one by one with AdminGetUser. It
// returns those found by snapshot username, the others in names' order,
// and the name and status each was sent with.
func (r *run) lookUp(ctx context.Context, names []string) (found map[string]listed, missing []string, who map[string]sentUser, err error) {
	found = map[string]listed{}
	if len(names) == 0 {
		return found, nil, nil, nil
	}
	present, err := r.listSent(ctx, len(names))
	if err != nil {
		return nil, nil, nil, err
	}
	if who, err = r.sentUsers(ctx, names); err != nil {
		return nil, nil, nil, err
	}
	for _, name := range names {
		login := who[name].login
		l, ok := present[r.tg.key(login)]
		if !ok {
			g, err := r.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &r.opts.Target, Username: aws.String(login)})
			switch {
			case err == nil:
				sub, _ := cognito.Attr(g.UserAttributes, "sub")
				l, ok = listed{name: aws.ToString(g.Username), sub: sub, status: string(g.UserStatus)}, true
			case !cognito.IsUserNotFound(err):
				return nil, nil, nil, fmt.Errorf("restore: read user %q in %s: %w", name, r.opts.Target, err)
			}
		}
		if ok {
			found[name] = l
		} else {
			missing = append(missing, name)
		}
	}
	return found, missing, who, nil
}

// readSentAtMost is how many sent users findImported reads one by one
// (AdminGetUser, UserRead: 120 a second by default) rather than listing the
// whole target: a later step of a restore in steps has few or none left to
// look for, and need not list a large pool again (the plan already did).
const readSentAtMost = 100

// listSent lists the target's users by key when n users were sent, or
// returns an empty map when reading them one by one is cheaper.
func (r *run) listSent(ctx context.Context, n int) (map[string]listed, error) {
	present := map[string]listed{}
	if n <= readSentAtMost {
		return present, nil
	}
	for u, err := range cognito.AllUsers(ctx, r.api, r.opts.Target, 16, nil) {
		if err != nil {
			return nil, err
		}
		sub, _ := cognito.Attr(u.Attributes, "sub")
		l := listed{name: aws.ToString(u.Username), sub: sub, status: string(u.UserStatus)}
		for _, k := range r.tg.keysOf(u) {
			present[k] = l
		}
	}
	return present, nil
}

// sentUser is what findImported needs of a user sent to an import job.
type sentUser struct{ login, status string }

// sentUsers reads, for the users in names, the name each was imported with
// and its status in the snapshot.
func (r *run) sentUsers(ctx context.Context, names []string) (map[string]sentUser, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]sentUser, len(names))
	for u, err := range r.rp.Users(ctx, r.m) {
		if err != nil {
			return nil, err
		}
		if want[u.Username] {
			login, _ := r.tg.login(u)
			out[u.Username] = sentUser{login: login, status: u.Status}
		}
	}
	return out, nil
}

// finishImported does for imported users what an import file cannot: it
// records their new subs, sets MFA preferences and links federated
// identities; then it restores through the admin API the users the import
// path could not carry. With Options.Stop it may return ErrStopped.
func (r *run) finishImported(ctx context.Context, admin map[string]string, imported map[string]listed) error {
	err := fanOut(ctx, r.opts.Workers, r.rp.Users(ctx, r.m), func(u snapshot.User) bool {
		_, ok := imported[u.Username]
		return ok && !r.st.isDone(u.Username)
	}, func(ctx context.Context, u snapshot.User) error {
		got := imported[u.Username]
		if err := r.st.record(stateRecord{Event: "created", Username: u.Username, NewName: got.name, OldSub: u.Sub, NewSub: got.sub, Via: ViaImport, Status: got.status}); err != nil {
			return err
		}
		r.rep.locked(func() { importStatusNote(u, got.status, r.rep) })
		if err := r.afterCreate(ctx, u, got.name); err != nil {
			return err
		}
		r.stats.Users.Add(1)
		return r.st.record(stateRecord{Event: "done", Username: u.Username, NewName: got.name})
	}, r.opts.Stop) // a stopped step's users are found again by the next

	if err != nil {
		return err
	}
	for name, why := range admin {
		if why != "" {
			r.rep.Changed = append(r.rep.Changed, pathItem(name, why))
		}
	}
	r.adminWhy = admin
	return r.restoreUsers(ctx, admin)
}

// listed is what the target says of an imported user.
type listed struct{ name, sub, status string }

type importPart struct {
	f     *os.File
	w     *bufio.Writer
	names []string
	users int
	size  int64
}

func newImportPart(dir string, header []string) (*importPart, error) {
	f, err := os.CreateTemp(dir, "cogvault-import-*.csv") // 0600
	if err != nil {
		return nil, fmt.Errorf("restore: import file: %w", err)
	}
	p := &importPart{f: f, w: bufio.NewWriter(f)}
	line := strings.Join(header, ",") + "\n"
	_, err = p.w.WriteString(line)
	p.size = int64(len(line))
	return p, err
}

// discard closes and removes the part's file (nil: nothing); twice is
// harmless.
func (p *importPart) discard() {
	if p == nil {
		return
	}
	p.f.Close()
	os.Remove(p.f.Name())
}

func (p *importPart) add(name, row string) error {
	_, err := p.w.WriteString(row + "\n")
	p.size += int64(len(row) + 1)
	p.users++
	p.names = append(p.names, name)
	return err
}

// runImportJob uploads one part, records the job in the state (before it
// starts: whatever happens next, no other job is created for these users)
// and runs it to the end (awaitJob).
func (r *run) runImportJob(ctx context.Context, api ImportAPI, io_ ImportOptions, p *importPart) error {
	defer p.discard()
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("restore: write import file: %w", err)
	}
	// The file is recorded under its job's name before the job exists: a
	// run stopped from here on leaves a later run the name to look for
	// (pickUpFiles), so that these users are never counted as sent by a
	// job that never ran.
	name := importJobName()
	if err := r.st.record(stateRecord{Event: "file", Job: &jobRecord{Name: name, Users: p.users}}); err != nil {
		return err
	}
	job, err := createAndUpload(ctx, api, io_, r.opts.Target, name, p)
	if err != nil {
		return err
	}
	rec := jobRecord{ID: aws.ToString(job.JobId), Name: name, Users: p.users}
	if err := r.st.record(stateRecord{Event: "job", Job: &rec}); err != nil {
		return err
	}
	return r.awaitJob(ctx, api, io_, stateJob{rec: rec, names: p.names}, true)
}

// awaitJob starts a job still Created (fresh: the caller just created it),
// waits for it to end and records its end and the failed lines its log
// names. A job that ends Failed, Stopped or Expired is no error: the users
// it imported are found in the target, the rest go through the admin path,
// and the report names the job's end. With Options.Stop it returns
// ErrStopped while the job runs; the state's "job" record lets the next run
// pick it up.
func (r *run) awaitJob(ctx context.Context, api ImportAPI, io_ ImportOptions, j stateJob, fresh bool) error {
	pool, id := r.opts.Target, aws.String(j.rec.ID)
	status := types.UserImportJobStatusTypeCreated
	if !fresh {
		d, err := api.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: id})
		if cognito.IsNotFound(err) {
			return r.jobGone(ctx, j)
		}
		if err != nil {
			return fmt.Errorf("restore: import job %s, begun by an earlier run: %w", j.rec.ID, err)
		}
		status = d.UserImportJob.Status
	}
	if status == types.UserImportJobStatusTypeCreated {
		// Its file was uploaded before the job was recorded.
		if err := startJob(ctx, api, io_, pool, id, r.opts.Stop, r.startClock(j)); err != nil {
			return err
		}
	}
	end, err := waitJob(ctx, api, io_, pool, id, r.opts.Stop)
	if err != nil {
		return err
	}
	failed := readFailures(ctx, io_.Logs, pool, r.tg.name, j.rec.ID, j.rec.Name, j.names)
	for _, n := range j.names {
		if why, ok := failed[n]; ok {
			if err := r.st.record(stateRecord{Event: "failed", Username: n, Why: why}); err != nil {
				return err
			}
		}
	}
	rec := jobRecord{ID: j.rec.ID, Status: string(end.Status), Message: aws.ToString(end.CompletionMessage),
		Imported: end.ImportedUsers, Skipped: end.SkippedUsers, Failed: end.FailedUsers}
	return r.st.record(stateRecord{Event: "jobend", Job: &rec})
}

// uploadAttempts bounds how many jobs one part may create: each upload
// refused as expired costs a job that never starts (it expires unused).
const uploadAttempts = 3

// createAndUpload creates a job and uploads the part to its presigned URL.
// The URL is valid for 15 minutes, the job far longer ("you must create a
// new user import job to get a new URL", docs/cognito-facts.md §12): an
// upload refused with 403 gets a new job and a new URL.
func createAndUpload(ctx context.Context, api ImportAPI, io_ ImportOptions, pool, name string, p *importPart) (*types.UserImportJobType, error) {
	for attempt := 1; ; attempt++ {
		out, err := api.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool,
			JobName: aws.String(name), CloudWatchLogsRoleArn: &io_.RoleArn})
		if err != nil {
			return nil, fmt.Errorf("restore: create import job in %s: %w", pool, err)
		}
		job := out.UserImportJob
		status, err := upload(ctx, io_.HTTPClient, job, p)
		if err != nil {
			return nil, err
		}
		switch {
		case status == http.StatusOK:
			return job, nil
		case status == http.StatusForbidden && attempt < uploadAttempts:
			continue // the URL lapsed before the upload began
		}
		return nil, fmt.Errorf("restore: upload the file of import job %s: HTTP %d", aws.ToString(job.JobId), status)
	}
}

// upload PUTs the part to the job's presigned URL and returns the status.
func upload(ctx context.Context, hc *http.Client, job *types.UserImportJobType, p *importPart) (int, error) {
	id := aws.ToString(job.JobId)
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("restore: rewind the file of import job %s: %w", id, err)
	}
	// The presigned URL is a credential: it is never logged or printed.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, aws.ToString(job.PreSignedUrl), io.NopCloser(p.f))
	if err != nil {
		return 0, fmt.Errorf("restore: import job %s: bad upload URL", id)
	}
	req.ContentLength = p.size
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	req.Header.Set("Content-Type", "text/csv")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("restore: upload the file of import job %s: %w", id, scrubURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// startJob starts a job. Only one import job may be active per account:
// the service refuses a second with PreconditionNotMetException, and the
// start is retried until the other ends or StartWait runs out.
// With stop, a wait is cut short by ErrStopped once stop says true. The
// wait counts from the first refusal clock knows of, in this run or an
// earlier one, so that a restore in steps fails after StartWait too.
func startJob(ctx context.Context, api ImportAPI, io_ ImportOptions, pool string, id *string, stop func() bool, clock *startClock) error {
	wait := io_.PollInterval / 20
	for {
		_, err := api.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: id})
		if err == nil {
			return nil
		}
		// A retried start whose first attempt started the job (its answer
		// lost) is refused because the job is no longer Created: the job
		// runs all the same.
		d, derr := api.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: id})
		if derr == nil && d.UserImportJob.Status != types.UserImportJobStatusTypeCreated {
			return nil
		}
		if cognito.Code(err) != "PreconditionNotMetException" || derr != nil {
			return fmt.Errorf("restore: start import job %s: %w", aws.ToString(id), err)
		}
		since, err2 := clock.refused()
		if err2 != nil {
			return err2
		}
		if time.Since(since) > io_.StartWait {
			return fmt.Errorf("restore: start import job %s: another user import job stayed active in the account (only one may run at a time); run the restore again once it ends, it resumes: %w", aws.ToString(id), err)
		}
		if err := pause(ctx, wait, stop); err != nil {
			return err
		}
		wait = min(2*wait, io_.PollInterval)
	}
}

// waitJob polls a started job until it ends, or until stop (nil: never)
// says true: then it returns ErrStopped and the job runs on.
func waitJob(ctx context.Context, api ImportAPI, io_ ImportOptions, pool string, id *string, stop func() bool) (*types.UserImportJobType, error) {
	wait := io_.PollInterval / 20
	for {
		out, err := api.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: id})
		if err != nil {
			return nil, fmt.Errorf("restore: import job %s: %w", aws.ToString(id), err)
		}
		switch j := out.UserImportJob; j.Status {
		case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped, types.UserImportJobStatusTypeExpired:
			return j, nil
		}
		if err := pause(ctx, wait, stop); err != nil {
			return nil, err
		}
		wait = min(2*wait, io_.PollInterval)
	}
}

// stopSlice is how often a wait between polls asks stop: a step's stop
// comes well before its deadline, and a poll's wait (up to PollInterval)
// must not sleep through the time between them.
const stopSlice = 100 * time.Millisecond

// pause waits d, or returns ErrStopped as soon as stop (nil: never) says
// true, or ctx's error.
func pause(ctx context.Context, d time.Duration, stop func() bool) error {
	end := time.Now().Add(d)
	for {
		if stop != nil && stop() {
			return ErrStopped
		}
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		if stop != nil {
			left = min(left, stopSlice)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(left):
		}
	}
}

// readFailures maps the "[FAILED] Line Number N - reason" events of a job's
// log back to usernames: line 1 is the header, line N the (N-1)th user.
// A log that cannot be read yields nothing; the caller checks the target.
func readFailures(ctx context.Context, logs LogEventsGetter, pool, poolName, jobID, jobName string, names []string) map[string]string {
	out := map[string]string{}
	if logs == nil {
		return out
	}
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/cognito/userpools/" + pool + "/" + poolName),
		LogStreamName: aws.String(jobID + "/" + jobName), StartFromHead: aws.Bool(true)}
	for {
		page, err := logs.GetLogEvents(ctx, in)
		if err != nil {
			return out
		}
		for _, ev := range page.Events {
			msg := aws.ToString(ev.Message)
			rest, ok := strings.CutPrefix(msg, "[FAILED] Line Number ")
			if !ok {
				continue
			}
			num, reason, _ := strings.Cut(rest, " - ")
			n, err := strconv.Atoi(strings.TrimSpace(num))
			if err != nil || n < 2 || n-2 >= len(names) {
				continue
			}
			out[names[n-2]] = reason
		}
		if page.NextForwardToken == nil || (in.NextToken != nil && *in.NextToken == *page.NextForwardToken) {
			return out
		}
		in.NextToken = page.NextForwardToken
	}
}

// scrubURL drops the URL from an HTTP client error: a presigned URL grants
// access and must not reach logs.
func scrubURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return errors.New("request failed")
}
