package web_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"zhufang"
	"zhufang/inmem"
	"zhufang/web"
)

// recordLog keeps every record logged, at every level.
type recordLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recordLog) WithGroup(string) slog.Handler      { return l }

// check fails the test if anything was logged at Warn or above, and
// unless a Debug line says msg.
func (l *recordLog) check(t *testing.T, msg string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	said := msg == ""
	for _, r := range l.records {
		if r.Level >= slog.LevelWarn {
			t.Errorf("a client leaving was logged at %s: %s", r.Level, r.Message)
		}
		said = said || r.Level == slog.LevelDebug && r.Message == msg
	}
	if !said {
		t.Errorf("no Debug line %q among %d records", msg, len(l.records))
	}
}

// stallingOrg answers the org page's reads only when the request is
// abandoned, and then as the store does: unavailable, wrapping the
// context's error.
type stallingOrg struct {
	fakeOrg
	started chan struct{}
}

func (o stallingOrg) FindOrgTree(ctx context.Context) (*zhufang.OrgTree, error) {
	close(o.started)
	<-ctx.Done()
	return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "interrupted; any unfinished change was rolled back", ctx.Err())
}

// brokenPipe is a response writer whose connection the browser has closed.
type brokenPipe struct{ http.ResponseWriter }

func (brokenPipe) Write([]byte) (int, error) {
	return 0, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}
}

// TestClientLeavingIsNotAnError leaves a page while the store reads, a
// page whose answer meets a closed connection, and a live-update stream:
// a browser closing a tab is routine, and logged at Debug at most.
func TestClientLeavingIsNotAnError(t *testing.T) {
	newServer := func(org zhufang.OrgService) (*web.Server, http.Handler, *recordLog) {
		log := &recordLog{}
		srv := &web.Server{Org: org, Locator: squareLocator{}, Users: fakeUsers{}, Events: inmem.NewBus(16),
			Incidents: &countingIncidents{}, Intake: &zhufang.Intake{Clock: zhufang.SystemClock{}}, Logger: slog.New(log)}
		h, err := srv.Handler()
		if err != nil {
			t.Fatal(err)
		}
		return srv, h, log
	}
	t.Run("page left while the store reads", func(t *testing.T) {
		org := stallingOrg{started: make(chan struct{})}
		_, h, log := newServer(org)
		ts := httptest.NewServer(h)
		defer ts.Close()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/org", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		go func() { <-org.started; cancel() }()
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("the request was answered after its client left")
		}
		waitFor(t, func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.records) > 0 })
		log.check(t, "request abandoned by the client")
	})
	t.Run("page written to a closed connection", func(t *testing.T) {
		_, h, log := newServer(fakeOrg{})
		req := httptest.NewRequest(http.MethodGet, "/org", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		h.ServeHTTP(brokenPipe{httptest.NewRecorder()}, req)
		log.check(t, "request abandoned by the client")
	})
	t.Run("live updates left mid-stream", func(t *testing.T) {
		srv, h, log := newServer(fakeOrg{})
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		srv.Start(ctx)
		ts := httptest.NewServer(h)
		defer ts.Close()
		defer srv.CloseStreams()
		cctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(cctx, http.MethodGet, ts.URL+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if line, _ := bufio.NewReader(res.Body).ReadString('\n'); !strings.HasPrefix(line, "retry:") {
			t.Fatalf("the stream began %q", line)
		}
		waitFor(t, func() bool { return srv.Clients() == 1 })
		cancel()
		res.Body.Close()
		waitFor(t, func() bool { return srv.Clients() == 0 })
		log.check(t, "")
	})
}
