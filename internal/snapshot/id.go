package snapshot

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// idTime is the time part of a snapshot id: UTC, millisecond precision, and
// fixed width, so that ids sort lexically in time order.
const idTime = "20060102T150405.000Z"

// NewID returns a snapshot id for a backup started at t:
// "20261124T220615.123Z-1a2b3c4d". The random suffix keeps two backups
// started in the same millisecond apart.
func NewID(t time.Time, rnd io.Reader) (string, error) {
	var b [4]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("snapshot id: %w", err)
	}
	return t.UTC().Format(idTime) + "-" + hex.EncodeToString(b[:]), nil
}

// ParseID checks an id and returns its time.
func ParseID(id string) (time.Time, error) {
	ts, suffix, ok := strings.Cut(id, "-")
	if !ok || len(suffix) != 8 {
		return time.Time{}, fmt.Errorf("snapshot id %q is not of the form %s-xxxxxxxx", id, idTime)
	}
	if _, err := hex.DecodeString(suffix); err != nil {
		return time.Time{}, fmt.Errorf("snapshot id %q: suffix is not hex", id)
	}
	t, err := time.Parse(idTime, ts)
	if err != nil || t.Format(idTime) != ts {
		return time.Time{}, fmt.Errorf("snapshot id %q: bad time part", id)
	}
	return t, nil
}

// Repository keys. Objects live under data/<id>/; a snapshot exists when
// snapshots/<id>.json does.
const (
	ConfigKey      = "config.json"
	DataPrefix     = "data/"
	ManifestPrefix = "snapshots/"
	manifestSuffix = ".json"
	PoolObjectName = "pool.json.zst"
)

// DataKey is the key of a data object of snapshot id.
func DataKey(id, name string) string { return DataPrefix + id + "/" + name }

// ManifestKey is the key of snapshot id's manifest.
func ManifestKey(id string) string { return ManifestPrefix + id + manifestSuffix }

// IDFromManifestKey returns the snapshot id of a manifest key.
func IDFromManifestKey(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, ManifestPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, manifestSuffix)
	if !ok || strings.Contains(id, "/") {
		return "", false
	}
	if _, err := ParseID(id); err != nil {
		return "", false
	}
	return id, true
}
