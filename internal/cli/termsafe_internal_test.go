package cli

import (
	"strings"
	"testing"
)

func TestTermEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain line\n\tindented":    "plain line\n\tindented",
		"José Ñandú 日本 \uFFFD":      "José Ñandú 日本 \uFFFD",
		"a\x1b[2Jb":                 `a\x1b[2Jb`,
		"cr\rover":                  `cr\x0dover`,
		"del\x7f nul\x00":           `del\x7f nul\x00`,
		"c1\u009b31m":               `c1\u009b31m`,
		"rtl\u202eevil\u2066\u200f": `rtl\u202eevil\u2066\u200f`,
		"bad\xffutf8":               `bad\xffutf8`,
	} {
		if got := termEscape(in); got != want {
			t.Errorf("termEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// A rune split between two writes is not taken for invalid bytes.
func TestTermWriterHoldsASplitRune(t *testing.T) {
	var b strings.Builder
	w := newTermWriter(&b)
	s := "é\u202e日"
	for i := 0; i < len(s); i++ {
		if _, err := w.Write([]byte{s[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.String(); got != `é\u202e日` {
		t.Fatalf("byte-by-byte writes gave %q", got)
	}
}

// A name cannot start a line of its own or shift a table's columns.
func TestTermName(t *testing.T) {
	if got, want := termName("pool\nname\there\x1b"), `pool\x0aname\x09here\x1b`; got != want {
		t.Errorf("termName = %q, want %q", got, want)
	}
}
