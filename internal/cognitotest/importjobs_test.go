package cognitotest_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

func upload(t *testing.T, url, body string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var kmsCSV = map[string]string{"x-amz-server-side-encryption": "aws:kms", "Content-Type": "text/csv"}

func waitJob(t *testing.T, c *cip.Client, pool, id *string) *types.UserImportJobType {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: pool, JobId: id})
		if err != nil {
			t.Fatal(err)
		}
		switch out.UserImportJob.Status {
		case types.UserImportJobStatusTypeSucceeded, types.UserImportJobStatusTypeFailed, types.UserImportJobStatusTypeStopped:
			return out.UserImportJob
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("import job did not finish")
	return nil
}

func TestUserImportJob(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 5, 0)
	c := newClient(srv)
	p := aws.String(pool)
	hdr, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: p})
	if err != nil {
		t.Fatal(err)
	}
	cols := hdr.CSVHeader
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p, Username: aws.String("existing"),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	row := func(kv map[string]string) string {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = kv[c]
		}
		return strings.Join(vals, ",")
	}
	lines := []string{
		strings.Join(cols, ","),
		row(map[string]string{"cognito:username": "imp1", "email": "imp1@example.com", "email_verified": "true", "phone_number_verified": "false",
			"cognito:mfa_enabled": "false", "name": `Smith\, Jr.`}),
		row(map[string]string{"cognito:username": "existing", "email": "x@example.com", "email_verified": "true", "phone_number_verified": "false", "cognito:mfa_enabled": "false"}),
		row(map[string]string{"cognito:username": "imp3", "email": "imp3@example.com", "email_verified": "false", "phone_number_verified": "false", "cognito:mfa_enabled": "false"}),
	}
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: p, JobName: aws.String("j1"),
		CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/import")})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(job.UserImportJob.PreSignedUrl)
	if got := upload(t, url, strings.Join(lines, "\n"), map[string]string{"Content-Type": "text/csv"}); got != http.StatusForbidden {
		t.Fatalf("upload without the KMS header: HTTP %d, want 403", got)
	}
	if got := upload(t, url, strings.Join(lines, "\n"), kmsCSV); got != http.StatusOK {
		t.Fatalf("upload: HTTP %d", got)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: p, JobId: job.UserImportJob.JobId}); err != nil {
		t.Fatal(err)
	}
	done := waitJob(t, c, p, job.UserImportJob.JobId)
	if done.Status != types.UserImportJobStatusTypeSucceeded || done.ImportedUsers != 1 || done.SkippedUsers != 1 || done.FailedUsers != 1 {
		t.Fatalf("job: %s imported %d skipped %d failed %d (%s)", done.Status, done.ImportedUsers, done.SkippedUsers, done.FailedUsers, aws.ToString(done.CompletionMessage))
	}
	log := srv.ImportJobLog(aws.ToString(job.UserImportJob.JobId))
	if len(log) != 3 || !strings.HasPrefix(log[0], "[SUCCEEDED] Line Number 2") || !strings.HasPrefix(log[1], "[SKIPPED] Line Number 3") ||
		!strings.HasPrefix(log[2], "[FAILED] Line Number 4") {
		t.Fatalf("job log = %q", log)
	}
	u, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: p, Username: aws.String("imp1")})
	if err != nil || u.UserStatus != types.UserStatusTypeResetRequired || attrMap(u.UserAttributes)["name"] != "Smith, Jr." {
		t.Fatalf("imported user: %v %+v", err, u)
	}
	if srv.MessagesSent() != 0 {
		t.Fatal("an import sent messages")
	}
}

