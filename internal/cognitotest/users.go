package cognitotest

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User statuses. https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UserType.html#CognitoUserPools-Type-UserType-UserStatus
const (
	StatusUnconfirmed         = "UNCONFIRMED"
	StatusConfirmed           = "CONFIRMED"
	StatusExternalProvider    = "EXTERNAL_PROVIDER"
	StatusResetRequired       = "RESET_REQUIRED"
	StatusForceChangePassword = "FORCE_CHANGE_PASSWORD"
)

type attr struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type user struct {
	seq               uint64
	pos               uint64 // place in the ListUsers order (see enlist)
	username          string
	sub               string
	attrs             []attr // sub first, then in the order written
	enabled           bool
	status            string
	created, modified time.Time
	hasPassword       bool
	pw                *pwHash    // salted hash (passwords.go); nil: none the fake knows
	reset             *resetCode // the last ForgotPassword code (forgot.go)
	totpVerified      bool
	mfa               mfaPrefs
	groups            map[string]struct{}
	deleted           bool
	// listed is the state ListUsers still shows while the last change is
	// younger than the listing lag (see SetListingLag); nil otherwise.
	listed *user
	// moved is the user's second place in the listing while a change is
	// younger than the lag; ghostOf marks such a place (see afterChange).
	moved, ghostOf *user
}

type mfaPrefs struct {
	sms, totp, email bool
	preferred        string // SMS_MFA | SOFTWARE_TOKEN_MFA | EMAIL_OTP | ""
}

