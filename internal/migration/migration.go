// Package migration is the UserMigration trigger of a target pool: it
// checks a signing-in user's password against the source pool and answers
// with the user's attributes, so that Cognito creates the user in the
// target with the same password (docs/cognito-facts.md §21, §22).
//
// The developer guide's "Migrate user Lambda trigger" page
// (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-migrate-user.html)
// gives the event and the answer; any error from the function means Cognito
// creates no user. Users the source challenges (NEW_PASSWORD_REQUIRED, MFA)
// are refused at sign-in and come over through forgot password.
//
// Nothing here logs or returns a password, a username or an attribute
// value: the error text reaches the end user inside
// UserLambdaValidationException "UserMigration failed with error <text>.".
package migration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Trigger sources (trigger sources table of the developer guide's Lambda
// triggers page; migrate-user page).
const (
	SourceAuthentication = "UserMigration_Authentication"
	SourceForgotPassword = "UserMigration_ForgotPassword"
	// SourcePostAuthentication runs after every sign-in that issues
	// tokens, the migrating one included (postauth.go).
	SourcePostAuthentication = "PostAuthentication_Authentication"
)

// Source is what the handler calls on the source pool.
// *cognitoidentityprovider.Client satisfies it.
type Source interface {
	AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, optFns ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminListGroupsForUser(ctx context.Context, in *cip.AdminListGroupsForUserInput, optFns ...func(*cip.Options)) (*cip.AdminListGroupsForUserOutput, error)
}

// Target is what the handler calls on the target pool (with the
// function's own credentials): AdminGetUser binds a pending record to the
// user the migration created (postauth.go). *cognitoidentityprovider.Client
// satisfies it.
type Target interface {
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
}

// Config configures a Handler.
type Config struct {
	SourcePoolID   string
	SourceClientID string // must allow ALLOW_ADMIN_USER_PASSWORD_AUTH
	Source         Source
	// LegacySubAttribute names the target attribute that takes the source
	// user's sub (e.g. "custom:legacy_sub"); empty drops the old sub.
	LegacySubAttribute string
	// Budget bounds the source calls (default 3 s): Cognito gives a trigger
	// 5 s before it retries ("Important considerations", developer guide).
	Budget time.Duration
	Log    *slog.Logger
	// Records keeps the migration's records in the repository
	// (records.go); nil keeps none, and PostAuthentication then does
	// nothing. *repo.Repo satisfies it.
	Records Records
	// Target adds migrated users to their groups; required with Records.
	Target Target
	Now    func() time.Time
}

// Handler answers UserMigration_* events.
type Handler struct{ cfg Config }

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.SourcePoolID == "":
		return nil, errors.New("migration: no source pool id (set COGVAULT_MIGRATION_SOURCE_POOL_ID)")
	case cfg.SourceClientID == "":
		return nil, errors.New("migration: no source app client id (set COGVAULT_MIGRATION_SOURCE_CLIENT_ID)")
	case cfg.Source == nil:
		return nil, errors.New("migration: no Cognito client for the source pool")
	case cfg.Records != nil && cfg.Target == nil:
		return nil, errors.New("migration: no Cognito client for the target pool (it adds migrated users to their groups)")
	}
	if a := cfg.LegacySubAttribute; a != "" && !strings.HasPrefix(a, "custom:") {
		return nil, fmt.Errorf("migration: COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE=%q: want a custom attribute, e.g. custom:legacy_sub", a)
	}
	if cfg.Budget == 0 {
		cfg.Budget = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}, nil
}

// Refusals. Their text reaches the end user, so it names no user and does
// not tell a wrong password from an unknown user.
var (
	ErrRefused       = errors.New("incorrect username or password")
	ErrChallenge     = errors.New("this account must reset its password (forgot password) before it can sign in")
	ErrUnrecoverable = errors.New("this account has no verified email or phone number to reset its password")
	ErrUnavailable   = errors.New("the account could not be checked; try again")
	errNotMigration  = errors.New("not a UserMigration event")
)

