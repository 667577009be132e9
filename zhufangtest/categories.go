package zhufangtest

import (
	"sync"
	"testing"

	"zhufang"
	"zhufang/data"
)

// categories is the embedded category table, parsed once per test binary:
// nothing changes a table once it is read.
var categories = sync.OnceValues(func() (*zhufang.Categories, error) {
	return data.Categories(data.FS)
})

// Categories returns the 110 incident category table that zhufang embeds,
// as serve and demo read it.
func Categories(tb testing.TB) *zhufang.Categories {
	tb.Helper()
	cats, err := categories()
	if err != nil {
		tb.Fatal(err)
	}
	return cats
}
