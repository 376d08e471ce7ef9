package cognitotest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestPasswordSignInAnswersTheMFAChallenge guards the fake's MFA (facts
// §35.2): a correct password gets tokens only when the pool's MFA mode asks
// nothing more of the user; otherwise a challenge with a Session. Code that
// must refuse MFA users (the migration function) is tested against this.
func TestPasswordSignInAnswersTheMFAChallenge(t *testing.T) {
	ap := newAuthPool(t, cognitotest.Options{}, &cip.CreateUserPoolInput{})
	ap.createUser(t, "plain", goodPW)
	ap.createUser(t, "sms", goodPW, "phone_number", "+15555550100")
	if _, err := ap.api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: &ap.pool, Username: aws.String("sms"),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}}); err != nil {
		t.Fatal(err)
	}
	challenge := func(name string) string {
		t.Helper()
		out, err := ap.adminSignIn(ap.adminC, name, goodPW)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.ChallengeName != "" && (out.AuthenticationResult != nil || aws.ToString(out.Session) == "") {
			t.Errorf("%s: challenge %s with tokens or without a Session", name, out.ChallengeName)
		}
		return string(out.ChallengeName)
	}
	// MFA OFF (a new pool): never a challenge, whatever the user set.
	if got := challenge("sms"); got != "" {
		t.Errorf("MFA OFF: sms user got challenge %s, want tokens", got)
	}
	setMode := func(mode types.UserPoolMfaType) {
		t.Helper()
		if _, err := ap.api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &ap.pool, MfaConfiguration: mode,
			SmsMfaConfiguration: &types.SmsMfaConfigType{}, SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}); err != nil {
			t.Fatal(err)
		}
	}
	setMode(types.UserPoolMfaTypeOptional)
	if got := challenge("sms"); got != "SMS_MFA" {
		t.Errorf("MFA OPTIONAL: sms user got %q, want SMS_MFA", got)
	}
	if got := challenge("plain"); got != "" {
		t.Errorf("MFA OPTIONAL: user without a factor got %q, want tokens", got)
	}
	// The user flow answers the same.
	out, err := ap.signIn(ap.userC, "sms", goodPW)
	if err != nil || out.ChallengeName != types.ChallengeNameTypeSmsMfa || out.AuthenticationResult != nil {
		t.Errorf("InitiateAuth of the sms user: %v, challenge %q, tokens %v", err, out.ChallengeName, out != nil && out.AuthenticationResult != nil)
	}
	setMode(types.UserPoolMfaTypeOn)
	if got := challenge("plain"); got != "MFA_SETUP" {
		t.Errorf("MFA ON: user without a factor got %q, want MFA_SETUP", got)
	}
}
