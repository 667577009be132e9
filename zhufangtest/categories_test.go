package zhufangtest_test

import (
	"testing"

	"zhufang/zhufangtest"
)

func TestCategories(t *testing.T) {
	cats := zhufangtest.Categories(t)
	if c, err := cats.Lookup("200100"); err != nil || c.NameZH == "" {
		t.Fatalf("200100 in the embedded table: %+v, %v", c, err)
	}
	if again := zhufangtest.Categories(t); again != cats {
		t.Fatal("the table was parsed twice in one test binary")
	}
}