// event is the part of the trigger event the handler reads.
type event struct {
	TriggerSource string `json:"triggerSource"`
	UserPoolID    string `json:"userPoolId"`
	UserName      string `json:"userName"`
	Request       struct {
		Password       string         `json:"password"`
		UserAttributes map[string]any `json:"userAttributes"` // strings; any, so an odd value never fails a sign-in
	} `json:"request"`
}

// Handle answers one UserMigration event: the event with its response
// filled in, or an error, which makes Cognito create no user. A
// PostAuthentication event goes back unchanged, whatever happened.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var ev event
	err := json.Unmarshal(raw, &ev)
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Budget)
	defer cancel()
	if ev.TriggerSource == SourcePostAuthentication {
		if err == nil && ev.UserName != "" {
			h.postAuthentication(ctx, ev)
		}
		return raw, nil // a function error would fail the sign-in (§27.2)
	}
	if err != nil || ev.UserName == "" {
		return nil, fmt.Errorf("migration: %w", errNotMigration)
	}
	var resp map[string]any
	var src sourceUser
	switch ev.TriggerSource {
	case SourceAuthentication:
		resp, src, err = h.authenticate(ctx, ev.UserName, ev.Request.Password)
	case SourceForgotPassword:
		resp, src, err = h.forgotPassword(ctx, ev.UserName)
	default:
		err = fmt.Errorf("migration: %w: %s", errNotMigration, ev.TriggerSource)
	}
	if err != nil {
		h.cfg.Log.Info("user migration refused", "triggerSource", ev.TriggerSource, "reason", reason(err))
		h.recordFailure(ctx, ev.UserPoolID, err)
		return nil, err
	}
	h.recordPending(ctx, ev.UserPoolID, ev.UserName, src)
	h.cfg.Log.Info("user migrated", "triggerSource", ev.TriggerSource, "finalUserStatus", resp["finalUserStatus"])
	return withResponse(raw, resp)
}

// authenticate checks the password on the source and answers CONFIRMED.
// name is what the user typed: the source's AdminInitiateAuth and
// AdminGetUser take a username or an alias (email, phone number) the source
// signs in with (docs/cognito-facts.md §27.3).
func (h *Handler) authenticate(ctx context.Context, name, password string) (map[string]any, sourceUser, error) {
	if password == "" {
		return nil, sourceUser{}, ErrRefused
	}
	out, err := h.cfg.Source.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		UserPoolId: &h.cfg.SourcePoolID, ClientId: &h.cfg.SourceClientID, AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": password},
	})
	if err != nil {
		return nil, sourceUser{}, sourceError(err)
	}
	if out.ChallengeName != "" || out.AuthenticationResult == nil {
		// A challenge cannot pass through the trigger: the target would
		// take a password the source has not finished with.
		why := "challenge"
		if out.ChallengeName == types.ChallengeNameTypeNewPasswordRequired {
			why = "must-change-password"
		}
		return nil, sourceUser{}, failure(ErrChallenge, why)
	}
	u, err := h.sourceUser(ctx, name)
	if err != nil {
		return nil, sourceUser{}, err
	}
	return answer(u.attrs, "CONFIRMED"), u, nil
}

// forgotPassword answers RESET_REQUIRED with the attributes Cognito needs
// to send the code: a verified email or phone number.
func (h *Handler) forgotPassword(ctx context.Context, name string) (map[string]any, sourceUser, error) {
	u, err := h.sourceUser(ctx, name)
	if err != nil {
		return nil, sourceUser{}, err
	}
	if u.attrs["email_verified"] != "true" && u.attrs["phone_number_verified"] != "true" {
		return nil, sourceUser{}, failure(ErrUnrecoverable, "no-verified-contact")
	}
	return answer(u.attrs, "RESET_REQUIRED"), u, nil
}

// sourceUser is the source user a migration found: its username (not what
// was typed, which may be an alias), its sub, and the attributes the
// target takes.
type sourceUser struct {
	username, sub string
	attrs         map[string]string
}

