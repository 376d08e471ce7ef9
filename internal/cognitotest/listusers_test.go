package cognitotest_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

func subOf(u types.UserType) string {
	for _, a := range u.Attributes {
		if aws.ToString(a.Name) == "sub" {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func listAll(t *testing.T, c *cip.Client, poolID, filter string) []types.UserType {
	t.Helper()
	users, _ := listPages(t, c, poolID, filter)
	return users
}

func listPages(t *testing.T, c *cip.Client, poolID, filter string) (out []types.UserType, pages int) {
	t.Helper()
	in := &cip.ListUsersInput{UserPoolId: aws.String(poolID), Limit: aws.Int32(60)}
	if filter != "" {
		in.Filter = aws.String(filter)
	}
	p := cip.NewListUsersPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		if len(page.Users) > 60 {
			t.Fatalf("page of %d users exceeds Limit 60", len(page.Users))
		}
		pages++
		out = append(out, page.Users...)
	}
	return out, pages
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestListUsersPaginatesEveryUserExactlyOnce(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 10000, 0)
	users, pages := listPages(t, newClient(srv), pool, "")
	if len(users) != 10000 {
		t.Fatalf("listed %d users, want 10000", len(users))
	}
	seen := map[string]bool{}
	for _, u := range users {
		name := aws.ToString(u.Username)
		if seen[name] {
			t.Fatalf("user %q listed twice", name)
		}
		seen[name] = true
		if subOf(u) == "" || u.UserCreateDate == nil || u.UserStatus == "" {
			t.Fatalf("user %q lacks sub, create date or status: %+v", name, u)
		}
	}
	if pages != 167 {
		t.Errorf("unfiltered listing took %d pages, want ceil(10000/60) = 167 full pages", pages)
	}
}

func TestListUsersWhileUsersAreAddedAndDeleted(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 10000, 0)
	c := newClient(srv)
	before := map[string]bool{}
	for _, u := range listAll(t, c, pool, "") {
		before[aws.ToString(u.Username)] = true
	}

	// Page through while another client adds 500 users and deletes 300 of
	// the originals. Every original user not deleted must be seen exactly
	// once; added users may or may not be seen, but never twice.
	var deleted sync.Map
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		i := 0
		for name := range before {
			if i == 300 {
				break
			}
			if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)}); err != nil {
				t.Errorf("delete %s: %v", name, err)
				return
			}
			deleted.Store(name, true)
			_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool),
				Username: aws.String(fmt.Sprintf("added-%d", i)), MessageAction: types.MessageActionTypeSuppress})
			if err != nil {
				t.Errorf("create: %v", err)
				return
			}
			i++
		}
	}()
	seen := map[string]int{}
	p := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		for _, u := range page.Users {
			seen[aws.ToString(u.Username)]++
		}
	}
	wg.Wait()
	for name, n := range seen {
		if n > 1 {
			t.Fatalf("user %q listed %d times", name, n)
		}
	}
	for name := range before {
		if _, gone := deleted.Load(name); !gone && seen[name] != 1 {
			t.Fatalf("surviving user %q not listed", name)
		}
	}
}

func TestListUsersLimitAbove60IsRejected(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 10, 0)
	_, err := newClient(srv).ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(61)})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "less than or equal to 60") {
		t.Fatalf("Limit 61: got %v, want InvalidParameterException about the limit", err)
	}
}

func TestListUsersTokenIsBoundToFilter(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 500, 0)
	c := newClient(srv)
	out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(10), Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil || out.PaginationToken == nil {
		t.Fatalf("first page: %v (token %v)", err, out.PaginationToken)
	}
	_, err = c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(10),
		Filter: aws.String(`status = "Enabled"`), PaginationToken: out.PaginationToken})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "Paging Marker is Invalid") {
		t.Fatalf("token reused with another filter: got %v", err)
	}
	_, err = c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(10),
		PaginationToken: aws.String(*out.PaginationToken + "x")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("tampered token: got %v", err)
	}
}

