package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// maxEventSize bounds one journal object: a user holds at most 50 custom
// attributes of 2,048 characters plus the standard ones, far below this.
const maxEventSize = 1 << 20

// AppendEvent stores one journal event and returns its key. Storing the same
// event twice (a retried write) is not an error.
func (r *Repo) AppendEvent(ctx context.Context, e *snapshot.Event) (string, error) {
	if e.FormatVersion == 0 {
		e.FormatVersion = snapshot.FormatVersion
	}
	key, err := snapshot.JournalKey(e)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode journal event %s: %w", key, err)
	}
	err = r.Store.Put(ctx, key, bytes.NewReader(body))
	if errors.Is(err, storage.ErrExist) {
		return key, nil
	}
	if err != nil {
		return "", fmt.Errorf("write journal event %s: %w", key, err)
	}
	return key, nil
}

// JournalEntry is one stored event and its key.
type JournalEntry struct {
	Key   string
	Event *snapshot.Event
}

// Journal yields poolID's events observed in (after, until], oldest first.
// It lists one day prefix at a time, so a window of a few days never lists
// the whole journal.
func (r *Repo) Journal(ctx context.Context, poolID string, after, until time.Time) iter.Seq2[JournalEntry, error] {
	return func(yield func(JournalEntry, error) bool) {
		if until.Before(after) {
			return
		}
		var prefixes []string
		if after.IsZero() {
			prefixes = []string{snapshot.JournalPoolPrefix(poolID)}
		} else {
			for day := after.UTC().Truncate(24 * time.Hour); !day.After(until); day = day.Add(24 * time.Hour) {
				prefixes = append(prefixes, snapshot.JournalDayPrefix(poolID, day))
			}
		}
		for _, prefix := range prefixes {
			for o, err := range r.Store.List(ctx, prefix) {
				if err != nil {
					yield(JournalEntry{}, fmt.Errorf("list journal %s in %s: %w", prefix, r.Store, err))
					return
				}
				t, ok := snapshot.JournalKeyTime(o.Key)
				if !ok {
					yield(JournalEntry{}, fmt.Errorf("%s: %w: not a journal key; move it out of %s", o.Key, snapshot.ErrFormat, snapshot.JournalPrefix))
					return
				}
				if !t.After(after) || t.After(until) {
					continue
				}
				e, err := r.readEvent(ctx, o.Key)
				if err != nil {
					yield(JournalEntry{}, err)
					return
				}
				if !e.Time.Equal(t) || e.PoolID != poolID {
					yield(JournalEntry{}, fmt.Errorf("%s: %w: the event inside says pool %s at %s", o.Key, snapshot.ErrDamaged, e.PoolID, e.Time.UTC().Format(time.RFC3339Nano)))
					return
				}
				if !yield(JournalEntry{Key: o.Key, Event: e}, nil) {
					return
				}
			}
		}
	}
}

func (r *Repo) readEvent(ctx context.Context, key string) (*snapshot.Event, error) {
	rc, err := r.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read journal event: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxEventSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if len(b) > maxEventSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", key, snapshot.ErrFormat, maxEventSize)
	}
	return snapshot.ParseEvent(b, key)
}
