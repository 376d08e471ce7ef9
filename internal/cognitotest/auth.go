package cognitotest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

// Sign-in with a password: InitiateAuth USER_PASSWORD_AUTH and
// AdminInitiateAuth ADMIN_USER_PASSWORD_AUTH (docs/cognito-facts.md §21).
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminInitiateAuth.html
//
// The fake signs nothing: its tokens are opaque random strings that only
// prove a sign-in succeeded. Nothing here logs a password or a token.

type authInput struct {
	UserPoolId     string // AdminInitiateAuth only
	ClientId       string
	AuthFlow       string
	AuthParameters map[string]string
	ClientMetadata map[string]string
}

func initiateAuth(s *Service, body []byte) (any, *apiError) { return s.passwordAuth(body, false) }

func adminInitiateAuth(s *Service, body []byte) (any, *apiError) { return s.passwordAuth(body, true) }

// passwordAuth signs a user in with USERNAME and PASSWORD, running the
// pool's UserMigration trigger for a user the pool does not have, and its
// PostAuthentication trigger after a sign-in that issues tokens
// (postauth.go).
func (s *Service) passwordAuth(body []byte, admin bool) (any, *apiError) {
	var in authInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkFlow(in.AuthFlow, admin); err != nil {
		return nil, err
	}
	name, pw := in.AuthParameters["USERNAME"], in.AuthParameters["PASSWORD"]
	s.mu.RLock()
	p, c, err := s.authClient(in.UserPoolId, in.ClientId, admin)
	if err == nil {
		err = c.checkAuth(in.AuthFlow, admin, name, pw, in.AuthParameters["SECRET_HASH"])
	}
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	if u, _ := p.findUser(name); u != nil {
		out, pa, err := s.signIn(p, c, u, pw)
		s.mu.RUnlock()
		return s.afterSignIn(context.Background(), out, pa, err)
	}
	arn := s.triggerARN(p, TriggerUserMigration)
	if arn == "" {
		s.mu.RUnlock()
		return nil, c.errNoSuchUser()
	}
	mc := s.migrationEvent(p, c, sourceMigrateAuth, name, pw, in.ClientMetadata)
	s.mu.RUnlock()
	return s.signInMigrated(context.Background(), arn, mc)
}

// checkFlow refuses a flow the fake does not implement, naming it.
func checkFlow(flow string, admin bool) *apiError {
	switch {
	case admin && (flow == "ADMIN_USER_PASSWORD_AUTH" || flow == "ADMIN_NO_SRP_AUTH"):
	case !admin && flow == "USER_PASSWORD_AUTH":
	default:
		return errInvalidParameter("AuthFlow %s is not supported by the fake (it signs in with USER_PASSWORD_AUTH and ADMIN_USER_PASSWORD_AUTH only)", flow)
	}
	return nil
}

// authClient finds the pool and app client a sign-in names. Caller holds s.mu.
func (s *Service) authClient(poolID, clientID string, admin bool) (*pool, *client, *apiError) {
	var p *pool
	if admin {
		var err *apiError
		if p, err = s.pool(poolID); err != nil {
			return nil, nil, err
		}
	} else {
		p = s.poolOfClient(clientID)
	}
	if p == nil || p.clients[clientID] == nil {
		return nil, nil, errResourceNotFound("User pool client %s does not exist.", clientID)
	}
	return p, p.clients[clientID], nil
}

// checkAuth applies the app client's rules to a sign-in: the flow must be
// among its ExplicitAuthFlows (a client created without them allows only
// SRP, refresh and custom auth: API_CreateUserPoolClient, ExplicitAuthFlows),
// both parameters must be there, and a client with a secret needs the
// SECRET_HASH of the username.
func (c *client) checkAuth(flow string, admin bool, name, pw, secretHash string) *apiError {
	if !c.allowsFlow(admin) {
		if admin {
			return errInvalidParameter("Auth flow not enabled for this client")
		}
		return errInvalidParameter("%s flow not enabled for this client", flow)
	}
	if name == "" {
		return errInvalidParameter("Missing required parameter USERNAME")
	}
	if pw == "" {
		return errInvalidParameter("Missing required parameter PASSWORD")
	}
	return c.checkSecretHash(name, secretHash)
}

