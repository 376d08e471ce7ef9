package quota

import "sort"

// used lists the Cognito operations cogvault itself calls: `cogvault quotas`
// shows them per category, and cogvault reads the provisioned limits of
// their adjustable categories at start. TestUsedMatchesTheCode keeps it in
// step with the code.
var used = []string{
	// backup, capture and the listing
	"ListUsers", "ListUsersInGroup", "ListGroups", "AdminGetUser", "AdminListGroupsForUser", "GetGroup",
	"DescribeUserPool", "ListUserPools", "DescribeUserPoolClient", "ListUserPoolClients",
	"DescribeIdentityProvider", "ListIdentityProviders", "ListResourceServers", "DescribeUserPoolDomain",
	"GetUserPoolMfaConfig", "GetUICustomization",
	// restore: users, groups, import jobs
	"AdminCreateUser", "AdminSetUserPassword", "AdminUpdateUserAttributes", "AdminDisableUser",
	"AdminEnableUser", "AdminLinkProviderForUser", "AdminSetUserMFAPreference", "AdminAddUserToGroup",
	"CreateGroup", "GetCSVHeader", "CreateUserImportJob", "StartUserImportJob", "DescribeUserImportJob", "ListUserImportJobs",
	// restore --create-pool
	"CreateUserPool", "CreateUserPoolClient", "CreateIdentityProvider", "CreateResourceServer",
	"CreateUserPoolDomain", "SetUserPoolMfaConfig", "SetUICustomization",
	// drill: deletes the scratch pool it created (internal/drill)
	"DeleteUserPool",
	// the migration function: checks a password on the source (internal/migration)
	"AdminInitiateAuth",
	// migrate start/finish: the target's two triggers (internal/migrate)
	"UpdateUserPool",
	// start-up: the account's provisioned limits (internal/awsx)
	"GetProvisionedLimit",
}

// Used lists the operations cogvault calls, sorted.
func Used() []string {
	out := append([]string(nil), used...)
	sort.Strings(out)
	return out
}

// UsedAdjustable lists the adjustable categories of the operations cogvault
// calls: the ones whose provisioned limit it reads at start.
func UsedAdjustable() []Category {
	seen := map[Category]bool{}
	var out []Category
	for _, op := range used {
		if c, ok := Of(op); ok && Adjustable(c) && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// MinSeconds is the least time n calls of op against one user pool take at
// Cognito's default quotas: n over the category's rate, or over the per-pool
// cap where that is lower (any single UserPoolResource*/UserPoolClient*
// operation: 5 per second per pool, so 10,000 CreateGroup calls take at least
// 2,000 s). rps is the rate that bounds it; both are 0 for an operation the
// table does not know.
func MinSeconds(op string, n int) (secs, rps float64) {
	c, ok := Of(op)
	if !ok {
		return 0, 0
	}
	rps = DefaultRate(c)
	if PerPoolCapped(c) && PerPoolOperationRPS < rps {
		rps = PerPoolOperationRPS
	}
	return float64(n) / rps, rps
}
