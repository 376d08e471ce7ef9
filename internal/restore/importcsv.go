package restore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// Cognito's user import file is NOT RFC 4180. Per the developer guide
// ("Creating the user import CSV file",
// https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-using-import-tool-csv-header.html):
// values are written without quotation marks, a comma inside a value is
// escaped with a backslash (\,), leading and trailing whitespace is trimmed,
// the file is UTF-8 without BOM, and a row holds at most 16,000 characters.
// A value the dialect cannot carry exactly is never written: the user goes
// through the admin API instead, with the reason.

const maxImportRow = 16000

// importValue encodes one value, or says why it cannot be carried exactly.
func importValue(v string) (string, string) {
	switch {
	case !utf8.ValidString(v):
		return "", "a value is not valid UTF-8"
	case strings.ContainsAny(v, "\r\n"):
		return "", "a value contains a line break"
	case strings.Contains(v, `\`):
		// The guide documents only \, ; how the importer treats other
		// backslashes is not documented, so none is risked.
		return "", "a value contains a backslash"
	case strings.HasPrefix(v, "\uFEFF"):
		return "", "a value starts with a byte order mark"
	case v != strings.TrimFunc(v, unicode.IsSpace):
		return "", "a value has leading or trailing whitespace, which the importer trims"
	}
	return strings.ReplaceAll(v, ",", `\,`), ""
}

// importRules are the target pool's settings that the developer guide's
// per-user rules of the import file depend on ("Formatting the .csv file",
// cognito-user-pools-using-import-tool-csv-header.html; docs/cognito-facts.md
// §12).
type importRules struct {
	// autoVerified is the pool's AutoVerifiedAttributes: "At least one of
	// the auto-verified attributes must be true for each user", and with
	// none "the import job will not start".
	autoVerified []string
	// mfaMode is the pool's MfaConfiguration: cognito:mfa_enabled "must be
	// true for all users" when MFA is required (ON), "false for all users"
	// when it is OFF.
	mfaMode string
}

// ruleBreak says why the import file cannot carry the user whose values
// are vals and whose SMS MFA is mfa, or "" when it can. A user that would
// break a rule goes through the admin API instead: the file never carries
// a value other than the snapshot's.
func (ir importRules) ruleBreak(vals map[string]string, mfa bool) string {
	if len(ir.autoVerified) == 0 {
		return "the target pool has no auto-verified attribute, without which an import job does not start"
	}
	verified := false
	for _, a := range ir.autoVerified {
		verified = verified || vals[a] != "" && vals[a+"_verified"] == "true"
	}
	if !verified {
		return "no verified " + strings.Join(ir.autoVerified, " or ") + " (the target pool's auto-verified attributes), which every imported user needs"
	}
	switch mode := ir.mfaMode; {
	case mode == "ON" && !mfa:
		return "the target pool requires MFA, so an import file would enable SMS MFA, which this user did not have"
	case (mode == "OFF" || mode == "") && mfa:
		return "MFA is off in the target pool, so an import file would disable the user's SMS MFA"
	case mfa && vals["phone_number"] == "":
		return "SMS MFA without a phone number"
	}
	if vals["birthdate"] != "" {
		// The file takes mm/dd/yyyy; how the importer stores it is not
		// documented, so the value could change.
		return "the import file takes birthdate as mm/dd/yyyy and the stored form is not documented"
	}
	return ""
}

// importRow renders u as a row in the header's column order, with login as
// its cognito:username, or returns why the import path cannot carry the
// user (it then goes through the admin API). In a pool that signs in with
// email or phone number, login is that value: the developer guide does not
// say what the column holds there, AWS's own export/import reference
// solution writes the email, and a line the service refuses goes through
// the admin path all the same (docs/cognito-facts.md §8). A verification
// attribute the user lacks stays empty: either one is enough.
func importRow(u snapshot.User, login string, header []string, subAttribute string, rules importRules) (string, string) {
	if u.Status == "EXTERNAL_PROVIDER" {
		return "", "federated-only user"
	}
	vals := map[string]string{}
	for _, a := range u.Attributes {
		vals[a.Name] = a.Value
	}
	if subAttribute != "" {
		vals[subAttribute] = originalSub(u, subAttribute)
	}
	mfa := false
	if u.MFA != nil {
		mfa = slices.Contains(u.MFA.UserMFASettingList, "SMS_MFA")
	}
	if why := rules.ruleBreak(vals, mfa); why != "" {
		return "", why
	}
	vals["cognito:mfa_enabled"] = strconv.FormatBool(mfa)
	vals["cognito:username"] = login
	known := map[string]bool{}
	cells := make([]string, len(header))
	for i, col := range header {
		known[col] = true
		enc, why := importValue(vals[col])
		if why != "" {
			return "", why + " (" + col + ")"
		}
		cells[i] = enc
	}
	for name := range vals {
		if !known[name] && name != "sub" && name != "identities" {
			return "", fmt.Sprintf("attribute %s is not a column of the target's import file", name)
		}
	}
	row := strings.Join(cells, ",")
	if utf8.RuneCountInString(row) > maxImportRow {
		return "", fmt.Sprintf("the row would be longer than %d characters", maxImportRow)
	}
	return row, ""
}
