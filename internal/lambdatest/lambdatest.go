// Package lambdatest runs a real Lambda bootstrap binary in tests: it is a
// small emulator of the Lambda runtime API the binary polls
// (AWS_LAMBDA_RUNTIME_API) and of the Lambda Invoke API a caller uses (the
// fake Cognito's LambdaEndpoint), and it bridges each Invoke to one runtime
// invocation.
//
// Runtime API: the Lambda developer guide, "Using the Lambda runtime API for
// custom runtimes" (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// and its OpenAPI file for version 2018-06-01: GET
// /2018-06-01/runtime/invocation/next answers the event with the headers
// Lambda-Runtime-Aws-Request-Id, -Deadline-Ms (Unix ms), -Invoked-Function-Arn
// and -Trace-Id; POST …/invocation/<id>/response and …/<id>/error, and POST
// /2018-06-01/runtime/init/error, answer 202 Accepted; an init error "will be
// served in response to the first invoke". Invoke API: API_Invoke.html in
// the Lambda API reference: POST /2015-03-31/functions/<name>/invocations,
// 200 with the function's payload, a function error flagged by
// X-Amz-Function-Error with {"errorMessage", "errorType"} as the payload.
// docs/cognito-facts.md §28.
package lambdatest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Runtime.
type Options struct {
	// FunctionARN is the one function served; Invoke names it by name or ARN.
	FunctionARN string
	// Timeout is the function's timeout (default 5 s, a trigger's budget):
	// the deadline the runtime is given, and when Invoke gives up.
	Timeout time.Duration
}

// Runtime is the emulator. Addr goes into AWS_LAMBDA_RUNTIME_API; URL is
// the Invoke API endpoint.
type Runtime struct {
	Addr, URL string
	opts      Options
	srv       *http.Server
	queue     chan *invocation

	mu      sync.Mutex
	pending map[string]*invocation
	initErr []byte // a reported init error, served to the next Invoke
	invokes int
}

type invocation struct {
	id      string
	payload []byte
	done    chan result
}

type result struct {
	body  []byte
	fnErr string // X-Amz-Function-Error, "" on success
}

// TB is the part of testing.TB Start needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start serves the emulator on loopback until the test ends.
func Start(tb TB, opts Options) *Runtime {
	tb.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("lambdatest: listen: %v", err)
	}
	r := &Runtime{Addr: ln.Addr().String(), opts: opts, queue: make(chan *invocation, 16), pending: map[string]*invocation{}}
	r.URL = "http://" + r.Addr
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	tb.Cleanup(func() { _ = r.srv.Close() })
	return r
}

// Invocations is how many Invoke calls reached the function.
func (r *Runtime) Invocations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invokes
}

func (r *Runtime) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p := req.URL.Path
	switch {
	case p == "/2018-06-01/runtime/invocation/next" && req.Method == http.MethodGet:
		r.next(w, req)
	case strings.HasPrefix(p, "/2018-06-01/runtime/invocation/") && req.Method == http.MethodPost:
		r.answer(w, req, strings.TrimPrefix(p, "/2018-06-01/runtime/invocation/"))
	case p == "/2018-06-01/runtime/init/error" && req.Method == http.MethodPost:
		r.initError(w, req)
	case strings.HasPrefix(p, "/2015-03-31/functions/") && req.Method == http.MethodPost:
		r.invoke(w, req)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"errorMessage": "unknown path " + p, "errorType": "InvalidRequest"})
	}
}

// next blocks until an invocation is queued ("Do not set a timeout on the
// GET request"), then hands it to the runtime with its headers.
func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	var inv *invocation
	select {
	case inv = <-r.queue:
	case <-req.Context().Done():
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(r.opts.Timeout).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", r.opts.FunctionARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+randomHex(4)+"-"+randomHex(12)+";Parent="+randomHex(8)+";Sampled=0")
	_, _ = w.Write(inv.payload)
}

// answer takes <id>/response or <id>/error.
func (r *Runtime) answer(w http.ResponseWriter, req *http.Request, rest string) {
	id, kind, _ := strings.Cut(rest, "/")
	body, _ := io.ReadAll(io.LimitReader(req.Body, 6<<20+1))
	r.mu.Lock()
	inv := r.pending[id]
	delete(r.pending, id)
	r.mu.Unlock()
	if inv == nil || (kind != "response" && kind != "error") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorMessage": "unknown request id or path", "errorType": "InvalidRequestID"})
		return
	}
	res := result{body: body}
	if kind == "error" {
		res.fnErr = "Unhandled"
	}
	inv.done <- res
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	r.initErr = body
	r.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// invoke is the Invoke API: one synchronous invocation of the function.
func (r *Runtime) invoke(w http.ResponseWriter, req *http.Request) {
	rest := strings.TrimPrefix(req.URL.Path, "/2015-03-31/functions/")
	fn, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || (fn != r.opts.FunctionARN && !strings.HasSuffix(r.opts.FunctionARN, ":function:"+fn)) {
		writeJSON(w, http.StatusNotFound, map[string]string{"Type": "User", "Message": "Function not found: " + fn})
		return
	}
	payload, err := io.ReadAll(io.LimitReader(req.Body, 6<<20))
	if err != nil || !json.Valid(payload) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"Type": "User", "Message": "Could not parse request body into json"})
		return
	}
	r.mu.Lock()
	r.invokes++
	initErr := r.initErr
	r.initErr = nil
	inv := &invocation{id: newRequestID(), payload: payload, done: make(chan result, 1)}
	if initErr == nil {
		r.pending[inv.id] = inv
	}
	r.mu.Unlock()
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if initErr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		writeRaw(w, initErr)
		return
	}
	r.queue <- inv
	select {
	case res := <-inv.done:
		if res.fnErr != "" {
			w.Header().Set("X-Amz-Function-Error", res.fnErr)
		}
		writeRaw(w, res.body)
	case <-time.After(r.opts.Timeout + time.Second): // queueing plus the deadline
		r.mu.Lock()
		delete(r.pending, inv.id)
		r.mu.Unlock()
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		writeJSON(w, http.StatusOK, map[string]string{"errorMessage": fmt.Sprintf("%s Task timed out after %.2f seconds", inv.id, r.opts.Timeout.Seconds()), "errorType": "Sandbox.Timedout"})
	case <-req.Context().Done():
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeRaw(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.Copy(w, bytes.NewReader(b))
}

func newRequestID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
