package migration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/storage"
)

// Records is where the function keeps the migration's records, under
// migrations/<target pool id>/ in the repository (docs/format.md): signed
// like journal events, written once. *repo.Repo satisfies it.
type Records interface {
	PutMigrationRecord(ctx context.Context, poolID, name string, body []byte) error
	GetMigrationRecord(ctx context.Context, poolID, name string) ([]byte, error)
	DeleteMigrationRecord(ctx context.Context, poolID, name string) error
}

// pendingRecord says a user was migrated and waits for the first sign-in
// that completes (PostAuthentication), which knows the new sub.
type pendingRecord struct {
	OldSub      string    `json:"oldSub"`
	OldUsername string    `json:"oldUsername"`
	At          time.Time `json:"at"`
}

// userRecord is the journal of one migrated user: old sub → new sub.
type userRecord struct {
	OldSub      string    `json:"oldSub"`
	NewSub      string    `json:"newSub"`
	OldUsername string    `json:"oldUsername"`
	NewUsername string    `json:"newUsername"`
	Groups      []string  `json:"groups"`
	At          time.Time `json:"at"`
}

// failedRecord counts a refused migration; it names no one.
type failedRecord struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// pendingName is the pending record of a sign-in value: the hex sha256 of
// it lower-cased, so that the key names no one and an email matches
// whatever case the user typed (emails compare case-insensitively, §8).
func pendingName(signIn string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(signIn)))
	return "pending/" + hex.EncodeToString(sum[:]) + ".json"
}

// counted is a refusal that the failed/ records count: the end user reads
// err; why is one short kebab-case word.
type counted struct {
	err error
	why string
}

func (f *counted) Error() string { return f.err.Error() }
func (f *counted) Unwrap() error { return f.err }

// failure marks err as one the failed/ records count. A wrong password or
// an unknown user is not marked: that is the trigger doing its job.
func failure(err error, why string) error { return &counted{err: err, why: why} }

// targetPool accepts the event's userPoolId only when it is a pool id: it
// becomes part of the records' keys.
var targetPool = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

func (h *Handler) recording(poolID string) bool {
	return h.cfg.Records != nil && targetPool.MatchString(poolID)
}

// recordPending writes the pending record of a successful migration. A
// retried trigger finds its own record (create-once): kept. A failed write
// is logged and the migration still answers: the user signs in, and only
// the groups and the sub mapping wait for 'migrate finish'.
func (h *Handler) recordPending(ctx context.Context, poolID, signIn string, u sourceUser) {
	if !h.recording(poolID) {
		return
	}
	body, _ := json.Marshal(pendingRecord{OldSub: u.sub, OldUsername: u.username, At: h.cfg.Now().UTC()})
	err := h.cfg.Records.PutMigrationRecord(ctx, poolID, pendingName(signIn), body)
	if err != nil && !errors.Is(err, storage.ErrExist) {
		h.cfg.Log.Warn("migration: pending record not written; this user's groups and sub mapping wait for 'cogvault migrate finish'", "error", errClass(err))
	}
}

// recordFailure writes failed/<19-digit unix nanos>-<reason>.json for a
// refusal marked by failure.
func (h *Handler) recordFailure(ctx context.Context, poolID string, err error) {
	var f *counted
	if !errors.As(err, &f) || !h.recording(poolID) {
		return
	}
	at := h.cfg.Now().UTC()
	body, _ := json.Marshal(failedRecord{At: at, Reason: f.why})
	name := fmt.Sprintf("failed/%019d-%s.json", at.UnixNano(), f.why)
	if err := h.cfg.Records.PutMigrationRecord(ctx, poolID, name, body); err != nil && !errors.Is(err, storage.ErrExist) {
		h.cfg.Log.Warn("migration: failed record not written", "reason", f.why, "error", errClass(err))
	}
}

// errClass names a repository error without its text, which holds the
// record's key.
func errClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, storage.ErrNotExist):
		return "not found"
	}
	return "write or read failed"
}
