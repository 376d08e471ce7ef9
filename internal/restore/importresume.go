package restore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// What a run of an import restore does with what an earlier run (or step)
// left unfinished: a file recorded with no job, a job Cognito no longer
// knows, a start still waiting for another job. docs/cognito-facts.md §24
// and §33.

// importJobName names a new file's job. It is unique, so that a later run
// looking for the job by name (pickUpFiles) can only find this file's:
// CreateUserImportJob's JobName is 1–128 characters of [\w\s+=,.@-] (API
// reference, API_CreateUserImportJob.html; §33).
func importJobName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cogvault-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// pickUpFiles settles the import files an earlier run recorded but not
// the job of (it stopped in CreateUserImportJob or the upload). A job of
// the file's name that has started is picked up by id; otherwise (none,
// or one still Created or Expired: never started, as a job is started
// only once recorded) the file's users go into a later file, and a job
// left Created expires unused.
func (r *run) pickUpFiles(ctx context.Context, api ImportAPI) error {
	files := r.st.pendingFiles()
	if len(files) == 0 {
		return nil
	}
	started, err := startedJobs(ctx, api, r.opts.Target, files)
	if err != nil {
		return err
	}
	for _, name := range files {
		rec := stateRecord{Event: "fileend", Job: &jobRecord{Name: name}}
		if id, ok := started[name]; ok {
			rec = stateRecord{Event: "job", Job: &jobRecord{ID: id, Name: name, Users: r.st.fileUsers(name)}}
		}
		if err := r.st.record(rec); err != nil {
			return err
		}
	}
	return nil
}

// startedJobs lists the pool's import jobs (ListUserImportJobs, 1–60 a
// page, paged by PaginationToken: API reference, §33) and returns, by
// name, the id of each job named in names that has started.
func startedJobs(ctx context.Context, api ImportAPI, pool string, names []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	in := &cip.ListUserImportJobsInput{UserPoolId: &pool, MaxResults: aws.Int32(60)}
	for {
		page, err := api.ListUserImportJobs(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("restore: list the import jobs of %s, to find a job an earlier run did not record: %w", pool, err)
		}
		for _, j := range page.UserImportJobs {
			switch j.Status {
			case types.UserImportJobStatusTypeCreated, types.UserImportJobStatusTypeExpired:
				continue // never started
			}
			if want[aws.ToString(j.JobName)] {
				out[aws.ToString(j.JobName)] = aws.ToString(j.JobId)
			}
		}
		if aws.ToString(page.PaginationToken) == "" {
			return out, nil
		}
		in.PaginationToken = page.PaginationToken
	}
}

// jobGone settles a job Cognito no longer knows (DescribeUserImportJob:
// ResourceNotFoundException; how long Cognito keeps jobs is not published,
// §33): how it ended cannot be read. Its users the target has stay as the
// job left them; the others go into a later import file (requeue), never
// the admin path for that alone; its end is recorded as unknown, saying
// what was found, which the report shows.
func (r *run) jobGone(ctx context.Context, j stateJob) error {
	found, missing, _, err := r.lookUp(ctx, j.names)
	if err != nil {
		return err
	}
	// Requeued before the end is recorded: a run stopped in between looks
	// the job up again and finds the same.
	for _, n := range missing {
		if err := r.st.record(stateRecord{Event: "requeue", Username: n}); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("Cognito no longer knows this job (DescribeUserImportJob: ResourceNotFoundException), so how it ended is unknown: "+
		"%d of its users were in the target and stay as it left them, the other %d went into a later import job", len(found), len(missing))
	rec := jobRecord{ID: j.rec.ID, Status: jobEndUnknown, Message: msg, Imported: int64(len(found))}
	return r.st.record(stateRecord{Event: "jobend", Job: &rec})
}

// startClock is when a job's start was first refused for another active
// job; the state keeps it, so that StartWait counts across a restore's
// steps rather than again in each.
type startClock struct {
	since time.Time
	mark  func(time.Time) error // records since
}

// refused returns when the start was first refused, recording now if this
// is the first refusal.
func (c *startClock) refused() (time.Time, error) {
	if c.since.IsZero() {
		c.since = time.Now()
		if err := c.mark(c.since); err != nil {
			return c.since, err
		}
	}
	return c.since, nil
}

func (r *run) startClock(j stateJob) *startClock {
	return &startClock{since: j.waitSince, mark: func(t time.Time) error {
		return r.st.record(stateRecord{Event: "waitstart", Job: &jobRecord{ID: j.rec.ID, WaitSince: t.UTC().Format(time.RFC3339Nano)}})
	}}
}
