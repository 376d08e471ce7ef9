package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// evilProxy forwards to the fake and rewrites marker in its answers into
// terminal controls (ESC [2J clears the screen, U+202E reverses the line,
// then a newline):
// Cognito refuses such a group name, so only a changed answer or a
// tampered repository carries one, which is what the test stands for.
func evilProxy(t *testing.T, target, marker string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body.Close()
		b = bytes.ReplaceAll(b, []byte(marker), []byte(`\u001b[2J\u202e\u009b\n`))
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Terminal controls in names from a pool or a repository print escaped in
// text output: a group named "evil\x1b[2J\u202e\u009b" is written into a
// snapshot, then restored into a pool that refuses that name; the report and
// the error lines show \x1b[2J\u202e\u009b, never the raw characters.
func TestTextOutputEscapesTerminalControls(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 10, Groups: 1})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 9})
	ctx := context.Background()
	api := newFakeClient(t, srv)
	const marker = "ZZEVILZZ"
	if _, err := api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &src.PoolID, GroupName: aws.String("evil" + marker)}); err != nil {
		t.Fatal(err)
	}
	user := firstUser(t, srv, src.PoolID)
	if _, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &src.PoolID, Username: &user, GroupName: aws.String("evil" + marker)}); err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir() + "/repo"
	common := []string{"--region", "us-east-1", "--repo", repoDir}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID, "--endpoint-url", evilProxy(t, srv.URL, marker)}, common...)...); code != 0 {
		t.Fatalf("backup through the proxy: %s", errOut)
	}
	var all []string
	for _, args := range [][]string{
		{"restore", "latest", "--to", tgt.PoolID},
		{"diff", "latest", "--pool", src.PoolID},
	} {
		code, out, errOut := run(t, ctx, append(append(args, "--endpoint-url", srv.URL), common...)...)
		t.Logf("%v: exit %d", args[0], code)
		all = append(all, out, errOut)
	}
	text := strings.Join(all, "\n")
	if !strings.Contains(text, `evil\x1b[2J\u202e\u009b`) {
		t.Fatalf("no escaped group name in the output:\n%s", text)
	}
	// In the diff's lines the name's newline is escaped too: it cannot start
	// a line of its own.
	if !strings.Contains(all[2], "- group evil\\x1b[2J\\u202e\\u009b\\x0a\n") {
		t.Errorf("diff does not print the group on one line:\n%s", all[2])
	}
	for _, raw := range []string{"\x1b", "\u202e", "\u009b"} {
		if strings.Contains(text, raw) {
			t.Errorf("output carries a raw %q:\n%q", raw, text)
		}
	}
}
