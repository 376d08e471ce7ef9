package restore

import (
	"fmt"
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

// importDefaults are the verification attributes u lacks, which the import
// file must carry anyway: importRow writes them as false, so the imported
// user has an attribute the original did not.
func importDefaults(u snapshot.User) []string {
	var out []string
	for _, v := range []string{"email_verified", "phone_number_verified"} {
		if _, ok := u.Attr(v); !ok {
			out = append(out, v)
		}
	}
	return out
}

// importDefaultsNote reports the verification attributes an imported u has
// that the snapshot did not.
func importDefaultsNote(u snapshot.User, rep *Report) {
	for _, a := range importDefaults(u) {
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "attribute " + a,
			Reason: "absent in the snapshot; the import file requires the column, so the imported user has it as false"})
	}
}

// importRow renders u as a row in the header's column order, with login as
// its cognito:username, or returns why the import path cannot carry the
// user (it then goes through the admin API). In a pool that signs in with
// email or phone number, login is that value: the developer guide does not
// say what the column holds there, AWS's own export/import reference
// solution writes the email, and a line the service refuses goes through
// the admin path all the same (docs/cognito-facts.md §8).
func importRow(u snapshot.User, login string, header []string, subAttribute string) (string, string) {
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
	emailOK := vals["email"] != "" && vals["email_verified"] == "true"
	phoneOK := vals["phone_number"] != "" && vals["phone_number_verified"] == "true"
	if !emailOK && !phoneOK {
		// The importer fails a line without a verified contact.
		return "", "no verified email or phone number"
	}
	for _, v := range []string{"email_verified", "phone_number_verified"} {
		if vals[v] == "" {
			vals[v] = "false"
		}
	}
	mfa := "false"
	if u.MFA != nil {
		for _, m := range u.MFA.UserMFASettingList {
			if m == "SMS_MFA" {
				mfa = "true"
			}
		}
	}
	vals["cognito:mfa_enabled"] = mfa
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