// allowsFlow reports whether the client's ExplicitAuthFlows enable the
// password flow; the legacy names (USER_PASSWORD_AUTH, ADMIN_NO_SRP_AUTH)
// count too.
func (c *client) allowsFlow(admin bool) bool {
	var flows []string
	_ = json.Unmarshal(c.config["ExplicitAuthFlows"], &flows)
	for _, f := range flows {
		switch {
		case admin && (f == "ALLOW_ADMIN_USER_PASSWORD_AUTH" || f == "ADMIN_NO_SRP_AUTH"):
			return true
		case !admin && (f == "ALLOW_USER_PASSWORD_AUTH" || f == "USER_PASSWORD_AUTH"):
			return true
		}
	}
	return false
}

// checkSecretHash: Base64(HMAC_SHA256(client secret, username + client id)),
// developer guide "Computing secret hash values".
func (c *client) checkSecretHash(name, got string) *apiError {
	if c.secret == "" {
		return nil
	}
	m := hmac.New(sha256.New, []byte(c.secret))
	m.Write([]byte(name + c.id))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(got), []byte(want)) {
		return newErr("NotAuthorizedException", "Unable to verify secret hash for client %s", c.id)
	}
	return nil
}

// preventsExistenceErrors: PreventUserExistenceErrors=ENABLED; LEGACY is
// the API's default (developer guide, "Managing user existence error
// responses").
func (c *client) preventsExistenceErrors() bool {
	var v string
	_ = json.Unmarshal(c.config["PreventUserExistenceErrors"], &v)
	return v == "ENABLED"
}

// errNoSuchUser is the sign-in answer for a user the pool does not have.
func (c *client) errNoSuchUser() *apiError {
	if c.preventsExistenceErrors() {
		return errBadPassword()
	}
	return errUserNotFound()
}

func errBadPassword() *apiError {
	return newErr("NotAuthorizedException", "Incorrect username or password.")
}

// authenticate checks pw against u and answers with tokens or the
// challenge u's status or p's MFA mode calls for (mfachallenge.go). Caller
// holds s.mu.
func (s *Service) authenticate(p *pool, u *user, pw string) (any, *apiError) {
	if u.status == StatusResetRequired {
		return nil, newErr("PasswordResetRequiredException", "Password reset required for the user")
	}
	if !u.passwordIs(pw) {
		return nil, errBadPassword()
	}
	switch {
	case !u.enabled:
		return nil, newErr("NotAuthorizedException", "User is disabled.")
	case u.status == StatusUnconfirmed:
		return nil, newErr("UserNotConfirmedException", "User is not confirmed.")
	case u.status == StatusForceChangePassword:
		return newPasswordChallenge(u), nil
	}
	if ch := p.mfaChallenge(u); ch != nil {
		return ch, nil
	}
	return map[string]any{"ChallengeParameters": map[string]string{}, "AuthenticationResult": map[string]any{
		"AccessToken": opaque("access"), "IdToken": opaque("id"), "RefreshToken": opaque("refresh"),
		"ExpiresIn": 3600, "TokenType": "Bearer",
	}}, nil
}

// newPasswordChallenge is the NEW_PASSWORD_REQUIRED answer for a user with
// a temporary password (AWS CLI example admin-initiate-auth: USER_ID_FOR_SRP,
// requiredAttributes, userAttributes as a JSON string).
func newPasswordChallenge(u *user) map[string]any {
	attrs := map[string]string{}
	for _, a := range u.attrs {
		if a.Name != "sub" {
			attrs[a.Name] = a.Value
		}
	}
	ua, _ := json.Marshal(attrs)
	return map[string]any{"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": opaque("session"),
		"ChallengeParameters": map[string]string{"USER_ID_FOR_SRP": u.username, "requiredAttributes": "[]", "userAttributes": string(ua)}}
}

// opaque is a random token; the fake signs nothing.
func opaque(kind string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "fake-" + kind + "." + hex.EncodeToString(b)
}
