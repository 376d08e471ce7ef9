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
