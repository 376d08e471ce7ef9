// Package quota is the single table of Amazon Cognito user-pool API request-rate
// quota categories: which category each operation is charged to and the default
// requests per second of each category.
//
// Both sides of the wire use it: internal/awsx paces outgoing calls by category
// and internal/cognitotest enforces the same quotas on its fake service, so the
// two can never disagree. It imports nothing but the standard library.
//
// Source: "Quotas in Amazon Cognito", section "Amazon Cognito user pools API
// operation categories and request rate quotas",
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations
// Quotas apply per account and Region, summed over every user pool, and are
// shared with the pool's production traffic. Besides the category rates there
// is a fixed per-user quota of 10 read and 10 write requests per second.
//
// Category names, default rates, the adjustable flags and the operation of
// every cell follow the table as docs/cognito-facts.md §9 copies it; the table
// holds exactly these operations (TestQuotasMatchTheFactsTable in
// internal/cli compares them cell by cell).
package quota

import "sort"

// Category names a request-rate quota category as the Cognito docs and the
// Service Quotas console spell it.
type Category string

// The user-pool request-rate categories of the Cognito quota table. The doc has
// exactly these; there is no separate deletion, pool-create/delete or
// client-create/delete category (deletes are charged with the updates).
const (
	UserAuthentication     Category = "UserAuthentication"
	UserCreation           Category = "UserCreation"
	UserFederation         Category = "UserFederation"
	UserAccountRecovery    Category = "UserAccountRecovery"
	UserRead               Category = "UserRead"
	UserUpdate             Category = "UserUpdate"
	UserToken              Category = "UserToken"
	UserResourceRead       Category = "UserResourceRead"
	UserResourceUpdate     Category = "UserResourceUpdate"
	UserList               Category = "UserList"
	UserPoolRead           Category = "UserPoolRead"
	UserPoolUpdate         Category = "UserPoolUpdate"
	UserPoolResourceRead   Category = "UserPoolResourceRead"
	UserPoolResourceUpdate Category = "UserPoolResourceUpdate"
	UserPoolClientRead     Category = "UserPoolClientRead"
	UserPoolClientUpdate   Category = "UserPoolClientUpdate"
	ClientAuthentication   Category = "ClientAuthentication"
	LimitManagement        Category = "LimitManagement"
)

// defaultRPS is each category's default (account-and-Region) quota in requests
// per second, as the quota table gives it for pools under two million MAUs.
// The per-pool cap of four categories is PerPoolOperationRPS.
var defaultRPS = map[Category]float64{
	UserAuthentication:     120,
	UserCreation:           50,
	UserFederation:         25,
	UserAccountRecovery:    30,
	UserRead:               120,
	UserUpdate:             25,
	UserToken:              120,
	UserResourceRead:       50,
	UserResourceUpdate:     25,
	UserList:               30,
	UserPoolRead:           15,
	UserPoolUpdate:         15,
	UserPoolResourceRead:   20,
	UserPoolResourceUpdate: 15,
	UserPoolClientRead:     15,
	UserPoolClientUpdate:   15,
	ClientAuthentication:   150,
	LimitManagement:        1,
}

