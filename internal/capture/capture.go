// Package capture is the Lambda side of cogvault: one handler that
// dispatches on the event's shape.
//
//   - A Cognito PostConfirmation trigger writes the confirmed user's state to
//     the journal and returns the event unchanged. It never fails the user's
//     sign-up: a failed write is logged (without PII) and counted in a
//     metric, and the next scheduled snapshot heals it.
//   - An EventBridge "AWS API Call via CloudTrail" event for the pool re-reads
//     the user (or group) it names and journals its state, or a tombstone
//     when it is gone.
//   - A scheduled event ({"action":"snapshot"} or an EventBridge "Scheduled
//     Event") takes a full snapshot and applies the retention policy.
//   - {"action":"restore", …} restores a snapshot (or a point in time) into
//     a pool: the seed design's restore Lambda, through import jobs.
//
// It imports backup, restore, pitr, repo and snapshot; it must not import
// cli, progress or cobra.
package capture

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// UserReader is what the capture paths read from Cognito.
type UserReader interface {
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminListGroupsForUser(ctx context.Context, in *cip.AdminListGroupsForUserInput, optFns ...func(*cip.Options)) (*cip.AdminListGroupsForUserOutput, error)
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	GetGroup(ctx context.Context, in *cip.GetGroupInput, optFns ...func(*cip.Options)) (*cip.GetGroupOutput, error)
}

// Client is the Cognito client: what capture, backup and restore call.
// *cognitoidentityprovider.Client satisfies it.
type Client interface {
	UserReader
	backup.API
	restore.API
}

// Config is what the handler needs; the Lambda builds it from the
// environment (see FromEnv).
type Config struct {
	PoolID  string
	Region  string
	Repo    *repo.Repo
	Cognito Client
	// TriggerBudget bounds the PostConfirmation path (default 3 s: Cognito
	// gives a trigger 5 s before it retries and then fails the sign-up).
	TriggerBudget time.Duration
	Retention     snapshot.Policy
	// PruneGrace is how old an unfinished backup's data must be before the
	// scheduled run removes it (default 24 h).
	PruneGrace time.Duration
	// ImportRoleArn enables restore through import jobs.
	ImportRoleArn string
	// ImportLogs reads import-job logs (optional).
	ImportLogs  restore.LogEventsGetter
	ToolVersion string
	Log         *slog.Logger
	// Metrics receives counters (CloudWatch embedded metric format lines on
	// Lambda's stdout); nil discards them.
	Metrics io.Writer
	Now     func() time.Time
	Rand    io.Reader
	// ListingRecheck is how long to wait before listing again when a
	// ListUsers by sub comes back empty (default 5 s): ListUsers is
	// eventually consistent, so one empty listing never makes a tombstone.
	ListingRecheck time.Duration
	// Sleep waits d or until ctx ends (default a timer; tests advance a
	// clock).
	Sleep func(ctx context.Context, d time.Duration) error
	// Migration answers UserMigration_* and PostAuthentication_Authentication
	// triggers (internal/migration); nil ignores them (Cognito then creates
	// no user; a PostAuthentication event goes back unchanged).
	Migration TriggerHandler
	// AgeIdentity: Repo was opened with an age identity (the worker's,
	// from Secrets Manager), so an encrypted repository is read back and
	// snapshots there run in steps too (snapsteps.go).
	AgeIdentity bool
}

// TriggerHandler answers a trigger whose answer is more than the event
// back; its error refuses the user's flow.
type TriggerHandler interface {
	Handle(ctx context.Context, event json.RawMessage) (json.RawMessage, error)
}

// Handler handles every event the Lambda receives.
type Handler struct {
	cfg Config
}

// New returns a Handler; cfg must name a pool, a repository and a client.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.PoolID == "":
		return nil, errors.New("capture: no user pool id (set COGVAULT_POOL_ID)")
	case cfg.Repo == nil:
		return nil, errors.New("capture: no repository (set COGVAULT_REPO)")
	case cfg.Cognito == nil:
		return nil, errors.New("capture: no Cognito client")
	}
	if cfg.TriggerBudget == 0 {
		cfg.TriggerBudget = 3 * time.Second
	}
	if cfg.PruneGrace == 0 {
		cfg.PruneGrace = 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.ListingRecheck == 0 {
		cfg.ListingRecheck = 5 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Handler{cfg: cfg}, nil
}

// shape holds the fields that tell events apart.
type shape struct {
	TriggerSource string `json:"triggerSource"`
	DetailType    string `json:"detail-type"`
	Source        string `json:"source"`
	Action        string `json:"action"`
}

// ErrUnknownEvent means the handler does not know what the event is.
var ErrUnknownEvent = errors.New("unrecognised event")

// Handle dispatches one event and returns the Lambda's response. For a
// trigger that is the event itself, unchanged, whatever happened.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	var s shape
	if err := json.Unmarshal(event, &s); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %w", ErrUnknownEvent, err)
	}
	switch {
	case strings.HasPrefix(s.TriggerSource, "PostConfirmation_"):
		h.postConfirmation(ctx, event, s.TriggerSource)
		return event, nil
	case (strings.HasPrefix(s.TriggerSource, "UserMigration_") || s.TriggerSource == "PostAuthentication_Authentication") && h.cfg.Migration != nil:
		// PostAuthentication finishes a migration (groups, old sub → new
		// sub); without a migration it passes through below.
		return h.cfg.Migration.Handle(ctx, event)
	case s.TriggerSource != "":
		// Another trigger wired to this function by mistake: never block
		// the user's flow over it.
		h.cfg.Log.Warn("ignoring a trigger this function does not handle", "triggerSource", s.TriggerSource)
		return event, nil
	case cloudTrailDetailTypes[s.DetailType] && s.Source == "aws.cognito-idp":
		return nil, h.cloudTrail(ctx, event)
	case s.DetailType == "Scheduled Event" || s.Action == "snapshot":
		out, err := h.snapshot(ctx, event)
		return out, h.redact("snapshot", err)
	case s.Action == "restore":
		out, err := h.restore(ctx, event)
		return out, h.redact("restore", err)
	case s.Action == "drill":
		out, err := h.drill(ctx, event)
		return out, h.redact("drill", err)
	}
	return nil, fmt.Errorf("%w: not a PostConfirmation trigger, a CloudTrail event from aws.cognito-idp, a scheduled event or an {\"action\": \"snapshot\"|\"restore\"|\"drill\"} request", ErrUnknownEvent)
}

// eventID makes a random id for events whose source has none.
func (h *Handler) eventID() string {
	var b [8]byte
	if _, err := io.ReadFull(h.cfg.Rand, b[:]); err != nil {
		return fmt.Sprintf("t%d", h.cfg.Now().UnixNano())
	}
	return fmt.Sprintf("%x", b)
}

// errClass names an error without its text, which may hold keys with subs
// or usernames: logs carry the class, never the value.
func errClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return fmt.Sprintf("%T", errors.Unwrap(err))
}

// metric writes one CloudWatch embedded-metric-format line: Lambda ships
// stdout to CloudWatch Logs, which turns it into a metric without any
// cloudwatch:PutMetricData permission.
func (h *Handler) metric(name string, value float64) {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.cfg.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "cogvault",
				"Dimensions": [][]string{{"PoolId"}},
				"Metrics":    []any{map[string]string{"Name": name, "Unit": "Count"}},
			}},
		},
		"PoolId": h.cfg.PoolID,
		name:     value,
	}
	b, _ := json.Marshal(line)
	fmt.Fprintf(h.cfg.Metrics, "%s\n", b)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
