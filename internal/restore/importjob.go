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
// carry, one job at a time (one job per account may be active). It returns
// the users the admin path must handle (those the dialect cannot carry,
// disabled ones and those whose line failed), with the reason, and the users
// found in the target after the jobs, with their new sub and status.
func (r *run) importUsers(ctx context.Context, api ImportAPI) (admin map[string]string, imported map[string]listed, err error) {
	io_, err := r.importOptions()
	if err != nil {
		return nil, nil, err
	}
	hdr, err := api.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &r.opts.Target})
	if err != nil {
		return nil, nil, fmt.Errorf("restore: CSV header of %s: %w", r.opts.Target, err)
	}
	admin = map[string]string{} // username → why the admin path
	var part *importPart
	var sent []string // users a job set out to create, in this run or an earlier one
	failed := map[string]string{}
	flush := func() error {
		if part == nil || part.users == 0 {
			return nil
		}
		jobFailed, err := runImportJob(ctx, api, io_, r.opts.Target, r.tg.name, part, r.rep)
		part = nil
		for n, why := range jobFailed {
			failed[n] = why
		}
		return err
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
	imported, err = r.findImported(ctx, sent, failed, admin)
	return admin, imported, err
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
		if r.st.importIntent(u.Username) {
			// An earlier run's job may have carried it: look for it in the
			// target with the users of this run's jobs.
			return "", true
		}
		admin[u.Username] = ""
		return "", false
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
	present := map[string]listed{}
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
	who, err := r.sentUsers(ctx, sent)
	if err != nil {
		return nil, err
	}
	imported := map[string]listed{}
	for _, name := range sent {
		login := who[name].login
		l, ok := present[r.tg.key(login)]
		if !ok {
			g, err := r.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &r.opts.Target, Username: aws.String(login)})
			switch {
			case err == nil:
				sub, _ := cognito.Attr(g.UserAttributes, "sub")
				l, ok = listed{name: aws.ToString(g.Username), sub: sub, status: string(g.UserStatus)}, true
			case !cognito.IsUserNotFound(err):
				return nil, fmt.Errorf("restore: read user %q in %s: %w", name, r.opts.Target, err)
			}
		}
		if !ok {
			why := failed[name]
			if why == "" {
				why = "not found in the target after the job"
			}
			admin[name] = "its import line failed: " + why
			// It goes through the admin API: say what status that gives.
			adminStatusNote(snapshot.User{Username: name, Status: who[name].status}, r.rep)
			continue
		}
		imported[name] = l
		r.rep.UsersImported++
	}
	return imported, nil
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
// path could not carry.
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
	}, nil)
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

func (p *importPart) add(name, row string) error {
	_, err := p.w.WriteString(row + "\n")
	p.size += int64(len(row) + 1)
	p.users++
	p.names = append(p.names, name)
	return err
}

// runImportJob uploads one part and runs its job to the end. A job that
// ends Failed, Stopped or Expired is no error: the users it imported are
// found in the target, the rest go through the admin path, and the report
// names the job's end.
func runImportJob(ctx context.Context, api ImportAPI, io_ ImportOptions, pool, poolName string, p *importPart, rep *Report) (map[string]string, error) {
	defer os.Remove(p.f.Name())
	defer p.f.Close()
	if err := p.w.Flush(); err != nil {
		return nil, fmt.Errorf("restore: write import file: %w", err)
	}
	job, err := createAndUpload(ctx, api, io_, pool, p)
	if err != nil {
		return nil, err
	}
	id := job.JobId
	if err := startJob(ctx, api, io_, pool, id); err != nil {
		return nil, err
	}
	j, err := waitJob(ctx, api, io_, pool, id)
	if err != nil {
		return nil, err
	}
	rep.locked(func() {
		rep.ImportJobs = append(rep.ImportJobs, ImportJob{ID: aws.ToString(id), Status: string(j.Status), Message: aws.ToString(j.CompletionMessage),
			Users: p.users, Imported: j.ImportedUsers, Skipped: j.SkippedUsers, Failed: j.FailedUsers})
	})
	failed := readFailures(ctx, io_.Logs, pool, poolName, aws.ToString(id), aws.ToString(job.JobName), p.names)
	if j.Status != types.UserImportJobStatusTypeSucceeded {
		why := fmt.Sprintf("its import job %s ended %s (%s)", aws.ToString(id), j.Status, aws.ToString(j.CompletionMessage))
		for _, n := range p.names {
			if failed[n] == "" {
				failed[n] = why
			}
		}
	}
	return failed, nil
}

// uploadAttempts bounds how many jobs one part may create: each upload
// refused as expired costs a job that never starts (it expires unused).
const uploadAttempts = 3

// createAndUpload creates a job and uploads the part to its presigned URL.
// The URL is valid for 15 minutes, the job far longer ("you must create a
// new user import job to get a new URL", docs/cognito-facts.md §12): an
// upload refused with 403 gets a new job and a new URL.
func createAndUpload(ctx context.Context, api ImportAPI, io_ ImportOptions, pool string, p *importPart) (*types.UserImportJobType, error) {
	for attempt := 1; ; attempt++ {
		out, err := api.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool,
			JobName: aws.String("cogvault-" + time.Now().UTC().Format("20060102T150405")), CloudWatchLogsRoleArn: &io_.RoleArn})
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
func startJob(ctx context.Context, api ImportAPI, io_ ImportOptions, pool string, id *string) error {
	deadline := time.Now().Add(io_.StartWait)
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
		if time.Now().After(deadline) {
			return fmt.Errorf("restore: start import job %s: another user import job stayed active in the account (only one may run at a time); run the restore again once it ends, it resumes: %w", aws.ToString(id), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, io_.PollInterval)
	}
}

// waitJob polls a started job until it ends.
func waitJob(ctx context.Context, api ImportAPI, io_ ImportOptions, pool string, id *string) (*types.UserImportJobType, error) {
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
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, io_.PollInterval)
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
