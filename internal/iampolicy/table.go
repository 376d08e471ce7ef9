// Package iampolicy is the one table of what cogvault may call, per mode, and
// builds least-privilege IAM policy documents from it. The CLI's
// `cogvault iam-policy`, its commands' --help, the Lambda's tests
// (internal/capture) and the Terraform module's test (deploy/terraform) all
// read this table, so they cannot disagree.
package iampolicy

// Lambda are the Cognito actions each mode of the Lambda function calls, as
// deploy/terraform grants them: internal/capture's tests run every mode
// against the fake and check it calls nothing else; deploy/terraform's
// test checks the module's lists are exactly these.
var Lambda = map[string][]string{
	// PostConfirmation and CloudTrail events.
	"capture": {
		"cognito-idp:AdminGetUser",
		"cognito-idp:AdminListGroupsForUser",
		"cognito-idp:GetGroup",
		"cognito-idp:ListUsers",
	},
	// The scheduled snapshot.
	"snapshot": {
		"cognito-idp:DescribeIdentityProvider",
		"cognito-idp:DescribeUserPool",
		"cognito-idp:DescribeUserPoolClient",
		"cognito-idp:DescribeUserPoolDomain",
		"cognito-idp:GetUICustomization",
		"cognito-idp:GetUserPoolMfaConfig",
		"cognito-idp:ListGroups",
		"cognito-idp:ListIdentityProviders",
		"cognito-idp:ListResourceServers",
		"cognito-idp:ListUserPoolClients",
		"cognito-idp:ListUsers",
		"cognito-idp:ListUsersInGroup",
	},
	// The manual restore, admin and import paths.
	"restore": {
		"cognito-idp:AdminAddUserToGroup",
		"cognito-idp:AdminCreateUser",
		"cognito-idp:AdminDisableUser",
		"cognito-idp:AdminEnableUser",
		"cognito-idp:AdminGetUser",
		"cognito-idp:AdminLinkProviderForUser",
		"cognito-idp:AdminSetUserMFAPreference",
		"cognito-idp:AdminSetUserPassword",
		"cognito-idp:AdminUpdateUserAttributes",
		"cognito-idp:CreateGroup",
		"cognito-idp:CreateUserImportJob",
		"cognito-idp:DescribeUserImportJob",
		"cognito-idp:DescribeUserPool",
		"cognito-idp:GetCSVHeader",
		"cognito-idp:ListGroups",
		"cognito-idp:ListIdentityProviders",
		"cognito-idp:ListUserImportJobs",
		"cognito-idp:ListUsers",
		"cognito-idp:StartUserImportJob",
	},
	// The migration function (internal/migration): on the source pool, the
	// UserMigration trigger checks the password and reads the user, and
	// PostAuthentication reads the user's groups; on the target pool,
	// PostAuthentication reads the signed-in user (its creation time binds
	// the pending record to the user the migration made, facts §34.2) and
	// adds it to them (issue 15's contract).
	"migration_source": {
		"cognito-idp:AdminGetUser",
		"cognito-idp:AdminInitiateAuth",
		"cognito-idp:AdminListGroupsForUser",
	},
	"migration_target": {
		"cognito-idp:AdminAddUserToGroup",
		"cognito-idp:AdminGetUser",
	},
	// A restore drill (internal/drill) on its scratch pool, the one it
	// created (CreateUserPool, with the drill's tag, is granted apart): the
	// restore's admin path, the configuration create-pool copies, the
	// comparison's listing, and DeleteUserPool.
	"drill_scratch": {
		"cognito-idp:AdminAddUserToGroup",
		"cognito-idp:AdminCreateUser",
		"cognito-idp:AdminDisableUser",
		"cognito-idp:AdminEnableUser",
		"cognito-idp:AdminGetUser",
		"cognito-idp:AdminLinkProviderForUser",
		"cognito-idp:AdminSetUserMFAPreference",
		"cognito-idp:AdminSetUserPassword",
		"cognito-idp:AdminUpdateUserAttributes",
		"cognito-idp:CreateGroup",
		"cognito-idp:CreateIdentityProvider",
		"cognito-idp:CreateResourceServer",
		"cognito-idp:CreateUserPoolClient",
		"cognito-idp:DeleteUserPool",
		"cognito-idp:DescribeUserPool",
		"cognito-idp:ListGroups",
		"cognito-idp:ListIdentityProviders",
		"cognito-idp:ListUsers",
		"cognito-idp:ListUsersInGroup",
		"cognito-idp:SetUICustomization",
		"cognito-idp:SetUserPoolMfaConfig",
	},
	// The sweep of scratch pools killed drills left behind (drill.Sweep,
	// `cogvault drill --sweep`, and the worker's drill action before it
	// starts): ListUserPools (no resource type: "*"), then DescribeUserPool
	// and DeleteUserPool on the pools that carry the drill's name and tag.
	"drill_sweep": {
		"cognito-idp:DeleteUserPool",
		"cognito-idp:DescribeUserPool",
		"cognito-idp:ListUserPools",
	},
}