func (u *user) get(name string) (string, bool) {
	for _, a := range u.attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func (u *user) set(name, value string) {
	for i := range u.attrs {
		if u.attrs[i].Name == name {
			u.attrs[i].Value = value
			return
		}
	}
	u.attrs = append(u.attrs, attr{name, value})
}

func (u *user) unset(name string) {
	for i := range u.attrs {
		if u.attrs[i].Name == name {
			u.attrs = append(u.attrs[:i], u.attrs[i+1:]...)
			return
		}
	}
}

// mfaSettingList is UserMFASettingList as AdminGetUser returns it.
func (u *user) mfaSettingList() []string {
	var l []string
	if u.mfa.sms {
		l = append(l, "SMS_MFA")
	}
	if u.mfa.totp {
		l = append(l, "SOFTWARE_TOKEN_MFA")
	}
	if u.mfa.email {
		l = append(l, "EMAIL_OTP")
	}
	return l
}

// userType is UserType on the wire (ListUsers, ListUsersInGroup, AdminCreateUser).
type userType struct {
	Username             string  `json:"Username"`
	Attributes           []attr  `json:"Attributes"`
	UserCreateDate       *epoch  `json:"UserCreateDate"`
	UserLastModifiedDate *epoch  `json:"UserLastModifiedDate"`
	Enabled              bool    `json:"Enabled"`
	UserStatus           string  `json:"UserStatus"`
	MFAOptions           []mfaOp `json:"MFAOptions,omitempty"`
}

type mfaOp struct {
	DeliveryMedium string `json:"DeliveryMedium"`
	AttributeName  string `json:"AttributeName"`
}

// render copies u for the wire. want, when non-nil, limits the attributes
// (ListUsers AttributesToGet). Caller holds s.mu.
func (u *user) render(want map[string]bool) userType {
	attrs := make([]attr, 0, len(u.attrs))
	for _, a := range u.attrs {
		if want == nil || want[a.Name] {
			attrs = append(attrs, a)
		}
	}
	ut := userType{
		Username: u.username, Attributes: attrs,
		UserCreateDate: ts(u.created), UserLastModifiedDate: ts(u.modified),
		Enabled: u.enabled, UserStatus: u.status,
	}
	if u.mfa.sms {
		ut.MFAOptions = []mfaOp{{"SMS", "phone_number"}}
	}
	return ut
}

// findUser resolves a Username parameter the way Cognito does: the username
// itself, an email or phone number when the pool signs in with them (or has
// them as aliases, verified), or the user's sub.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminGetUser.html#CognitoUserPools-AdminGetUser-request-Username
func (p *pool) findUser(username string) (*user, *apiError) {
	if username == "" {
		return nil, validationErr("null", "username", "Member must not be null")
	}
	if u := p.users[p.canon(username)]; u != nil {
		return u, nil
	}
	if u := p.byAlias[aliasKey(username)]; u != nil {
		return u, nil
	}
	if u := p.bySub[username]; u != nil && u.status != StatusExternalProvider {
		return u, nil
	}
	return nil, errUserNotFound()
}

func aliasKey(v string) string {
	if strings.Contains(v, "@") {
		return "email:" + strings.ToLower(v)
	}
	return "phone_number:" + v
}

// aliasKeyFor is the byAlias key of attribute name with value v. Emails are
// compared case-insensitively.
func aliasKeyFor(name, v string) string {
	if name == "email" {
		return "email:" + strings.ToLower(v)
	}
	return name + ":" + v
}

// signInAttrs lists attributes that identify a user besides the username.
func (p *pool) signInAttrs() []string {
	if len(p.usernameAttrs) > 0 {
		return p.usernameAttrs
	}
	return p.aliasAttrs
}

// signsInWith reports whether name ("email", "phone_number") is one of the
// pool's username attributes.
func (p *pool) signsInWith(name string) bool {
	for _, a := range p.usernameAttrs {
		if a == name {
			return true
		}
	}
	return false
}

// aliasAttr reports whether name is one of the pool's alias attributes.
func (p *pool) aliasAttr(name string) bool {
	for _, a := range p.aliasAttrs {
		if a == name {
			return true
		}
	}
	return false
}

// aliasHolder is the user other than u that signs in with name=v, if any.
func (p *pool) aliasHolder(u *user, name, v string) *user {
	if o := p.byAlias[aliasKeyFor(name, v)]; o != nil && o != u {
		return o
	}
	return nil
}

func errAccountExists(code, name string) *apiError {
	return newErr(code, "An account with the given %s already exists.", name)
}

// reindexAliases keeps byAlias in step with u's email / phone_number.
//
// With username attributes every value of a local user signs in (verified or
// not); federated users keep their provider_id usernames and the fake does
// not index them (a federated user may share a local user's email: that is
// how accounts get linked). With alias attributes only verified values are usable for
// sign-in, and one user at a time holds a value: verifying a value another
// user holds moves the alias and marks the former holder's value unverified
// ("only one user can hold the email address value as the email_verified
// attribute ... The former user's email address is then unverified":
// https://repost.aws/knowledge-center/cognito-email-verified-attribute ;
// observed for AdminUpdateUserAttributes in
// https://github.com/boto/boto3/issues/3213).
func (p *pool) reindexAliases(u *user, old []attr) {
	for _, name := range p.signInAttrs() {
		if name != "email" && name != "phone_number" {
			continue
		}
		for _, a := range old {
			if a.Name == name {
				if p.byAlias[aliasKeyFor(name, a.Value)] == u {
					delete(p.byAlias, aliasKeyFor(name, a.Value))
				}
			}
		}
		v, ok := u.get(name)
		if !ok || u.deleted {
			continue
		}
		key := aliasKeyFor(name, v)
		if len(p.usernameAttrs) > 0 {
			if u.status != StatusExternalProvider {
				p.byAlias[key] = u
			}
			continue
		}
		if verified, _ := u.get(name + "_verified"); verified != "true" {
			continue
		}
		if prev := p.aliasHolder(u, name, v); prev != nil {
			prev.set(name+"_verified", "false")
		}
		p.byAlias[key] = u
	}
}

// checkUsername enforces the Username member's pattern: 1–128 characters of
// [\p{L}\p{M}\p{S}\p{N}\p{P}]+ (no whitespace or control characters).
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html#CognitoUserPools-AdminCreateUser-request-Username
func checkUsername(name string) *apiError {
	if name == "" || utf8.RuneCountInString(name) > 128 {
		return validationErr(name, "username", "Member must have length less than or equal to 128")
	}
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsSymbol(r) || unicode.IsNumber(r) || unicode.IsPunct(r)) {
			return validationErr("***", "username", `Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+`)
		}
	}
	return nil
}

