package migration_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestMFASourceUserIsRefused guards the function's MFA refusal (review
// finding 10): a source user with MFA gets a challenge from
// AdminInitiateAuth (the fake models it, facts §35.2), which cannot pass
// through the UserMigration trigger, so the function must refuse and the
// target must not get the user.
func TestMFASourceUserIsRefused(t *testing.T) {
	w := newWorld(t)
	if _, err := w.api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &w.source, MfaConfiguration: types.UserPoolMfaTypeOptional,
		SmsMfaConfiguration: &types.SmsMfaConfigType{}, SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range w.sourceUsers(t, types.UserStatusTypeConfirmed, true) {
		name := aws.ToString(u.Username)
		g, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &w.source, Username: &name})
		if err != nil {
			t.Fatal(err)
		}
		pref := aws.ToString(g.PreferredMfaSetting)
		if pref == "" || seen[pref] {
			continue
		}
		seen[pref] = true
		out, err := w.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &w.source, ClientId: &w.sourceClient,
			AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": sourcePW}})
		if err != nil || string(out.ChallengeName) != pref || out.AuthenticationResult != nil {
			t.Fatalf("source user preferring %s: AdminInitiateAuth answered err %v, challenge %q; want the %s challenge", pref, err, out.ChallengeName, pref)
		}
		if _, err := w.signIn(name, sourcePW); err == nil {
			t.Errorf("a source user with MFA (%s) was migrated at sign-in; the function must refuse", pref)
		}
		if _, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &w.target, Username: &name}); err == nil {
			t.Errorf("the target has the source user preferring %s after a refused migration", pref)
		}
	}
	if !seen["SMS_MFA"] || !seen["SOFTWARE_TOKEN_MFA"] {
		t.Fatalf("the populated source lacks an SMS or TOTP user: %v", seen)
	}
}
