package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"zhufang"
	"zhufang/load"
	"zhufang/locate"
)

// runLoad drives one server or a cluster at a steady rate of incident
// intakes and position reports, or with --verify checks a record of a past
// run against the API.
func runLoad(ctx context.Context, c call) error {
	var cfg Config
	var rawURLs []string
	var record, verify string
	var lc load.Config
	fs := c.flags("load", "Drives the API of one server or a cluster (--url, several used in turn) at a steady rate of 110\n"+
		"intakes, each then dispatched and acknowledged, and of unit position reports; prints what was\n"+
		"acknowledged, what failed and the intake latency. A dispatcher and device tokens for the run are\n"+
		"made in the servers' database (--db). --record keeps every acknowledged incident; --verify FILE\n"+
		"later checks that each is stored with its whole history, and exits 1 naming what was lost.")
	cfg.dbFlag(fs, c.getenv)
	fs.Func("url", "base URL of a node, http://HOST:PORT; several (comma-separated or repeated) are used in turn", func(s string) error {
		for u := range strings.SplitSeq(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				rawURLs = append(rawURLs, u)
			}
		}
		return nil
	})
	fs.Float64Var(&lc.Rate, "rate", 10, "incident intakes per second, up to 10000")
	fs.Float64Var(&lc.Positions, "positions", 50, "position reports per second, 1 to 5 in a request (0: none)")
	fs.DurationVar(&lc.Duration, "duration", time.Minute, "how long to drive the load; 0 runs until interrupted")
	fs.StringVar(&record, "record", "", "append one JSON line to this file for every step the servers acknowledged")
	fs.StringVar(&verify, "verify", "", "instead of driving load, check every incident of this record file against the API")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary as JSON")
	if err := fs.parseConfig(c.args, &cfg); err != nil {
		return err
	}
	urls, err := checkLoadURLs(rawURLs)
	if err != nil {
		return err
	}
	lc.URLs = urls
	if verify != "" {
		if record != "" {
			return usageError{"load: --record and --verify do not go together (see zhufang load --help)"}
		}
		return runVerify(ctx, cfg, urls, verify, c)
	}
	if !(lc.Rate > 0 && lc.Rate <= load.MaxRate) {
		return usageError{fmt.Sprintf("--rate %g must be more than 0 and at most %d intakes per second", lc.Rate, load.MaxRate)}
	}
	if !(lc.Positions >= 0 && lc.Positions <= load.MaxRate) {
		return usageError{fmt.Sprintf("--positions %g must be from 0 to %d reports per second", lc.Positions, load.MaxRate)}
	}
	if lc.Duration < 0 {
		return usageError{fmt.Sprintf("--duration %s must not be negative (0 runs until interrupted)", lc.Duration)}
	}
	if record != "" {
		// Unbuffered and appended: every line is on its way to the disk when
		// its Write returns, so killing the tool loses nothing acknowledged.
		f, err := os.OpenFile(record, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "cannot open the record file: %v", err)
		}
		defer f.Close()
		lc.Record = f
	}
	lc.Creds, err = provisionLoad(ctx, cfg, urls, load.MaxUnits)
	if lc.Creds.Username != "" {
		defer retireQuietly(ctx, cfg, lc.Creds, c.stderr)
	}
	if err != nil {
		return err
	}
	rep, err := load.Drive(ctx, lc)
	if err != nil && rep.Seconds == 0 {
		return err // it never started
	}
	if cfg.JSON {
		if err := printJSON(c.stdout, rep); err != nil {
			return err
		}
	} else {
		rep.WriteText(c.stdout, record)
	}
	if err != nil {
		return err
	}
	if rep.Intakes.Attempted > 0 && rep.Intakes.Acknowledged == 0 {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "none of %d intakes was acknowledged", rep.Intakes.Attempted)
	}
	return nil
}

// checkLoadURLs checks each --url (load.CheckURL).
func checkLoadURLs(raw []string) ([]string, error) {
	if len(raw) == 0 {
		return nil, usageError{"load: --url is required, e.g. --url http://127.0.0.1:8080 (see zhufang load --help)"}
	}
	out := make([]string, len(raw))
	for i, s := range raw {
		u, err := load.CheckURL(s)
		if err != nil {
			return nil, usageError{"--url " + zhufang.ErrorMessage(err)}
		}
		out[i] = u
	}
	return out, nil
}

// provisionLoad makes a run's dispatcher and devices in the servers'
// database (load.Provision), reading the city's ground for units > 0.
func provisionLoad(ctx context.Context, cfg Config, urls []string, units int) (creds load.Creds, err error) {
	if err := mustExist(cfg.DB, ""); err != nil {
		return load.Creds{}, err
	}
	// Not migrated: the database belongs to the servers, which migrate it.
	db, keys, err := openServed(ctx, cfg)
	if err != nil {
		return load.Creds{}, err
	}
	defer db.Close()
	var loc zhufang.Locator
	if units > 0 {
		if loc, _, err = locate.FromOrg(ctx, db); err != nil {
			return load.Creds{}, err
		}
	}
	err = checkpointAfter(ctx, db, keys, func() (err error) {
		creds, err = load.Provision(ctx, db, loc, urls, units)
		return err
	})
	return creds, err
}

// retireQuietly retires the run's credentials even after an interrupt;
// a failure leaves them behind, which is said but does not fail the run.
func retireQuietly(ctx context.Context, cfg Config, creds load.Creds, w io.Writer) {
	ctx = context.WithoutCancel(ctx)
	db, keys, err := openServed(ctx, cfg)
	if err == nil {
		err = checkpointAfter(ctx, db, keys, func() error { return load.Retire(ctx, db, creds) })
		db.Close()
	}
	if err != nil {
		fmt.Fprintf(w, "note: could not retire user %s and its devices: %s\n", creds.Username, oneLine(err))
	}
}

// runVerify is load --verify: read the record, then check it.
func runVerify(ctx context.Context, cfg Config, urls []string, path string, c call) error {
	records, err := load.ReadRecordFile(path)
	if err != nil {
		return err
	}
	creds, err := provisionLoad(ctx, cfg, urls, 0)
	if creds.Username != "" {
		defer retireQuietly(ctx, cfg, creds, c.stderr)
	}
	if err != nil {
		return err
	}
	rep, err := load.Verify(ctx, urls, creds.Session, records)
	if err != nil {
		return err
	}
	if cfg.JSON {
		if err := printJSON(c.stdout, rep); err != nil {
			return err
		}
	}
	if err := rep.Err(); err != nil {
		return err
	}
	if !cfg.JSON {
		fmt.Fprintf(c.stdout, "%d acknowledged incidents, all present with their history\n", rep.Incidents)
	}
	return nil
}
