package cli

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/cogvault/cogvault/internal/restore"
)

// TestSubMappingCSVNeutralisesFormulas: every cell of the sub mapping reads
// back (encoding/csv) as its value, or as ' + value when the value begins
// with a formula character (or a quote, so that stripping one quote always
// gives the value back), and no cell begins with a formula character.
func TestSubMappingCSVNeutralisesFormulas(t *testing.T) {
	dir := t.TempDir()
	cell := rapid.OneOf(
		rapid.String(),
		rapid.SampledFrom([]string{"=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\x00x", "'quoted", "plain", ""}),
		rapid.Map(rapid.String(), func(s string) string { return string(csvFormulaStart[len(s)%len(csvFormulaStart)]) + s }),
	)
	n := 0
	rapid.Check(t, func(t *rapid.T) {
		maps := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) restore.SubMapping {
			return restore.SubMapping{OldSub: cell.Draw(t, "old"), NewSub: cell.Draw(t, "new"), Username: cell.Draw(t, "user"), NewUsername: cell.Draw(t, "newuser")}
		}), 1, 5).Draw(t, "maps")
		n++
		base := filepath.Join(dir, "m"+strings.Repeat("x", n%3)+string(rune('a'+n%26)))
		if err := writeMappings(base, maps); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(base + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatalf("the mapping does not parse as CSV: %v", err)
		}
		if len(rows) != len(maps)+1 {
			t.Fatalf("%d rows for %d mappings", len(rows), len(maps))
		}
		for i, m := range maps {
			want := []string{m.OldSub, m.NewSub, m.Username, m.NewUsername}
			for j, got := range rows[i+1] {
				checkCell(t, got, want[j])
			}
		}
	})
}

func checkCell(t *rapid.T, got, value string) {
	// encoding/csv reads \r\n inside a quoted field as \n.
	value = strings.ReplaceAll(value, "\r\n", "\n")
	if got != "" && strings.ContainsRune(csvFormulaStart, rune(got[0])) {
		t.Fatalf("cell %q begins with a formula character", got)
	}
	if got != value && got != "'"+value {
		t.Fatalf("cell %q reads back as neither %q nor its quoted form", got, value)
	}
	if strings.TrimPrefix(got, "'") != value {
		t.Fatalf("cell %q: stripping one leading quote does not give %q back", got, value)
	}
}
