package zhufang_test

import (
	"strings"
	"testing"

	"zhufang"
	"zhufang/data"
)

func TestCategories(t *testing.T) {
	f, err := data.FS.Open("codes/incident_categories.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cats, err := zhufang.ParseCategories(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cats.All()); n != 104 {
		t.Fatalf("%d categories, want 104", n)
	}
	c, err := cats.Lookup("100601")
	if err != nil || c.NameZH != "电信网络诈骗" || c.Class != "criminal" {
		t.Fatalf("100601: %+v, %v", c, err)
	}
	for _, bad := range []string{"123456", "1001", "", "abcdef"} {
		if _, err := cats.Lookup(bad); zhufang.ErrorCode(err) != zhufang.EINVALID {
			t.Errorf("Lookup(%q): %v", bad, err)
		}
	}
	for _, tt := range []struct{ csv, says string }{
		{"", "no header"},
		{"a,b,c,d\n", "header"},
		{"code,name_zh,name_en,class\n", "empty"},
		{"code,name_zh,name_en,class\n12,x,y,z\n", "6 digits"},
		{"code,name_zh,name_en,class\n100100,x,y,z\n100100,x,y,z\n", "twice"},
		{"code,name_zh,name_en,class\n100100,x\n", "fields"},
		{"code,name_zh,name_en,class\n100100,\"x,y,z\n", "line"},
	} {
		_, err := zhufang.ParseCategories(strings.NewReader(tt.csv))
		if zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%q: got %v, want EINVALID saying %q", tt.csv, err, tt.says)
		}
	}
}

func FuzzParseCategories(f *testing.F) {
	f.Add("code,name_zh,name_en,class\n100100,盗窃案,theft,criminal\n")
	f.Add("code,name_zh,name_en,class,note\n100601,x,y,z,\"a, b\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		cats, err := zhufang.ParseCategories(strings.NewReader(s))
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("%v", err)
			}
			return
		}
		for _, c := range cats.All() {
			if got, err := cats.Lookup(c.Code); err != nil || got != c {
				t.Fatalf("%s does not look itself up", c.Code)
			}
		}
	})
}
