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
	"github.com/cogvault/cogvault/internal/repo"
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
	// Logs reads each job's CloudWatch log to name the reason of every
	// failed line; without it (or when the log cannot be read) failed users
	// are found from the target and sent to the admin path all the same.
	Logs LogEventsGetter
}

// LogEventsGetter reads a CloudWatch Logs stream.
type LogEventsGetter interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// importUsers runs import jobs for every user the dialect can carry, one job
// at a time (one job per account may be active), and returns the users the
// admin path must handle: those the dialect cannot carry and those whose line
// failed.
func importUsers(ctx context.Context, api ImportAPI, rp *repo.Repo, m *snapshot.Manifest, tg *target, st *state, opts Options, rep *Report, stats *Stats) (admin map[string]string, present map[string]listed, err error) {
	io_ := opts.Import
	if io_.RoleArn == "" {
		return nil, nil, errors.New("restore: the import path needs --import-role-arn (a role Cognito assumes to write the job's CloudWatch log)")
	}
	if io_.MaxUsers <= 0 || io_.MaxUsers > maxImportUsers {
		io_.MaxUsers = maxImportUsers
	}
	if io_.PollInterval <= 0 {
		io_.PollInterval = 5 * time.Second
	}
	if io_.HTTPClient == nil {
		io_.HTTPClient = &http.Client{Timeout: 15 * time.Minute}
	}
	hdr, err := api.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &opts.Target})
	if err != nil {
		return nil, nil, fmt.Errorf("restore: CSV header of %s: %w", opts.Target, err)
	}
	header := hdr.CSVHeader
	admin = map[string]string{} // username → why the admin path
	var part *importPart
	var imported []string
	failed := map[string]string{}
	flush := func() error {
		if part == nil || part.users == 0 {
			return nil
		}
		names, jobFailed, err := runImportJob(ctx, api, io_, opts.Target, tg.name, part, rep)
		part = nil
		imported = append(imported, names...)
		for n, why := range jobFailed {
			failed[n] = why
		}
		return err
	}
	var mu = &rep.mu
	for u, err := range rp.Users(ctx, m) {
		if err != nil {
			return nil, nil, err
		}
		if opts.Users != nil && !opts.Users[u.Username] {
			continue
		}
		if !plan(u, tg, st, opts, ViaImport, rep, mu) {
			stats.Users.Add(1)
			continue
		}
		if tg.has(u.Username) || st.ours(u.Username) {
			admin[u.Username] = "exists in the target or resumed"
			continue
		}
		row, why := importRow(u, header, opts.SubAttribute)
		if why != "" {
			admin[u.Username] = why
			mu.Lock()
			adminStatusNote(u, rep)
			mu.Unlock()
			continue
		}
		if added := importDefaults(u); len(added) > 0 {
			mu.Lock()
			for _, a := range added {
				rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "attribute " + a,
					Reason: "absent in the snapshot; the import file requires the column, so the imported user has it as false"})
			}
			mu.Unlock()
		}
		if part != nil && (part.users >= io_.MaxUsers || part.size+int64(len(row))+1 > maxImportBytes) {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		if part == nil {
			if part, err = newImportPart(io_.TempDir, header); err != nil {
				return nil, nil, err
			}
		}
		if err := st.record(stateRecord{Event: "intent", Username: u.Username}); err != nil {
			return nil, nil, err
		}
		if err := part.add(u.Username, row); err != nil {
			return nil, nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	// Which lines failed? Cognito says so only in CloudWatch Logs; the target
	// itself is the authority: an imported user exists, a failed one does not.
	present = map[string]listed{}
	for u, err := range cognito.ShardedUsers(ctx, api, opts.Target, cognito.SubShards(), 16) {
		if err != nil {
			return nil, nil, err
		}
		sub, _ := cognito.Attr(u.Attributes, "sub")
		present[aws.ToString(u.Username)] = listed{sub: sub, status: string(u.UserStatus)}
	}
	for _, name := range imported {
		if _, ok := present[name]; !ok {
			why := failed[name]
			if why == "" {
				why = "not found in the target after the job"
			}
			admin[name] = "its import line failed: " + why
			continue
		}
		rep.UsersImported++
	}
	return admin, present, nil
}

// listed is what the target listing says of an imported user.
type listed struct{ sub, status string }

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

// runImportJob uploads one part and runs its job to the end.
func runImportJob(ctx context.Context, api ImportAPI, io_ ImportOptions, pool, poolName string, p *importPart, rep *Report) ([]string, map[string]string, error) {
	defer os.Remove(p.f.Name())
	defer p.f.Close()
	if err := p.w.Flush(); err != nil {
		return nil, nil, fmt.Errorf("restore: write import file: %w", err)
	}
	job, err := api.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool,
		JobName: aws.String("cogvault-" + time.Now().UTC().Format("20060102T150405")), CloudWatchLogsRoleArn: &io_.RoleArn})
	if err != nil {
		return nil, nil, fmt.Errorf("restore: create import job in %s: %w", pool, err)
	}
	id := job.UserImportJob.JobId
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	// The presigned URL is a credential: it is never logged or printed.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, aws.ToString(job.UserImportJob.PreSignedUrl), p.f)
	if err != nil {
		return nil, nil, fmt.Errorf("restore: import job %s: bad upload URL", aws.ToString(id))
	}
	req.ContentLength = p.size
	req.Header.Set("x-amz-server-side-encryption", "aws:kms")
	req.Header.Set("Content-Type", "text/csv")
	resp, err := io_.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("restore: upload the file of import job %s: %w", aws.ToString(id), scrubURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("restore: upload the file of import job %s: HTTP %d", aws.ToString(id), resp.StatusCode)
	}
	if _, err := api.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: id}); err != nil {
		return nil, nil, fmt.Errorf("restore: start import job %s: %w", aws.ToString(id), err)
	}
	wait := io_.PollInterval / 20
	for {
		out, err := api.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: id})
		if err != nil {
			return nil, nil, fmt.Errorf("restore: import job %s: %w", aws.ToString(id), err)
		}
		j := out.UserImportJob
		switch j.Status {
		case types.UserImportJobStatusTypeSucceeded:
			rep.mu.Lock()
			rep.ImportJobs = append(rep.ImportJobs, ImportJob{ID: aws.ToString(id), Users: p.users, Imported: j.ImportedUsers, Skipped: j.SkippedUsers, Failed: j.FailedUsers})
			rep.mu.Unlock()
			return p.names, readFailures(ctx, io_.Logs, pool, poolName, aws.ToString(id), aws.ToString(job.UserImportJob.JobName), p.names), nil
		case types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped, types.UserImportJobStatusTypeExpired:
			return nil, nil, fmt.Errorf("restore: import job %s ended %s: %s", aws.ToString(id), j.Status, aws.ToString(j.CompletionMessage))
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
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
