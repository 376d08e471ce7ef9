package capture_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

// poolSecrets are the usernames, group names and attribute values of pool
// (subs excepted: the function may name a user by sub).
func poolSecrets(t *testing.T, e *env, pool string) []string {
	t.Helper()
	var out []string
	for u, err := range cognito.Users(ctx, e.api, pool, "") {
		must(t, err)
		out = append(out, aws.ToString(u.Username))
		for _, a := range u.Attributes {
			if v := aws.ToString(a.Value); aws.ToString(a.Name) != "sub" && len(v) > 3 && v != "true" && v != "false" {
				out = append(out, v)
			}
		}
	}
	groups, err := e.api.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &pool})
	must(t, err)
	for _, g := range groups.Groups {
		out = append(out, aws.ToString(g.GroupName))
	}
	return out
}

// The errors the function returns (which the Lambda runtime writes to
// CloudWatch Logs) and its logs carry no username, group name or attribute
// value when a snapshot or restore fails in a call that names them; they
// name the action, the operation and the error class.
func TestActionErrorsNameNoUser(t *testing.T) {
	e := setup(t, 12)
	_, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	target, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "t", Seed: 31})
	must(t, err)
	secrets := append(poolSecrets(t, e, e.pool.PoolID), poolSecrets(t, e, target.PoolID)...)
	cases := []struct {
		name, event, deny, want string
		is                      error
	}{
		{"restore, a membership refused", fmt.Sprintf(`{"action":"restore","targetPoolId":%q}`, target.PoolID),
			"AdminAddUserToGroup", "restore failed in AdminAddUserToGroup: AccessDeniedException", nil},
		{"restore, the users exist", fmt.Sprintf(`{"action":"restore","targetPoolId":%q,"onExisting":"fail"}`, e.pool.PoolID),
			"", "restore failed: user already exists in the target", restore.ErrExisting},
		{"snapshot, members refused", `{"action":"snapshot"}`,
			"ListUsersInGroup", "snapshot failed in ListUsersInGroup: AccessDeniedException", nil},
	}
	for _, c := range cases {
		e.logs.Reset()
		allow := func() {}
		if c.deny != "" {
			allow = e.srv.DenyActions(c.deny)
		}
		_, err := e.h.Handle(ctx, []byte(c.event))
		allow()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v does not wrap %v", c.name, err, c.is)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) || strings.Contains(e.logs.String(), s) {
				t.Errorf("%s: the error or the logs carry %q:\n%v\n%s", c.name, s, err, e.logs)
			}
		}
	}
}
