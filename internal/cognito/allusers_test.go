package cognito_test

import (
	"testing"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

// A pool that refuses `sub ^=` is listed in one chain: every user once, and
// the caller hears of the fallback.
func TestAllUsersFallsBackWhenTheShardFilterIsRefused(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 900})
	if err != nil {
		t.Fatal(err)
	}
	// Mode 3: the shards work, but one later page is refused, after some
	// shards have yielded users: those must not come twice.
	for _, mode := range []cognitotest.SubPrefix{cognitotest.SubPrefixWorks, cognitotest.SubPrefixRefused, 3} {
		if mode == 3 {
			srv.SetSubPrefix(cognitotest.SubPrefixWorks)
			srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultError, Code: "InvalidParameterException", After: 20, Count: 1})
		} else {
			srv.SetSubPrefix(mode)
		}
		refused := 0
		seen := map[string]int{}
		for u, err := range cognito.AllUsers(ctx, client(srv), res.PoolID, 4, func(error) { refused++ }) {
			if err != nil {
				t.Fatal(err)
			}
			sub, _ := cognito.Attr(u.Attributes, "sub")
			seen[sub]++
		}
		if len(seen) != 900 {
			t.Fatalf("mode %d: listed %d users, want 900", mode, len(seen))
		}
		for sub, n := range seen {
			if n != 1 {
				t.Fatalf("mode %d: %s listed %d times", mode, sub, n)
			}
		}
		if want := map[cognitotest.SubPrefix]int{cognitotest.SubPrefixRefused: 1, 3: 1}[mode]; refused != want {
			t.Fatalf("mode %d: told of %d fallbacks, want %d", mode, refused, want)
		}
	}
}
