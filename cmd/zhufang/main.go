// Command zhufang runs the zhufang operations platform: `zhufang serve`
// serves the console and API, `zhufang demo` builds the demo city and
// `zhufang migrate` brings a database's schema up to date.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "zhufang:", oneLine(err))
	var u usageError
	if errors.As(err, &u) {
		os.Exit(2)
	}
	os.Exit(1)
}

// call is one command's call: its arguments and the process's surroundings.
type call struct {
	args           []string
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commands are zhufang's subcommands, in the order the usage lists them.
var commands = []struct {
	name, help string
	run        func(context.Context, call) error
}{
	{"serve", "serve the console and the API", runServe},
	{"demo", "build the Yongzhou-shaped demo city into a database", runDemo},
	{"simulate", "replay a day of the demo city under each dispatch policy and report 1-3-5", runSimulate},
	{"migrate", "bring a database's schema up to date", runMigrate},
	{"device", "give a unit's device a token (device add --unit ID), or revoke one (device revoke --id N)", runDevice},
	{"user", "add, passwd, disable, enable or list the console's users", runUser},
	{"org", "list the county bureaus, stations and communities with the IDs that user add --org takes\n" +
		"(org list [--county ID | --station ID] [--kind county|station|community])", runOrg},
	{"audit", "verify the hash-chained audit trail (audit verify)", runAudit},
	{"backup", "write an online backup of an SQLite database (backup --out FILE), or print a\n" +
		"database's fingerprint to compare two (backup check)", runBackup},
	{"restore", "copy an SQLite backup into a database (restore --from FILE)", runRestore},
	{"load", "drive a server or a cluster at a steady rate of incidents and positions, and\n" +
		"check afterwards that every acknowledged incident is stored with its history", runLoad},
	{"cluster", "run N serve nodes on loopback ports against one PostgreSQL and one NATS", runCluster},
	{"version", "print the module version, VCS revision and Go version of this binary (also --version)", runVersion},
}

// usage lists the commands.
func usage() string {
	var b strings.Builder
	b.WriteString("zhufang: the operations platform of police-station-led prevention (派出所主防)\n\n" +
		"usage: zhufang <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, strings.ReplaceAll(c.help, "\n", "\n            "))
	}
	b.WriteString("\nRun zhufang <command> --help for a command's flags.\n")
	return b.String()
}

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return usageError{"no command given"}
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage())
		return nil
	case "--version", "-version":
		name = "version"
	}
	var names []string
	for _, c := range commands {
		if c.name == name {
			err := c.run(ctx, call{args: args[1:], getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr})
			if errors.Is(err, errHelp) {
				return nil
			}
			return err
		}
		names = append(names, c.name)
	}
	return usageError{fmt.Sprintf("unknown command %q (commands: %s)", args[0], strings.Join(names, ", "))}
}