func TestOneImportJobPerAccount(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	p := aws.String(pool)
	hdr, _ := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: p})
	// A big file keeps the first job running while the second starts.
	var b strings.Builder
	b.WriteString(strings.Join(hdr.CSVHeader, ","))
	for i := 0; i < 20000; i++ {
		b.WriteString("\n")
		for j, col := range hdr.CSVHeader {
			if j > 0 {
				b.WriteString(",")
			}
			switch col {
			case "cognito:username":
				b.WriteString("bulk" + itoa(i))
			case "email":
				b.WriteString("bulk" + itoa(i) + "@example.com")
			case "email_verified":
				b.WriteString("true")
			case "phone_number_verified", "cognito:mfa_enabled":
				b.WriteString("false")
			}
		}
	}
	var ids []*string
	for i := 0; i < 2; i++ {
		job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: p, JobName: aws.String("bulk"),
			CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/import")})
		if err != nil {
			t.Fatal(err)
		}
		if code := upload(t, aws.ToString(job.UserImportJob.PreSignedUrl), b.String(), kmsCSV); code != 200 {
			t.Fatalf("upload: %d", code)
		}
		ids = append(ids, job.UserImportJob.JobId)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: p, JobId: ids[0]}); err != nil {
		t.Fatal(err)
	}
	_, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: p, JobId: ids[1]})
	first := waitJob(t, c, p, ids[0])
	if first.ImportedUsers != 20000 {
		t.Fatalf("first job imported %d", first.ImportedUsers)
	}
	if err == nil {
		t.Skip("first job finished before the second started; nothing to assert")
	}
	// StartUserImportJob's error list has no LimitExceededException.
	if apiCode(err) != "PreconditionNotMetException" {
		t.Fatalf("second concurrent job: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// runFile creates a job in pool, uploads lines (header first) and runs it.
func runFile(t *testing.T, c *cip.Client, pool string, lines []string) *types.UserImportJobType {
	t.Helper()
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("rules"),
		CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/import")})
	if err != nil {
		t.Fatal(err)
	}
	if code := upload(t, aws.ToString(job.UserImportJob.PreSignedUrl), strings.Join(lines, "\n"), kmsCSV); code != 200 {
		t.Fatalf("upload: HTTP %d", code)
	}
	if _, err := c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId}); err != nil {
		t.Fatal(err)
	}
	return waitJob(t, c, &pool, job.UserImportJob.JobId)
}

// rowOf renders kv in the order of cols.
func rowOf(cols []string, kv map[string]string) string {
	vals := make([]string, len(cols))
	for i, c := range cols {
		vals[i] = kv[c]
	}
	return strings.Join(vals, ",")
}

// newImportPool creates a pool with the given AutoVerifiedAttributes and
// MFA mode, and returns its id and CSV header.
func newImportPool(t *testing.T, c *cip.Client, autoVerified []types.VerifiedAttributeType, mfa types.UserPoolMfaType) (string, []string) {
	t.Helper()
	out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("rules"), AutoVerifiedAttributes: autoVerified, MfaConfiguration: mfa})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.UserPool.Id)
	hdr, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &id})
	if err != nil {
		t.Fatal(err)
	}
	return id, hdr.CSVHeader
}