// insertUser creates a user in p. attrs are already validated. Caller holds s.mu.
func (s *Service) insertUser(p *pool, username string, attrs []attrInput, status string) (*user, *apiError) {
	sub := s.newUUID()
	if len(p.usernameAttrs) > 0 && status != StatusExternalProvider {
		// With username attributes the given "username" is an email or phone
		// number; Cognito stores it as that attribute and makes the sub the
		// username. A value that is neither is refused, and so is an email or
		// phone number another user already signs in with.
		// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html#user-pool-settings-usernames
		// (messages as Cognito words them:
		// https://github.com/aws-amplify/amplify-js/issues/533 ;
		// https://github.com/aws/aws-sdk-js/issues/4308)
		kind := ""
		switch {
		case emailRE.MatchString(username):
			kind = "email"
		case phoneRE.MatchString(username):
			kind = "phone_number"
		}
		if kind == "" || !p.signsInWith(kind) {
			return nil, errInvalidParameter("Username should be either an email or a phone number.")
		}
		dup := false
		for _, a := range attrs {
			dup = dup || a.Name == kind
		}
		if !dup {
			attrs = append(attrs, attrInput{kind, username})
		}
		final := map[string]string{}
		for _, a := range attrs {
			final[a.Name] = a.Value
		}
		for _, name := range p.usernameAttrs {
			if v := final[name]; v != "" && p.aliasHolder(nil, name, v) != nil {
				return nil, errAccountExists("UsernameExistsException", name)
			}
		}
		username = sub
	}
	key := p.canon(username)
	if p.users[key] != nil {
		return nil, errUsernameExists()
	}
	now := s.now()
	u := &user{
		username: username, sub: sub, enabled: true, status: status,
		created: now, modified: now, groups: map[string]struct{}{},
	}
	u.attrs = append(u.attrs, attr{"sub", sub})
	for _, a := range attrs {
		u.set(a.Name, a.Value)
	}
	if err := p.checkRequired(u.attrs); err != nil {
		return nil, err
	}
	p.seq++
	u.seq = p.seq
	p.users[key] = u
	p.bySub[sub] = u
	p.enlist(u)
	p.reindexAliases(u, nil)
	return u, nil
}

func (s *Service) removeUser(p *pool, u *user) {
	u.deleted = true
	delete(p.users, p.canon(u.username))
	delete(p.bySub, u.sub)
	p.reindexAliases(u, u.attrs)
	for g := range u.groups {
		if grp := p.groups[g]; grp != nil {
			grp.removeMember(u)
		}
	}
	p.dead++
	p.unmove(u)
	p.compact()
}

type adminCreateUserInput struct {
	UserPoolId         string
	Username           string
	UserAttributes     []attrInput
	ValidationData     []attrInput
	ClientMetadata     map[string]string
	TemporaryPassword  string
	MessageAction      string
	ForceAliasCreation bool
}

// AdminCreateUser creates a FORCE_CHANGE_PASSWORD user. With
// MessageAction=SUPPRESS nothing is sent.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
//
// With a PreSignUp trigger the function runs first
// (PreSignUp_AdminCreateUser) and an error from it fails the call, leaving
// no user; its autoConfirm/autoVerify answers are ignored ("ignored by
// Amazon Cognito when the Pre Sign-up lambda is triggered by the
// AdminCreateUser API", user-pool-lambda-pre-sign-up.html). With a
// CustomMessage trigger and an invitation to send, CustomMessage_AdminCreateUser
// runs after the user exists. docs/cognito-facts.md §13.
func adminCreateUser(s *Service, body []byte) (any, *apiError) {
	var in adminCreateUserInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkUsername(in.Username); err != nil {
		return nil, err
	}
	switch in.MessageAction {
	case "", "SUPPRESS", "RESEND":
	default:
		return nil, validationErr(in.MessageAction, "messageAction", "Member must satisfy enum value set: [RESEND, SUPPRESS]")
	}
	if in.MessageAction == "RESEND" {
		return s.resendInvitation(in)
	}
	arn, ev, err := s.preSignUp(in)
	if err != nil {
		return nil, err
	}
	if arn != "" {
		if _, err := s.invokeTrigger(context.Background(), arn, ev); err != nil {
			return nil, err
		}
	}
	out, arn, ev, err := s.insertAdminUser(in)
	if err != nil {
		return nil, err
	}
	if arn != "" {
		if _, err := s.invokeTrigger(context.Background(), arn, ev); err != nil {
			return nil, err // the user stays created, unconfirmed by any message
		}
	}
	return out, nil
}

