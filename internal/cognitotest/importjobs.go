package cognitotest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// User import jobs, as the Cognito developer guide describes them:
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-using-import-tool.html
//
// CreateUserImportJob returns a presigned URL, valid 15 minutes, that this
// server itself serves at /import/<job-id>: the upload must be a PUT carrying
// x-amz-server-side-encryption: aws:kms and content-type: text/csv, because
// both are signed into the real URL. StartUserImportJob runs the job in the
// background; only one job per account may be Pending or InProgress.

const (
	importURLTTL       = 15 * time.Minute
	importMaxBytes     = 100 << 20 // 100 MB per file
	importMaxUsers     = 500000
	importMaxRowLength = 16000
)

type importJob struct {
	id, name, poolID, roleArn string
	status                    string // Created Pending InProgress Stopping Stopped Failed Succeeded Expired
	created, started, ended   time.Time
	imported, skipped, failed int64
	message                   string
	file                      []byte
	uploaded                  bool
	log                       []string
	stop                      bool
}

func (j *importJob) render(s *Service) map[string]any {
	out := map[string]any{
		"JobName": j.name, "JobId": j.id, "UserPoolId": j.poolID, "CloudWatchLogsRoleArn": j.roleArn,
		"CreationDate": ts(j.created), "Status": j.status,
		"ImportedUsers": j.imported, "SkippedUsers": j.skipped, "FailedUsers": j.failed,
		"PreSignedUrl": s.baseURL() + "/import/" + j.id + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-server-side-encryption&X-Amz-Signature=fake",
	}
	if !j.started.IsZero() {
		out["StartDate"] = ts(j.started)
	}
	if !j.ended.IsZero() {
		out["CompletionDate"] = ts(j.ended)
	}
	if j.message != "" {
		out["CompletionMessage"] = j.message
	}
	return out
}

// baseURL is where presigned upload URLs point. Set by Start; a Service used
// as a bare handler gets the placeholder and tests rewrite it.
func (s *Service) baseURL() string {
	if s.url == "" {
		return "http://cognitotest.invalid"
	}
	return s.url
}

