package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateDir(t *testing.T) {
	tmp := t.TempDir()
	home, xdg := filepath.Join(tmp, "home"), filepath.Join(tmp, "xdg")
	env := func(vals map[string]string) func(string) string {
		return func(k string) string { return vals[k] }
	}
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	// XDG_STATE_HOME, when absolute.
	if d, err := stateDir(env(map[string]string{"XDG_STATE_HOME": xdg, "HOME": home}), ""); err != nil || d != filepath.Join(xdg, "cogvault") || mode(d) != 0o700 {
		t.Errorf("with XDG_STATE_HOME: %q, %v", d, err)
	}
	// A relative XDG_STATE_HOME is ignored, as the XDG specification says.
	want := filepath.Join(home, ".local", "state", "cogvault")
	if err := os.MkdirAll(want, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(want, 0o755); err != nil {
		t.Fatal(err)
	}
	if d, err := stateDir(env(map[string]string{"XDG_STATE_HOME": "relative", "HOME": home}), ""); err != nil || d != want {
		t.Errorf("with a relative XDG_STATE_HOME: %q, %v; want %s", d, err, want)
	}
	if m := mode(want); m != 0o700 {
		t.Errorf("the default directory kept mode %v, want 0700", m)
	}
	// --state-dir wins, and a directory the user made keeps its mode.
	mine := filepath.Join(tmp, "mine")
	if err := os.Mkdir(mine, 0o750); err != nil {
		t.Fatal(err)
	}
	if d, err := stateDir(env(nil), mine); err != nil || d != mine || mode(mine) != 0o750 {
		t.Errorf("--state-dir: %q, %v, mode %v", d, err, mode(mine))
	}
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := stateDir(env(nil), file); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("--state-dir naming a file: %v", err)
	}
}
