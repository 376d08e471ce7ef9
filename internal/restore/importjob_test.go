package restore

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// splitLikeCognito reads one line of the import dialect the way the guide
// describes the importer (and internal/cognitotest implements it): split on
// commas not preceded by a backslash, \, is a comma, values are trimmed.
func splitLikeCognito(line string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' && i+1 < len(line) && line[i+1] == ',' {
			b.WriteByte(',')
			i++
			continue
		}
		if line[i] == ',' {
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
			continue
		}
		b.WriteByte(line[i])
	}
	return append(out, strings.TrimSpace(b.String()))
}

// Every value the writer accepts comes back exactly; every value it refuses
// is one the dialect would have changed.
func TestImportValueRoundTripsOrRefuses(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		v := rapid.StringOf(rapid.SampledFrom([]rune{'a', 'Z', ',', ' ', '\t', '"', '\\', '\n', '\r', 'é', '東', '\uFEFF', '='})).Draw(rt, "v")
		enc, why := importValue(v)
		if why != "" {
			naive := splitLikeCognito(strings.ReplaceAll(v, ",", `\,`))
			if len(naive) == 1 && naive[0] == v && !strings.ContainsAny(v, "\r\n") && !strings.HasPrefix(v, "\uFEFF") {
				if !strings.Contains(v, `\`) {
					rt.Fatalf("refused %q (%s) though the dialect carries it", v, why)
				}
			}
			return
		}
		if strings.ContainsAny(enc, "\r\n") {
			rt.Fatalf("encoded %q contains a line break", enc)
		}
		got := splitLikeCognito(enc + ",next")
		if len(got) != 2 || got[0] != v || got[1] != "next" {
			rt.Fatalf("%q encoded as %q reads back as %q", v, enc, got)
		}
	})
}

func TestImportRowRoutesWhatItCannotCarry(t *testing.T) {
	header := []string{"name", "email", "email_verified", "phone_number", "phone_number_verified", "custom:plan", "cognito:mfa_enabled", "cognito:username"}
	user := func(kv ...string) snapshot.User {
		u := snapshot.User{Username: "u1", Sub: "s", Status: "CONFIRMED", Enabled: true}
		for i := 0; i < len(kv); i += 2 {
			u.Attributes = append(u.Attributes, snapshot.Attribute{Name: kv[i], Value: kv[i+1]})
		}
		return u
	}
	both := importRules{autoVerified: []string{"email", "phone_number"}, mfaMode: "OPTIONAL"}
	// phone_number_verified, absent in the snapshot, stays empty: either
	// verification column is enough, and nothing is added to the user.
	row, why := importRow(user("email", "a@x.com", "email_verified", "true", "name", "Smith, Jr.", "custom:plan", "pro"), "u1", header, "", both)
	if why != "" || row != `Smith\, Jr.,a@x.com,true,,,pro,false,u1` {
		t.Fatalf("row %q, why %q", row, why)
	}
	smsMFA := user("email", "a@x.com", "email_verified", "true", "phone_number", "+15550100", "phone_number_verified", "false")
	smsMFA.MFA = &snapshot.MFASettings{UserMFASettingList: []string{"SMS_MFA"}}
	if row, why := importRow(smsMFA, "u1", header, "", both); why != "" || !strings.HasSuffix(row, ",true,u1") {
		t.Fatalf("SMS MFA user in an OPTIONAL pool: row %q, why %q", row, why)
	}
	for _, tc := range []struct {
		u     snapshot.User
		rules importRules
		want  string
	}{
		{user("email", "a@x.com", "email_verified", "true"), importRules{autoVerified: []string{"phone_number"}}, "no verified phone_number"},
		{user("email", "a@x.com", "email_verified", "true"), importRules{}, "no auto-verified attribute"},
		{user("email", "a@x.com", "email_verified", "true"), importRules{autoVerified: []string{"email"}, mfaMode: "ON"}, "requires MFA"},
		{smsMFA, importRules{autoVerified: []string{"email"}, mfaMode: "OFF"}, "MFA is off"},
		{user("email", "a@x.com", "email_verified", "true", "birthdate", "1985-02-01"), both, "birthdate"},
	} {
		if _, why := importRow(tc.u, tc.u.Username, header, "", tc.rules); !strings.Contains(why, tc.want) {
			t.Errorf("%+v under %+v: why %q, want %q", tc.u.Attributes, tc.rules, why, tc.want)
		}
	}
	for _, tc := range []struct {
		u    snapshot.User
		want string
	}{
		{user("email", "a@x.com", "email_verified", "false"), "no verified email or phone"},
		{user("email", "a@x.com", "email_verified", "true", "name", "two\nlines"), "line break (name)"},
		{user("email", "a@x.com", "email_verified", "true", "name", " padded"), "whitespace"},
		{user("email", "a@x.com", "email_verified", "true", "custom:other", "x"), "not a column"},
		{user("email", "a@x.com", "email_verified", "true", "name", strings.Repeat("n", 16001)), "longer than 16000"},
		{snapshot.User{Username: "Google_1", Status: "EXTERNAL_PROVIDER"}, "federated"},
	} {
		if _, why := importRow(tc.u, tc.u.Username, header, "", both); !strings.Contains(why, tc.want) {
			t.Errorf("%+v: why %q, want %q", tc.u.Attributes, why, tc.want)
		}
	}
}
