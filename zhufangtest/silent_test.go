package zhufangtest_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"zhufang/zhufangtest"
)

func TestSilentServer(t *testing.T) {
	addr := zhufangtest.SilentServer(t)
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("the silent server did not accept: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello?")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v; want nothing until the deadline", n, err)
	}
}
