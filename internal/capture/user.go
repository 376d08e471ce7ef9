package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// postConfirmationEvent is the part of the trigger event the handler reads.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html
type postConfirmationEvent struct {
	UserPoolID string `json:"userPoolId"`
	UserName   string `json:"userName"`
	Request    struct {
		UserAttributes map[string]string `json:"userAttributes"`
	} `json:"request"`
}

// postConfirmation journals the confirmed user. Every failure is logged and
// counted, never returned: the user's sign-up must not fail because a
// backup write did.
func (h *Handler) postConfirmation(ctx context.Context, raw json.RawMessage, source string) {
	start := h.cfg.Now()
	err := h.journalConfirmed(ctx, raw, source)
	if err != nil {
		h.metric("CaptureFailures", 1)
		h.cfg.Log.Error("could not journal a confirmed user; the next scheduled snapshot will hold it",
			"triggerSource", source, "pool", h.cfg.PoolID, "error", errClass(err))
		return
	}
	h.metric("CapturedUsers", 1)
	h.cfg.Log.Info("journaled confirmed user", "triggerSource", source, "ms", h.cfg.Now().Sub(start).Milliseconds())
}

func (h *Handler) journalConfirmed(ctx context.Context, raw json.RawMessage, source string) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.TriggerBudget)
	defer cancel()
	var ev postConfirmationEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode trigger event: %w", err)
	}
	if ev.UserPoolID != h.cfg.PoolID {
		return fmt.Errorf("trigger event of pool %s, but this function backs up %s", ev.UserPoolID, h.cfg.PoolID)
	}
	if ev.UserName == "" || ev.Request.UserAttributes["sub"] == "" {
		return errors.New("trigger event without userName or sub")
	}
	// The full state (enabled, dates, MFA) needs one AdminGetUser; within
	// half the budget, else the event's attributes are what we have.
	readCtx, cancelRead := context.WithTimeout(ctx, h.cfg.TriggerBudget/2)
	u, err := h.readUser(readCtx, ev.UserName)
	cancelRead()
	if err != nil {
		h.cfg.Log.Warn("AdminGetUser failed in the trigger; journaling the event's attributes", "error", errClass(err))
		u = userFromTrigger(ev, h.cfg.Now())
	}
	_, err = h.cfg.Repo.AppendEvent(ctx, &snapshot.Event{
		PoolID: h.cfg.PoolID, Kind: snapshot.EventUser, Time: h.cfg.Now().UTC(),
		Source: source, EventID: h.eventID(), User: u,
	})
	return err
}

// userFromTrigger builds the user's record from the trigger event alone.
// Cognito adds cognito:* keys (user status, email alias) that are not
// attributes.
func userFromTrigger(ev postConfirmationEvent, now time.Time) *snapshot.User {
	attrs := ev.Request.UserAttributes
	u := &snapshot.User{Username: ev.UserName, Sub: attrs["sub"], Enabled: true, Status: "CONFIRMED", Created: now.UTC(), Modified: now.UTC()}
	if s := attrs["cognito:user_status"]; s != "" {
		u.Status = s
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		if strings.HasPrefix(name, "cognito:") {
			continue
		}
		u.Attributes = append(u.Attributes, snapshot.Attribute{Name: name, Value: attrs[name]})
	}
	return u
}

// readUser reads one user's full state; username may also be a local
// user's sub, which Cognito accepts wherever a username goes.
func (h *Handler) readUser(ctx context.Context, username string) (*snapshot.User, error) {
	out, err := h.cfg.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &h.cfg.PoolID, Username: &username})
	if err != nil {
		return nil, err
	}
	rec, err := backup.UserRecord(types.UserType{
		Username: out.Username, Attributes: out.UserAttributes, Enabled: out.Enabled, UserStatus: out.UserStatus,
		UserCreateDate: out.UserCreateDate, UserLastModifiedDate: out.UserLastModifiedDate,
	})
	if err != nil {
		return nil, err
	}
	if out.PreferredMfaSetting != nil || len(out.UserMFASettingList) > 0 {
		rec.MFA = &snapshot.MFASettings{PreferredMfaSetting: aws.ToString(out.PreferredMfaSetting), UserMFASettingList: out.UserMFASettingList}
	}
	return &rec, nil
}

// readGroups lists the groups a user belongs to.
func (h *Handler) readGroups(ctx context.Context, username string) ([]string, error) {
	var groups []string
	var token *string
	for {
		out, err := h.cfg.Cognito.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{
			UserPoolId: &h.cfg.PoolID, Username: &username, Limit: aws.Int32(cognito.MaxPageSize), NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, g := range out.Groups {
			groups = append(groups, aws.ToString(g.GroupName))
		}
		if token = out.NextToken; token == nil || *token == "" {
			slices.Sort(groups)
			return groups, nil
		}
	}
}

// ErrAbsenceUnconfirmed means a user could not be found by sub and there was
// no time left to confirm it with a second, delayed listing: the change is
// not journaled (no tombstone), and the next snapshot reconciles.
var ErrAbsenceUnconfirmed error = absenceUnconfirmed{}

type absenceUnconfirmed struct{}

func (absenceUnconfirmed) Error() string {
	return "user not listed by sub, and no time to list again: absence unconfirmed, no tombstone written"
}

// ErrorCode names the error in logs, which carry classes, never values.
func (absenceUnconfirmed) ErrorCode() string { return "AbsenceUnconfirmed" }

// usernameOf finds the username of the user with sub; "" when there is none.
// It is asked after AdminGetUser by sub (a consistent read) found no user,
// which a federated user never answers to. ListUsers is eventually
// consistent, so an empty listing is only believed when a second listing,
// ListingRecheck later, is empty too; without time for that, the answer is
// ErrAbsenceUnconfirmed, never "deleted".
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html
func (h *Handler) usernameOf(ctx context.Context, sub string) (string, error) {
	for attempt := 0; ; attempt++ {
		out, err := h.cfg.Cognito.ListUsers(ctx, &cip.ListUsersInput{
			UserPoolId: &h.cfg.PoolID, Filter: aws.String("sub = " + cognito.QuoteFilterValue(sub)), Limit: aws.Int32(1)})
		if err != nil {
			return "", err
		}
		if len(out.Users) > 0 {
			return aws.ToString(out.Users[0].Username), nil
		}
		if attempt == 1 {
			return "", nil // two listings apart, and AdminGetUser: gone
		}
		dl, ok := ctx.Deadline()
		if ok && time.Until(dl) < 2*h.cfg.ListingRecheck || h.cfg.Sleep(ctx, h.cfg.ListingRecheck) != nil {
			h.metric("UnresolvedEvents", 1)
			return "", ErrAbsenceUnconfirmed
		}
	}
}
