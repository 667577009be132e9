package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"zhufang/sqlstore"
)

// nodeCommand makes the command that runs one node: this program with
// args. Tests replace it to run the test binary instead.
var nodeCommand = func(args []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(self, args...), nil
}

// runCluster runs N serve nodes on loopback ports against one PostgreSQL
// database and one NATS server, the shape of a deployment of several nodes
// behind a load balancer, on one machine. It prints each node's URL, tags
// each node's log lines with its name, and stops the nodes when it is
// stopped. A node that dies is reported, and started again with
// --restart.
func runCluster(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var nodes, basePort int
	var restart bool
	fs := flagSet("cluster", "Runs --nodes serve nodes on 127.0.0.1 from --base-port on, sharing one PostgreSQL database and one\n"+
		"NATS JetStream server. Flags after -- go to every node's serve, e.g. -- --zones urban_core=30s/2m/4m.", stdout)
	cfg.dbFlag(fs, getenv)
	fs.StringVar(&cfg.NATS, "nats", getenv("ZHUFANG_NATS"), "nats:// URL of the NATS JetStream server the nodes share (env ZHUFANG_NATS)")
	fs.IntVar(&nodes, "nodes", 3, "how many nodes, 1 to 16")
	fs.IntVar(&basePort, "base-port", 8081, "the first node's port; node i listens on base-port+i-1")
	fs.BoolVar(&cfg.Demo, "demo", false, "build the demo city on the first node if the database is empty, and keep it alive (on the leader)")
	fs.BoolVar(&restart, "restart", false, "start a node again when it dies")
	rest := args
	var extra []string
	for i, a := range args {
		if a == "--" {
			rest, extra = args[:i], args[i+1:]
			break
		}
	}
	if err := fs.parse(rest); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	switch {
	case !sqlstore.IsPostgresURL(cfg.DB):
		return usageError{"cluster: --db must be a postgres:// URL; nodes cannot share an SQLite file"}
	case cfg.NATS == "":
		return usageError{"cluster: --nats is required; the nodes share their events through NATS JetStream"}
	case nodes < 1 || nodes > 16:
		return usageError{"cluster: --nodes must be from 1 to 16"}
	case basePort < 1024 || basePort+nodes-1 > 65535:
		return usageError{"cluster: --base-port must leave room for the nodes between 1024 and 65535"}
	}
	for _, a := range extra {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "addr" || name == "db" || name == "nats") {
			return usageError{"cluster: " + a + " is the cluster's to set, not a node flag"}
		}
	}
	// The URLs go to the nodes in their environment, not their arguments,
	// which any user of the machine can read (ps) with the passwords in them.
	c := &cluster{stderr: &syncWriter{w: stderr}, restart: restart, env: []string{"ZHUFANG_DB=" + cfg.DB, "ZHUFANG_NATS=" + cfg.NATS}}
	for i := range nodes {
		name := "node" + strconv.Itoa(i+1)
		addr := "127.0.0.1:" + strconv.Itoa(basePort+i)
		a := []string{"serve", "--addr", addr}
		if cfg.Demo {
			a = append(a, "--demo")
		}
		c.nodes = append(c.nodes, &clusterNode{name: name, url: "http://" + addr, args: append(a, extra...)})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first node goes first, alone: with --demo it may build the city,
	// and two nodes must not both find the database empty and build it.
	if err := c.start(ctx, c.nodes[0]); err != nil {
		return err
	}
	if err := c.waitReady(ctx, c.nodes[0], 10*time.Minute); err != nil {
		c.stop()
		return err
	}
	for _, n := range c.nodes[1:] {
		if err := c.start(ctx, n); err != nil {
			c.stop()
			return err
		}
	}
	for _, n := range c.nodes[1:] {
		if err := c.waitReady(ctx, n, time.Minute); err != nil {
			c.stop()
			return err
		}
	}
	fmt.Fprintf(stdout, "cluster of %d nodes on %s and %s:\n", nodes, redactURL(cfg.DB), redactURL(cfg.NATS))
	for _, n := range c.nodes {
		fmt.Fprintf(stdout, "  %s  %s\n", n.name, n.url)
	}
	<-ctx.Done()
	c.stop()
	return nil
}

// cluster is the running nodes.
type cluster struct {
	env     []string // added to each node's environment
	stderr  io.Writer
	restart bool
	mu      sync.Mutex
	nodes   []*clusterNode
	wg      sync.WaitGroup
	stopped bool
}

type clusterNode struct {
	name, url string
	args      []string
	cmd       *exec.Cmd     // the node's current process
	exited    chan struct{} // closed when that process has ended
	restarts  int
}

// stopGrace is how long stop waits for the nodes to shut down cleanly
// before it kills them.
const stopGrace = 15 * time.Second

// start starts n and watches it: its log lines go to stderr tagged with
// its name; when it dies it is reported and, with restart, started again
// after a pause that doubles with each restart up to 30 s. Once the
// cluster is stopping it starts nothing.
func (c *cluster) start(ctx context.Context, n *clusterNode) error {
	cmd, err := nodeCommand(n.args)
	if err != nil {
		return err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, c.env...) // the last of a name wins
	setDeathSignal(cmd)                 // a node does not outlive a cluster killed outright
	out, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = &prefixWriter{prefix: "[" + n.name + "] ", w: c.stderr}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return fmt.Errorf("%s: the cluster is stopping", n.name)
	}
	if err := cmd.Start(); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited = cmd, exited
	c.mu.Unlock()
	c.wg.Go(func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(c.stderr, "[%s] %s\n", n.name, sc.Text())
		}
		io.Copy(io.Discard, out) // past a line too long to scan: keep draining, or the node blocks
		err := cmd.Wait()
		close(exited)
		c.mu.Lock()
		stopped := c.stopped
		n.restarts++
		pause := min(time.Second<<min(n.restarts-1, 5), 30*time.Second)
		c.mu.Unlock()
		if stopped {
			return
		}
		fmt.Fprintf(c.stderr, "[cluster] %s exited: %v\n", n.name, err)
		if !c.restart {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		if err := c.start(ctx, n); err != nil {
			fmt.Fprintf(c.stderr, "[cluster] %s: %v\n", n.name, err)
		}
	})
	return nil
}

// stop asks every node to stop, as a service manager would, waits up to
// stopGrace, then kills those still running.
func (c *cluster) stop() {
	c.signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopGrace):
		fmt.Fprintf(c.stderr, "[cluster] nodes still running after %s: killing them\n", stopGrace)
		c.signal(syscall.SIGKILL)
		<-done
	}
}

// signal marks the cluster stopping and sends sig to every node.
func (c *cluster) signal(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for _, n := range c.nodes {
		if n.cmd != nil && n.cmd.Process != nil {
			n.cmd.Process.Signal(sig)
		}
	}
}

// waitReady waits until n serves, and fails as soon as its process ends.
func (c *cluster) waitReady(ctx context.Context, n *clusterNode, within time.Duration) error {
	c.mu.Lock()
	exited := n.exited
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := waitReady(ctx, n.url, within)
	select {
	case <-exited:
		return fmt.Errorf("%s ended before it was ready (its log is above)", n.name)
	default:
		return err
	}
}

// waitReady waits until url's /readyz answers 200.
func waitReady(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not ready within %s", url, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncWriter lets several goroutines write whole lines to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// prefixWriter tags what a node prints on standard output (the demo's
// users, once) with its name.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
	}
	return len(b), nil
}
