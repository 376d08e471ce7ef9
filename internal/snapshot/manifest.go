package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Counts are the number of records a snapshot holds.
type Counts struct {
	Users       int64 `json:"users"`
	Groups      int64 `json:"groups"`
	Memberships int64 `json:"memberships"`
}

// Manifest describes a complete snapshot. It is written last: a snapshot
// exists exactly when its manifest does.
type Manifest struct {
	FormatVersion int          `json:"formatVersion"`
	ID            string       `json:"id"`
	PoolID        string       `json:"poolId"`
	PoolName      string       `json:"poolName,omitempty"`
	Region        string       `json:"region,omitempty"`
	Account       string       `json:"account,omitempty"`
	Start         time.Time    `json:"start"`
	End           time.Time    `json:"end"`
	ToolVersion   string       `json:"toolVersion"`
	Counts        Counts       `json:"counts"`
	Objects       []ObjectInfo `json:"objects"`
	// Derived is set on snapshots computed from another snapshot and journal
	// events (journal compact) rather than read from the pool.
	Derived *Derivation `json:"derived,omitempty"`
	// Omitted names what the snapshot did not read (see OmitMFAPreferences),
	// so that a restore can say so instead of restoring nothing silently.
	Omitted []string `json:"omitted,omitempty"`
	// Incomplete lists what the backup meant to read and could not (an
	// optional pool-configuration read that was refused, fewer users listed
	// than the pool estimates). Such a snapshot is kept, because the users
	// it holds are worth having, but it is not whole: backup exits 3 and
	// readers say so.
	Incomplete []Gap `json:"incomplete,omitempty"`
}

// Gap is one thing an incomplete snapshot lacks: What names it (e.g.
// "poolConfig.domain", "users"), Why says what the service answered, in
// words fit for a report (never attribute values).
type Gap struct {
	What string `json:"what"`
	Why  string `json:"why"`
}

// Derivation says what a derived snapshot was computed from: the state of
// the pool at Start, from snapshot Base plus JournalEvents events.
type Derivation struct {
	Base          string `json:"base"`
	JournalEvents int64  `json:"journalEvents"`
}

// Marshal encodes the manifest as indented JSON.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return json.MarshalIndent(m, "", "  ")
}

// ParseManifest decodes and validates a manifest; name is used in errors.
func ParseManifest(b []byte, name string) (*Manifest, error) {
	var probe struct {
		FormatVersion int `json:"formatVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w: not a manifest: %w", name, ErrFormat, err)
	}
	if probe.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("%s: format version %d is newer than this cogvault understands (%d); upgrade cogvault", name, probe.FormatVersion, FormatVersion)
	}
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrFormat, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &m, nil
}

// Validate checks that every field a reader relies on is present and that
// the per-object record counts add up to the totals.
func (m *Manifest) Validate() error {
	var errs []error
	missing := func(field string) { errs = append(errs, fmt.Errorf("%w: manifest has no %s", ErrFormat, field)) }
	if m.FormatVersion < 1 {
		missing("formatVersion")
	}
	if m.FormatVersion > FormatVersion {
		errs = append(errs, fmt.Errorf("format version %d is newer than this cogvault understands (%d); upgrade cogvault", m.FormatVersion, FormatVersion))
	}
	if _, err := ParseID(m.ID); err != nil {
		errs = append(errs, fmt.Errorf("%w: manifest id: %w", ErrFormat, err))
	}
	if m.PoolID == "" {
		missing("poolId")
	}
	if m.Start.IsZero() {
		missing("start")
	}
	if m.End.Before(m.Start) {
		errs = append(errs, fmt.Errorf("%w: manifest ends (%s) before it starts (%s)", ErrFormat, m.End, m.Start))
	}
	var users, members int64
	pool := 0
	seen := map[string]bool{}
	for _, o := range m.Objects {
		if o.Name == "" || strings.ContainsAny(o.Name, "/\\") || o.Name == "." || o.Name == ".." {
			errs = append(errs, fmt.Errorf("%w: manifest object name %q", ErrFormat, o.Name))
		}
		if seen[o.Name] {
			errs = append(errs, fmt.Errorf("%w: manifest lists object %s twice", ErrFormat, o.Name))
		}
		seen[o.Name] = true
		if len(o.SHA256) != 64 || len(o.PlainSHA256) != 64 {
			errs = append(errs, fmt.Errorf("%w: manifest object %s has no sha256", ErrFormat, o.Name))
		}
		switch o.Kind {
		case KindUsers:
			users += o.Records
		case KindMembers:
			members += o.Records
		case KindPool:
			pool++
		default:
			errs = append(errs, fmt.Errorf("%w: manifest object %s has unknown kind %q", ErrFormat, o.Name, o.Kind))
		}
	}
	if pool != 1 {
		errs = append(errs, fmt.Errorf("%w: manifest lists %d pool configuration objects, want 1", ErrFormat, pool))
	}
	if users != m.Counts.Users {
		errs = append(errs, fmt.Errorf("%w: manifest counts %d users but its objects hold %d", ErrFormat, m.Counts.Users, users))
	}
	if members != m.Counts.Memberships {
		errs = append(errs, fmt.Errorf("%w: manifest counts %d memberships but its objects hold %d", ErrFormat, m.Counts.Memberships, members))
	}
	return errors.Join(errs...)
}

// ObjectsOf returns the manifest's objects of one kind, in order.
func (m *Manifest) ObjectsOf(kind string) []ObjectInfo {
	var out []ObjectInfo
	for _, o := range m.Objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// What a snapshot may leave out, named in Manifest.Omitted.
const (
	// OmitMFAPreferences: users' MFA preferences were not read (backup
	// without --mfa; ListUsers does not return them).
	OmitMFAPreferences = "mfaPreferences"
)

// Complete reports whether the snapshot holds everything the backup meant
// to read (see Incomplete).
func (m *Manifest) Complete() bool { return len(m.Incomplete) == 0 }

// Omits reports whether the snapshot says it left out what.
func (m *Manifest) Omits(what string) bool {
	for _, o := range m.Omitted {
		if o == what {
			return true
		}
	}
	return false
}
