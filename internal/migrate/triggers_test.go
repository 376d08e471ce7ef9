package migrate

import (
	"reflect"
	"slices"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Every member UpdateUserPool takes is carried from DescribeUserPool's
// answer: one it omits is reset to its default (facts §26). An SDK upgrade
// that adds a member turns this red until the member is carried.
func TestUpdateCarriesEveryMember(t *testing.T) {
	in := reflect.TypeOf(cip.UpdateUserPoolInput{})
	pool := reflect.TypeOf(types.UserPoolType{})
	for i := 0; i < in.NumField(); i++ {
		f := in.Field(i)
		if !f.IsExported() || f.Name == "UserPoolId" || f.Name == "PoolName" {
			continue
		}
		if !slices.Contains(updatableMembers, f.Name) {
			t.Errorf("UpdateUserPoolInput.%s is not carried: add it to updatableMembers", f.Name)
		}
		if _, ok := pool.FieldByName(f.Name); !ok {
			t.Errorf("UpdateUserPoolInput.%s has no twin in UserPoolType: it cannot be read back, so an update resets it", f.Name)
		}
	}
	for _, m := range updatableMembers {
		if _, ok := in.FieldByName(m); !ok {
			t.Errorf("updatableMembers lists %s, which UpdateUserPoolInput lacks", m)
		}
	}
}
