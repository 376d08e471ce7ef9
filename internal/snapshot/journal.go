package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Journal event kinds. An event records a state, not a change: what the
// capture side read from the pool after it learnt that something changed.
// Replaying it twice, or out of a duplicate delivery, gives the same state.
const (
	EventUser         = "user"          // User holds the user's state; Groups its groups when GroupsKnown
	EventUserDeleted  = "user-deleted"  // the user (Sub) is gone
	EventGroup        = "group"         // Group holds the group's state
	EventGroupDeleted = "group-deleted" // the group (Group.Name) is gone
)

// JournalPrefix is where change events live:
// journal/<pool-id>/<yyyy>/<mm>/<dd>/<unix-nanos>-<subject>-<event-id>.json.
const JournalPrefix = "journal/"

// Event is one journal entry.
type Event struct {
	FormatVersion int    `json:"formatVersion"`
	PoolID        string `json:"poolId"`
	Kind          string `json:"kind"`
	// Time is when the state was observed; it orders events and is what
	// restore --at compares with.
	Time time.Time `json:"time"`
	// ChangeTime is when the change happened, when the source says (a
	// CloudTrail event's time); informational.
	ChangeTime time.Time `json:"changeTime,omitzero"`
	// Source names what produced the event: a trigger source
	// (PostConfirmation_ConfirmSignUp) or an API call (AdminDeleteUser).
	Source  string `json:"source"`
	EventID string `json:"eventId"`
	Sub     string `json:"sub,omitempty"`
	// Username of a deleted user, when known (a user's state carries it).
	Username    string   `json:"username,omitempty"`
	User        *User    `json:"user,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	GroupsKnown bool     `json:"groupsKnown,omitempty"`
	Group       *Group   `json:"group,omitempty"`
}

// Check validates the fields replay relies on.
func (e *Event) Check() error {
	switch {
	case e.FormatVersion < 1:
		return fmt.Errorf("%w: journal event has no formatVersion", ErrFormat)
	case e.FormatVersion > FormatVersion:
		return fmt.Errorf("journal event format version %d is newer than this cogvault understands (%d); upgrade cogvault", e.FormatVersion, FormatVersion)
	case e.PoolID == "":
		return fmt.Errorf("%w: journal event has no poolId", ErrFormat)
	case e.Time.IsZero():
		return fmt.Errorf("%w: journal event has no time", ErrFormat)
	}
	switch e.Kind {
	case EventUser:
		if e.User == nil {
			return fmt.Errorf("%w: user event without user", ErrFormat)
		}
		if err := e.User.check(); err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if e.Sub != "" && e.Sub != e.User.Sub {
			return fmt.Errorf("%w: user event for sub %s holds user with sub %s", ErrFormat, e.Sub, e.User.Sub)
		}
	case EventUserDeleted:
		if e.Sub == "" && e.Username == "" {
			return fmt.Errorf("%w: user-deleted event without sub or username", ErrFormat)
		}
	case EventGroup, EventGroupDeleted:
		if e.Group == nil || e.Group.Name == "" {
			return fmt.Errorf("%w: %s event without group name", ErrFormat, e.Kind)
		}
	default:
		return fmt.Errorf("%w: unknown journal event kind %q", ErrFormat, e.Kind)
	}
	return nil
}

// Subject is what the event is about: the user's sub, or "g" plus a hash of
// the group's name (group names may hold characters keys must not), or "u"
// plus a hash of the username of a deleted user whose sub is unknown.
func (e *Event) Subject() string {
	switch e.Kind {
	case EventGroup, EventGroupDeleted:
		return "g" + shortHash(e.Group.Name)
	case EventUser:
		return e.User.Sub
	}
	if e.Sub == "" {
		return "u" + shortHash(e.Username)
	}
	return e.Sub
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// JournalPoolPrefix is the prefix of every event of one pool.
func JournalPoolPrefix(poolID string) string { return JournalPrefix + poolID + "/" }

// JournalDayPrefix is the prefix of one pool's events of one UTC day.
func JournalDayPrefix(poolID string, day time.Time) string {
	return JournalPoolPrefix(poolID) + day.UTC().Format("2006/01/02") + "/"
}

// JournalKey is where e is stored. Keys sort by observation time within a
// day (nanoseconds, fixed width), and two events never share one.
func JournalKey(e *Event) (string, error) {
	if err := e.Check(); err != nil {
		return "", err
	}
	if !validKeyPart(e.PoolID) {
		return "", fmt.Errorf("journal event: pool id %q cannot be part of a key", e.PoolID)
	}
	subject := e.Subject()
	if !validKeyPart(subject) {
		return "", fmt.Errorf("journal event: subject %q cannot be part of a key", subject)
	}
	id := sanitizeEventID(e.EventID)
	if id == "" {
		return "", errors.New("journal event without event id")
	}
	t := e.Time.UTC()
	return fmt.Sprintf("%s%019d-%s-%s.json", JournalDayPrefix(e.PoolID, t), t.UnixNano(), subject, id), nil
}

// JournalKeyTime returns the observation time a journal key encodes, so
// listings can be filtered without reading objects.
func JournalKeyTime(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, JournalPrefix)
	if !ok {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return time.Time{}, false
	}
	name := rest[i+1:]
	nanos, _, ok := strings.Cut(name, "-")
	if !ok || len(nanos) != 19 || !strings.HasSuffix(name, ".json") {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(nanos, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n).UTC(), true
}

// ParseEvent decodes and checks one journal object.
func ParseEvent(b []byte, key string) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%s: %w: not a journal event: %w", key, ErrFormat, err)
	}
	if err := e.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &e, nil
}

// sanitizeEventID keeps event ids to characters every store accepts in a
// key, and short.
func sanitizeEventID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r < 128 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
		if b.Len() == 64 {
			break
		}
	}
	return b.String()
}

func validKeyPart(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, "/\\\x00") && s != "." && s != ".."
}
