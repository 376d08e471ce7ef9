package capture

import (
	"context"
	"errors"
	"strings"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// requestError is a fault of the invocation's own request: its text quotes
// only the request, so it is returned as it is.
type requestError struct{ error }

func (e requestError) Unwrap() error { return e.error }

// actionError is what a failed snapshot or restore action returns. The
// Lambda runtime writes a function's error to CloudWatch Logs, and the
// errors of backup and restore name users and groups (`add "fatima.3" to
// group "admins"`), so its text says only which action failed, in which
// API operation and with which error class. Unwrap keeps the cause for
// errors.Is in the code that calls the handler.
type actionError struct {
	msg string
	err error
}

func (e *actionError) Error() string { return e.msg }
func (e *actionError) Unwrap() error { return e.err }

// knownKinds are errors whose own text names no user: the first that err
// wraps names its kind.
var knownKinds = []error{
	restore.ErrRefused, restore.ErrExisting, restore.ErrStateMismatch,
	snapshot.ErrDamaged, snapshot.ErrFormat, backup.ErrInterrupted, pitr.ErrNoBase,
	repo.ErrNoSnapshot, repo.ErrAmbiguousPool, repo.ErrAmbiguous, repo.ErrWrongPool,
	storage.ErrNoRepository, storage.ErrLink, storage.ErrPermission, storage.ErrNotExist, storage.ErrExist,
	errNoFurther,
}

// redact turns a failed action's error into one that names no user or
// value, and logs the same; nil stays nil.
func (h *Handler) redact(action string, err error) error {
	var re requestError
	if err == nil || errors.As(err, &re) {
		return err
	}
	msg := action + " failed"
	var op interface{ Operation() string }
	if errors.As(err, &op) {
		msg += " in " + op.Operation()
	}
	msg += ": " + errKind(err)
	h.cfg.Log.Error(msg)
	return &actionError{msg: msg + " (the details name users, so the function leaves them out; run the same " + action + " with the cogvault CLI to see them)", err: err}
}

// errKind names err by the service's error code, a known kind or
// "timeout", never by its text.
func errKind(err error) string {
	var kinds []string
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		kinds = append(kinds, c.ErrorCode())
	}
	if k := cryptKind(err); k != "" {
		kinds = append(kinds, k)
	}
	for _, k := range knownKinds {
		if errors.Is(err, k) {
			kinds = append(kinds, k.Error())
			break
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kinds = append(kinds, "timeout")
	case errors.Is(err, context.Canceled):
		kinds = append(kinds, "canceled")
	case len(kinds) == 0:
		kinds = append(kinds, "internal error")
	}
	return strings.Join(kinds, "; ")
}
