package cognitotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
//
// The URL and the job lapse apart: "The PRE_SIGNED_URL returned in the
// response is valid for 15 minutes. After that time, it will expire and you
// must create a new user import job to get a new URL", while a job ends
// Expired only when "You created a job, but did not start the job within
// 24-48 hours" (developer guide, cognito-user-pools-creating-import-job.html;
// docs/cognito-facts.md §12). The fake expires jobs at the lower bound.

const (
	importURLTTL       = 15 * time.Minute
	importJobTTL       = 24 * time.Hour
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

// expire marks a job created and never started as Expired, 24 hours on.
func (s *Service) expire(j *importJob) {
	if j.status == "Created" && s.now().Sub(j.created) > importJobTTL {
		j.status = "Expired"
		j.file = nil // "All data associated with the job was deleted"
	}
}

func startUserImportJob(s *Service, body []byte) (any, *apiError) {
	return withJob(s, body, func(j *importJob) *apiError {
		if j.status != "Created" {
			return errInvalidParameter("Import job %s cannot be started: its status is %s", j.id, j.status)
		}
		for _, other := range s.jobs {
			if other != j && (other.status == "Pending" || other.status == "InProgress" || other.status == "Stopping") {
				// "Only one import job can be active at a time per account"
				// (developer guide, cognito-user-pools-creating-import-job.html).
				// The code is the one StartUserImportJob's error list has
				// for an unmet precondition: the list has no
				// LimitExceededException (SDK deserializers.go,
				// awsAwsjson11_deserializeOpErrorStartUserImportJob;
				// docs/cognito-facts.md §12). Message UNCONFIRMED.
				return newErr("PreconditionNotMetException", "Only one user import job can be active at a time in an account. Job %s is %s.", other.id, other.status)
			}
		}
		if len(s.autoVerified(s.pools[j.poolID])) == 0 {
			// "If the user pool has no auto-verified attributes, the import
			// job will not start." (cognito-user-pools-using-import-tool-csv-header.html)
			return newErr("PreconditionNotMetException", "The user pool %s has no auto-verified attributes; an import job needs one.", j.poolID)
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

// HoldImportJobs keeps every import job started from now on InProgress,
// with no line processed, until release is called: a job runs for as long
// as the service takes, which the API reference does not bound (a job
// passes through Pending and InProgress, each seen by
// DescribeUserImportJob: API_UserImportJobType.html, Status;
// docs/cognito-facts.md §24). Tests use it to stop a restore step while
// its job runs. release is safe to call more than once.
func (s *Service) HoldImportJobs() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := make(chan struct{})
	s.held = h
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.held == h {
				s.held = nil
			}
			s.mu.Unlock()
			close(h)
		})
	}
}

// FailImportJobsAfter makes every import job end Failed after its first n
// user lines, as the service does when "Too many users have failed or been
// skipped during the import" (the CompletionMessage of a Failed job in the
// developer guide's ListUserImportJobs example); users of the lines before
// stay imported (§8.5). n ≤ 0 lets jobs run to the end.
func (s *Service) FailImportJobsAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAfter = n
}

// SetImportFailLines sets how many failed or skipped lines end a job Failed
// when they outnumber the lines it imported (default 5: the developer
// guide's example of a Failed job has 5 failed users and none imported; the
// service's real threshold is not published). n < 0 turns the rule off.
func (s *Service) SetImportFailLines(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLines = n
}

// tooManyBad reports whether j has failed or skipped enough lines to fail.
// Caller holds s.mu.
func (s *Service) tooManyBad(j *importJob, lines int) bool {
	if s.failAfter > 0 && lines >= s.failAfter {
		return true
	}
	n := s.failLines
	if n == 0 {
		n = defaultImportFailLines
	}
	return n > 0 && j.failed+j.skipped >= int64(n) && j.failed+j.skipped > j.imported
}

// defaultImportFailLines: see SetImportFailLines.
const defaultImportFailLines = 5

// tooManyBadMessage is the CompletionMessage of such a job, as the
// developer guide's example shows it.
const tooManyBadMessage = "Too many users have failed or been skipped during the import."

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
	data, held := j.file, s.held
	s.mu.Unlock()
	if held != nil {
		<-held // HoldImportJobs
	}

	finish := func(status, msg string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if j.stop {
			// As the developer guide's StopUserImportJob example answers
			// (docs/cognito-facts.md §8.5).
			status, msg = "Stopped", "The Import Job was stopped by the developer."
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
		stop, bad := j.stop, s.tooManyBad(j, users)
		s.mu.Unlock()
		if bad && !stop {
			finish("Failed", tooManyBadMessage)
			return
		}
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
	if why := lineRules(p, s.autoVerified(p), attrs, mfa); why != "" {
		return fail(why)
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

// lineRules applies the developer guide's per-user rules for the import
// file (cognito-user-pools-using-import-tool-csv-header.html, "Formatting
// the .csv file"; docs/cognito-facts.md §12). Caller holds s.mu.
func lineRules(p *pool, autoVerified []string, attrs []attrInput, mfa string) string {
	vals := map[string]string{}
	for _, a := range attrs {
		vals[a.Name] = a.Value
	}
	// "The following attributes are required: ... email_verified or
	// phone_number_verified": one of them is enough.
	if vals["email_verified"] == "" && vals["phone_number_verified"] == "" {
		return "The User Record does not have a value for email_verified or phone_number_verified."
	}
	// "At least one of the auto-verified attributes must be true for each
	// user ... If the user pool only has one auto-verified attribute, that
	// attribute must be verified for each user."
	ok := false
	for _, a := range autoVerified {
		if vals[a+"_verified"] == "true" && vals[a] != "" {
			ok = true
		}
	}
	if !ok {
		return "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true)."
	}
	// "If you've set multi-factor authentication (MFA) to be required in
	// your user pool, this field must be true for all users. If you've set
	// MFA to be off, this field must be false for all users."
	switch mode := p.mfaMode(); {
	case mode == "ON" && mfa != "true":
		return "cognito:mfa_enabled must be true: the user pool requires MFA."
	case mode == "OFF" && mfa != "false":
		return "cognito:mfa_enabled must be false: MFA is off in the user pool."
	}
	if mfa == "true" && vals["phone_number"] == "" {
		return "cognito:mfa_enabled is true but the user has no phone_number."
	}
	// "The birthdate values, if present, must be in the format mm/dd/yyyy."
	if b := vals["birthdate"]; b != "" {
		if _, err := time.Parse("01/02/2006", b); err != nil {
			return "The birthdate value must be in the format mm/dd/yyyy."
		}
	}
	return ""
}

// autoVerified is the pool's AutoVerifiedAttributes ("email",
// "phone_number"), as CreateUserPool set them. Caller holds s.mu.
func (s *Service) autoVerified(p *pool) []string {
	var out []string
	if p != nil {
		_ = json.Unmarshal(p.config["AutoVerifiedAttributes"], &out)
	}
	return out
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
