package cognitotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cogvault/cogvault/internal/quota"
)

// targetPrefix is the X-Amz-Target prefix of every Cognito user-pool call.
const targetPrefix = "AWSCognitoIdentityProviderService."

// Options configures a Service. The zero value is a service in us-east-1 with
// Cognito's default quotas on, exactly like a fresh AWS account.
type Options struct {
	// Region is used in pool ids and ARNs. Default "us-east-1".
	Region string
	// AccountID is used in ARNs. Default "123456789012".
	AccountID string
	// Rates overrides quota categories (requests per second); a missing
	// category uses Cognito's default.
	Rates quota.Rates
	// QuotaScale multiplies every rate (0 means 1). The demo uses it to finish
	// in seconds; benchmarks must say which scale they ran under.
	QuotaScale float64
	// NoQuotas turns request-rate quotas off.
	NoQuotas bool
	// Seed makes ids, subs and generated data reproducible. Default 1.
	Seed uint64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// LambdaEndpoint, when set, is the Lambda Invoke API the fake calls for
	// the trigger ARNs in a pool's LambdaConfig (triggers.go); empty: the
	// fake invokes no trigger.
	LambdaEndpoint string
	// LambdaClient makes those calls (default http.DefaultClient).
	LambdaClient *http.Client
	// TokenLifetime, when positive, refuses a pagination token older than
	// this (by Now) as an invalid marker (token.go). Cognito does not
	// publish a lifetime (facts §23: UNCONFIRMED), so by default tokens
	// never expire; tests set it to show that a client survives expiry.
	TokenLifetime time.Duration
}

// Service is the fake cognito-idp service. It implements http.Handler.
type Service struct {
	opts   Options
	quotas *quotas
	limits provisioned // the account's provisioned limits (provisioned.go)
	faults faults
	stats  stats
	reqID  atomic.Uint64
	// messages counts email/SMS messages the service would have sent, so
	// tests can prove a restore sends none.
	messages atomic.Int64
	outbox   []OutboxMessage // guarded by mu (outbox.go)

	mu     sync.RWMutex
	rnd    *rand.Rand // guarded by mu
	pools  map[string]*pool
	secret []byte // signs pagination tokens so clients cannot forge them
	jobs   map[string]*importJob
	url    string // base URL when served by Start, for presigned upload URLs
	// stopAfter stops every import job after this many user lines (0: never).
	stopAfter int
	// failAfter fails every import job after this many user lines (0:
	// never); failLines is how many failed or skipped lines fail a job that
	// imported fewer (importjobs.go).
	failAfter, failLines int
	// held keeps started import jobs InProgress until it is closed (nil:
	// no hold; HoldImportJobs).
	held chan struct{}
	// listLag hides users younger than this from ListUsers.
	listLag time.Duration

	denials denials // DenyActions
	callers callers // CallerKeys (callers.go)
	// subPrefix says how ListUsers answers a `sub ^=` filter.
	subPrefix SubPrefix
}

// New returns a Service with no pools.
func New(opts Options) *Service {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		opts:  opts,
		rnd:   rand.New(rand.NewPCG(opts.Seed, 0x636f677661756c74)),
		pools: map[string]*pool{},
	}
	s.secret = make([]byte, 32)
	for i := range s.secret {
		s.secret[i] = byte(s.rnd.Uint32())
	}
	if !opts.NoQuotas {
		rates := quota.Defaults()
		for c, v := range opts.Rates {
			rates[c] = v
		}
		if opts.QuotaScale > 0 {
			rates = rates.Scaled(opts.QuotaScale)
		}
		s.quotas = newQuotas(rates, opts.QuotaScale, opts.Rates)
	}
	return s
}

// MessagesSent is the number of invitation, confirmation, MFA,
// forgot-password or migration welcome messages the service would have
// delivered to users (the last two are also in the outbox, outbox.go).
func (s *Service) MessagesSent() int64 { return s.messages.Load() }

// Region is the region the service pretends to be in.
func (s *Service) Region() string { return s.opts.Region }

type handlerFunc func(s *Service, body []byte) (any, *apiError)

// maxBody bounds a request body; Cognito requests are small.
const maxBody = 1 << 20