// resendInvitation is AdminCreateUser with MessageAction=RESEND.
func (s *Service) resendInvitation(in adminCreateUserInput) (any, *apiError) {
	s.mu.Lock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	u, err := p.findUser(in.Username)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.messages.Add(1)
	out := map[string]any{"User": u.render(nil)}
	arn, ev := s.customMessageAdmin(p, u, in.ClientMetadata)
	s.mu.Unlock()
	if arn != "" {
		if _, err := s.invokeTrigger(context.Background(), arn, ev); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkAdminCreate refuses what AdminCreateUser refuses before creating
// anything. Caller holds s.mu.
func (p *pool) checkAdminCreate(in adminCreateUserInput) *apiError {
	if err := p.checkWrite(in.UserAttributes, true); err != nil {
		return err
	}
	if in.TemporaryPassword != "" {
		if err := p.checkPassword(in.TemporaryPassword); err != nil {
			return err
		}
	}
	if len(p.usernameAttrs) == 0 && p.users[p.canon(in.Username)] != nil {
		return errUsernameExists()
	}
	return p.checkNewAliases(in.Username, in.UserAttributes, in.ForceAliasCreation)
}

// preSignUp checks the request and returns the pool's PreSignUp function
// with its PreSignUp_AdminCreateUser event ("" when there is none).
func (s *Service) preSignUp(in adminCreateUserInput) (string, *TriggerEvent, *apiError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return "", nil, err
	}
	if err := p.checkAdminCreate(in); err != nil {
		return "", nil, err
	}
	arn := s.triggerARN(p, TriggerPreSignUp)
	if arn == "" {
		return "", nil, nil
	}
	attrs := map[string]string{}
	for _, a := range in.UserAttributes {
		attrs[a.Name] = a.Value
	}
	ev := s.newTriggerEvent(p, "PreSignUp_AdminCreateUser", in.Username, attrs)
	ev.Request["validationData"] = attrMap(in.ValidationData)
	ev.Request["clientMetadata"] = in.ClientMetadata
	ev.Response = map[string]any{"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false}
	return arn, ev, nil
}

// insertAdminUser creates the user (checking again: the pool may have
// changed while a trigger ran) and returns the answer, with the
// CustomMessage function and event when an invitation goes out.
func (s *Service) insertAdminUser(in adminCreateUserInput) (any, string, *TriggerEvent, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, "", nil, err
	}
	if err := p.checkAdminCreate(in); err != nil {
		return nil, "", nil, err
	}
	u, err := s.insertUser(p, in.Username, in.UserAttributes, StatusForceChangePassword)
	if err != nil {
		return nil, "", nil, err
	}
	u.hasPassword = true // Cognito makes one up when none is given
	if in.TemporaryPassword != "" {
		u.setPassword(in.TemporaryPassword)
	}
	out := map[string]any{"User": u.render(nil)}
	if in.MessageAction == "SUPPRESS" {
		return out, "", nil, nil
	}
	s.messages.Add(1)
	arn, ev := s.customMessageAdmin(p, u, in.ClientMetadata)
	return out, arn, ev, nil
}

// customMessageAdmin is the pool's CustomMessage function and its
// CustomMessage_AdminCreateUser event for u's invitation ("" when none).
// The request carries the placeholders the function must keep, and the
// user's attributes with its status, as captured events show
// (docs/cognito-facts.md §13). Caller holds s.mu.
func (s *Service) customMessageAdmin(p *pool, u *user, meta map[string]string) (string, *TriggerEvent) {
	arn := s.triggerARN(p, TriggerCustomMessage)
	if arn == "" {
		return "", nil
	}
	attrs := map[string]string{"cognito:user_status": u.status}
	for _, a := range u.attrs {
		attrs[a.Name] = a.Value
	}
	ev := s.newTriggerEvent(p, "CustomMessage_AdminCreateUser", u.username, attrs)
	ev.Request["codeParameter"] = "{####}"
	ev.Request["linkParameter"] = "{##Click Here##}"
	ev.Request["usernameParameter"] = "{username}"
	ev.Request["clientMetadata"] = meta
	ev.Response = map[string]any{"smsMessage": nil, "emailMessage": nil, "emailSubject": nil}
	return arn, ev
}

func attrMap(as []attrInput) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[a.Name] = a.Value
	}
	return m
}