// sourceUser reads the source user and keeps what the target can take.
// A disabled source user is refused, and so is a federated-only one
// (UserStatus EXTERNAL_PROVIDER, "User signed in with a third-party IdP",
// API_AdminGetUser): it has no password to migrate, and a forgot-password
// answer would make it a native user under the provider's name
// ("Google_<id>") in the target, whom a code could give a password. It
// comes back at its next federated sign-in (docs/cognito-facts.md §34.5).
func (h *Handler) sourceUser(ctx context.Context, name string) (sourceUser, error) {
	u, err := h.cfg.Source.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &h.cfg.SourcePoolID, Username: &name})
	if err != nil {
		return sourceUser{}, sourceError(err)
	}
	if !u.Enabled {
		return sourceUser{}, failure(ErrRefused, "disabled")
	}
	if u.UserStatus == types.UserStatusTypeExternalProvider {
		return sourceUser{}, failure(ErrRefused, "federated")
	}
	su := sourceUser{username: aws.ToString(u.Username), attrs: h.keep(u.UserAttributes)}
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == "sub" {
			su.sub = aws.ToString(a.Value)
		}
	}
	return su, nil
}

// keep drops sub (Cognito gives the user a new one; returning it fails the
// migration, boto/boto3#2747; AWS's sample function in
// awslabs/aws-amplify-identity-broker drops it too), identities (written only by federation and
// AdminLinkProviderForUser) and cognito:* (service-owned), and moves the
// old sub into LegacySubAttribute when one is configured.
func (h *Handler) keep(in []types.AttributeType) map[string]string {
	out := make(map[string]string, len(in))
	var sub string
	for _, a := range in {
		name, value := aws.ToString(a.Name), aws.ToString(a.Value)
		switch {
		case name == "sub":
			sub = value
		case name == "identities", strings.HasPrefix(name, "cognito:"):
		default:
			out[name] = value
		}
	}
	if h.cfg.LegacySubAttribute != "" && sub != "" {
		out[h.cfg.LegacySubAttribute] = sub
	}
	return out
}

func answer(attrs map[string]string, status string) map[string]any {
	return map[string]any{"userAttributes": attrs, "finalUserStatus": status, "messageAction": "SUPPRESS"}
}

// sourceError maps a source failure to a refusal: a wrong password, an
// unknown, disabled or unconfirmed user all read the same to the end user;
// a throttle or timeout asks them to try again. The SDK's text is dropped.
func sourceError(err error) error {
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		switch c.ErrorCode() {
		case "NotAuthorizedException":
			// The same code says wrong password and disabled user; only
			// the message tells them apart ("User is disabled.", §21.3).
			// The end user reads the same refusal either way.
			var m interface{ ErrorMessage() string }
			if errors.As(err, &m) && strings.Contains(m.ErrorMessage(), "disabled") {
				return failure(ErrRefused, "disabled")
			}
			return ErrRefused
		case "UserNotFoundException":
			return ErrRefused
		case "UserNotConfirmedException":
			return failure(ErrRefused, "unconfirmed")
		case "PasswordResetRequiredException":
			return failure(ErrChallenge, "reset-required")
		}
	}
	why := "source-error"
	if errors.Is(err, context.DeadlineExceeded) {
		why = "timeout"
	}
	return failure(fmt.Errorf("%w (%s)", ErrUnavailable, reason(err)), why)
}

// reason names an error by class only, for logs.
func reason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrChallenge):
		return "challenge"
	case errors.Is(err, ErrUnrecoverable):
		return "no verified email or phone"
	case errors.Is(err, errNotMigration):
		return "not a migration event"
	}
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return "source unavailable"
}

// withResponse returns the event with response replaced, keeping every
// other member as Cognito sent it.
func withResponse(raw json.RawMessage, resp map[string]any) (json.RawMessage, error) {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("migration: %w", errNotMigration)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("migration: encode the response: %w", err)
	}
	ev["response"] = b
	return json.Marshal(ev)
}
