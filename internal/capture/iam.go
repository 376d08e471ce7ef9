package capture

// Actions are the IAM actions each mode of the Lambda calls, as the policy
// in deploy/terraform grants them: a test runs every mode against the fake
// and checks that it calls nothing else, and another checks that the
// Terraform module's lists are exactly these.
var Actions = map[string][]string{
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
		"cognito-idp:ListUsers",
		"cognito-idp:StartUserImportJob",
	},
}
