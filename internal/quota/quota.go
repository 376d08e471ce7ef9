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
// shared with the pool's production traffic.
package quota

import "sort"

// Category names a request-rate quota category as the Cognito docs and the
// Service Quotas console spell it.
type Category string

// The user-pool categories cogvault calls or the fake serves.
const (
	UserAuthentication     Category = "UserAuthentication"
	UserCreation           Category = "UserCreation"
	UserFederation         Category = "UserFederation"
	UserAccountRecovery    Category = "UserAccountRecovery"
	UserRead               Category = "UserRead"
	UserUpdate             Category = "UserUpdate"
	UserDeletion           Category = "UserDeletion"
	UserList               Category = "UserList"
	UserResourceRead       Category = "UserResourceRead"
	UserResourceUpdate     Category = "UserResourceUpdate"
	UserPoolRead           Category = "UserPoolRead"
	UserPoolCreate         Category = "UserPoolCreate"
	UserPoolUpdate         Category = "UserPoolUpdate"
	UserPoolDelete         Category = "UserPoolDelete"
	UserPoolResourceRead   Category = "UserPoolResourceRead"
	UserPoolResourceUpdate Category = "UserPoolResourceUpdate"
	UserPoolClientRead     Category = "UserPoolClientRead"
	UserPoolClientCreate   Category = "UserPoolClientCreate"
	UserPoolClientUpdate   Category = "UserPoolClientUpdate"
	UserPoolClientDelete   Category = "UserPoolClientDelete"
)

// DefaultRPS is each category's default quota in requests per second.
var defaultRPS = map[Category]float64{
	UserAuthentication:     120,
	UserCreation:           50,
	UserFederation:         25,
	UserAccountRecovery:    30,
	UserRead:               120,
	UserUpdate:             25,
	UserDeletion:           50,
	UserList:               30,
	UserResourceRead:       50,
	UserResourceUpdate:     25,
	UserPoolRead:           15,
	UserPoolCreate:         5,
	UserPoolUpdate:         5,
	UserPoolDelete:         5,
	UserPoolResourceRead:   20,
	UserPoolResourceUpdate: 15,
	UserPoolClientRead:     15,
	UserPoolClientCreate:   5,
	UserPoolClientUpdate:   5,
	UserPoolClientDelete:   5,
}

// operations maps an API operation name (as in X-Amz-Target) to its category.
var operations = map[string]Category{
	// UserCreation
	"AdminCreateUser":    UserCreation,
	"SignUp":             UserCreation,
	"AdminConfirmSignUp": UserCreation,
	"ConfirmSignUp":      UserCreation,

	// UserAccountRecovery
	"AdminResetUserPassword": UserAccountRecovery,
	"AdminSetUserPassword":   UserAccountRecovery,
	"ForgotPassword":         UserAccountRecovery,
	"ConfirmForgotPassword":  UserAccountRecovery,
	"ChangePassword":         UserAccountRecovery,

	// UserRead
	"AdminGetUser": UserRead,
	"GetUser":      UserRead,

	// UserUpdate
	"AdminUpdateUserAttributes": UserUpdate,
	"AdminDisableUser":          UserUpdate,
	"AdminEnableUser":           UserUpdate,
	"AdminSetUserMFAPreference": UserUpdate,
	"AdminSetUserSettings":      UserUpdate,
	"AdminAddUserToGroup":       UserUpdate,
	"AdminRemoveUserFromGroup":  UserUpdate,
	"AdminUserGlobalSignOut":    UserUpdate,
	"UpdateUserAttributes":      UserUpdate,
	"SetUserMFAPreference":      UserUpdate,

	// UserFederation
	"AdminLinkProviderForUser":    UserFederation,
	"AdminDisableProviderForUser": UserFederation,

	// UserDeletion
	"AdminDeleteUser": UserDeletion,
	"DeleteUser":      UserDeletion,

	// UserList
	"ListUsers":        UserList,
	"ListUsersInGroup": UserList,

	// UserResourceRead
	"AdminListGroupsForUser":  UserResourceRead,
	"AdminListDevices":        UserResourceRead,
	"AdminGetDevice":          UserResourceRead,
	"AdminListUserAuthEvents": UserResourceRead,

	// UserPoolRead
	"DescribeUserPool": UserPoolRead,
	"ListUserPools":    UserPoolRead,

	// UserPoolCreate / Update / Delete
	"CreateUserPool": UserPoolCreate,
	"UpdateUserPool": UserPoolUpdate,
	"DeleteUserPool": UserPoolDelete,

	// UserPoolResourceRead
	"GetGroup":                 UserPoolResourceRead,
	"ListGroups":               UserPoolResourceRead,
	"GetCSVHeader":             UserPoolResourceRead,
	"DescribeUserImportJob":    UserPoolResourceRead,
	"ListUserImportJobs":       UserPoolResourceRead,
	"DescribeIdentityProvider": UserPoolResourceRead,
	"ListIdentityProviders":    UserPoolResourceRead,
	"DescribeResourceServer":   UserPoolResourceRead,
	"ListResourceServers":      UserPoolResourceRead,
	"DescribeUserPoolDomain":   UserPoolResourceRead,
	"GetUserPoolMfaConfig":     UserPoolResourceRead,
	"ListTagsForResource":      UserPoolResourceRead,

	// UserPoolResourceUpdate
	"CreateGroup":            UserPoolResourceUpdate,
	"UpdateGroup":            UserPoolResourceUpdate,
	"DeleteGroup":            UserPoolResourceUpdate,
	"CreateUserImportJob":    UserPoolResourceUpdate,
	"StartUserImportJob":     UserPoolResourceUpdate,
	"StopUserImportJob":      UserPoolResourceUpdate,
	"CreateIdentityProvider": UserPoolResourceUpdate,
	"CreateResourceServer":   UserPoolResourceUpdate,
	"CreateUserPoolDomain":   UserPoolResourceUpdate,
	"SetUserPoolMfaConfig":   UserPoolResourceUpdate,

	// UserPoolClient*
	"DescribeUserPoolClient": UserPoolClientRead,
	"ListUserPoolClients":    UserPoolClientRead,
	"CreateUserPoolClient":   UserPoolClientCreate,
	"UpdateUserPoolClient":   UserPoolClientUpdate,
	"DeleteUserPoolClient":   UserPoolClientDelete,
}

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
