package cli

import (
	"errors"
	"fmt"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
)

// refusedAsForged: the repository presents an object its writer did not
// sign, a plaintext object in an encrypted repository, a removed
// config.json, or a key other than the pinned one.
func refusedAsForged(err error) bool {
	return errors.Is(err, sign.ErrSignature) || errors.Is(err, sign.ErrKeyChanged) ||
		errors.Is(err, crypt.ErrPlaintext) || errors.Is(err, repo.ErrNoConfig)
}

// Exit codes scripts depend on (see each command's EXIT STATUS).
const (
	ExitOK         = 0
	ExitError      = 1
	ExitUsage      = 2
	ExitIncomplete = 3
)

// exitError carries the process exit code of a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// withCode attaches an exit code to err.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if refusedAsForged(err) {
		// Whatever step met it, an object someone without the key wrote
		// is a refusal (exit 1), never a usage error.
		return ExitError
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}

// listed says where the items an error counts were printed: above it in
// text, but with --output json in the document on stdout, as stderr then
// has nothing above.
func (g *globalOptions) listed() string {
	if g.json() {
		return "listed in the JSON output"
	}
	return "listed above"
}