func TestListUsersFilters(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 3000, 0)
	c := newClient(srv)
	all := listAll(t, c, pool, "")

	// The 16 sub-prefix shards partition the pool exactly.
	total := 0
	for _, h := range "0123456789abcdef" {
		shard := listAll(t, c, pool, fmt.Sprintf(`sub ^= "%c"`, h))
		for _, u := range shard {
			if !strings.HasPrefix(subOf(u), string(h)) {
				t.Fatalf("shard %c returned sub %s", h, subOf(u))
			}
		}
		total += len(shard)
	}
	if total != len(all) {
		t.Fatalf("sub shards hold %d users, pool has %d", total, len(all))
	}

	var want types.UserType
	for _, u := range all {
		if aws.ToString(u.Username) == "user0000042" {
			want = u
		}
	}
	email := ""
	for _, a := range want.Attributes {
		if aws.ToString(a.Name) == "email" {
			email = aws.ToString(a.Value)
		}
	}
	if email == "" {
		t.Skip("seeded user 42 is phone-only")
	}
	got := listAll(t, c, pool, fmt.Sprintf(`email = "%s"`, email))
	if len(got) != 1 || aws.ToString(got[0].Username) != "user0000042" {
		t.Fatalf("email filter returned %d users", len(got))
	}

	counts := map[types.UserStatusType]int{}
	for _, u := range all {
		counts[u.UserStatus]++
	}
	if n := len(listAll(t, c, pool, `cognito:user_status = "UNCONFIRMED"`)); n != counts[types.UserStatusTypeUnconfirmed] || n == 0 {
		t.Fatalf("status filter: %d, want %d (non-zero)", n, counts[types.UserStatusTypeUnconfirmed])
	}
	disabled := 0
	for _, u := range all {
		if !u.Enabled {
			disabled++
		}
	}
	if n := len(listAll(t, c, pool, `status = "Disabled"`)); n != disabled || n == 0 {
		t.Fatalf("status=Disabled: %d, want %d (non-zero)", n, disabled)
	}
}

func TestListUsersFilterErrors(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true}, 10, 0)
	c := newClient(srv)
	for _, f := range []string{`custom:plan = "pro"`, `email == "x"`, `email = x`, `email = "x`, `= "x"`, `email = "x" and`} {
		_, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), Filter: aws.String(f)})
		if apiCode(err) != "InvalidParameterException" {
			t.Errorf("filter %q: got %v, want InvalidParameterException", f, err)
		}
	}
	// Escaped quotes match the literal value.
	_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("quoted"),
		MessageAction:  types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String(`Dwayne "The Rock" J`)}}})
	if err != nil {
		t.Fatal(err)
	}
	got := listAll(t, c, pool, `name = "Dwayne \"The Rock\" J"`)
	if len(got) != 1 || aws.ToString(got[0].Username) != "quoted" {
		t.Fatalf("escaped filter returned %d users", len(got))
	}
}

// TestTokenLifetime: with Options.TokenLifetime a pagination token older
// than that is refused as an invalid marker (ListUsers and ListUsersInGroup
// alike); a fresh one still pages on.
func TestTokenLifetime(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true, Now: clock, TokenLifetime: time.Hour}, 130, 1)
	c := newClient(srv)
	in := &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(60)}
	out, err := c.ListUsers(ctx, in)
	if err != nil || out.PaginationToken == nil {
		t.Fatalf("first page: %v", err)
	}
	in.PaginationToken = out.PaginationToken
	mu.Lock()
	now = now.Add(59 * time.Minute)
	mu.Unlock()
	if _, err := c.ListUsers(ctx, in); err != nil {
		t.Fatalf("a token within its lifetime was refused: %v", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	var ae smithy.APIError
	if _, err := c.ListUsers(ctx, in); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" {
		t.Fatalf("a token past its lifetime: %v, want InvalidParameterException", err)
	}
}