// operations maps an API operation name (as in X-Amz-Target) to its category.
//
// UserFederation holds no API operation (it meters the managed-login
// federation endpoints); ClientAuthentication meters client_credentials
// requests to the /oauth2/token endpoint and GetClientToken.
var operations = map[string]Category{
	// UserAuthentication. RespondToAuthChallenge and AdminRespondToAuthChallenge
	// have a separate allowance of three times the category rate before they
	// count against it. A response to a NEW_PASSWORD_REQUIRED challenge
	// counts toward UserAccountRecovery instead (the table's footnote 1);
	// cogvault sends neither.
	"AdminInitiateAuth":           UserAuthentication,
	"AdminRespondToAuthChallenge": UserAuthentication,
	"InitiateAuth":                UserAuthentication,
	"RespondToAuthChallenge":      UserAuthentication,
	"GetTokensFromRefreshToken":   UserAuthentication,

	// UserCreation: the four operations the quota page names.
	"AdminConfirmSignUp": UserCreation,
	"AdminCreateUser":    UserCreation,
	"ConfirmSignUp":      UserCreation,
	"SignUp":             UserCreation,

	// UserAccountRecovery
	"AdminResetUserPassword": UserAccountRecovery,
	"AdminSetUserPassword":   UserAccountRecovery,
	"ChangePassword":         UserAccountRecovery,
	"ConfirmForgotPassword":  UserAccountRecovery,
	"ForgotPassword":         UserAccountRecovery,

	// UserRead
	"AdminGetUser":            UserRead,
	"AdminGetUserAuthFactors": UserRead,
	"GetUser":                 UserRead,

	// UserUpdate: managing users and their attributes, including deleting a
	// user, linking or unlinking a federated identity, and group memberships
	// (the table's UserUpdate cell, though UserResourceUpdate's description
	// mentions groups; docs/cognito-facts.md §9).
	"AdminAddUserToGroup":         UserUpdate,
	"AdminRemoveUserFromGroup":    UserUpdate,
	"AdminDeleteUser":             UserUpdate,
	"AdminDeleteUserAttributes":   UserUpdate,
	"AdminDisableProviderForUser": UserUpdate,
	"AdminDisableUser":            UserUpdate,
	"AdminEnableUser":             UserUpdate,
	"AdminLinkProviderForUser":    UserUpdate,
	"AdminUpdateUserAttributes":   UserUpdate,
	"AdminUserGlobalSignOut":      UserUpdate,
	"DeleteUser":                  UserUpdate,
	"DeleteUserAttributes":        UserUpdate,
	"GlobalSignOut":               UserUpdate,
	"UpdateUserAttributes":        UserUpdate,
	"VerifyUserAttribute":         UserUpdate,

	// UserToken
	"RevokeToken": UserToken,

	// UserResourceRead: a user's remembered devices and group memberships.
	"AdminGetDevice":                   UserResourceRead,
	"AdminListDevices":                 UserResourceRead,
	"AdminListGroupsForUser":           UserResourceRead,
	"AdminListUserAuthEvents":          UserResourceRead,
	"GetDevice":                        UserResourceRead,
	"GetUserAttributeVerificationCode": UserResourceRead,
	"ListDevices":                      UserResourceRead,
	"ResendConfirmationCode":           UserResourceRead,

	// UserResourceUpdate: a user's remembered devices, MFA settings and
	// software tokens.
	"AdminDeleteSoftwareToken":     UserResourceUpdate,
	"AdminForgetDevice":            UserResourceUpdate,
	"AdminSetUserMFAPreference":    UserResourceUpdate,
	"AdminSetUserSettings":         UserResourceUpdate,
	"SetUserMFAPreference":         UserResourceUpdate,
	"SetUserSettings":              UserResourceUpdate,
	"AdminUpdateAuthEventFeedback": UserResourceUpdate,
	"AdminUpdateDeviceStatus":      UserResourceUpdate,
	"AssociateSoftwareToken":       UserResourceUpdate,
	"ConfirmDevice":                UserResourceUpdate,
	"ForgetDevice":                 UserResourceUpdate,
	"UpdateAuthEventFeedback":      UserResourceUpdate,
	"UpdateDeviceStatus":           UserResourceUpdate,
	"VerifySoftwareToken":          UserResourceUpdate,

	// UserList
	"ListUsers":        UserList,
	"ListUsersInGroup": UserList,

	// UserPoolRead
	"DescribeUserPool": UserPoolRead,
	"ListUserPools":    UserPoolRead,

	// UserPoolUpdate: create, update and delete user pools. (Their schema and
	// MFA configuration are UserPoolResource*.)
	"CreateUserPool": UserPoolUpdate,
	"DeleteUserPool": UserPoolUpdate,
	"UpdateUserPool": UserPoolUpdate,

	// UserPoolResourceRead: groups, identity providers, resource servers,
	// domains, import jobs and other resources of a pool (5 RPS per pool).
	"DescribeIdentityProvider":             UserPoolResourceRead,
	"DescribeResourceServer":               UserPoolResourceRead,
	"DescribeRiskConfiguration":            UserPoolResourceRead,
	"DescribeUserImportJob":                UserPoolResourceRead,
	"DescribeUserPoolDomain":               UserPoolResourceRead,
	"GetCSVHeader":                         UserPoolResourceRead,
	"GetGroup":                             UserPoolResourceRead,
	"GetIdentityProviderByIdentifier":      UserPoolResourceRead,
	"GetSigningCertificate":                UserPoolResourceRead,
	"GetUICustomization":                   UserPoolResourceRead,
	"GetUserPoolMfaConfig":                 UserPoolResourceRead,
	"DescribeManagedLoginBranding":         UserPoolResourceRead,
	"DescribeManagedLoginBrandingByClient": UserPoolResourceRead,
	"ListGroups":                           UserPoolResourceRead,
	"ListIdentityProviders":                UserPoolResourceRead,
	"ListResourceServers":                  UserPoolResourceRead,
	"ListTagsForResource":                  UserPoolResourceRead,
	"ListUserImportJobs":                   UserPoolResourceRead,

	// UserPoolResourceUpdate (5 RPS per pool).
	"AddCustomAttributes":        UserPoolResourceUpdate,
	"SetUserPoolMfaConfig":       UserPoolResourceUpdate,
	"CreateManagedLoginBranding": UserPoolResourceUpdate,
	"UpdateManagedLoginBranding": UserPoolResourceUpdate,
	"DeleteManagedLoginBranding": UserPoolResourceUpdate,
	"CreateGroup":                UserPoolResourceUpdate,
	"CreateIdentityProvider":     UserPoolResourceUpdate,
	"CreateResourceServer":       UserPoolResourceUpdate,
	"CreateUserImportJob":        UserPoolResourceUpdate,
	"CreateUserPoolDomain":       UserPoolResourceUpdate,
	"DeleteGroup":                UserPoolResourceUpdate,
	"DeleteIdentityProvider":     UserPoolResourceUpdate,
	"DeleteResourceServer":       UserPoolResourceUpdate,
	"DeleteUserPoolDomain":       UserPoolResourceUpdate,
	"SetRiskConfiguration":       UserPoolResourceUpdate,
	"SetUICustomization":         UserPoolResourceUpdate,
	"StartUserImportJob":         UserPoolResourceUpdate,
	"StopUserImportJob":          UserPoolResourceUpdate,
	"TagResource":                UserPoolResourceUpdate,
	"UntagResource":              UserPoolResourceUpdate,
	"UpdateGroup":                UserPoolResourceUpdate,
	"UpdateIdentityProvider":     UserPoolResourceUpdate,
	"UpdateResourceServer":       UserPoolResourceUpdate,
	"UpdateUserPoolDomain":       UserPoolResourceUpdate,

	// UserPoolClientRead / UserPoolClientUpdate (5 RPS per pool).
	"DescribeUserPoolClient": UserPoolClientRead,
	"ListUserPoolClients":    UserPoolClientRead,
	"CreateUserPoolClient":   UserPoolClientUpdate,
	"DeleteUserPoolClient":   UserPoolClientUpdate,
	"UpdateUserPoolClient":   UserPoolClientUpdate,

	// ClientAuthentication
	"GetClientToken": ClientAuthentication,

	// LimitManagement: reading and raising the provisioned limits of the
	// adjustable categories (1 RPS per account).
	"GetProvisionedLimit":    LimitManagement,
	"UpdateProvisionedLimit": LimitManagement,
}

