package lambdatest_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/lambdatest"
)

const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func read(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// runtimeOnce plays the runtime side for one invocation: GET next, then
// POST the answer (kind "response" or "error").
func runtimeOnce(t *testing.T, rt *lambdatest.Runtime, kind, answer string) <-chan http.Header {
	got := make(chan http.Header, 1)
	go func() {
		resp, err := http.Get("http://" + rt.Addr + "/2018-06-01/runtime/invocation/next")
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- resp.Header
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		r, err := http.Post("http://"+rt.Addr+"/2018-06-01/runtime/invocation/"+id+"/"+kind, "application/json", strings.NewReader(answer))
		if err != nil || r.StatusCode != http.StatusAccepted {
			t.Errorf("POST %s: %v %v", kind, err, r)
		}
	}()
	return got
}

// TestInvokeBridgesToTheRuntime: an Invoke reaches the runtime with the
// runtime API's headers; its response, its error (flagged by
// X-Amz-Function-Error) and an init error come back to the caller; an
// unknown function is 404.
func TestInvokeBridgesToTheRuntime(t *testing.T) {
	rt := lambdatest.Start(t, lambdatest.Options{FunctionARN: fn, Timeout: 3 * time.Second})
	invoke := rt.URL + "/2015-03-31/functions/f/invocations"

	hdr := runtimeOnce(t, rt, "response", `{"ok":true}`)
	resp := post(t, invoke, `{"x":1}`)
	if body := read(t, resp); resp.StatusCode != 200 || body != `{"ok":true}` || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Errorf("response: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	h := <-hdr
	deadline, err := strconv.ParseInt(h.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if h.Get("Lambda-Runtime-Aws-Request-Id") == "" || h.Get("Lambda-Runtime-Invoked-Function-Arn") != fn ||
		!strings.HasPrefix(h.Get("Lambda-Runtime-Trace-Id"), "Root=1-") || err != nil || time.UnixMilli(deadline).Before(time.Now()) {
		t.Errorf("next headers: %v", h)
	}

	runtimeOnce(t, rt, "error", `{"errorMessage":"no","errorType":"errorString"}`)
	resp = post(t, rt.URL+"/2015-03-31/functions/"+fn+"/invocations", `{}`)
	if body := read(t, resp); resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(body, `"no"`) {
		t.Errorf("function error: %q %v", body, resp.Header)
	}

	if r := post(t, "http://"+rt.Addr+"/2018-06-01/runtime/init/error", `{"errorMessage":"bad env","errorType":"Init"}`); r.StatusCode != http.StatusAccepted {
		t.Errorf("init/error: %d", r.StatusCode)
	}
	resp = post(t, invoke, `{}`)
	if body := read(t, resp); resp.Header.Get("X-Amz-Function-Error") == "" || !strings.Contains(body, "bad env") {
		t.Errorf("the init error was not served to the next invoke: %q", body)
	}
	if r := post(t, rt.URL+"/2015-03-31/functions/other/invocations", `{}`); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown function: %d", r.StatusCode)
	}
	if n := rt.Invocations(); n != 3 {
		t.Errorf("%d invocations, want 3", n)
	}
}