// The developer guide's per-user rules of the import file: each case is
// one line in a pool of its own; a broken rule fails the line (and only
// that line), never the job.
func TestImportLineRules(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	srv.SetImportFailLines(-1)
	c := newClient(srv)
	both := []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail, types.VerifiedAttributeTypePhoneNumber}
	phone := []types.VerifiedAttributeType{types.VerifiedAttributeTypePhoneNumber}
	email := map[string]string{"email": "a@example.com", "email_verified": "true", "cognito:mfa_enabled": "false"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name   string
		av     []types.VerifiedAttributeType
		mfa    types.UserPoolMfaType
		line   map[string]string
		wantOK bool
	}{
		{"email_verified alone is enough, phone_number_verified empty", both, "", email, true},
		{"phone_number_verified alone is enough", both, "", map[string]string{"phone_number": "+15550000001", "phone_number_verified": "true", "cognito:mfa_enabled": "false"}, true},
		{"neither verified column has a value", both, "", map[string]string{"email": "a@example.com", "cognito:mfa_enabled": "false"}, false},
		{"the one auto-verified attribute must be true", phone, "", email, false},
		{"the one auto-verified attribute true", phone, "", with(email, "phone_number", "+15550000001", "phone_number_verified", "true"), true},
		{"MFA off: mfa_enabled true refused", both, types.UserPoolMfaTypeOff, with(email, "phone_number", "+15550000001", "cognito:mfa_enabled", "true"), false},
		{"MFA on: mfa_enabled false refused", both, types.UserPoolMfaTypeOn, email, false},
		{"MFA on: mfa_enabled true", both, types.UserPoolMfaTypeOn, with(email, "phone_number", "+15550000001", "cognito:mfa_enabled", "true"), true},
		{"MFA optional: either", both, types.UserPoolMfaTypeOptional, email, true},
		{"birthdate mm/dd/yyyy", both, "", with(email, "birthdate", "02/01/1985"), true},
		{"birthdate yyyy-mm-dd refused", both, "", with(email, "birthdate", "1985-02-01"), false},
		{"birthdate 13th month refused", both, "", with(email, "birthdate", "13/01/1985"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool, cols := newImportPool(t, c, tc.av, tc.mfa)
			line := with(tc.line, "cognito:username", "u1")
			done := runFile(t, c, pool, []string{strings.Join(cols, ","), rowOf(cols, line)})
			if done.Status != types.UserImportJobStatusTypeSucceeded {
				t.Fatalf("job %s (%s), want Succeeded: a bad line fails alone", done.Status, aws.ToString(done.CompletionMessage))
			}
			if got := done.ImportedUsers == 1; got != tc.wantOK {
				t.Fatalf("imported %d failed %d (log %q), want imported=%v", done.ImportedUsers, done.FailedUsers, srv.ImportJobLog(aws.ToString(done.JobId)), tc.wantOK)
			}
		})
	}
}

// "If the user pool has no auto-verified attributes, the import job will
// not start."
func TestImportJobDoesNotStartWithoutAutoVerifiedAttributes(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	c := newClient(srv)
	pool, cols := newImportPool(t, c, nil, "")
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("none"),
		CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/import")})
	if err != nil {
		t.Fatal(err)
	}
	upload(t, aws.ToString(job.UserImportJob.PreSignedUrl), strings.Join(cols, ","), kmsCSV)
	_, err = c.StartUserImportJob(ctx, &cip.StartUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId})
	if apiCode(err) != "PreconditionNotMetException" {
		t.Fatalf("start in a pool without auto-verified attributes: %v", err)
	}
}

// A job ends Failed when too many of its lines fail or are skipped; the
// users of the lines before stay imported.
func TestImportJobFailsWhenTooManyLinesFail(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	hdr, _ := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool})
	lines := []string{strings.Join(hdr.CSVHeader, ",")}
	good := func(n string) string {
		return rowOf(hdr.CSVHeader, map[string]string{"cognito:username": n, "email": n + "@example.com", "email_verified": "true", "cognito:mfa_enabled": "false"})
	}
	lines = append(lines, good("ok1"))
	for i := 0; i < 8; i++ {
		lines = append(lines, rowOf(hdr.CSVHeader, map[string]string{"cognito:username": "bad" + itoa(i), "cognito:mfa_enabled": "false"}))
	}
	lines = append(lines, good("late"))
	done := runFile(t, c, pool, lines)
	if done.Status != types.UserImportJobStatusTypeFailed || aws.ToString(done.CompletionMessage) != "Too many users have failed or been skipped during the import." {
		t.Fatalf("job %s (%s), want Failed: too many lines failed", done.Status, aws.ToString(done.CompletionMessage))
	}
	if done.ImportedUsers != 1 || done.FailedUsers != 5 {
		t.Fatalf("imported %d failed %d, want 1 and 5 (the job fails at the fifth bad line)", done.ImportedUsers, done.FailedUsers)
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("ok1")}); err != nil {
		t.Fatalf("the user imported before the job failed: %v", err)
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("late")}); apiCode(err) != "UserNotFoundException" {
		t.Fatalf("a line after the failure was imported: %v", err)
	}

	// Forced: every line good, the job fails after two.
	srv.FailImportJobsAfter(2)
	done = runFile(t, c, pool, []string{lines[0], good("f1"), good("f2"), good("f3")})
	if done.Status != types.UserImportJobStatusTypeFailed || done.ImportedUsers != 2 {
		t.Fatalf("forced: job %s imported %d, want Failed after 2", done.Status, done.ImportedUsers)
	}
}