// adjustable lists the categories the table marks "Adjustable: Yes". "Only
// adjustable quota categories support provisioning" (quotas.html
// #provisioned-quotas, "Considerations"), so only these can differ from the
// default in an account (docs/cognito-facts.md §9, §10).
var adjustable = map[Category]bool{
	UserAuthentication: true,
	UserCreation:       true,
	UserFederation:     true,
	UserRead:           true,
	UserToken:          true,
	UserResourceRead:   true,
}

// PerPoolOperationRPS is the footnote of the quota table: "Any individual
// operation in this category has a constraint that prevents the operation
// from being called at a rate higher than 5 RPS for a single user pool",
// attached to UserPoolResourceRead, UserPoolResourceUpdate,
// UserPoolClientRead and UserPoolClientUpdate; the category's own rate
// applies on top, to all pools of the account together.
// https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations
const PerPoolOperationRPS = 5

// PerPoolCapped reports whether every operation of c is also held to
// PerPoolOperationRPS per user pool.
func PerPoolCapped(c Category) bool {
	switch c {
	case UserPoolResourceRead, UserPoolResourceUpdate, UserPoolClientRead, UserPoolClientUpdate:
		return true
	}
	return false
}

// Adjustable reports whether an account can raise c (Service Quotas, then
// UpdateProvisionedLimit). The other categories are fixed at their default.
func Adjustable(c Category) bool { return adjustable[c] }

// Of returns the category an operation is charged to. ok is false for an
// operation the table does not know; callers should then not pace it.
func Of(operation string) (c Category, ok bool) {
	c, ok = operations[operation]
	return c, ok
}

// DefaultRate returns the category's default quota in requests per second, or 0
// for an unknown category.
func DefaultRate(c Category) float64 { return defaultRPS[c] }

// Rates is a set of per-category rates in requests per second. A missing
// category means "use the default"; a rate of 0 or below means "unlimited".
type Rates map[Category]float64

// Defaults returns a fresh copy of Cognito's default rates for every category.
func Defaults() Rates {
	r := make(Rates, len(defaultRPS))
	for c, v := range defaultRPS {
		r[c] = v
	}
	return r
}

// Scaled returns a copy of r with every rate multiplied by f.
func (r Rates) Scaled(f float64) Rates {
	out := make(Rates, len(r))
	for c, v := range r {
		out[c] = v * f
	}
	return out
}

// Categories lists every known category in a stable order.
func Categories() []Category {
	cs := make([]Category, 0, len(defaultRPS))
	for c := range defaultRPS {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
	return cs
}

// Operations lists every operation the table knows, sorted.
func Operations() []string {
	ops := make([]string, 0, len(operations))
	for op := range operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}