// checkNewAliases refuses, in a pool with alias attributes, a new user whose
// verified email or phone number another user already holds as an alias,
// unless ForceAliasCreation moves the alias to the new user: "If this
// parameter is set to False, the API throws an AliasExistsException error if
// the alias already exists."
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html#CognitoUserPools-AdminCreateUser-request-ForceAliasCreation
// The message text is UNCONFIRMED; it is the one Cognito gives for the
// same conflict on sign-up. A taken username is reported first
// (UsernameExistsException from insertUser), as the username is the
// user's key.
func (p *pool) checkNewAliases(username string, attrs []attrInput, force bool) *apiError {
	if len(p.usernameAttrs) > 0 || force || p.users[p.canon(username)] != nil {
		return nil
	}
	final := map[string]string{}
	for _, a := range attrs {
		final[a.Name] = a.Value
	}
	for _, name := range []string{"email", "phone_number"} {
		if v := final[name]; v != "" && final[name+"_verified"] == "true" && p.aliasAttr(name) && p.aliasHolder(nil, name, v) != nil {
			return errAccountExists("AliasExistsException", name)
		}
	}
	return nil
}

// SignUp registers an UNCONFIRMED user through an app client.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
// checkNotDeveloperOnly refuses a developer-only attribute in a request a
// user makes: "This attribute can only be modified by an administrator"
// (SchemaAttributeType.DeveloperOnlyAttribute, API reference). The code is
// the one NotAuthorizedException the user operations declare; the message
// is UNCONFIRMED (docs/cognito-facts.md §1, §12).
func checkNotDeveloperOnly(in []attrInput) *apiError {
	for _, a := range in {
		if strings.HasPrefix(a.Name, "dev:") {
			return newErr("NotAuthorizedException", "A client attempted to write unauthorized attribute")
		}
	}
	return nil
}

