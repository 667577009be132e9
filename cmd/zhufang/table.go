package main

import (
	"io"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// table prints rows in columns aligned by how wide each cell shows on a
// terminal: a Chinese character takes two cells, which text/tabwriter,
// counting runes, does not know, so a name column of 张丽 and Bob comes
// out ragged there.
type table struct {
	rows [][]string
}

// row adds a row of cells. A cell holding a control character (a newline,
// a terminal's escape) is shown quoted, so that no stored name can break
// the table or drive the terminal it is printed on.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if strings.IndexFunc(c, unicode.IsControl) >= 0 {
			cells[i] = strconv.Quote(c)
		}
	}
	t.rows = append(t.rows, cells)
}

// write prints the table with two spaces between columns and none at the
// end of a line, each line prefixed by indent.
func (t *table) write(w io.Writer, indent string) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b, line strings.Builder
	for _, r := range t.rows {
		line.Reset()
		line.WriteString(indent)
		for i, c := range r {
			line.WriteString(c)
			line.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is how many terminal cells s takes: two for East Asian wide
// and fullwidth characters, none for combining marks and other zero-width
// runes, one for the rest (East Asian "ambiguous" ones included, as
// terminals outside a CJK locale draw them).
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
