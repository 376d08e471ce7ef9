package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// cloudTrailDetailTypes are the EventBridge detail-types CloudTrail gives
// Cognito's records: API calls (eventType AwsApiCall), and managed login /
// hosted UI requests, which Cognito records as eventType AwsServiceEvent
// (e.g. Confirm_POST, a user confirming their sign-up).
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
// https://docs.aws.amazon.com/cognito/latest/developerguide/understanding-amazon-cognito-entries.html
var cloudTrailDetailTypes = map[string]bool{"AWS API Call via CloudTrail": true, "AWS Service Event via CloudTrail": true}

// cloudTrailEvent is an EventBridge event carrying a CloudTrail record.
// Cognito hides sensitive request fields (usernames, attribute values) as
// HIDDEN_DUE_TO_SECURITY_REASONS (the developer guide also spells it
// HIDDEN_FOR_SECURITY_REASONS; both start with "HIDDEN_") and, for requests
// specific to a user, records the user's sub, not the username:
// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-info-in-cloudtrail.html
// Where: API calls in additionalEventData.sub (UNCONFIRMED by a documented
// example; AWS-copyrighted sample code types it there); hosted-UI events in
// additionalEventData.requestParameters.sub, a list, next to
// additionalEventData.userPoolId (documented Confirm_POST example).
// docs/cognito-facts.md section 14.
type cloudTrailEvent struct {
	ID     string `json:"id"`
	Detail struct {
		EventName           string          `json:"eventName"`
		EventTime           time.Time       `json:"eventTime"`
		EventID             string          `json:"eventID"`
		ErrorCode           string          `json:"errorCode"`
		RequestParameters   map[string]any  `json:"requestParameters"`
		ResponseElements    map[string]any  `json:"responseElements"`
		AdditionalEventData map[string]any  `json:"additionalEventData"`
		Resources           []trailResource `json:"resources"`
	} `json:"detail"`
}

type trailResource struct {
	ARN string `json:"ARN"`
}

// SelfServiceChanges are the calls in userChanges a user makes with an app
// client id or an access token: their CloudTrail records name no pool.
// deploy/terraform's rule matches exactly these without a pool (a test checks).
var SelfServiceChanges = []string{
	"ConfirmForgotPassword", "ConfirmSignUp", "DeleteUser", "DeleteUserAttributes", "SetUserMFAPreference",
	"SetUserSettings", "SignUp", "UpdateUserAttributes", "VerifySoftwareToken", "VerifyUserAttribute",
}

// userChanges are the API calls after which a user's state may differ.
var userChanges = map[string]bool{
	"AdminCreateUser": true, "AdminUpdateUserAttributes": true, "AdminDeleteUserAttributes": true,
	"AdminDeleteUser": true, "AdminDisableUser": true, "AdminEnableUser": true,
	"AdminAddUserToGroup": true, "AdminRemoveUserFromGroup": true, "AdminSetUserPassword": true,
	"AdminResetUserPassword": true, "AdminConfirmSignUp": true, "AdminSetUserMFAPreference": true,
	"AdminSetUserSettings": true, "AdminLinkProviderForUser": true, "AdminDisableProviderForUser": true,
	"UpdateUserAttributes": true, "DeleteUserAttributes": true, "DeleteUser": true, "SignUp": true,
	"ConfirmSignUp": true, "ConfirmForgotPassword": true, "VerifyUserAttribute": true,
	"SetUserMFAPreference": true, "SetUserSettings": true, "VerifySoftwareToken": true,
	// Hosted UI / managed login: a user entering the code that confirms their
	// sign-up (AwsServiceEvent, documented example).
	"Confirm_POST": true,
}

// groupChanges are the API calls that change a group itself.
var groupChanges = map[string]bool{"CreateGroup": true, "UpdateGroup": true, "DeleteGroup": true}

// hidden is the prefix of the values CloudTrail withholds.
const hidden = "HIDDEN_"

func (h *Handler) cloudTrail(ctx context.Context, raw json.RawMessage) error {
	var ev cloudTrailEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode CloudTrail event: %w", err)
	}
	d := &ev.Detail
	name := d.EventName
	switch {
	case d.ErrorCode != "":
		return nil // the call failed: nothing changed
	case !userChanges[name] && !groupChanges[name]:
		return nil // a read, a sign-in, or configuration: not journaled
	}
	pool := str(d.RequestParameters, "userPoolId")
	if pool == "" {
		pool = str(d.AdditionalEventData, "userPoolId")
	}
	for _, r := range d.Resources {
		if _, id, ok := strings.Cut(r.ARN, ":userpool/"); ok && pool == "" {
			pool = id
		}
	}
	if pool != h.cfg.PoolID && pool != "" {
		return nil
	}
	id := d.EventID
	if id == "" {
		id = ev.ID
	}
	if id == "" {
		id = h.eventID()
	}
	base := snapshot.Event{PoolID: h.cfg.PoolID, Source: name, EventID: id, ChangeTime: d.EventTime.UTC()}
	var err error
	switch {
	case pool == "":
		err = h.journalUnscoped(ctx, base, d.AdditionalEventData)
	case groupChanges[name]:
		err = h.journalGroup(ctx, base, str(d.RequestParameters, "groupName"))
	default:
		err = h.journalUser(ctx, base, d.RequestParameters, d.ResponseElements, d.AdditionalEventData)
	}
	if err != nil {
		h.metric("CaptureFailures", 1)
		h.cfg.Log.Error("could not journal a change; the next snapshot reconciles", "eventName", name, "error", errClass(err))
		return fmt.Errorf("journal %s event %s: %s", name, id, errClass(err))
	}
	h.metric("CapturedChanges", 1)
	return nil
}

