package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDistStampsTheVersion runs scripts/dist.sh (what `make dist` runs) for
// the host platform only (all six take too long for CI), unpacks the
// archive, and checks the binary reports the stamped version and commit,
// and that SHA256SUMS passes `sha256sum -c`.
func TestDistStampsTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	for _, tool := range []string{"bash", "tar", "sha256sum", "git"} {
		if _, err := exec.LookPath(tool); err != nil || runtime.GOOS == "windows" {
			t.Skipf("needs %s on a unix host", tool)
		}
	}
	dist := t.TempDir()
	const version, commit = "v9.8.7-test", "0123456789abcdef0123456789abcdef01234567"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("bash", "../../scripts/dist.sh")
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION="+version, "COMMIT="+commit, "PLATFORMS="+platform)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dist.sh: %v\n%s", err, out)
	}
	name := "cogvault_" + version + "_" + runtime.GOOS + "_" + runtime.GOARCH
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(sums)), "  "+name+".tar.gz") {
		t.Fatalf("SHA256SUMS: %v\n%s", err, sums)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = dist
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	unpack := t.TempDir()
	if out, err := exec.Command("tar", "-C", unpack, "-xzf", filepath.Join(dist, name+".tar.gz")).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	bin := filepath.Join(unpack, name, "cogvault")
	out, err := exec.Command(bin, "--version").Output()
	want := "cogvault " + version + " (commit " + commit + ", go"
	if err != nil || !strings.HasPrefix(string(out), want) || strings.Contains(string(out), "development") {
		t.Fatalf("--version: %v\n%s\nwant prefix %q", err, out, want)
	}
	out, err = exec.Command(bin, "version", "--output", "json").Output()
	var v struct {
		Version, Commit string
		Devel           bool
	}
	if err != nil || json.Unmarshal(out, &v) != nil || v.Version != version || v.Commit != commit || v.Devel {
		t.Fatalf("version --output json: %v\n%s", err, out)
	}
}