func signUp(s *Service, body []byte) (any, *apiError) {
	var in struct {
		ClientId       string
		Username       string
		Password       string
		UserAttributes []attrInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkUsername(in.Username); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.poolOfClient(in.ClientId)
	if p == nil {
		return nil, errResourceNotFound("User pool client %s does not exist.", in.ClientId)
	}
	if err := p.checkPassword(in.Password); err != nil {
		return nil, err
	}
	if err := p.checkWrite(in.UserAttributes, true); err != nil {
		return nil, err
	}
	if err := checkNotDeveloperOnly(in.UserAttributes); err != nil {
		return nil, err
	}
	u, err := s.insertUser(p, in.Username, in.UserAttributes, StatusUnconfirmed)
	if err != nil {
		return nil, err
	}
	u.setPassword(in.Password)
	out := map[string]any{"UserConfirmed": false, "UserSub": u.sub}
	if v, ok := u.get("email"); ok {
		s.messages.Add(1)
		out["CodeDeliveryDetails"] = map[string]string{"Destination": maskEmail(v), "DeliveryMedium": "EMAIL", "AttributeName": "email"}
	}
	return out, nil
}

func maskEmail(v string) string {
	at := strings.IndexByte(v, '@')
	if at < 1 {
		return "***"
	}
	return v[:1] + "***" + v[at:]
}

type userRef struct {
	UserPoolId string
	Username   string
}

// withUser decodes a {UserPoolId, Username} request, takes the write lock and
// calls f with the user.
func withUser[T any](s *Service, body []byte, in *T, ref func(*T) userRef, f func(p *pool, u *user) (any, *apiError)) (any, *apiError) {
	if err := decode(body, in); err != nil {
		return nil, err
	}
	r := ref(in)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(r.UserPoolId)
	if err != nil {
		return nil, err
	}
	u, err := p.findUser(r.Username)
	if err != nil {
		return nil, err
	}
	before := s.beforeChange(u)
	out, aerr := f(p, u)
	s.afterChange(p, u, before)
	return out, aerr
}

func refOf(r *userRef) userRef { return *r }

// AdminGetUser. https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminGetUser.html
func adminGetUser(s *Service, body []byte) (any, *apiError) {
	var in userRef
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	u, err := p.findUser(in.Username)
	if err != nil {
		return nil, err
	}
	ut := u.render(nil)
	out := map[string]any{
		"Username": ut.Username, "UserAttributes": ut.Attributes,
		"UserCreateDate": ut.UserCreateDate, "UserLastModifiedDate": ut.UserLastModifiedDate,
		"Enabled": ut.Enabled, "UserStatus": ut.UserStatus,
	}
	if ut.MFAOptions != nil {
		out["MFAOptions"] = ut.MFAOptions
	}
	if l := u.mfaSettingList(); l != nil {
		out["UserMFASettingList"] = l
	}
	if u.mfa.preferred != "" {
		out["PreferredMfaSetting"] = u.mfa.preferred
	}
	return out, nil
}

func adminDeleteUser(s *Service, body []byte) (any, *apiError) {
	return withUser(s, body, &userRef{}, refOf, func(p *pool, u *user) (any, *apiError) {
		s.removeUser(p, u)
		return struct{}{}, nil
	})
}

func adminDisableUser(s *Service, body []byte) (any, *apiError) {
	return withUser(s, body, &userRef{}, refOf, func(p *pool, u *user) (any, *apiError) {
		u.enabled = false
		u.modified = s.now()
		return struct{}{}, nil
	})
}

func adminEnableUser(s *Service, body []byte) (any, *apiError) {
	return withUser(s, body, &userRef{}, refOf, func(p *pool, u *user) (any, *apiError) {
		u.enabled = true
		u.modified = s.now()
		return struct{}{}, nil
	})
}

type updateAttrsInput struct {
	UserPoolId     string
	Username       string
	UserAttributes []attrInput
	ClientMetadata map[string]string
}

// AdminUpdateUserAttributes. Changing email or phone_number without also
// setting its *_verified attribute to "true" marks it unverified and sends the
// user a verification code (one message per changed attribute); with
// *_verified "true" nothing is sent: "If you set the email_verified or
// phone_number_verified value for an email or phone_number attribute that
// requires verification to true, Amazon Cognito doesn't send a verification
// message to your user."
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUpdateUserAttributes.html#CognitoUserPools-AdminUpdateUserAttributes-request-UserAttributes
// Setting only *_verified, or a value equal to the current one, sends
// nothing. (The fake does not model AutoVerifiedAttributes: every pool counts
// as verifying email and phone.)
//
// In a pool with username attributes an email or phone number another user
// signs in with is refused with AliasExistsException
// (https://github.com/aws/aws-sdk-net/issues/4387); in a pool with alias
// attributes a verified value moves from its former holder (reindexAliases).
//
// Each verification code sent runs the pool's CustomMessage trigger
// (CustomMessage_UpdateUserAttribute, docs/cognito-facts.md §13), after the
// update, outside the lock.
func adminUpdateUserAttributes(s *Service, body []byte) (any, *apiError) {
	in := &updateAttrsInput{}
	var codes []*TriggerEvent
	var arn string
	out, err := withUser(s, body, in, func(i *updateAttrsInput) userRef { return userRef{i.UserPoolId, i.Username} },
		func(p *pool, u *user) (any, *apiError) {
			if in.UserAttributes == nil {
				return nil, validationErr("null", "userAttributes", "Member must not be null")
			}
			if err := p.checkWrite(in.UserAttributes, false); err != nil {
				return nil, err
			}
			given := map[string]string{}
			for _, a := range in.UserAttributes {
				given[a.Name] = a.Value
			}
			if len(p.usernameAttrs) > 0 && u.status != StatusExternalProvider {
				for _, name := range p.usernameAttrs {
					if v := given[name]; v != "" && p.aliasHolder(u, name, v) != nil {
						return nil, errAccountExists("AliasExistsException", name)
					}
				}
			}
			old := append([]attr(nil), u.attrs...)
			_, emailVerified := given["email_verified"]
			_, phoneVerified := given["phone_number_verified"]
			verifiedGiven := map[string]bool{"email": emailVerified, "phone_number": phoneVerified}
			for _, a := range in.UserAttributes {
				prev, had := u.get(a.Name)
				if a.Value == "" {
					u.unset(a.Name)
				} else {
					u.set(a.Name, a.Value)
				}
				if (a.Name == "email" || a.Name == "phone_number") && (!had || prev != a.Value) {
					if !verifiedGiven[a.Name] {
						if _, ok := u.get(a.Name + "_verified"); ok || a.Value != "" {
							u.set(a.Name+"_verified", "false")
						}
					}
					if a.Value != "" && given[a.Name+"_verified"] != "true" {
						s.messages.Add(1) // the verification code
						codes = append(codes, nil)
					}
				}
			}
			u.modified = s.now()
			p.reindexAliases(u, old)
			if arn = s.triggerARN(p, TriggerCustomMessage); arn != "" {
				for i := range codes {
					codes[i] = s.updateAttributeMessage(p, u, in.ClientMetadata)
				}
			}
			return struct{}{}, nil
		})
	if err != nil || arn == "" {
		return out, err
	}
	for _, ev := range codes {
		if _, err := s.invokeTrigger(context.Background(), arn, ev); err != nil {
			return nil, err // the attributes stay updated
		}
	}
	return out, nil
}

// updateAttributeMessage is the CustomMessage_UpdateUserAttribute event for
// a verification code sent to u. Caller holds s.mu.
func (s *Service) updateAttributeMessage(p *pool, u *user, meta map[string]string) *TriggerEvent {
	attrs := map[string]string{"cognito:user_status": u.status}
	for _, a := range u.attrs {
		attrs[a.Name] = a.Value
	}
	ev := s.newTriggerEvent(p, "CustomMessage_UpdateUserAttribute", u.username, attrs)
	ev.Request["codeParameter"] = "{####}"
	ev.Request["linkParameter"] = "{##Click Here##}"
	ev.Request["usernameParameter"] = nil
	ev.Request["clientMetadata"] = meta
	ev.Response = map[string]any{"smsMessage": nil, "emailMessage": nil, "emailSubject": nil}
	return ev
}

// AdminSetUserPassword: Permanent=true makes the user CONFIRMED, false makes
// it FORCE_CHANGE_PASSWORD.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminSetUserPassword.html
func adminSetUserPassword(s *Service, body []byte) (any, *apiError) {
	in := &struct {
		UserPoolId, Username, Password string
		Permanent                      bool
	}{}
	return withUser(s, body, in, func(i *struct {
		UserPoolId, Username, Password string
		Permanent                      bool
	}) userRef {
		return userRef{i.UserPoolId, i.Username}
	}, func(p *pool, u *user) (any, *apiError) {
		if err := p.checkPassword(in.Password); err != nil {
			return nil, err
		}
		if u.status == StatusExternalProvider {
			return nil, newErr("NotAuthorizedException", "User is not authorized to set a password for an external provider user.")
		}
		u.setPassword(in.Password)
		if in.Permanent {
			u.status = StatusConfirmed
		} else {
			u.status = StatusForceChangePassword
		}
		u.modified = s.now()
		return struct{}{}, nil
	})
}

// AdminConfirmSignUp confirms an UNCONFIRMED user, then runs the pool's
// PostConfirmation trigger (PostConfirmation_ConfirmSignUp: "Post sign-up
// confirmation", docs/cognito-facts.md §13) outside the lock. A function
// error fails the call; the user stays confirmed (what Cognito does then is
// UNCONFIRMED).
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminConfirmSignUp.html
func adminConfirmSignUp(s *Service, body []byte) (any, *apiError) {
	in := &struct {
		userRef
		ClientMetadata map[string]string
	}{}
	var arn string
	var ev *TriggerEvent
	out, err := withUser(s, body, in, func(i *struct {
		userRef
		ClientMetadata map[string]string
	}) userRef {
		return i.userRef
	}, func(p *pool, u *user) (any, *apiError) {
		if u.status != StatusUnconfirmed {
			return nil, newErr("NotAuthorizedException", "User cannot be confirmed. Current status is %s", u.status)
		}
		u.status = StatusConfirmed
		u.modified = s.now()
		if arn = s.triggerARN(p, TriggerPostConfirmation); arn != "" {
			attrs := map[string]string{"cognito:user_status": u.status}
			for _, a := range u.attrs {
				attrs[a.Name] = a.Value
			}
			ev = s.newTriggerEvent(p, "PostConfirmation_ConfirmSignUp", u.username, attrs)
			ev.Request["clientMetadata"] = in.ClientMetadata
		}
		return struct{}{}, nil
	})
	if err != nil || arn == "" {
		return out, err
	}
	if _, err := s.invokeTrigger(context.Background(), arn, ev); err != nil {
		return nil, err
	}
	return out, nil
}

type mfaSettings struct {
	Enabled      *bool
	PreferredMfa *bool
}

type setMFAInput struct {
	UserPoolId               string
	Username                 string
	SMSMfaSettings           *mfaSettings
	SoftwareTokenMfaSettings *mfaSettings
	EmailMfaSettings         *mfaSettings
}

// AdminSetUserMFAPreference. TOTP needs a verified software token and SMS a
// phone number; only one factor may be preferred.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminSetUserMFAPreference.html
func adminSetUserMFAPreference(s *Service, body []byte) (any, *apiError) {
	in := &setMFAInput{}
	return withUser(s, body, in, func(i *setMFAInput) userRef { return userRef{i.UserPoolId, i.Username} },
		func(p *pool, u *user) (any, *apiError) {
			next := u.mfa
			apply := func(m *mfaSettings, flag *bool, name string) {
				if m == nil {
					return
				}
				if m.Enabled != nil {
					*flag = *m.Enabled
				}
				if m.PreferredMfa != nil {
					if *m.PreferredMfa {
						next.preferred = name
					} else if next.preferred == name {
						next.preferred = ""
					}
				}
			}
			apply(in.SMSMfaSettings, &next.sms, "SMS_MFA")
			apply(in.SoftwareTokenMfaSettings, &next.totp, "SOFTWARE_TOKEN_MFA")
			apply(in.EmailMfaSettings, &next.email, "EMAIL_OTP")
			if next.totp && !u.totpVerified {
				return nil, errInvalidParameter("User has not verified software token mfa")
			}
			if next.sms {
				if _, ok := u.get("phone_number"); !ok {
					return nil, errInvalidParameter("User does not have delivery config set to turn on SMS_MFA")
				}
			}
			if next.email {
				if _, ok := u.get("email"); !ok {
					return nil, errInvalidParameter("User does not have delivery config set to turn on EMAIL_OTP")
				}
			}
			if next.preferred != "" {
				on := map[string]bool{"SMS_MFA": next.sms, "SOFTWARE_TOKEN_MFA": next.totp, "EMAIL_OTP": next.email}
				if !on[next.preferred] {
					return nil, errInvalidParameter("Preferred MFA %s is not enabled for the user", next.preferred)
				}
			}
			u.mfa = next
			u.modified = s.now()
			return struct{}{}, nil
		})
}

// identity is one entry of the "identities" attribute that links a federated
// identity to a user.
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-identity-federation-consolidate-users.html
type identity struct {
	UserID       string  `json:"userId"`
	ProviderName string  `json:"providerName"`
	ProviderType string  `json:"providerType"`
	Issuer       *string `json:"issuer"`
	Primary      bool    `json:"primary"`
	DateCreated  int64   `json:"dateCreated"`
}

func (u *user) identities() []identity {
	v, ok := u.get("identities")
	if !ok {
		return nil
	}
	var ids []identity
	_ = json.Unmarshal([]byte(v), &ids)
	return ids
}

func (u *user) setIdentities(ids []identity) {
	if len(ids) == 0 {
		u.unset("identities")
		return
	}
	b, _ := json.Marshal(ids)
	u.set("identities", string(b))
}

type providerUser struct {
	ProviderName           string
	ProviderAttributeName  string
	ProviderAttributeValue string
}

// AdminLinkProviderForUser links a federated identity to an existing local
// user. The provider must exist in the pool, the destination must be a
// Cognito user, and an identity may be linked once.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminLinkProviderForUser.html
func adminLinkProviderForUser(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId      string
		DestinationUser providerUser
		SourceUser      providerUser
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	if in.DestinationUser.ProviderName != "Cognito" {
		return nil, errInvalidParameter("DestinationUser must be a Cognito user (ProviderName \"Cognito\")")
	}
	idp := p.idps[in.SourceUser.ProviderName]
	if idp == nil {
		return nil, errInvalidParameter("Provider %s does not exist in the user pool", in.SourceUser.ProviderName)
	}
	if in.SourceUser.ProviderAttributeValue == "" {
		return nil, errInvalidParameter("SourceUser.ProviderAttributeValue must be set")
	}
	u, err := p.findUser(in.DestinationUser.ProviderAttributeValue)
	if err != nil {
		return nil, err
	}
	for _, other := range p.users {
		for _, id := range other.identities() {
			if id.ProviderName == idp.name && id.UserID == in.SourceUser.ProviderAttributeValue {
				return nil, errInvalidParameter("Merging is not currently supported, provide a SourceUser that has not been linked.")
			}
		}
	}
	ids := append(u.identities(), identity{
		UserID: in.SourceUser.ProviderAttributeValue, ProviderName: idp.name, ProviderType: idp.typ,
		DateCreated: s.now().UnixMilli(),
	})
	u.setIdentities(ids)
	u.modified = s.now()
	return struct{}{}, nil
}
