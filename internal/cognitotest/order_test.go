package cognitotest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// ListUsers has no documented order and the service is sharded: the fake
// does not list in creation order, and users created while a listing runs
// land on both sides of its position — some are listed, some are not, and
// every user that existed throughout is listed exactly once.
func TestListingOrderIsNotCreationOrder(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 2000, 0)
	c := newClient(srv)
	var names []string
	for _, u := range listAll(t, c, pool, "") {
		names = append(names, aws.ToString(u.Username))
	}
	var plain []string // the generated "user0000042" names, in listing order
	for _, n := range names {
		if strings.HasPrefix(n, "user") {
			plain = append(plain, n)
		}
	}
	if slices.IsSorted(plain) {
		t.Fatal("users are listed in creation order")
	}

	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(60)})
	seen := map[string]int{}
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			seen[aws.ToString(u.Username)]++
		}
		if pages++; pages == 17 { // about half way
			for i := range 100 {
				if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool,
					Username: aws.String(fmt.Sprintf("late-%d", i)), MessageAction: types.MessageActionTypeSuppress}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	late := 0
	for name, n := range seen {
		if n != 1 {
			t.Fatalf("%s listed %d times", name, n)
		}
		if strings.HasPrefix(name, "late-") {
			late++
		}
	}
	for _, n := range names {
		if seen[n] != 1 {
			t.Fatalf("%s, there all along, was not listed", n)
		}
	}
	if late == 0 || late == 100 {
		t.Fatalf("%d of 100 users created mid-listing were listed: want some, not all", late)
	}
}
