package migration_test

import (
	"strings"

	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestFederatedSourceUserIsNotMigrated guards the refusal of federated-only
// source users (EXTERNAL_PROVIDER, "Google_<id>"; review finding 8): in the
// forgot-password flow such a user with a verified email would otherwise
// become a native RESET_REQUIRED user in the target that anyone receiving
// the code could give a password, under the name the provider's own
// sign-in into the target later needs. They come back at their next
// federated sign-in. The refusal is counted as "federated".
func TestFederatedSourceUserIsNotMigrated(t *testing.T) {
	w := newWorld(t)
	var name string
	for _, u := range w.sourceUsers(t, types.UserStatusTypeExternalProvider, true) {
		m := attrMap(u.Attributes)
		if m["email_verified"] == "true" || m["phone_number_verified"] == "true" {
			name = aws.ToString(u.Username)
			break
		}
	}
	if name == "" {
		t.Fatal("no federated source user with a verified contact")
	}
	_, _ = w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: &name})
	if g, err := w.get(w.target, name); err == nil {
		t.Fatalf("federated source user migrated by forgot password into the target as a native %s user", g.UserStatus)
	}
	if _, err := w.signIn(name, sourcePW); err == nil {
		t.Fatal("federated source user signed in to the target with a password")
	}
	if _, err := w.get(w.target, name); err == nil {
		t.Fatal("federated source user migrated at sign-in")
	}
	if n := countFailed(t, w, "federated"); n != 1 {
		t.Errorf("failed/ records with reason federated: %d, want 1 (the forgot-password refusal; the sign-in is refused by the source itself)", n)
	}
}

// countFailed counts the failed/ records with reason why.
func countFailed(t *testing.T, w *world, why string) int {
	t.Helper()
	n := 0
	for o, err := range w.store.List(ctx, "migrations/"+w.target+"/failed/") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(o.Key, "-"+why+".json") {
			n++
		}
	}
	return n
}
