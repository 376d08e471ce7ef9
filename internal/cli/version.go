package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// stampedVersion and stampedCommit are set by release builds (make dist):
//
//	-ldflags "-X github.com/cogvault/cogvault/internal/cli.stampedVersion=v1.2.3
//	          -X github.com/cogvault/cogvault/internal/cli.stampedCommit=<sha>"
//
// -X can only set package-level string variables; nothing assigns them at
// run time.
var (
	stampedVersion string
	stampedCommit  string
)

// buildInfo is what `cogvault version` reports.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	Devel    bool   `json:"devel"`              // not a stamped release build
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// readBuildInfo prefers the release stamp, then the module version `go
// install …@vX` records, then "devel" with the VCS revision `go build`
// records in a checkout.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: stampedVersion, Commit: stampedCommit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if b.Version == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Version == "" || b.Version == "devel" { // dist.sh outside a git checkout stamps "devel"
		b.Version, b.Devel = "devel", true
	}
	if ok && b.Commit == "" {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

// Version is the cogvault version recorded in snapshot manifests: the
// release version, or "devel" plus the first 12 digits of the VCS revision.
func Version() string {
	b := readBuildInfo()
	if b.Devel && len(b.Commit) >= 12 {
		return b.Version + "+" + b.Commit[:12]
	}
	return b.Version
}

// versionLine is the one line `cogvault version` and `cogvault --version`
// print.
func versionLine() string {
	b := readBuildInfo()
	var parts []string
	if b.Devel {
		parts = append(parts, "development build")
	}
	if b.Commit != "" {
		c := "commit " + b.Commit
		if b.Modified {
			c += " (modified)"
		}
		parts = append(parts, c)
	}
	parts = append(parts, b.Go, b.Platform)
	return "cogvault " + b.Version + " (" + strings.Join(parts, ", ") + ")"
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print cogvault's version",
		Long: `Print cogvault's version, the commit it was built from, the Go version it
was built with and the platform. A build that is not a release (go run, go
build in a checkout) says "development build". --output json prints
{"version", "commit", "modified", "devel", "go", "platform"}.
'cogvault --version' prints the same line.

EXIT STATUS
  0  always`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json() {
				return printJSON(cmd.OutOrStdout(), readBuildInfo())
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}
