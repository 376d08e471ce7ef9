package restore_test

import (
	"strings"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/restore"
)

// TestExistsHintIsTheCallers guards the advice for a user created in the
// target while the restore ran (review minor): restore's names its own
// --on-existing; a caller without that flag (migrate finish) gives its own.
func TestExistsHintIsTheCallers(t *testing.T) {
	for _, c := range []struct {
		hint, want, not string
	}{
		{"", "(--on-existing)", "finish"},
		{"run 'cogvault migrate finish' again", "; run 'cogvault migrate finish' again", "--on-existing"},
	} {
		e := setup(t, 30, 1)
		var name string
		for u, err := range e.repo.Users(ctx, e.snap) {
			if err != nil {
				t.Fatal(err)
			}
			if u.Status == "CONFIRMED" && !strings.Contains(u.Username, "_") {
				name = u.Username
				break
			}
		}
		if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &e.target, Username: &name,
			MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Fatal(err)
		}
		e.srv.SetListingLag(time.Hour)
		rep, err := e.restore(t, restore.Options{ExistsHint: c.hint})
		if err != nil {
			t.Fatal(err)
		}
		var reason string
		for _, it := range rep.NotRestored {
			if it.Username == name {
				reason = it.Reason
			}
		}
		if !strings.HasSuffix(reason, c.want) || strings.Contains(reason, c.not) {
			t.Errorf("hint %q: the report says %q, want it to end with %q", c.hint, reason, c.want)
		}
	}
}
