package cognitotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// denials are the operations IAM refuses to the caller (DenyActions).
type denials struct {
	mu  sync.Mutex
	ops map[string]int // operation -> how many DenyActions calls deny it
}

// DenyActions makes the service refuse the named operations as IAM refuses a
// call no policy allows, for tests of what a missing permission does. The
// answer is what Cognito sends for it: HTTP 400, AccessDeniedException,
// "User: <caller ARN> is not authorized to perform: cognito-idp:<Op> on
// resource: <ARN> because no identity-based policy allows the
// cognito-idp:<Op> action" (shape of a real answer quoted in
// aws-amplify/amplify-cli#9569; docs/cognito-facts.md section 14). The
// resource is the pool's ARN when the request names a pool, else "*" (the
// actions without a resource type name none). The returned func lifts it.
// Independent of InjectFault: a denial never runs out.
func (s *Service) DenyActions(ops ...string) (allow func()) {
	d := &s.denials
	d.mu.Lock()
	if d.ops == nil {
		d.ops = map[string]int{}
	}
	for _, op := range ops {
		d.ops[op]++
	}
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			for _, op := range ops {
				if d.ops[op]--; d.ops[op] <= 0 {
					delete(d.ops, op)
				}
			}
		})
	}
}

// denied answers the refusal for op, if it is denied. It reads the body for
// the pool id and puts it back.
func (s *Service) denied(op string, r *http.Request) *apiError {
	s.denials.mu.Lock()
	n := s.denials.ops[op]
	s.denials.mu.Unlock()
	if n == 0 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in struct{ UserPoolId string }
	_ = json.Unmarshal(body, &in)
	resource := "*"
	if in.UserPoolId != "" {
		resource = "arn:aws:cognito-idp:" + s.opts.Region + ":" + s.opts.AccountID + ":userpool/" + in.UserPoolId
	}
	caller := "arn:aws:sts::" + s.opts.AccountID + ":assumed-role/cognitotest/session"
	return newErr("AccessDeniedException", "User: %s is not authorized to perform: cognito-idp:%s on resource: %s because no identity-based policy allows the cognito-idp:%s action",
		caller, op, resource, op)
}