func createUserImportJob(s *Service, body []byte) (any, *apiError) {
	var in struct{ JobName, UserPoolId, CloudWatchLogsRoleArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.JobName == "" || len(in.JobName) > 128 {
		return nil, validationErr(in.JobName, "jobName", "Member must have length between 1 and 128")
	}
	if !strings.HasPrefix(in.CloudWatchLogsRoleArn, "arn:") {
		return nil, validationErr(in.CloudWatchLogsRoleArn, "cloudWatchLogsRoleArn", "Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:[\\w+=/,.@-]+:([\\w+=/,.@-]*)?:[0-9]+:[\\w+=/,.@-]+(:[\\w+=/,.@-]+)?(:[\\w+=/,.@-]+)?")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.pool(in.UserPoolId); err != nil {
		return nil, err
	}
	j := &importJob{
		id: fmt.Sprintf("import-%s", strings.ToLower(s.newClientID()[:10])), name: in.JobName,
		poolID: in.UserPoolId, roleArn: in.CloudWatchLogsRoleArn, status: "Created", created: s.now(),
	}
	if s.jobs == nil {
		s.jobs = map[string]*importJob{}
	}
	s.jobs[j.id] = j
	return map[string]any{"UserImportJob": j.render(s)}, nil
}

func (s *Service) job(poolID, id string) (*importJob, *apiError) {
	if _, err := s.pool(poolID); err != nil {
		return nil, err
	}
	j := s.jobs[id]
	if j == nil || j.poolID != poolID {
		return nil, errResourceNotFound("Import job %s does not exist.", id)
	}
	return j, nil
}

// withJob decodes a {UserPoolId, JobId} request, takes the lock and calls f
// with the job (already expired if its upload URL lapsed).
func withJob(s *Service, body []byte, f func(j *importJob) *apiError) (any, *apiError) {
	var in struct{ UserPoolId, JobId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.job(in.UserPoolId, in.JobId)
	if err != nil {
		return nil, err
	}
	s.expire(j)
	if err := f(j); err != nil {
		return nil, err
	}
	return map[string]any{"UserImportJob": j.render(s)}, nil
}

func describeUserImportJob(s *Service, body []byte) (any, *apiError) {
	return withJob(s, body, func(*importJob) *apiError { return nil })
}

// expire marks a job whose file never arrived as Expired once its URL lapsed.
func (s *Service) expire(j *importJob) {
	if j.status == "Created" && s.now().Sub(j.created) > importURLTTL {
		j.status = "Expired"
	}
}

func startUserImportJob(s *Service, body []byte) (any, *apiError) {
	return withJob(s, body, func(j *importJob) *apiError {
		if j.status != "Created" {
			return errInvalidParameter("Import job %s cannot be started: its status is %s", j.id, j.status)
		}
		for _, other := range s.jobs {
			if other != j && (other.status == "Pending" || other.status == "InProgress") {
				// UNCONFIRMED exact exception; the quota itself is documented:
				// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html
				return newErr("LimitExceededException", "Only one user import job can be in progress at a time in an account. Job %s is %s.", other.id, other.status)
			}
		}
		if !j.uploaded {
			j.status = "Failed"
			j.message = "The CSV file was not uploaded to the pre-signed URL."
			j.ended = s.now()
			return nil
		}
		j.status = "Pending"
		j.started = s.now()
		go s.runImport(j)
		return nil
	})
}

func stopUserImportJob(s *Service, body []byte) (any, *apiError) {
	return withJob(s, body, func(j *importJob) *apiError {
		if j.status != "Pending" && j.status != "InProgress" {
			return errInvalidParameter("Import job %s is not running (status %s)", j.id, j.status)
		}
		j.stop = true
		j.status = "Stopping"
		return nil
	})
}

// StopImportJobsAfter makes every import job stop after its first n user
// lines, as StopUserImportJob called while it runs does: the job ends
// Stopped, and the users of the lines it imported stay in the pool (the API
// reference describes no rollback; see docs/cognito-facts.md §8). n ≤ 0
// lets jobs run to the end.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_StopUserImportJob.html
func (s *Service) StopImportJobsAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopAfter = n
}

// ImportJobLog returns the per-line results of a job, as Cognito writes them
// to CloudWatch Logs: "[SUCCEEDED|SKIPPED|FAILED] Line Number N - reason".
func (s *Service) ImportJobLog(jobID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if j := s.jobs[jobID]; j != nil {
		return append([]string(nil), j.log...)
	}
	return nil
}

// serveImportUpload handles the PUT to a presigned URL, answering like S3.
func (s *Service) serveImportUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/import/")
	s3err := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
	}
	if r.Method != http.MethodPut {
		s3err(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	if r.Header.Get("x-amz-server-side-encryption") != "aws:kms" || r.Header.Get("Content-Type") != "text/csv" {
		// Both headers are part of the URL's signature.
		s3err(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, importMaxBytes+1))
	if err != nil {
		s3err(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	if len(data) > importMaxBytes {
		s3err(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		s3err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	s.expire(j)
	if j.status != "Created" || s.now().Sub(j.created) > importURLTTL {
		s3err(http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	j.file = data
	j.uploaded = true
	w.WriteHeader(http.StatusOK)
}

// runImport processes the file line by line, like the service: a header that
// lacks a column fails the job; each bad line fails alone; an existing
// username is SKIPPED; imported users are RESET_REQUIRED with a new sub.
func (s *Service) runImport(j *importJob) {
	s.mu.Lock()
	j.status = "InProgress"
	data := j.file
	s.mu.Unlock()

	finish := func(status, msg string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if j.stop {
			status, msg = "Stopped", "The import job was stopped."
		}
		j.status, j.message, j.ended = status, msg, s.now()
		j.file = nil
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		finish("Failed", "The CSV file must be UTF-8 without a byte order mark.")
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), importMaxBytes)
	if !sc.Scan() {
		finish("Failed", "The CSV file is empty.")
		return
	}
	header := splitImportLine(strings.TrimRight(sc.Text(), "\r"))
	s.mu.Lock()
	p, aerr := s.pool(j.poolID)
	var want []string
	if aerr == nil {
		out, _ := getCSVHeaderOf(p)
		want = out
	}
	s.mu.Unlock()
	if aerr != nil {
		finish("Failed", aerr.message)
		return
	}
	if msg := checkImportHeader(header, want); msg != "" {
		finish("Failed", msg)
		return
	}
	line := 1
	users := 0
	for sc.Scan() {
		line++
		raw := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		users++
		if users > importMaxUsers {
			finish("Failed", fmt.Sprintf("The CSV file has more than %d users.", importMaxUsers))
			return
		}
		s.mu.Lock()
		result := s.importLine(p, header, raw)
		j.log = append(j.log, fmt.Sprintf("[%s] Line Number %d - %s", result.status, line, result.reason))
		switch result.status {
		case "SUCCEEDED":
			j.imported++
		case "SKIPPED":
			j.skipped++
		default:
			j.failed++
		}
		if s.stopAfter > 0 && users >= s.stopAfter {
			j.stop = true
		}
		stop := j.stop
		s.mu.Unlock()
		if stop {
			break
		}
	}
	if err := sc.Err(); err != nil {
		finish("Failed", "The CSV file could not be read: "+err.Error())
		return
	}
	finish("Succeeded", "Import Job Completed Successfully.")
}

// splitImportLine splits a line of Cognito's import dialect: values are not
// quoted; a comma inside a value is written as \, ; surrounding whitespace is
// trimmed.
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-using-import-tool-csv-header.html
func splitImportLine(line string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' && i+1 < len(line) && line[i+1] == ',' {
			b.WriteByte(',')
			i++
			continue
		}
		if c == ',' {
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
			continue
		}
		b.WriteByte(c)
	}
	return append(out, strings.TrimSpace(b.String()))
}

func checkImportHeader(got, want []string) string {
	have := map[string]bool{}
	for _, h := range got {
		have[h] = true
	}
	for _, w := range want {
		if !have[w] {
			return fmt.Sprintf("The CSV header is missing the column %s. Use GetCSVHeader for the expected columns.", w)
		}
	}
	wantSet := map[string]bool{}
	for _, w := range want {
		wantSet[w] = true
	}
	for _, h := range got {
		if !wantSet[h] {
			return fmt.Sprintf("The CSV header has the column %s, which is not an attribute of the user pool.", h)
		}
	}
	return ""
}

type lineResult struct{ status, reason string }

// importLine applies one line. Caller holds s.mu.
func (s *Service) importLine(p *pool, header []string, raw string) lineResult {
	fail := func(reason string) lineResult { return lineResult{"FAILED", reason} }
	if utf8.RuneCountInString(raw) > importMaxRowLength {
		return fail(fmt.Sprintf("The line is longer than %d characters.", importMaxRowLength))
	}
	if !utf8.ValidString(raw) {
		return fail("The line is not valid UTF-8.")
	}
	vals := splitImportLine(raw)
	if len(vals) != len(header) {
		return fail(fmt.Sprintf("The line has %d values; the header has %d columns.", len(vals), len(header)))
	}
	var username, mfa string
	var attrs []attrInput
	for i, h := range header {
		v := vals[i]
		switch h {
		case "cognito:username":
			username = v
		case "cognito:mfa_enabled":
			mfa = v
		default:
			if v != "" {
				attrs = append(attrs, attrInput{h, v})
			}
		}
	}
	if username == "" {
		return fail("The cognito:username value is empty.")
	}
	if mfa != "true" && mfa != "false" {
		return fail("The cognito:mfa_enabled value must be true or false.")
	}
	if err := checkUsername(username); err != nil {
		return fail("The cognito:username value is not valid.")
	}
	if err := p.checkWrite(attrs, true); err != nil {
		return fail(err.message)
	}
	verified := map[string]string{}
	for _, a := range attrs {
		verified[a.Name] = a.Value
	}
	for _, v := range []string{"email_verified", "phone_number_verified"} {
		if verified[v] == "" {
			return fail(fmt.Sprintf("The %s value is required.", v))
		}
	}
	ok := verified["email_verified"] == "true" && verified["email"] != "" ||
		verified["phone_number_verified"] == "true" && verified["phone_number"] != ""
	if !ok {
		return fail("The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true).")
	}
	if mfa == "true" && verified["phone_number"] == "" {
		return fail("cognito:mfa_enabled is true but the user has no phone_number.")
	}
	if _, err := p.findUser(username); err == nil {
		return lineResult{"SKIPPED", "The user already exists."}
	}
	u, aerr := s.insertUser(p, username, attrs, StatusResetRequired)
	if aerr != nil {
		if aerr.code == "UsernameExistsException" {
			return lineResult{"SKIPPED", "The user already exists."}
		}
		return fail(aerr.message)
	}
	if mfa == "true" {
		u.mfa.sms = true
	}
	return lineResult{"SUCCEEDED", "The import succeeded."}
}

// ListUserImportJobs: MaxResults 1–60, PaginationToken.
func listUserImportJobs(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId      string
		MaxResults      *int
		PaginationToken string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, aerr := requiredMaxResults(in.MaxResults)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.pool(in.UserPoolId); err != nil {
		return nil, err
	}
	var ids []string
	for id, j := range s.jobs {
		if j.poolID == in.UserPoolId {
			ids = append(ids, id)
		}
	}
	page, next, err := s.pageByKey(ids, in.PaginationToken, "jobs", in.UserPoolId, limit)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, id := range page {
		s.expire(s.jobs[id])
		items = append(items, s.jobs[id].render(s))
	}
	out := map[string]any{"UserImportJobs": items}
	if next != "" {
		out["PaginationToken"] = next
	}
	return out, nil
}
