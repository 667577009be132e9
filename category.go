package zhufang

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Category is one row of the 6-digit 110 incident category table: the first
// digit or two give the class (1 criminal, 2 public order, 3 traffic, 4
// fire, 5 assistance, 60 non-police, 65 other police branches, 7 mass
// incidents, 8 disasters, 90 tip-offs, 95 complaints).
type Category struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Class  string `json:"class"`
}

// Categories is the category table.
type Categories struct {
	byCode map[string]Category
	list   []Category
}

// ParseCategories reads the table from CSV with the header
// code,name_zh,name_en,class[,note].
func ParseCategories(r io.Reader) (*Categories, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, Errorf(EINVALID, "category table has no header")
	}
	if len(head) < 4 || head[0] != "code" || head[1] != "name_zh" || head[2] != "name_en" || head[3] != "class" {
		return nil, Errorf(EINVALID, "category table header must start code,name_zh,name_en,class")
	}
	c := &Categories{byCode: map[string]Category{}}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, Errorf(EINVALID, "category table line %d: %v", line, err)
		}
		if len(rec) < 4 {
			return nil, Errorf(EINVALID, "category table line %d has %d fields, want at least 4", line, len(rec))
		}
		cat := Category{Code: rec[0], NameZH: rec[1], NameEN: rec[2], Class: rec[3]}
		if len(cat.Code) != 6 || !allDigits(cat.Code) {
			return nil, Errorf(EINVALID, "category table line %d: code %q must be 6 digits", line, cat.Code)
		}
		if _, dup := c.byCode[cat.Code]; dup {
			return nil, Errorf(EINVALID, "category table line %d: code %s appears twice", line, cat.Code)
		}
		c.byCode[cat.Code] = cat
		c.list = append(c.list, cat)
	}
	if len(c.list) == 0 {
		return nil, Errorf(EINVALID, "category table is empty")
	}
	sort.Slice(c.list, func(i, j int) bool { return c.list[i].Code < c.list[j].Code })
	return c, nil
}

// Lookup returns the category with code, or EINVALID for a code the table
// does not have.
func (c *Categories) Lookup(code string) (Category, error) {
	cat, ok := c.byCode[strings.TrimSpace(code)]
	if !ok {
		return Category{}, Errorf(EINVALID, "unknown incident category %q: use a 6-digit code of the 110 category table", code)
	}
	return cat, nil
}

// All returns every category, ordered by code.
func (c *Categories) All() []Category { return c.list }

// String names a category for logs.
func (cat Category) String() string { return fmt.Sprintf("%s %s", cat.Code, cat.NameZH) }
