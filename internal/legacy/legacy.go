// Package legacy reads the backups of the common do-it-yourself design that
// cogvault replaces: a PostConfirmation Lambda that writes each confirmed
// user to S3 as an object named cognito_user_<userName> whose body is the
// trigger's event JSON. It turns them into snapshot records so that teams
// running that design can move to cogvault in one command.
//
// It imports storage and snapshot; it must not import cli, progress or
// cobra.
package legacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// ObjectPrefix starts every object the legacy trigger writes.
const ObjectPrefix = "cognito_user_"

// event is the part of a PostConfirmation trigger event the legacy objects
// hold that matters here.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html
type event struct {
	TriggerSource string `json:"triggerSource"`
	Region        string `json:"region"`
	UserPoolID    string `json:"userPoolId"`
	UserName      string `json:"userName"`
	Request       struct {
		UserAttributes map[string]string `json:"userAttributes"`
	} `json:"request"`
}

// Summary describes what a legacy backup holds.
type Summary struct {
	PoolID  string
	Region  string
	Objects int
	Skipped []string // objects that are not a usable event, with why
}

// Scan reads every legacy object once to find the pool they belong to and
// the objects that cannot be used; Users then yields the records.
func Scan(ctx context.Context, src storage.Store) (*Summary, error) {
	s := &Summary{}
	for o, err := range src.List(ctx, ObjectPrefix) {
		if err != nil {
			return nil, err
		}
		ev, err := read(ctx, src, o.Key)
		if err != nil {
			s.Skipped = append(s.Skipped, err.Error())
			continue
		}
		s.Objects++
		switch {
		case s.PoolID == "":
			s.PoolID, s.Region = ev.UserPoolID, ev.Region
		case ev.UserPoolID != s.PoolID:
			return nil, fmt.Errorf("%s: user of pool %s, but %s holds users of %s too: import one pool at a time (give a narrower prefix)", o.Key, ev.UserPoolID, src, s.PoolID)
		}
	}
	if s.Objects == 0 {
		return nil, fmt.Errorf("%s holds no %s* objects: is this the bucket (and prefix) the legacy trigger writes to?", src, ObjectPrefix)
	}
	return s, nil
}

func read(ctx context.Context, src storage.Store, key string) (*event, error) {
	rc, err := src.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD: refuse instead of
	// restoring altered values.
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%s: not valid UTF-8 (the trigger writes UTF-8 JSON; this object was altered or is not one of its events)", key)
	}
	var ev event
	if err := json.Unmarshal(b, &ev); err != nil {
		// The decoder's message quotes the offending character; say where
		// instead, since the content may be personal data.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: not a PostConfirmation event (not JSON at byte %d)", key, se.Offset)
		}
		return nil, fmt.Errorf("%s: not a PostConfirmation event (its JSON does not have the event's shape)", key)
	}
	if ev.UserName == "" || ev.Request.UserAttributes["sub"] == "" || ev.UserPoolID == "" {
		return nil, fmt.Errorf("%s: the event has no userName, userPoolId or sub", key)
	}
	return &ev, nil
}

// Users yields one record per legacy object (the trigger overwrote a user's
// object on every confirmation, so the latest state is what is there).
// Attributes keep their values exactly; cognito:* keys of the event are not
// attributes and are dropped (cognito:user_status becomes the status).
func Users(ctx context.Context, src storage.Store) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		for o, err := range src.List(ctx, ObjectPrefix) {
			if err != nil {
				yield(snapshot.User{}, err)
				return
			}
			ev, err := read(ctx, src, o.Key)
			if err != nil {
				continue // reported by Scan
			}
			if !yield(record(ev, o.ModTime), nil) {
				return
			}
		}
	}
}

func record(ev *event, seen time.Time) snapshot.User {
	u := snapshot.User{Username: ev.UserName, Sub: ev.Request.UserAttributes["sub"], Enabled: true, Status: "CONFIRMED",
		Created: seen.UTC(), Modified: seen.UTC()}
	names := make([]string, 0, len(ev.Request.UserAttributes))
	for k := range ev.Request.UserAttributes {
		names = append(names, k)
	}
	sort.Strings(names)
	// sub first, as the service lists it.
	u.Attributes = append(u.Attributes, snapshot.Attribute{Name: "sub", Value: u.Sub})
	for _, k := range names {
		v := ev.Request.UserAttributes[k]
		switch {
		case k == "sub":
		case k == "cognito:user_status":
			u.Status = v
		case strings.HasPrefix(k, "cognito:"):
		default:
			u.Attributes = append(u.Attributes, snapshot.Attribute{Name: k, Value: v})
		}
	}
	return u
}

// PoolConfig is the little a legacy backup says about its pool.
func PoolConfig(poolID string) (*snapshot.PoolConfig, error) {
	raw, err := json.Marshal(map[string]string{"Id": poolID, "Name": "", "Note": "imported from a legacy PostConfirmation backup: no configuration was recorded"})
	if err != nil {
		return nil, err
	}
	return &snapshot.PoolConfig{FormatVersion: snapshot.FormatVersion, UserPool: raw}, nil
}
