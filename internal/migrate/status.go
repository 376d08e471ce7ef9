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
	// PreExisting are target users that match a source user but were
	// there before the migration started: never counted as migrated.
	PreExisting int `json:"preExisting"`
	// RecentMigrated are users migrated within Window; PerHour the rate.
	Window         string     `json:"window"`
	RecentMigrated int        `json:"recentMigrated"`
	PerHour        float64    `json:"perHour"`
	ProjectedEnd   *time.Time `json:"projectedFinish,omitempty"`
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
	since := now().Add(-opts.Window)
	err = m.eachTarget(ctx, dst, func(u types.UserType, _ sourceUser, migrated bool) error {
		if !migrated {
			st.PreExisting++
			return nil
		}
		st.Migrated++
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