// ResourceTypes is, for every Cognito action cogvault calls (the Lambda's
// modes above and the CLI's modes), the resource type the Service
// Authorization Reference lists for it: "userpool" (grant it on the pool's
// ARN, arn:${Partition}:cognito-idp:${Region}:${Account}:userpool/${UserPoolId})
// or "" (no resource-level permissions: the policy must say Resource "*").
// Source: "Actions, resources, and condition keys for Amazon Cognito User
// Pools", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncognitouserpools.html
// (docs/cognito-facts.md section 14). deploy/terraform's test checks that
// the module's policy grants each action on exactly this resource type.
var ResourceTypes = map[string]string{
	"cognito-idp:AdminAddUserToGroup":       "userpool",
	"cognito-idp:AdminCreateUser":           "userpool",
	"cognito-idp:AdminDisableUser":          "userpool",
	"cognito-idp:AdminEnableUser":           "userpool",
	"cognito-idp:AdminGetUser":              "userpool",
	"cognito-idp:AdminInitiateAuth":         "userpool", // the migration function, on the source pool
	"cognito-idp:AdminLinkProviderForUser":  "userpool",
	"cognito-idp:AdminListGroupsForUser":    "userpool",
	"cognito-idp:AdminSetUserMFAPreference": "userpool",
	"cognito-idp:AdminSetUserPassword":      "userpool",
	"cognito-idp:AdminUpdateUserAttributes": "userpool",
	"cognito-idp:CreateGroup":               "userpool", // dependent action iam:PassRole (a group's role)
	"cognito-idp:CreateIdentityProvider":    "userpool",
	"cognito-idp:CreateResourceServer":      "userpool",
	"cognito-idp:CreateUserImportJob":       "userpool", // dependent action iam:PassRole (the logs role)
	"cognito-idp:CreateUserPool":            "",         // the pool does not exist yet
	"cognito-idp:CreateUserPoolClient":      "userpool",
	"cognito-idp:CreateUserPoolDomain":      "userpool",
	"cognito-idp:DeleteUserPool":            "userpool", // drills, on their scratch pool
	"cognito-idp:DescribeIdentityProvider":  "userpool",
	"cognito-idp:DescribeUserImportJob":     "userpool",
	"cognito-idp:DescribeUserPool":          "userpool",
	"cognito-idp:DescribeUserPoolClient":    "userpool",
	"cognito-idp:DescribeUserPoolDomain":    "", // the request names a domain, not a pool
	"cognito-idp:GetCSVHeader":              "userpool",
	"cognito-idp:GetGroup":                  "userpool",
	"cognito-idp:GetProvisionedLimit":       "", // account-wide quotas
	"cognito-idp:GetUICustomization":        "userpool",
	"cognito-idp:GetUserPoolMfaConfig":      "userpool",
	"cognito-idp:ListGroups":                "userpool",
	"cognito-idp:ListIdentityProviders":     "userpool",
	"cognito-idp:ListResourceServers":       "userpool",
	"cognito-idp:ListUserImportJobs":        "userpool", // facts §33
	"cognito-idp:ListUserPoolClients":       "userpool",
	"cognito-idp:ListUserPools":             "", // `cogvault pools`, the drill sweep
	"cognito-idp:ListUsers":                 "userpool",
	"cognito-idp:ListUsersInGroup":          "userpool",
	"cognito-idp:SetUICustomization":        "userpool",
	"cognito-idp:SetUserPoolMfaConfig":      "userpool", // dependent action iam:PassRole (the SMS role)
	"cognito-idp:StartUserImportJob":        "userpool",
	"cognito-idp:TagResource":               "userpool", // optional resource type; CreateUserPool's dependent action for its tags
	// migrate start/finish set the target's triggers. A pool-level write on
	// userpool* as its neighbours; its dependent actions (the SMS role's
	// iam:PassRole, tags) were not re-read row by row (facts §26).
	"cognito-idp:UpdateUserPool": "userpool",
}