// ServeHTTP implements the AWS JSON 1.1 protocol: POST / with
// X-Amz-Target: AWSCognitoIdentityProviderService.<Op>. A call passes, in
// order, IAM, injected faults, the category quota, then (once its body is
// read) the per-pool and per-user quotas, and only then reaches its handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("%08x-fake-%012x", s.opts.Seed, s.reqID.Add(1))
	w.Header().Set("x-amzn-RequestId", id)
	if r.URL.Path == OutboxPath {
		s.serveOutbox(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/import/") {
		s.serveImportUpload(w, r)
		return
	}
	op, h, aerr := route(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.stats.call(op)
	s.callers.record(op, r)
	if !s.admit(w, r, op) {
		return
	}
	body, aerr := readBody(r)
	if aerr != nil {
		s.failed(w, op, aerr)
		return
	}
	if s.quotas != nil && (!s.quotas.allowPool(op, body) || !s.quotas.allowUser(op, body)) {
		s.throttled(w, op)
		return
	}
	out, aerr := h(s, body)
	if aerr != nil {
		s.failed(w, op, aerr)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.failed(w, op, errInternal())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	_, _ = w.Write(b)
}

// route finds the operation a request names and its handler, in the
// Cognito table or the CloudWatch Logs one.
func route(r *http.Request) (string, handlerFunc, *apiError) {
	if r.Method != http.MethodPost {
		return "", nil, newErr("UnknownOperationException", "method %s not allowed", r.Method)
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	table := handlers
	if !ok {
		if op, ok = strings.CutPrefix(target, logsTargetPrefix); ok {
			table = logsHandlers
		}
	}
	if !ok {
		return "", nil, newErr("UnknownOperationException", "missing or unknown X-Amz-Target")
	}
	h, ok := table[op]
	if !ok {
		return "", nil, newErr("UnknownOperationException", "operation %s is not implemented by the fake", op)
	}
	return op, h, nil
}

// admit applies what answers before the body is read: IAM, injected
// faults and the category quota. It reports whether the call goes on.
func (s *Service) admit(w http.ResponseWriter, r *http.Request, op string) bool {
	if aerr := s.denied(op, r); aerr != nil { // IAM answers before quotas and faults
		s.failed(w, op, aerr)
		return false
	}
	if f := s.faults.take(op); f != nil && !s.injected(w, r, op, f) {
		return false
	}
	if s.quotas != nil && !s.quotas.allow(op) {
		s.throttled(w, op)
		return false
	}
	return true
}

// injected applies fault f to a call of op; it reports whether the call
// goes on (latency only).
func (s *Service) injected(w http.ResponseWriter, r *http.Request, op string, f *Fault) bool {
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return false
		}
	}
	switch f.Kind {
	case FaultThrottle:
		s.throttled(w, op)
	case FaultServerError:
		s.failed(w, op, errInternal())
	case FaultReset:
		s.stats.fail(op)
		resetConn(w)
	case FaultError:
		s.failed(w, op, newErr(f.Code, "injected %s", f.Code))
	case FaultDrop:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte("{}"))
	default:
		return true
	}
	return false
}

func readBody(r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errInvalidParameter("cannot read request body: %v", err)
	}
	if len(body) > maxBody {
		return nil, errInvalidParameter("request body too large")
	}
	return body, nil
}

func (s *Service) throttled(w http.ResponseWriter, op string) {
	s.stats.throttle(op)
	writeError(w, errTooManyRequests())
}

func (s *Service) failed(w http.ResponseWriter, op string, aerr *apiError) {
	s.stats.fail(op)
	writeError(w, aerr)
}

func writeError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// resetConn drops the TCP connection without a response, as a load balancer
// reset or a dead peer would.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// decode unmarshals a request body into v. Unknown members are ignored, as the
// real service ignores members newer SDKs send.
func decode(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return newErr("SerializationException", "Unexpected type for member %s", te.Field)
		}
		return newErr("SerializationException", "cannot parse request: %v", err)
	}
	return nil
}

// epoch renders a time the way the AWS JSON protocol encodes timestamps: epoch
// seconds as a JSON number with a fractional part.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	return []byte(fmt.Sprintf("%d.%03d", tt.Unix(), tt.Nanosecond()/int(time.Millisecond))), nil
}

func ts(t time.Time) *epoch { e := epoch(t); return &e }

// now returns the service clock truncated to milliseconds, the precision of
// Cognito's timestamps on the wire.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }
