package cognitotest_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

func TestGroupsAndMemberships(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 2000, 130)
	c := newClient(srv)
	p := aws.String(pool)

	// ListGroups pages through every group once, ≤ 60 per page.
	var groups []types.GroupType
	gp := cip.NewListGroupsPaginator(c, &cip.ListGroupsInput{UserPoolId: p, Limit: aws.Int32(60)})
	for gp.HasMorePages() {
		page, err := gp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, page.Groups...)
	}
	if len(groups) != 130 {
		t.Fatalf("listed %d groups, want 130", len(groups))
	}
	if _, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: p, Limit: aws.Int32(61)}); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("ListGroups Limit 61: %v", err)
	}

	// Memberships seen group-by-group equal memberships seen user-by-user.
	byGroup := map[string]bool{}
	for _, g := range groups {
		up := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: p, GroupName: g.GroupName, Limit: aws.Int32(60)})
		for up.HasMorePages() {
			page, err := up.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Users {
				key := aws.ToString(g.GroupName) + "\x00" + aws.ToString(u.Username)
				if byGroup[key] {
					t.Fatalf("member listed twice: %q", key)
				}
				byGroup[key] = true
			}
		}
	}
	if len(byGroup) == 0 {
		t.Fatal("populated pool has no memberships")
	}
	byUser := 0
	for _, u := range listAll(t, c, pool, "") {
		out, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: p, Username: u.Username})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.Groups {
			if !byGroup[aws.ToString(g.GroupName)+"\x00"+aws.ToString(u.Username)] {
				t.Fatalf("user %s in group %s not listed by ListUsersInGroup", aws.ToString(u.Username), aws.ToString(g.GroupName))
			}
			byUser++
		}
	}
	if byUser != len(byGroup) {
		t.Fatalf("memberships: %d by user, %d by group", byUser, len(byGroup))
	}

	// Create, add (idempotent), remove, delete.
	prec := int32(3)
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: p, GroupName: aws.String("ops"), Description: aws.String("on, call"), Precedence: &prec}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: p, GroupName: aws.String("ops")}); apiCode(err) != "GroupExistsException" {
		t.Fatalf("duplicate group: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: p, GroupName: aws.String("ops"), Username: aws.String("user0000001")}); err != nil {
			t.Fatal(err)
		}
	}
	in, _ := c.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: p, GroupName: aws.String("ops")})
	if len(in.Users) != 1 {
		t.Fatalf("ops has %d members after adding one user twice", len(in.Users))
	}
	g, err := c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: p, GroupName: aws.String("ops")})
	if err != nil || aws.ToString(g.Group.Description) != "on, call" || aws.ToInt32(g.Group.Precedence) != 3 {
		t.Fatalf("GetGroup: %v %+v", err, g)
	}
	if _, err := c.DeleteGroup(ctx, &cip.DeleteGroupInput{UserPoolId: p, GroupName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	out, _ := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: p, Username: aws.String("user0000001")})
	for _, g := range out.Groups {
		if aws.ToString(g.GroupName) == "ops" {
			t.Fatal("deleted group still listed for its member")
		}
	}
	if _, err := c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: p, GroupName: aws.String("ops")}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("get deleted group: %v", err)
	}
}

func TestPopulateIsDeterministicAndRealistic(t *testing.T) {
	dump := func() ([]types.UserType, string) {
		srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 3000, 10)
		return listAll(t, newClient(srv), pool, ""), pool
	}
	a, poolA := dump()
	b, poolB := dump()
	if poolA != poolB || len(a) != len(b) {
		t.Fatalf("two populations differ: pools %s/%s, %d/%d users", poolA, poolB, len(a), len(b))
	}
	for i := range a {
		if fmt.Sprint(attrMap(a[i].Attributes)) != fmt.Sprint(attrMap(b[i].Attributes)) || aws.ToString(a[i].Username) != aws.ToString(b[i].Username) {
			t.Fatalf("user %d differs between identical populations", i)
		}
	}
	count := map[string]int{}
	for _, u := range a {
		m := attrMap(u.Attributes)
		count[string(u.UserStatus)]++
		if !u.Enabled {
			count["disabled"]++
		}
		if m["email"] == "" && m["phone_number"] != "" {
			count["phone-only"]++
		}
		if m["identities"] != "" && u.UserStatus != types.UserStatusTypeExternalProvider {
			count["linked"]++
		}
		for _, v := range m {
			for _, r := range v {
				switch {
				case r == ',':
					count["comma"]++
				case r == '"':
					count["quote"]++
				case r == '\n':
					count["newline"]++
				case r > 127:
					count["unicode"]++
				}
			}
		}
	}
	for _, k := range []string{"CONFIRMED", "UNCONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED", "EXTERNAL_PROVIDER",
		"disabled", "phone-only", "linked", "comma", "quote", "newline", "unicode"} {
		if count[k] == 0 {
			t.Errorf("3000 generated users include no %s case", k)
		}
	}
}
