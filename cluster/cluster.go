// Package cluster runs several zhufang serve nodes on loopback ports, the
// shape of a deployment of several nodes behind a load balancer, on one
// machine: the first starts alone (it may build the demo city), each
// node's log lines are tagged with its name, a node that dies is reported
// and, if asked, started again, and stopping the cluster stops the nodes
// as a service manager would.
package cluster

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
)

// Config is a cluster to run.
type Config struct {
	Nodes    int
	BasePort int      // node i listens on 127.0.0.1:BasePort+i-1
	Env      []string // added to every node's environment: the database and NATS URLs, which ps would show in arguments
	Args     []string // flags for every node's serve after the cluster's own
	Demo     bool     // serve --demo
	Restart  bool     // start a node again when it dies
	// Command makes the command that runs one node with args: this program.
	Command func(args []string) (*exec.Cmd, error)
	// Log receives the nodes' output, each line tagged with its node's
	// name, and the cluster's own notes.
	Log io.Writer
	// StopGrace is how long stopping waits for the nodes to shut down
	// cleanly before it kills them; 15 s if zero.
	StopGrace time.Duration
}

// Node is one node of a running cluster.
type Node struct {
	Name, URL string
}

// Run starts the nodes, the first alone and the rest once it serves, and
// calls ready with them when all serve. It keeps them running until ctx
// ends, then stops them.
func Run(ctx context.Context, cfg Config, ready func([]Node)) error {
	if cfg.Nodes < 1 || cfg.Command == nil {
		return fmt.Errorf("cluster: a cluster needs at least one node and a command")
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 15 * time.Second
	}
	c := &cluster{cfg: cfg, log: &syncWriter{w: cfg.Log}}
	for i := range cfg.Nodes {
		addr := "127.0.0.1:" + strconv.Itoa(cfg.BasePort+i)
		a := []string{"serve", "--addr", addr}
		if cfg.Demo {
			a = append(a, "--demo")
		}
		c.nodes = append(c.nodes, &node{name: "node" + strconv.Itoa(i+1), url: "http://" + addr, args: append(a, cfg.Args...)})
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
	if ready != nil {
		out := make([]Node, len(c.nodes))
		for i, n := range c.nodes {
			out[i] = Node{Name: n.name, URL: n.url}
		}
		ready(out)
	}
	<-ctx.Done()
	c.stop()
	return nil
}

// cluster is the running nodes.
type cluster struct {
	cfg     Config
	log     io.Writer
	mu      sync.Mutex
	nodes   []*node
	wg      sync.WaitGroup
	stopped bool
}

type node struct {
	name, url string
	args      []string
	cmd       *exec.Cmd     // the node's current process
	exited    chan struct{} // closed when that process has ended
	restarts  int
}

// start starts n and watches it: its log lines go to stderr tagged with
// its name; when it dies it is reported and, with restart, started again
// after a pause that doubles with each restart up to 30 s. Once the
// cluster is stopping it starts nothing.
func (c *cluster) start(ctx context.Context, n *node) error {
	cmd, err := c.cfg.Command(n.args)
	if err != nil {
		return err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, c.cfg.Env...) // the last of a name wins
	setDeathSignal(cmd)                     // a node does not outlive a cluster killed outright
	out, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = &prefixWriter{prefix: "[" + n.name + "] ", w: c.log}
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
			fmt.Fprintf(c.log, "[%s] %s\n", n.name, sc.Text())
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
		fmt.Fprintf(c.log, "[cluster] %s exited: %v\n", n.name, err)
		if !c.cfg.Restart {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		if err := c.start(ctx, n); err != nil {
			fmt.Fprintf(c.log, "[cluster] %s: %v\n", n.name, err)
		}
	})
	return nil
}

// stop asks every node to stop, as a service manager would, waits up to
// the grace, then kills those still running.
func (c *cluster) stop() {
	c.signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.cfg.StopGrace):
		fmt.Fprintf(c.log, "[cluster] nodes still running after %s: killing them\n", c.cfg.StopGrace)
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
func (c *cluster) waitReady(ctx context.Context, n *node, within time.Duration) error {
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
	err := WaitReady(ctx, n.url, within)
	select {
	case <-exited:
		return fmt.Errorf("%s ended before it was ready (its log is above)", n.name)
	default:
		return err
	}
}

// WaitReady waits until url's /readyz answers 200.
func WaitReady(ctx context.Context, url string, within time.Duration) error {
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
