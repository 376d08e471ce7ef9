// Package secretstest is a small fake of AWS Secrets Manager for tests:
// GetSecretValue over the AWS JSON 1.1 protocol, driven by the real
// aws-sdk-go-v2 secretsmanager client (AWS_ENDPOINT_URL_SECRETS_MANAGER or
// BaseEndpoint).
//
// Wire shapes (docs/cognito-facts.md §29): the service model as generated
// into aws-sdk-go-v2 service/secretsmanager@v1.50.12 — awsJson1_1
// (`awsjson.New11` in api_client.go), request_snapshot/
// GetSecretValue.request.snap (POST /, Content-Type
// application/x-amz-json-1.1, X-Amz-Target secretsmanager.GetSecretValue,
// body {"SecretId", "VersionId", "VersionStage"}),
// response_snapshot/GetSecretValue.response.snap (ARN, CreatedDate as epoch
// seconds, Name, SecretBinary base64, SecretString, VersionId,
// VersionStages) and response_snapshot/ResourceNotFoundException.error.snap
// (HTTP 400, {"__type": "ResourceNotFoundException", "Message": …}).
// AccessDeniedException is not in the model: it is one of the Secrets
// Manager API reference's "Common Errors", HTTP 400; its message wording is
// the one users quote from the service ("User: … is not authorized to
// perform: secretsmanager:GetSecretValue on resource: … because no
// identity-based policy allows the secretsmanager:GetSecretValue action").
package secretstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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

// Server is the fake Secrets Manager.
type Server struct {
	URL string

	mu      sync.Mutex
	secrets map[string]*secret // by ARN
	denied  map[string]bool    // ARN -> GetSecretValue refused
	calls   int
}

type secret struct {
	arn, name string
	text      *string
	binary    []byte
	version   string
	created   time.Time
}

// NewTestServer starts a fake Secrets Manager on loopback, closed when the
// test ends.
func NewTestServer(tb TB) *Server {
	tb.Helper()
	s := &Server{secrets: map[string]*secret{}, denied: map[string]bool{}}
	hs := httptest.NewServer(s)
	s.URL = hs.URL
	tb.Cleanup(hs.Close)
	return s
}

// ARN is the ARN Secrets Manager gives a secret named name: the name, a
// hyphen and six random characters (Secrets Manager API reference,
// CreateSecret, Name: "Secrets Manager automatically adds a hyphen and six
// random characters after the secret name at the end of the ARN").
func ARN(region, account, name string) string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, account, name, hex.EncodeToString(b[:]))
}

// PutString stores text as the current value of the secret arn (created
// when new), as PutSecretValue with SecretString does.
func (s *Server) PutString(arn, text string) {
	s.put(arn, &text, nil)
}

// PutBinary stores b as the secret's current value, as SecretBinary.
func (s *Server) PutBinary(arn string, b []byte) {
	s.put(arn, nil, b)
}

// PutEmpty makes a secret with no value yet (CreateSecret without
// SecretString or SecretBinary): GetSecretValue answers
// ResourceNotFoundException for it, as boto/boto3#2794 reports the service
// doing.
func (s *Server) PutEmpty(arn string) {
	s.put(arn, nil, nil)
}

func (s *Server) put(arn string, text *string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v [16]byte
	rand.Read(v[:])
	name := arn[strings.LastIndex(arn, ":")+1:]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		name = name[:i]
	}
	s.secrets[arn] = &secret{arn: arn, name: name, text: text, binary: b, version: hex.EncodeToString(v[:]), created: time.Now()}
}

// Deny makes GetSecretValue of arn refused with AccessDeniedException, as
// for a caller whose policy does not grant it.
func (s *Server) Deny(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[arn] = true
}

// Calls counts the GetSecretValue requests received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// ServeHTTP answers the JSON 1.1 protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || target != "secretsmanager.GetSecretValue" {
		writeError(w, 400, "UnknownOperationException", "the fake answers secretsmanager.GetSecretValue only, not "+target)
		return
	}
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionID    string `json:"VersionId"`
		VersionStage string `json:"VersionStage"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretID == "" {
		writeError(w, 400, "InvalidParameterException", "SecretId is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	sec := s.lookup(in.SecretID)
	if sec != nil && s.denied[sec.arn] || sec == nil && s.denied[in.SecretID] {
		writeError(w, 400, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/cogvault-worker/cogvault-worker is not authorized to perform: secretsmanager:GetSecretValue on resource: "+
			in.SecretID+" because no identity-based policy allows the secretsmanager:GetSecretValue action")
		return
	}
	if sec == nil || sec.text == nil && sec.binary == nil || in.VersionID != "" && in.VersionID != sec.version ||
		in.VersionStage != "" && in.VersionStage != "AWSCURRENT" {
		writeError(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": sec.version, "VersionStages": []string{"AWSCURRENT"},
		"CreatedDate": float64(sec.created.UnixMilli()) / 1000}
	if sec.text != nil {
		out["SecretString"] = *sec.text
	} else {
		out["SecretBinary"] = sec.binary // encoding/json writes base64, as the protocol does
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID())
	json.NewEncoder(w).Encode(out)
}

// lookup finds a secret by ARN or by name.
func (s *Server) lookup(id string) *secret {
	if sec, ok := s.secrets[id]; ok {
		return sec
	}
	for _, sec := range s.secrets {
		if sec.name == id {
			return sec
		}
	}
	return nil
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID())
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "Message": msg})
}

func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
