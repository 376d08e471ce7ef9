package cli_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The demo's output quoted in the README is what `cogvault demo` prints,
// line for line and file names included; only what changes from run to run
// (port, snapshot id, temporary directory, sizes, timings, call counts) is
// masked.
func TestREADMEShowsTheDemoOutput(t *testing.T) {
	isolateAWS(t)
	t.Setenv("TMPDIR", t.TempDir())
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	quoted, ok := demoBlock(string(readme))
	if !ok {
		t.Fatal("README.md has no ``` block starting with the demo's \"1. fake Cognito on\" line")
	}
	code, out, errOut := run(t, context.Background(), "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	want, got := maskDemo(quoted), maskDemo(strings.TrimRight(out, "\n"))
	if want != got {
		t.Errorf("README.md quotes the demo as (masked):\n%s\n\nthe demo prints (masked):\n%s\n\nunmasked output:\n%s", want, got, out)
	}
}

// demoBlock returns the fenced block of README that holds the demo output.
func demoBlock(readme string) (string, bool) {
	for _, block := range strings.Split(readme, "```")[1:] {
		block = strings.TrimPrefix(block, "\n")
		if strings.HasPrefix(block, "1. fake Cognito on ") {
			return strings.TrimRight(block, "\n"), true
		}
	}
	return "", false
}

var demoMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "http://127.0.0.1:PORT"},
	{regexp.MustCompile(`\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}`), "SNAPSHOT"},
	{regexp.MustCompile(`\S*/cogvault-demo-\d+`), "DIR"},
	{regexp.MustCompile(`\d+(\.\d+)? (B|KiB|MiB)\)`), "SIZE)"},
	{regexp.MustCompile(`done in [\d.]+s: \d+ Cognito API calls`), "done in Ts: N Cognito API calls"},
	{regexp.MustCompile(`ed25519:[A-Za-z0-9+/]{43}=`), "ed25519:KEY"},
}

func maskDemo(s string) string {
	for _, m := range demoMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}
