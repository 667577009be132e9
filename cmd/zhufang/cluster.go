package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"zhufang/cluster"
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
func runCluster(ctx context.Context, c call) error {
	var cfg Config
	var nodes, basePort int
	var restart bool
	fs := c.flags("cluster", "Runs --nodes serve nodes on 127.0.0.1 from --base-port on, sharing one PostgreSQL database and one\n"+
		"NATS JetStream server. Flags after -- go to every node's serve, e.g. -- --zones urban_core=30s/2m/4m.")
	cfg.dbFlag(fs, c.getenv)
	fs.StringVar(&cfg.NATS, "nats", c.getenv("ZHUFANG_NATS"), "nats:// URL of the NATS JetStream server the nodes share (env ZHUFANG_NATS)")
	fs.IntVar(&nodes, "nodes", 3, "how many nodes, 1 to 16")
	fs.IntVar(&basePort, "base-port", 8081, "the first node's port; node i listens on base-port+i-1")
	fs.BoolVar(&cfg.Demo, "demo", false, "build the demo city on the first node if the database is empty, and keep it alive (on the leader)")
	fs.BoolVar(&restart, "restart", false, "start a node again when it dies")
	rest, extra, _ := cut(c.args, "--")
	if err := fs.parseConfig(rest, &cfg); err != nil {
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
	cc := cluster.Config{Nodes: nodes, BasePort: basePort, Env: []string{"ZHUFANG_DB=" + cfg.DB, "ZHUFANG_NATS=" + cfg.NATS},
		Args: extra, Demo: cfg.Demo, Restart: restart, Command: nodeCommand, Log: c.stderr}
	if cfg.AuditKeys != "" {
		cc.Env = append(cc.Env, "ZHUFANG_AUDIT_KEYS="+cfg.AuditKeys) // every node signs with the same keys
	}
	return cluster.Run(ctx, cc, func(ns []cluster.Node) {
		fmt.Fprintf(c.stdout, "cluster of %d nodes on %s and %s:\n", nodes, redactURL(cfg.DB), redactURL(cfg.NATS))
		for _, n := range ns {
			fmt.Fprintf(c.stdout, "  %s  %s\n", n.Name, n.URL)
		}
	})
}

// cut splits args around the first sep: what comes before it and after it.
func cut(args []string, sep string) (before, after []string, found bool) {
	if i := slices.Index(args, sep); i >= 0 {
		return args[:i], args[i+1:], true
	}
	return args, nil, false
}
