package cli_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

var drillMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}`), "SNAPSHOT"},
	{regexp.MustCompile(`\d{8}T\d{6}-[0-9a-f]{8}`), "RUN"},
	{regexp.MustCompile(`us-east-1_[0-9A-Za-z]+`), "POOL"},
	{regexp.MustCompile(`measured [0-9.]+ s; whole snapshot: [0-9.]+ s scaled`), "measured M s; whole snapshot: S s scaled"},
	{regexp.MustCompile(`projected [0-9.]+ s`), "projected P s"},
}

func maskDrill(s string) string {
	for _, m := range drillMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// The drill's text report, masked where it varies, is the one the README
// quotes.
func TestDrillTextReportIsTheREADMEs(t *testing.T) {
	_, common := drillSetup(t, 60)
	code, out, errOut := run(t, context.Background(), append([]string{"drill", "latest"}, common...)...)
	if code != 0 {
		t.Fatalf("drill: exit %d\n%s\n%s", code, out, errOut)
	}
	got := maskDrill(out)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "$ cogvault drill --repo ./backups latest\n"+got) {
		t.Errorf("README.md does not quote the drill's report; it prints (masked):\n%s", got)
	}
}
