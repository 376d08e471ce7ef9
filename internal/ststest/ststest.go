// Package ststest is a small fake of AWS STS for tests: AssumeRole and
// GetCallerIdentity over the Query protocol, driven by the real
// aws-sdk-go-v2 STS client (AWS_ENDPOINT_URL_STS or BaseEndpoint).
//
// Wire shapes: the service model (awsQuery protocol, xmlNamespace
// https://sts.amazonaws.com/doc/2011-06-15/; a form POST with
// Action=<Op>&Version=2011-06-15, an <Op>Response/<Op>Result XML answer)
// as generated into aws-sdk-go-v2 service/sts@v1.52.0, whose
// response_snapshot/AssumeRole.response.snap and *.error.snap show the
// answer and the <ErrorResponse><Error><Code> error shape (HTTP 403 for a
// refusal); members from the STS API reference pages API_AssumeRole.html,
// API_Credentials.html and API_AssumedRoleUser.html
// (docs/cognito-facts.md §28).
package ststest

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// TB is the part of testing.TB NewTestServer needs.
type TB interface {
	Helper()
	Cleanup(func())
}

// Call is one AssumeRole request as the fake received it.
type Call struct {
	RoleArn, RoleSessionName, ExternalID, DurationSeconds string
	CallerKey                                             string // access key id the request was signed with
	Issued                                                string // access key id answered ("" when refused)
}

// Server is the fake STS.
type Server struct {
	URL     string
	Account string // account GetCallerIdentity names for keys it did not issue

	mu         sync.Mutex
	calls      []Call
	identities int               // GetCallerIdentity calls
	denied     map[string]bool   // role ARN -> AssumeRole refused
	issued     map[string]string // access key id -> assumed-role ARN
	secret     map[string]string // access key id -> secret, for tests that look for leaks
	hold       chan struct{}     // while non-nil, AssumeRole waits for it to close
}

// NewTestServer starts a fake STS on loopback, closed when the test ends.
func NewTestServer(tb TB) *Server {
	tb.Helper()
	s := &Server{Account: "123456789012", denied: map[string]bool{}, issued: map[string]string{}, secret: map[string]string{}}
	hs := httptest.NewServer(s)
	s.URL = hs.URL
	tb.Cleanup(hs.Close)
	return s
}

// Deny makes AssumeRole of roleARN refused with AccessDenied, as STS
// answers a caller the role's trust policy does not name.
func (s *Server) Deny(roleARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[roleARN] = true
}

// HoldAssumeRole makes AssumeRole calls wait, from now until release is
// called or the caller gives up, as a slow or unreachable STS would; each
// is counted in Calls when it arrives.
func (s *Server) HoldAssumeRole() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Calls returns the AssumeRole requests so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// IdentityCalls is how many GetCallerIdentity calls the fake answered.
func (s *Server) IdentityCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identities
}

// IssuedFor reports the assumed-role ARN an access key id was issued for
// ("" when the fake did not issue it).
func (s *Server) IssuedFor(accessKeyID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued[accessKeyID]
}

// Secrets returns every secret access key and session token issued, so
// that a test can check that none reached a log.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, v := range s.secret {
		out = append(out, strings.Split(v, "\n")...)
	}
	return out
}

// ServeHTTP answers one Query-protocol call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeError(w, http.StatusBadRequest, "InvalidAction", "want a form POST")
		return
	}
	switch r.Form.Get("Action") {
	case "AssumeRole":
		s.assumeRole(w, r)
	case "GetCallerIdentity":
		s.getCallerIdentity(w, r)
	default:
		writeError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+r.Form.Get("Action")+" for version 2011-06-15")
	}
}

