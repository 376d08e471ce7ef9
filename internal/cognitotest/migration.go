package cognitotest

import (
	"context"
	"strings"
)

// The UserMigration trigger (docs/cognito-facts.md §21): "When a user
// doesn't exist in the user pool at sign-in with a password, or in the
// forgot-password flow, Amazon Cognito invokes this trigger. After the
// Lambda function returns successfully, Amazon Cognito creates the user in
// the user pool." Event and answer as the developer guide's "Migrate user
// Lambda trigger" page (user-pool-lambda-migrate-user.html) gives them.

const (
	sourceMigrateAuth   = "UserMigration_Authentication"
	sourceMigrateForgot = "UserMigration_ForgotPassword"
)

// migration is one UserMigration call: the event and what the fake needs
// to act on the answer after the lock was let go.
type migration struct {
	ev       *TriggerEvent
	poolID   string
	password string // "" in the forgot-password flow
	client   *client
}

// migrationEvent builds the event. The sign-in's ClientMetadata arrives as
// validationData ("To pass this data to your Lambda function, you can use
// the ClientMetadata parameter in the InitiateAuth and AdminInitiateAuth API
// actions"), ForgotPassword's as clientMetadata; password only at sign-in.
// Caller holds s.mu.
func (s *Service) migrationEvent(p *pool, c *client, source, name, pw string, meta map[string]string) migration {
	ev := s.newTriggerEvent(p, source, name, nil)
	ev.CallerContext.ClientID = c.id
	ev.Request = map[string]any{"validationData": nil, "clientMetadata": nil}
	if source == sourceMigrateAuth {
		ev.Request["password"] = pw
		ev.Request["validationData"] = meta
	} else {
		ev.Request["clientMetadata"] = meta
	}
	ev.Response = map[string]any{"userAttributes": nil, "finalUserStatus": nil, "messageAction": nil,
		"desiredDeliveryMediums": nil, "forceAliasCreation": nil, "enableSMSMFA": nil}
	return migration{ev: ev, poolID: p.id, password: pw, client: c}
}

// signInMigrated runs the trigger for a sign-in and, when it answers with a
// user, completes the sign-in against that user.
func (s *Service) signInMigrated(ctx context.Context, arn string, m migration) (any, *apiError) {
	u, err := s.migrate(ctx, arn, m)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	p, err := s.pool(m.poolID)
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	out, pa, err := s.signIn(p, m.client, u, m.password)
	s.mu.RUnlock()
	// The migrated sign-in is a sign-in: PostAuthentication runs after it
	// (§27), which is where the function learns the new sub.
	return s.afterSignIn(ctx, out, pa, err)
}

// migrate invokes the function and creates the user it answers with. No
// user is created when the function fails or answers without
// userAttributes ("This field is required"). A function error comes back
// as UserLambdaValidationException "UserMigration failed with error
// <message>." (invokeTrigger), the message clients of real pools match on;
// an answer without attributes as errNotMigrated. docs/cognito-facts.md §21.
func (s *Service) migrate(ctx context.Context, arn string, m migration) (*user, *apiError) {
	back, err := s.invokeTrigger(ctx, arn, m.ev)
	if err != nil {
		return nil, err
	}
	ans, aerr := parseMigration(back.Response, m.ev.TriggerSource)
	if aerr != nil {
		return nil, aerr
	}
	if len(ans.attrs) == 0 {
		return nil, m.client.errNotMigrated()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, aerr := s.pool(m.poolID)
	if aerr != nil {
		return nil, aerr
	}
	return s.insertMigrated(p, m, ans)
}

type migrationAnswer struct {
	attrs         []attrInput
	status        string
	suppress, sms bool
	force         bool
	mediums       []string
}

// parseMigration reads the function's response. finalUserStatus is
// CONFIRMED (or unset: "auto-confirm your users and allow them to sign in
// with their previous passwords") or RESET_REQUIRED; the forgot-password
// flow knows no password, so its user is RESET_REQUIRED either way.
func parseMigration(r map[string]any, source string) (migrationAnswer, *apiError) {
	var a migrationAnswer
	ua, _ := r["userAttributes"].(map[string]any)
	for k, v := range ua {
		sv, ok := v.(string)
		if ok && k != "sub" && k != "username" { // Cognito gives the user a new sub
			a.attrs = append(a.attrs, attrInput{k, sv})
		}
	}
	a.status, _ = r["finalUserStatus"].(string)
	switch a.status {
	case "", StatusConfirmed:
		a.status = StatusConfirmed
	case StatusResetRequired:
	default:
		return a, newErr("InvalidLambdaResponseException", "Invalid finalUserStatus %q in UserMigration response", a.status)
	}
	if source == sourceMigrateForgot {
		a.status = StatusResetRequired
	}
	action, _ := r["messageAction"].(string)
	a.suppress = action == "SUPPRESS"
	a.force, _ = r["forceAliasCreation"].(bool)
	a.sms, _ = r["enableSMSMFA"].(bool)
	ms, _ := r["desiredDeliveryMediums"].([]any)
	for _, m := range ms {
		if s, ok := m.(string); ok {
			a.mediums = append(a.mediums, s)
		}
	}
	return a, nil
}

// insertMigrated creates the migrated user with a new sub, the sign-in's
// password when CONFIRMED, and a welcome message unless SUPPRESS. A user
// created meanwhile by another call wins. Caller holds s.mu.
func (s *Service) insertMigrated(p *pool, m migration, a migrationAnswer) (*user, *apiError) {
	name := m.ev.UserName
	if u, _ := p.findUser(name); u != nil {
		return u, nil
	}
	if len(p.usernameAttrs) == 0 && p.aliasAttr("email") && emailRE.MatchString(name) {
		// A pool with email as an alias takes no email as a username, a
		// migrated one included: "Username cannot be of email format since
		// user pool is configured for email alias" after the function
		// answered (stackoverflow.com/questions/71560661; §27).
		return nil, errInvalidParameter("Username cannot be of email format, since user pool is configured for email alias.")
	}
	if err := p.checkWrite(a.attrs, true); err != nil {
		return nil, err
	}
	if err := p.checkNewAliases(name, a.attrs, a.force); err != nil {
		return nil, err
	}
	u, err := s.insertUser(p, name, a.attrs, a.status)
	if err != nil {
		return nil, err
	}
	if a.status == StatusConfirmed {
		u.setPassword(m.password)
	}
	if _, ok := u.get("phone_number"); ok && a.sms {
		u.mfa.sms = true
	}
	if !a.suppress {
		if to := welcomeTo(u, a.mediums); to != "" {
			s.send(OutboxMessage{Pool: p.id, Username: u.username, Kind: "welcome", To: to})
		}
	}
	return u, nil
}

// welcomeTo is the masked destination of a welcome message: email when the
// function asks for EMAIL, else SMS, AdminCreateUser's default medium.
func welcomeTo(u *user, mediums []string) string {
	email, hasEmail := u.get("email")
	if hasEmail && strings.Contains(strings.Join(mediums, ","), "EMAIL") {
		return maskEmail(email)
	}
	if ph, ok := u.get("phone_number"); ok {
		return maskPhone(ph)
	}
	return ""
}

// errNotMigrated answers a sign-in whose function returned no user:
// UserNotFoundException "Exception migrating user in app client <id>"
// (message seen in clients of real pools; code UNCONFIRMED, §21), or the
// generic sign-in failure when the client hides user existence.
func (c *client) errNotMigrated() *apiError {
	if c.preventsExistenceErrors() {
		return errBadPassword()
	}
	return newErr("UserNotFoundException", "Exception migrating user in app client %s", c.id)
}
