package capture

import (
	"errors"
	"fmt"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/repo"
)

// readable refuses, before anything is read or written, an action that
// reads an encrypted repository back (a restore, a drill) when the
// function holds no age identity: crypt's own error would send a Lambda
// user to a CLI flag. The worker gets one from Secrets Manager
// (cmd/cogvault-lambda identity.go; docs/cognito-facts.md §29).
func (h *Handler) readable(action string) error {
	c := h.cfg.Repo.Config
	if h.cfg.AgeIdentity || c == nil || c.Encryption != repo.EncryptionAge {
		return nil
	}
	return requestError{fmt.Errorf("%s: the repository is encrypted and this function holds no age identity to read it: set COGVAULT_AGE_IDENTITY_SECRET_ARN to the ARN of a Secrets Manager secret holding the identity file's text, or run it from the CLI with --age-identity", action)}
}

// cryptKind names, for a redacted error (redact.go), a failure to decrypt
// what the repository holds; "" for any other error. Neither names a user.
func cryptKind(err error) string {
	var nm *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nm):
		return "the age identity (COGVAULT_AGE_IDENTITY_SECRET_ARN) matches none of the recipients of an object in the repository: store the identity whose public key the repository was initialised with"
	case errors.Is(err, crypt.ErrNoIdentity):
		return "the repository is encrypted and this function holds no age identity (COGVAULT_AGE_IDENTITY_SECRET_ARN)"
	}
	return ""
}
