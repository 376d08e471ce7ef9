package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// unsafeRune says whether r must not reach a terminal as is: C0 controls
// other than newline and tab (ESC starts the sequences that move the cursor,
// clear the screen or set the window title), DEL, C1 controls (U+0080 to
// U+009F: 8-bit CSI and OSC to some terminals), and the bidirectional
// formatting characters that reorder how a line reads (the "Trojan Source"
// characters: U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069).
// Usernames, group names, pool names and Cognito's error messages come
// from a pool or a repository, and either may have been written by someone
// else.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// termEscape returns s with every unsafe rune written as an escape (\x1b,
// \u202e) and bytes that are not UTF-8 as \xNN; anything else, newlines
// included, is unchanged.
func termEscape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// termName is termEscape for a name printed inside a line (a username, a
// group or pool name): newline and tab are escaped too, so a name cannot
// start a line of its own or shift a table's columns. A repository may
// hold anything, whatever Cognito accepts.
func termName(s string) string {
	s = termEscape(s)
	if strings.ContainsAny(s, "\n\t") {
		s = strings.NewReplacer("\n", `\x0a`, "\t", `\x09`).Replace(s)
	}
	return s
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			return needsEscapeSlow(s)
		}
	}
	return false
}

func needsEscapeSlow(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unsafeRune(r) {
			return true
		}
	}
	return false
}

// termWriter escapes what goes through it (text output on stdout). A
// UTF-8 sequence split between two writes is held back until it is whole,
// so it is not taken for invalid bytes.
type termWriter struct {
	w       io.Writer
	pending []byte
}

func newTermWriter(w io.Writer) io.Writer {
	if _, ok := w.(*termWriter); ok {
		return w
	}
	return &termWriter{w: w}
}

func (t *termWriter) Write(p []byte) (int, error) {
	buf := p
	if len(t.pending) > 0 {
		buf = append(t.pending, p...)
		t.pending = nil
	}
	if n := incompleteTail(buf); n > 0 {
		t.pending = append([]byte(nil), buf[len(buf)-n:]...)
		buf = buf[:len(buf)-n]
	}
	if _, err := io.WriteString(t.w, termEscape(string(buf))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// incompleteTail is the length of a UTF-8 sequence cut short at the end of
// b, or 0.
func incompleteTail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return 0
			}
			return len(b) - i
		}
	}
	return 0
}
