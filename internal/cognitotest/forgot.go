package cognitotest

import (
	"context"
	"time"
)

// ForgotPassword and ConfirmForgotPassword (docs/cognito-facts.md §21).
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgotPassword.html
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmForgotPassword.html
// The code goes to the fake's outbox (outbox.go) instead of an inbox.

// resetCodeTTL: "The code expires in one hour" (developer guide,
// "Recovering user accounts"; UNCONFIRMED wording, see §21).
const resetCodeTTL = time.Hour

type resetCode struct {
	code    string
	expires time.Time
}

func forgotPassword(s *Service, body []byte) (any, *apiError) {
	var in struct {
		ClientId, Username, SecretHash string
		ClientMetadata                 map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	p, c, err := s.authClient("", in.ClientId, false)
	if err == nil {
		err = c.checkSecretHash(in.Username, in.SecretHash)
	}
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	u, _ := p.findUser(in.Username)
	arn := s.triggerARN(p, TriggerUserMigration)
	var m migration
	if u == nil && arn != "" {
		m = s.migrationEvent(p, c, sourceMigrateForgot, in.Username, "", in.ClientMetadata)
	}
	s.mu.RUnlock()
	if u == nil {
		if arn == "" {
			return unknownForgot(c)
		}
		if _, err := s.migrate(context.Background(), arn, m); err != nil {
			return nil, err
		}
	}
	return s.sendResetCode(p.id, in.Username)
}

// unknownForgot answers ForgotPassword for a user the pool does not have:
// with PreventUserExistenceErrors ENABLED, "a response indicating a code
// was sent to a simulated destination"; else UserNotFoundException.
func unknownForgot(c *client) (any, *apiError) {
	if !c.preventsExistenceErrors() {
		return nil, errUserNotFound()
	}
	return map[string]any{"CodeDeliveryDetails": map[string]string{"Destination": "***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}, nil
}

// sendResetCode gives the user a fresh code, sent to its verified email or
// else its verified phone number; a user with neither cannot reset.
func (s *Service) sendResetCode(poolID, name string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(poolID)
	if err != nil {
		return nil, err
	}
	u, err := p.findUser(name)
	if err != nil {
		return nil, err
	}
	if u.status == StatusForceChangePassword {
		return nil, newErr("NotAuthorizedException", "User password cannot be reset in the current state.")
	}
	medium, attrName, to := resetDestination(u)
	if to == "" {
		return nil, errInvalidParameter("Cannot reset password for the user as there is no registered/verified email or phone_number")
	}
	u.reset = &resetCode{code: newCode(), expires: s.now().Add(resetCodeTTL)}
	s.send(OutboxMessage{Pool: p.id, Username: u.username, Kind: "forgot-password", Code: u.reset.code, To: to})
	return map[string]any{"CodeDeliveryDetails": map[string]string{"Destination": to, "DeliveryMedium": medium, "AttributeName": attrName}}, nil
}

func resetDestination(u *user) (medium, attrName, masked string) {
	if v, ok := u.get("email"); ok {
		if ver, _ := u.get("email_verified"); ver == "true" {
			return "EMAIL", "email", maskEmail(v)
		}
	}
	if v, ok := u.get("phone_number"); ok {
		if ver, _ := u.get("phone_number_verified"); ver == "true" {
			return "SMS", "phone_number", maskPhone(v)
		}
	}
	return "", "", ""
}

func confirmForgotPassword(s *Service, body []byte) (any, *apiError) {
	var in struct {
		ClientId, Username, SecretHash, ConfirmationCode, Password string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, c, err := s.authClient("", in.ClientId, false)
	if err == nil {
		err = c.checkSecretHash(in.Username, in.SecretHash)
	}
	if err != nil {
		return nil, err
	}
	u, _ := p.findUser(in.Username)
	if u == nil {
		if c.preventsExistenceErrors() {
			return nil, errCodeMismatch()
		}
		return nil, errUserNotFound()
	}
	if err := s.checkResetCode(u, in.ConfirmationCode); err != nil {
		return nil, err
	}
	if err := p.checkPassword(in.Password); err != nil {
		return nil, err // the code stays usable for a better password
	}
	before := s.beforeChange(u)
	u.setPassword(in.Password)
	u.reset = nil
	if u.status == StatusResetRequired {
		u.status = StatusConfirmed
	}
	u.modified = s.now()
	s.afterChange(p, u, before)
	return struct{}{}, nil
}

// checkResetCode: the code must be the last one sent, within its hour.
func (s *Service) checkResetCode(u *user, code string) *apiError {
	switch {
	case u.reset == nil || code == "" || code != u.reset.code:
		return errCodeMismatch()
	case s.now().After(u.reset.expires):
		return newErr("ExpiredCodeException", "Invalid code provided, please request a code again.")
	}
	return nil
}

func errCodeMismatch() *apiError {
	return newErr("CodeMismatchException", "Invalid verification code provided, please try again.")
}