func (s *Server) assumeRole(w http.ResponseWriter, r *http.Request) {
	c := Call{RoleArn: r.Form.Get("RoleArn"), RoleSessionName: r.Form.Get("RoleSessionName"), ExternalID: r.Form.Get("ExternalId"),
		DurationSeconds: r.Form.Get("DurationSeconds"), CallerKey: AccessKeyID(r)}
	role := roleName(c.RoleArn)
	s.mu.Lock()
	denied := s.denied[c.RoleArn]
	var key, secret, token string
	if !denied && role != "" && c.RoleSessionName != "" {
		key, secret, token = "ASIA"+randomID(16), randomID(40), randomID(64)
		s.issued[key] = "arn:aws:sts::" + accountOf(c.RoleArn) + ":assumed-role/" + role + "/" + c.RoleSessionName
		s.secret[key] = secret + "\n" + token
	}
	c.Issued = key
	s.calls = append(s.calls, c)
	assumed, hold := s.issued[key], s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case role == "" || c.RoleSessionName == "":
		writeError(w, http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
		return
	case chained(c.CallerKey) && duration(c.DurationSeconds) > time.Hour:
		// Role chaining: a caller signing with temporary credentials (a
		// Lambda's execution role, say) gets at most one hour
		// (API_AssumeRole.html, DurationSeconds; the message as the service
		// sends it, quoted in gitlab-org/gitlab-runner#38370).
		writeError(w, http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		return
	case denied:
		// The message shape STS gives when the trust policy does not name
		// the caller (API_AssumeRole.html, Errors; IAM troubleshooting).
		writeError(w, http.StatusForbidden, "AccessDenied", "User: "+s.callerARN(c.CallerKey)+" is not authorized to perform: sts:AssumeRole on resource: "+c.RoleArn)
		return
	}
	exp := time.Now().Add(duration(c.DurationSeconds)).UTC().Format(time.RFC3339)
	writeXML(w, "AssumeRole", fmt.Sprintf(`<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAFAKE%s:%s</AssumedRoleId></AssumedRoleUser>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`,
		esc(assumed), randomID(12), esc(c.RoleSessionName), key, secret, token, exp))
}

func (s *Server) getCallerIdentity(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.identities++
	s.mu.Unlock()
	arn := s.callerARN(AccessKeyID(r))
	account := strings.Split(arn, ":")[4]
	writeXML(w, "GetCallerIdentity", fmt.Sprintf(`<Arn>%s</Arn><UserId>AIDAFAKE</UserId><Account>%s</Account>`, esc(arn), account))
}

// callerARN names the caller: the assumed role for a key the fake issued,
// else a user of Account.
func (s *Server) callerARN(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.issued[key]; a != "" {
		return a
	}
	return "arn:aws:iam::" + s.Account + ":user/ststest"
}

// AccessKeyID is the access key id a SigV4-signed request names in its
// Authorization header ("AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/
// <service>/aws4_request, SignedHeaders=…, Signature=…", Signature Version 4
// in the IAM user guide), "" when unsigned.
func AccessKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

func writeXML(w http.ResponseWriter, op, result string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%sResult>%s</%sResult>`+
		`<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, op, op, result, op, randomID(12), op)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>`+
		`<RequestId>%s</RequestId></ErrorResponse>`, code, esc(msg), randomID(12))
}

// roleName is the role's name (last path segment) in
// arn:<partition>:iam::<account>:role/<path/>name, "" if not a role ARN.
func roleName(arn string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[2] != "iam" || !strings.HasPrefix(p[5], "role/") {
		return ""
	}
	return p[5][strings.LastIndex(p[5], "/")+1:]
}

// chained reports whether the caller signs with temporary credentials:
// their access key ids start with ASIA, long-term ones with AKIA (IAM user
// guide, "IAM identifiers", unique ID prefixes).
func chained(key string) bool { return strings.HasPrefix(key, "ASIA") }

func accountOf(arn string) string { return strings.SplitN(arn, ":", 6)[4] }

// duration is DurationSeconds, default 3600 (API_AssumeRole.html).
func duration(v string) time.Duration {
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
		n = 3600
	}
	return time.Duration(n) * time.Second
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
