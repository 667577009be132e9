package zhufangtest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"zhufang/zhufangtest"
)

// TestBuffer has loggers on several goroutines write whole lines while
// the test reads; under -race it shows the buffer is safe for both.
func TestBuffer(t *testing.T) {
	var buf zhufangtest.Buffer
	if got := buf.String(); got != "" {
		t.Fatalf("the zero Buffer holds %q", got)
	}
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				logger.Info("line", "g", g, "i", i)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			_ = buf.String()
		}
	})
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for g := range 4 {
		if n := strings.Count(buf.String(), fmt.Sprintf("msg=line g=%d ", g)); n != 100 {
			t.Errorf("goroutine %d: %d whole lines, want 100", g, n)
		}
	}
}
