package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cogvault/cogvault/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(cleanDir{m}, map[string]func(){
		"cogvault": func() {
			// Run, as cmd/cogvault does: the scripts send signals.
			os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// cleanDir fails the package when a test left side files (restore state,
// sub mappings) in the package directory: a test that forgot a temporary
// directory once got two such files committed.
type cleanDir struct{ m *testing.M }

func (c cleanDir) Run() int {
	// No test may write keys or the trust store into the developer's
	// ~/.config; tests that need their own set XDG_CONFIG_HOME again.
	xdg, err := os.MkdirTemp("", "cogvault-test-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(xdg)
	os.Setenv("XDG_CONFIG_HOME", xdg)
	before := sideFiles()
	code := c.m.Run()
	for f := range sideFiles() {
		if !before[f] {
			fmt.Fprintf(os.Stderr, "a test left %s in the package directory; give it a temporary directory\n", f)
			code = 1
		}
	}
	return code
}

func sideFiles() map[string]bool {
	found := map[string]bool{}
	names, _ := filepath.Glob("cogvault-restore-*")
	for _, n := range names {
		found[n] = true
	}
	return found
}

// TestScripts runs the CLI scenarios under testdata/script. Golden output is
// kept in the scripts; refresh it with UPDATE_GOLDEN=1 go test ./internal/cli.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("UPDATE_GOLDEN") != "",
		Setup: func(env *testscript.Env) error {
			// Keep the developer's AWS setup out of the scripts.
			for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "COGVAULT_REPO"} {
				env.Setenv(k, "")
			}
			env.Setenv("AWS_CONFIG_FILE", env.WorkDir+"/no-aws-config")
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", env.WorkDir+"/no-aws-credentials")
			env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			// Restore's side files go to the state directory: never the developer's.
			env.Setenv("XDG_STATE_HOME", env.WorkDir+"/.state")
			// Keys and the trust store stay out of the developer's ~/.config.
			env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/.config")
			env.Setenv("COGVAULT_SIGNING_KEY", "")
			env.Setenv("COGVAULT_REPO_KEY", "")
			return nil
		},
	})
}
