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
// that completes (PostAuthentication), which knows the new sub. SignIn is
// the hex sha256 of the value typed at the migration, exactly as typed:
// the key folds an email's case, the claim (claim.go) does not fold a
// username's. At is when the function answered, just before Cognito
// created the user: only a user created around then can claim it.
type pendingRecord struct {
	OldSub      string    `json:"oldSub"`
	OldUsername string    `json:"oldUsername"`
	SignIn      string    `json:"signIn"`
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

// pendingName is the pending record of a sign-in value: its hex sha256,
// so that the key names no one. An email-shaped value is lower-cased
// first: a target that signs in by email stores the source's email, in
// whatever case the user typed it at the migration (emails compare
// case-insensitively there, §8). A username keeps its case: in a
// case-sensitive pool "Admin" and "admin" are two users, whose records
// must not share a key (docs/cognito-facts.md §34.2).
func pendingName(signIn string) string {
	if strings.Contains(signIn, "@") {
		signIn = strings.ToLower(signIn)
	}
	return "pending/" + hashOf(signIn) + ".json"
}

// hashOf is the hex sha256 of v.
func hashOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
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
// retried trigger finds its own record (create-once): kept. A record of
// another migration under the key (an email-shaped username differing
// only in case, or one Cognito refused) is left: PostAuthentication binds
// a record to the user it was made for, so it gives nobody else groups,
// and this user's groups wait for 'migrate finish'. A failed write is
// logged and the migration still answers: the user signs in, and only
// the groups and the sub mapping wait for 'migrate finish'.
func (h *Handler) recordPending(ctx context.Context, poolID, signIn string, u sourceUser) {
	if !h.recording(poolID) {
		return
	}
	body, _ := json.Marshal(pendingRecord{OldSub: u.sub, OldUsername: u.username, SignIn: hashOf(signIn), At: h.cfg.Now().UTC()})
	err := h.cfg.Records.PutMigrationRecord(ctx, poolID, pendingName(signIn), body)
	switch {
	case errors.Is(err, storage.ErrExist):
		if !h.ownPending(ctx, poolID, signIn, u) {
			h.cfg.Log.Warn("migration: another migration's pending record holds this sign-in value; this user's groups and sub mapping wait for 'cogvault migrate finish'")
		}
	case err != nil:
		h.cfg.Log.Warn("migration: pending record not written; this user's groups and sub mapping wait for 'cogvault migrate finish'", "error", errClass(err))
	}
}

// ownPending says whether the pending record under signIn is this
// migration's own (a retried trigger's).
func (h *Handler) ownPending(ctx context.Context, poolID, signIn string, u sourceUser) bool {
	b, err := h.cfg.Records.GetMigrationRecord(ctx, poolID, pendingName(signIn))
	var rec pendingRecord
	return err == nil && json.Unmarshal(b, &rec) == nil && rec.OldSub == u.sub && rec.SignIn == hashOf(signIn)
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
