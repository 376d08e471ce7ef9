// Command cogvault backs up, restores and migrates Amazon Cognito user pools.
// All behaviour lives in internal/cli; main only passes the exit code on.
package main

import (
	"os"

	"github.com/cogvault/cogvault/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
