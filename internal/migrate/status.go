package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/storage"
)

// ReadAPI is what status calls on either pool.
type ReadAPI interface {
	cognito.UserLister
	PoolReader
}

// StatusOptions says which migration to count.
type StatusOptions struct {
	Source, Target string
	// Repo, when set, is where the function records refused migrations
	// (migrations/<target>/failed/).
	Repo   storage.Store
	Window time.Duration // the sign-in rate's window (default 24h)
	Now    func() time.Time
}

// Status is the migration's progress.
type Status struct {
	Source      string    `json:"source"`
	Target      string    `json:"target"`
	Started     time.Time `json:"started"`
	SourceUsers int       `json:"sourceUsers"`
	Migrated    int       `json:"migrated"`
	NotMigrated int       `json:"notMigrated"`
	// Failed counts refused migrations by reason; nil when no repository
	// was given (FailedUnknown says so).
	Failed        map[string]int `json:"failed"`
	FailedUnknown string         `json:"failedUnknown,omitempty"`
	// AtSignIn are the migrated users the function recorded
	// (migrations/<target>/users/<new sub>.json): they came over at a
	// sign-in and kept their password. NoRecord are the rest of Migrated:
	// restored by 'migrate finish' (they reset their password), or migrated
	// by the trigger without a completed sign-in yet. Both are zero, and
	// OriginUnknown says why, without a repository.
	AtSignIn      int    `json:"migratedAtSignIn"`
	NoRecord      int    `json:"migratedWithoutRecord"`
	OriginUnknown string `json:"originUnknown,omitempty"`
	// TriggersRemoved: the target has no UserMigration trigger any more
	// ('migrate finish' removes it): no one migrates at sign-in now.
	TriggersRemoved bool `json:"triggersRemoved"`
	// PreExisting are target users that match a source user but were
	// there before the migration started: never counted as migrated.
	PreExisting int `json:"preExisting"`
	// RecentMigrated are users migrated within Window; PerHour the rate.
	Window         string     `json:"window"`
	RecentMigrated int        `json:"recentMigrated"`
	PerHour        float64    `json:"perHour"`
	ProjectedEnd   *time.Time `json:"projectedFinish,omitempty"`

	recorded map[string]bool // new subs of the function's users/ records
}

// FailedPrefix is where the function records refused migrations into
// target (the shared contract, issue 15).
func FailedPrefix(target string) string { return "migrations/" + target + "/failed/" }

// CountStatus counts migrated and not-yet-migrated users by listing both
// pools (paced by the clients), and failed migrations from the repository.
func CountStatus(ctx context.Context, src, dst ReadAPI, opts StatusOptions) (*Status, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if opts.Window <= 0 {
		opts.Window = 24 * time.Hour
	}
	m, err := newMatcher(ctx, dst, opts.Target)
	if err != nil {
		return nil, err
	}
	for u, err := range cognito.AllUsers(ctx, src, opts.Source, listWorkers, nil) {
		if err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		m.addSource(sourceUser{username: aws.ToString(u.Username), sub: sub(u.Attributes)}, m.signIn.userKeys(u))
	}
	st := &Status{Source: opts.Source, Target: opts.Target, Started: m.started, SourceUsers: m.sourceUsers, Window: opts.Window.String()}
	if err := st.origins(ctx, dst, opts); err != nil {
		return nil, err
	}
	since := now().Add(-opts.Window)
	err = m.eachTarget(ctx, dst, func(u types.UserType, _ sourceUser, migrated bool) error {
		if !migrated {
			st.PreExisting++
			return nil
		}
		st.Migrated++
		if st.recorded != nil {
			if st.recorded[sub(u.Attributes)] {
				st.AtSignIn++
			} else {
				st.NoRecord++
			}
		}
		if aws.ToTime(u.UserCreateDate).After(since) {
			st.RecentMigrated++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.NotMigrated = max(0, st.SourceUsers-st.Migrated-st.PreExisting)
	st.PerHour = float64(st.RecentMigrated) / opts.Window.Hours()
	if st.PerHour > 0 && st.NotMigrated > 0 {
		end := now().Add(time.Duration(float64(st.NotMigrated) / st.PerHour * float64(time.Hour))).UTC().Truncate(time.Minute)
		st.ProjectedEnd = &end
	}
	if opts.Repo == nil {
		st.FailedUnknown = "unknown: give --repo (the repository the function writes to)"
		return st, nil
	}
	if st.Failed, err = countFailed(ctx, opts.Repo, opts.Target); err != nil {
		return nil, err
	}
	return st, nil
}

// countFailed counts failed/<19-digit nanos>-<reason>.json by reason.
func countFailed(ctx context.Context, store storage.Store, target string) (map[string]int, error) {
	out := map[string]int{}
	prefix := FailedPrefix(target)
	for o, err := range store.List(ctx, prefix) {
		if err != nil {
			if errors.Is(err, storage.ErrNotExist) {
				break
			}
			return nil, fmt.Errorf("list %s in %s: %w", prefix, store, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), ".json")
		reason := "unknown"
		if _, r, ok := strings.Cut(name, "-"); ok && r != "" {
			reason = r
		}
		out[reason]++
	}
	return out, nil
}

// origins reads what tells users migrated at sign-in from those finish
// restored: the function's users/ records (their keys hold the new sub;
// the bodies are not read) and whether the target still has the trigger.
func (st *Status) origins(ctx context.Context, dst ReadAPI, opts StatusOptions) error {
	p, err := describe(ctx, dst, opts.Target)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	st.TriggersRemoved = slot(p.LambdaConfig, SlotUserMigration) == ""
	if opts.Repo == nil {
		st.OriginUnknown = "give --repo to tell users migrated at sign-in from those 'migrate finish' restored"
		return nil
	}
	st.recorded = map[string]bool{}
	prefix := UsersPrefix(opts.Target)
	for o, err := range opts.Repo.List(ctx, prefix) {
		if err != nil {
			if errors.Is(err, storage.ErrNotExist) {
				break
			}
			return fmt.Errorf("status: list %s in %s: %w", prefix, opts.Repo, err)
		}
		if newSub, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json"); ok {
			st.recorded[newSub] = true
		}
	}
	return nil
}
