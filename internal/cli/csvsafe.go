package cli

import "strings"

// csvFormulaStart are the first characters that make a spreadsheet read a
// cell as a formula, per OWASP's CSV Injection page
// (https://owasp.org/www-community/attacks/CSV_Injection: equals, plus,
// minus, at, tab, carriage return) and ASVS 5.0 requirement 1.2.10 (which
// adds the NUL character).
const csvFormulaStart = "=+-@\t\r\x00"

// csvSafe neutralises a cell that a spreadsheet would run as a formula by
// prefixing a single quote, as that guidance says; a username like
// =HYPERLINK(…) then opens as text. A reader strips the quote to get the
// value back: cells cogvault itself writes never begin with one otherwise
// (subs are UUIDs), but a username may, so it gets one too.
func csvSafe(s string) string {
	if s == "" || !strings.ContainsRune(csvFormulaStart+"'", rune(s[0])) {
		return s
	}
	return "'" + s
}

// csvSafeRow is csvSafe over a row.
func csvSafeRow(cells ...string) []string {
	for i, c := range cells {
		cells[i] = csvSafe(c)
	}
	return cells
}