// The presigned URL lapses after 15 minutes, the job only after 24 hours
// unstarted: an upload after 15 minutes is refused while the job is still
// Created; a day later the job is Expired.
func TestImportUploadURLLapsesLongBeforeTheJob(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true, Now: clock}, 0, 0)
	c := newClient(srv)
	hdr, _ := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool})
	job, err := c.CreateUserImportJob(ctx, &cip.CreateUserImportJobInput{UserPoolId: &pool, JobName: aws.String("late"),
		CloudWatchLogsRoleArn: aws.String("arn:aws:iam::123456789012:role/import")})
	if err != nil {
		t.Fatal(err)
	}
	advance(16 * time.Minute)
	if code := upload(t, aws.ToString(job.UserImportJob.PreSignedUrl), strings.Join(hdr.CSVHeader, ","), kmsCSV); code != http.StatusForbidden {
		t.Fatalf("upload 16 minutes on: HTTP %d, want 403", code)
	}
	describe := func() types.UserImportJobStatusType {
		out, err := c.DescribeUserImportJob(ctx, &cip.DescribeUserImportJobInput{UserPoolId: &pool, JobId: job.UserImportJob.JobId})
		if err != nil {
			t.Fatal(err)
		}
		return out.UserImportJob.Status
	}
	if st := describe(); st != types.UserImportJobStatusTypeCreated {
		t.Fatalf("job 16 minutes on: %s, want Created (only its URL lapsed)", st)
	}
	advance(24 * time.Hour)
	if st := describe(); st != types.UserImportJobStatusTypeExpired {
		t.Fatalf("job a day on: %s, want Expired", st)
	}
}

// A user can be in at most 100 groups; the 101st is refused with an error
// AdminAddUserToGroup's error list declares.
func TestUserCanBeInAtMost100Groups(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("many"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	add := func(g string) error {
		if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: &g}); err != nil && apiCode(err) != "GroupExistsException" {
			t.Fatal(err)
		}
		_, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: aws.String("many"), GroupName: &g})
		return err
	}
	for i := 0; i < 100; i++ {
		if err := add("g" + itoa(i)); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	if err := add("g0"); err != nil {
		t.Fatalf("adding again to a group the user is in: %v", err)
	}
	if err := add("g100"); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("101st group: %v, want InvalidParameterException", err)
	}
}

// A stopped job keeps the users of the lines before the stop and answers
// the developer guide's CompletionMessage.
func TestStoppedImportJob(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 0, 0)
	c := newClient(srv)
	hdr, _ := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &pool})
	lines := []string{strings.Join(hdr.CSVHeader, ",")}
	for _, n := range []string{"s1", "s2", "s3"} {
		lines = append(lines, rowOf(hdr.CSVHeader, map[string]string{"cognito:username": n, "email": n + "@example.com", "email_verified": "true", "cognito:mfa_enabled": "false"}))
	}
	srv.StopImportJobsAfter(1)
	done := runFile(t, c, pool, lines)
	if done.Status != types.UserImportJobStatusTypeStopped || done.ImportedUsers != 1 ||
		aws.ToString(done.CompletionMessage) != "The Import Job was stopped by the developer." {
		t.Fatalf("job %s imported %d (%s), want Stopped after 1 with the guide's message", done.Status, done.ImportedUsers, aws.ToString(done.CompletionMessage))
	}
}
