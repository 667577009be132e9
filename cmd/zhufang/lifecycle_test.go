package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that background goroutines may log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeBusyPort starts a second serve --demo on a port already held:
// it fails naming the port, and logs nothing of a city it never served (no
// living city, no leadership, no demo build).
func TestServeBusyPort(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	dsn := filepath.Join(t.TempDir(), "busy.db")
	args := append([]string{"serve", "--addr", addr}, demoArgs(t, dsn)...)
	args = append(args, "--demo") // keep the city alive, were it served
	var stderr syncBuffer
	err = run(context.Background(), args, func(string) string { return "" }, io.Discard, &stderr)
	if err == nil {
		t.Fatal("serve on a busy port succeeded")
	}
	if msg := oneLine(err); !strings.Contains(msg, port) || !strings.Contains(msg, "cannot listen") {
		t.Fatalf("the error %q does not say it cannot listen on port %s", msg, port)
	}
	time.Sleep(200 * time.Millisecond) // anything a stray job would still say
	for _, s := range []string{"alive", "leading", "demo city", "serving"} {
		if strings.Contains(stderr.String(), s) {
			t.Errorf("serve on a busy port logged %q:\n%s", s, stderr.String())
		}
	}
}

// TestServeSignals runs the real main, as a service manager would, and
// stops it with SIGINT and with SIGTERM: each is logged with its signal,
// then a clean shutdown, and the process exits 0.
func TestServeSignals(t *testing.T) {
	for _, sig := range []struct {
		name   string
		signal os.Signal
		cause  string
	}{
		{"SIGINT", os.Interrupt, "interrupt signal received"},
		{"SIGTERM", syscall.SIGTERM, "terminated signal received"},
	} {
		t.Run(sig.name, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "signal.db")
			b, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0"}, demoArgs(t, dsn)...))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "ZHUFANG_TEST_MAIN_ARGS="+string(b), "ZHUFANG_DB=", "ZHUFANG_ADDR=", "ZHUFANG_DATA=")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var log []string
			for serving := false; !serving; {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("serve ended before serving:\n%s", strings.Join(log, "\n"))
					}
					log = append(log, l)
					serving = strings.Contains(l, "msg=serving")
				case <-time.After(60 * time.Second):
					t.Fatal("serve did not start within 60 s")
				}
			}
			if err := cmd.Process.Signal(sig.signal); err != nil {
				t.Fatal(err)
			}
			for l := range lines {
				log = append(log, l)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("serve stopped by %s: %v\n%s", sig.name, err, strings.Join(log, "\n"))
			}
			all := strings.Join(log, "\n")
			for _, want := range []string{fmt.Sprintf(`msg="shutting down" cause=%q`, sig.cause), `msg="shut down cleanly"`} {
				if !strings.Contains(all, want) {
					t.Errorf("the log does not say %s:\n%s", want, all)
				}
			}
		})
	}
}
