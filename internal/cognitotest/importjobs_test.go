package cognitotest_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
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
	if apiCode(err) != "LimitExceededException" {
		t.Fatalf("second concurrent job: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