func (h *Handler) journalGroup(ctx context.Context, e snapshot.Event, name string) error {
	if name == "" || strings.HasPrefix(name, hidden) {
		h.metric("UnresolvedEvents", 1)
		return nil
	}
	out, err := h.cfg.Cognito.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: &h.cfg.PoolID, GroupName: &name})
	e.Time = h.cfg.Now().UTC()
	switch {
	case cognito.IsNotFound(err):
		e.Kind, e.Group = snapshot.EventGroupDeleted, &snapshot.Group{Name: name}
	case err != nil:
		return err
	default:
		g := backup.GroupRecord(*out.Group)
		e.Kind, e.Group = snapshot.EventGroup, &g
	}
	_, err = h.cfg.Repo.AppendEvent(ctx, &e)
	return err
}

// journalUnscoped handles an event that names no pool: self-service calls
// authorised by the user's access token carry no userPoolId. Its sub is
// looked up in this function's pool. Found, the user is journaled; not found,
// it may be another pool's user as well as a deleted one of this pool, so
// nothing is written (a tombstone needs proof) and the snapshot reconciles.
func (h *Handler) journalUnscoped(ctx context.Context, e snapshot.Event, extra map[string]any) error {
	sub := subOf(extra)
	if sub == "" {
		h.metric("UnresolvedEvents", 1)
		h.cfg.Log.Warn("CloudTrail event names no user pool and no sub; the next snapshot reconciles", "eventName", e.Source)
		return nil
	}
	if _, err := h.readUser(ctx, sub); cognito.IsUserNotFound(err) {
		h.metric("UnresolvedEvents", 1)
		h.cfg.Log.Warn("CloudTrail event names no user pool and its sub is not in this pool; the next snapshot reconciles", "eventName", e.Source)
		return nil
	} else if err != nil {
		return err
	}
	return h.journalUser(ctx, e, nil, nil, extra)
}

// subOf finds the sub in additionalEventData: a string for API calls, a
// one-element list under requestParameters for hosted-UI requests.
func subOf(extra map[string]any) string {
	if s := firstOf(str(extra, "sub"), str(extra, "userSub")); s != "" {
		return s
	}
	req, _ := extra["requestParameters"].(map[string]any)
	if l, _ := req["sub"].([]any); len(l) == 1 {
		if s, _ := l[0].(string); !strings.HasPrefix(s, hidden) {
			return s
		}
	}
	return ""
}

// journalUser re-reads the user the call was about. CloudTrail gives the
// sub, or a username, or neither (then the snapshot reconciles).
func (h *Handler) journalUser(ctx context.Context, e snapshot.Event, req, resp, extra map[string]any) error {
	sub := firstOf(subOf(extra), str(resp, "userSub"), str(req, "sub"))
	username := firstOf(str(req, "username"), str(req, "userName"))
	var u *snapshot.User
	var err error
	switch {
	case username != "":
		u, err = h.readUser(ctx, username)
	case sub != "":
		// Cognito takes a local user's sub wherever a username goes: one
		// AdminGetUser (UserRead, 120 RPS) instead of a ListUsers by sub
		// (UserList, 30 RPS, shared with backups). Federated users are not
		// addressable by sub: for them, and for the deleted, list.
		u, err = h.readUser(ctx, sub)
		if cognito.IsUserNotFound(err) {
			if username, err = h.usernameOf(ctx, sub); err != nil {
				return err
			}
			if username == "" {
				return h.tombstone(ctx, e, sub, "")
			}
			u, err = h.readUser(ctx, username)
		}
	default:
		h.metric("UnresolvedEvents", 1)
		h.cfg.Log.Warn("CloudTrail event names no user (sub and username hidden); the next snapshot reconciles", "eventName", e.Source)
		return nil
	}
	if cognito.IsUserNotFound(err) {
		return h.tombstone(ctx, e, sub, username)
	}
	if err != nil {
		return err
	}
	groups, err := h.readGroups(ctx, u.Username)
	if cognito.IsUserNotFound(err) {
		return h.tombstone(ctx, e, u.Sub, u.Username)
	}
	if err != nil {
		return err
	}
	e.Kind, e.User, e.Groups, e.GroupsKnown, e.Time = snapshot.EventUser, u, groups, true, h.cfg.Now().UTC()
	_, err = h.cfg.Repo.AppendEvent(ctx, &e)
	return err
}

func (h *Handler) tombstone(ctx context.Context, e snapshot.Event, sub, username string) error {
	e.Kind, e.Sub, e.Username, e.Time = snapshot.EventUserDeleted, sub, username, h.cfg.Now().UTC()
	if sub == "" && username == "" {
		return nil
	}
	_, err := h.cfg.Repo.AppendEvent(ctx, &e)
	return err
}

// str reads a string field, treating values CloudTrail hid as absent.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	if strings.HasPrefix(s, hidden) {
		return ""
	}
	return s
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
