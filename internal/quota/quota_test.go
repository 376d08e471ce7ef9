package quota_test

import (
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

// Every operation the fake serves is charged to a category with a positive
// default rate: otherwise the fake would not throttle it and cogvault would
// not pace it.
func TestEveryServedOperationHasAQuota(t *testing.T) {
	for _, op := range cognitotest.Operations() {
		c, ok := quota.Of(op)
		if !ok {
			t.Errorf("%s has no quota category", op)
			continue
		}
		if quota.DefaultRate(c) <= 0 {
			t.Errorf("%s: category %s has no default rate", op, c)
		}
	}
}

func TestDesignDocumentDefaults(t *testing.T) {
	// The defaults DESIGN.md quotes; a change here must change the docs too.
	want := map[quota.Category]float64{
		quota.UserList: 30, quota.UserRead: 120, quota.UserResourceRead: 50, quota.UserCreation: 50,
		quota.UserUpdate: 25, quota.UserAccountRecovery: 30, quota.UserPoolRead: 15,
		quota.UserPoolResourceRead: 20, quota.UserPoolResourceUpdate: 15, quota.UserPoolClientRead: 15,
	}
	for c, v := range want {
		if got := quota.DefaultRate(c); got != v {
			t.Errorf("%s default = %v, want %v", c, got, v)
		}
	}
	d := quota.Defaults()
	d[quota.UserList] = 1
	if quota.DefaultRate(quota.UserList) != 30 {
		t.Fatal("Defaults must return a copy")
	}
	if s := d.Scaled(2); s[quota.UserRead] != 240 || d[quota.UserRead] != 120 {
		t.Fatal("Scaled must multiply into a copy")
	}
}

// The categories of the operations cogvault calls, as the quota table of the
// developer guide lists them (docs/cognito-facts.md §9, read from the page,
// not from this package): a wrong row here paces cogvault and throttles the
// fake at the wrong rate, and no other test could notice.
func TestCategoriesFollowTheQuotaTable(t *testing.T) {
	table := map[string]quota.Category{
		"ListUsers": quota.UserList, "ListUsersInGroup": quota.UserList,
		"AdminGetUser":           quota.UserRead,
		"AdminListGroupsForUser": quota.UserResourceRead,
		"AdminCreateUser":        quota.UserCreation,
		"AdminSetUserPassword":   quota.UserAccountRecovery,
		"AdminAddUserToGroup":    quota.UserUpdate, "AdminRemoveUserFromGroup": quota.UserUpdate,
		"AdminUpdateUserAttributes": quota.UserUpdate, "AdminDisableUser": quota.UserUpdate, "AdminEnableUser": quota.UserUpdate,
		"AdminLinkProviderForUser": quota.UserUpdate, "AdminDeleteUser": quota.UserUpdate,
		"AdminSetUserMFAPreference": quota.UserResourceUpdate, "AdminSetUserSettings": quota.UserResourceUpdate,
		"SetUserMFAPreference": quota.UserResourceUpdate, "SetUserSettings": quota.UserResourceUpdate,
		"AdminDeleteSoftwareToken": quota.UserResourceUpdate,
		"DescribeUserPool":         quota.UserPoolRead, "ListUserPools": quota.UserPoolRead,
		"CreateUserPool":       quota.UserPoolUpdate,
		"GetUserPoolMfaConfig": quota.UserPoolResourceRead, "ListGroups": quota.UserPoolResourceRead,
		"GetCSVHeader": quota.UserPoolResourceRead, "DescribeUserImportJob": quota.UserPoolResourceRead,
		"GetUICustomization": quota.UserPoolResourceRead, "DescribeManagedLoginBranding": quota.UserPoolResourceRead,
		"SetUserPoolMfaConfig": quota.UserPoolResourceUpdate, "AddCustomAttributes": quota.UserPoolResourceUpdate,
		"CreateGroup": quota.UserPoolResourceUpdate, "CreateUserImportJob": quota.UserPoolResourceUpdate,
		"StartUserImportJob": quota.UserPoolResourceUpdate, "CreateManagedLoginBranding": quota.UserPoolResourceUpdate,
		"DescribeUserPoolClient": quota.UserPoolClientRead, "CreateUserPoolClient": quota.UserPoolClientUpdate,
		"GetProvisionedLimit": quota.LimitManagement, "UpdateProvisionedLimit": quota.LimitManagement,
	}
	for op, want := range table {
		if got, ok := quota.Of(op); !ok || got != want {
			t.Errorf("%s is charged to %q, the quota table says %s", op, got, want)
		}
	}
	if quota.DefaultRate(quota.LimitManagement) != 1 {
		t.Errorf("LimitManagement default = %v, the table says 1", quota.DefaultRate(quota.LimitManagement))
	}
}
