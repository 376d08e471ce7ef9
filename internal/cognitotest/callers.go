package cognitotest

import (
	"net/http"
	"strings"
	"sync"
)

// callers records which credentials signed each operation, so that a test
// can tell whose identity a client used (a source pool reached through an
// assumed role, say). The access key id is the first part of the
// Credential scope of a Signature Version 4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/<service>/
// aws4_request, SignedHeaders=…, Signature=…" (IAM user guide, "Elements of
// an AWS API request signature"; docs/cognito-facts.md §28). The fake does
// not check signatures, as before.
type callers struct {
	mu   sync.Mutex
	keys map[string][]string // operation -> access key ids, in call order
}

func (c *callers) record(op string, r *http.Request) {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return // unsigned (anonymous credentials)
	}
	key, _, _ := strings.Cut(cred, "/")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[string][]string{}
	}
	c.keys[op] = append(c.keys[op], key)
}

// CallerKeys returns the access key ids that signed calls of op, one per
// call in call order; unsigned calls are left out.
func (s *Service) CallerKeys(op string) []string {
	s.callers.mu.Lock()
	defer s.callers.mu.Unlock()
	return append([]string(nil), s.callers.keys[op]...)
}
