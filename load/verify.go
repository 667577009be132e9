package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"zhufang"
)

// VerifyReport is what Verify found.
type VerifyReport struct {
	Incidents int    `json:"incidents"` // distinct incidents in the record
	Present   int    `json:"present"`   // stored with every recorded state
	Lost      []Loss `json:"lost"`
	Unchecked int    `json:"unchecked"` // no node answered for them
}

// Loss is an acknowledged incident the servers no longer have whole.
type Loss struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

// Err says what was lost or left unchecked, or nil.
func (r VerifyReport) Err() error {
	if n := len(r.Lost); n > 0 {
		var reasons []string
		for _, l := range r.Lost[:min(n, 3)] {
			reasons = append(reasons, l.Reason)
		}
		more := ""
		if n > 3 {
			more = "; …"
		}
		return zhufang.Errorf(zhufang.ENOTFOUND, "%d of %d acknowledged incidents lost: %s%s", n, r.Incidents, strings.Join(reasons, "; "), more)
	}
	if r.Unchecked > 0 {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "%d of %d acknowledged incidents could not be checked: no --url answered", r.Unchecked, r.Incidents)
	}
	return nil
}

// Verify checks every recorded incident against the API: it must exist,
// received when the record says, with every recorded state in its stored
// history in order. Each is asked of the URLs in turn until one answers. The
// error is for a check that could not be made (the session refused, ctx
// ended); losses are in the report.
func Verify(ctx context.Context, urls []string, token string, records []Record) (VerifyReport, error) {
	recs := MergeRecords(records)
	rep := VerifyReport{Incidents: len(recs), Lost: []Loss{}}
	client := newClient()
	defer client.CloseIdleConnections()
	type result struct {
		reason   string
		answered bool
		err      error
	}
	results := make([]result, len(recs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				r := &results[i]
				r.reason, r.answered, r.err = checkIncident(ctx, client, urls, token, recs[i])
			}
		})
	}
	for i := range recs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i, r := range results {
		if f, ok := errors.AsType[*Failure](r.err); ok && (f.Status == http.StatusUnauthorized || f.Status == http.StatusForbidden) {
			return rep, zhufang.Errorf(zhufang.EUNAUTHORIZED, "a node refused the session: %s", f.Detail)
		}
		switch {
		case !r.answered:
			rep.Unchecked++
		case r.reason != "":
			rep.Lost = append(rep.Lost, Loss{ID: recs[i].ID, Reason: r.reason})
		default:
			rep.Present++
		}
	}
	return rep, ctx.Err()
}

// checkIncident asks the URLs in turn for one incident until one
// answers, and returns what is missing ("" for nothing).
func checkIncident(ctx context.Context, client *http.Client, urls []string, token string, rec Record) (reason string, answered bool, err error) {
	for _, base := range urls {
		var got struct {
			ReceivedAt  time.Time            `json:"received_at"`
			Transitions []zhufang.Transition `json:"transitions"`
		}
		err = call(ctx, client, http.MethodGet, base+"/api/v1/incidents/"+strconv.FormatInt(rec.ID, 10), token, nil, http.StatusOK, &got)
		f, _ := errors.AsType[*Failure](err)
		switch {
		case ctx.Err() != nil:
			return "", false, ctx.Err()
		case err == nil:
			stored := make([]zhufang.IncidentState, len(got.Transitions))
			for i, t := range got.Transitions {
				stored[i] = t.To
			}
			return historyGap(rec, got.ReceivedAt, stored), true, nil
		case f != nil && f.Status == http.StatusNotFound:
			return fmt.Sprintf("incident %d does not exist", rec.ID), true, nil
		case f != nil && (f.Status == http.StatusUnauthorized || f.Status == http.StatusForbidden):
			return "", false, err
		}
	}
	return "", false, err
}

// historyGap says how a stored incident falls short of its record: another
// receipt time (another incident behind the ID), or a recorded state
// missing from the stored transitions in order. "" means it is whole.
func historyGap(rec Record, receivedAt time.Time, stored []zhufang.IncidentState) string {
	if !receivedAt.Equal(rec.ReceivedAt) {
		return fmt.Sprintf("incident %d was received at %s, the record says %s", rec.ID,
			receivedAt.Format(time.RFC3339Nano), rec.ReceivedAt.Format(time.RFC3339Nano))
	}
	rest := stored
	for _, s := range rec.States {
		i := slices.Index(rest, s)
		if i < 0 {
			names := make([]string, len(stored))
			for j, t := range stored {
				names[j] = string(t)
			}
			return fmt.Sprintf("incident %d lacks its %s (stored: %s)", rec.ID, s, strings.Join(names, " → "))
		}
		rest = rest[i+1:]
	}
	return ""
}

// MergeRecords keeps one record per incident, the one with the most
// states (the latest line written), ordered by ID.
func MergeRecords(records []Record) []Record {
	byID := map[int64]Record{}
	for _, r := range records {
		if old, ok := byID[r.ID]; !ok || len(r.States) >= len(old.States) {
			byID[r.ID] = r
		}
	}
	out := make([]Record, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return int(min(max(a.ID-b.ID, -1), 1)) })
	return out
}

// ReadRecordFile reads the record file at path: ENOTFOUND when there is
// none, EINVALID naming what is wrong with it.
func ReadRecordFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "record file %s does not exist", path)
	}
	if err != nil {
		return nil, zhufang.Errorf(zhufang.EINVALID, "cannot read the record file: %v", err)
	}
	defer f.Close()
	return ReadRecords(f, path)
}

// ReadRecords reads a record file; name is said in errors, with the
// number of the line that is wrong.
func ReadRecords(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []Record
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := ParseRecord(b)
		if err != nil {
			return nil, zhufang.Errorf(zhufang.EINVALID, "record file %s line %d: %s", name, line, zhufang.ErrorMessage(err))
		}
		out = append(out, rec)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, zhufang.Errorf(zhufang.EINVALID, "record file %s line %d is longer than 1 MB", name, line+1)
	} else if err != nil {
		return nil, zhufang.Errorf(zhufang.EINVALID, "cannot read the record file %s: %v", name, err)
	}
	if len(out) == 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "record file %s holds no incidents", name)
	}
	return out, nil
}

// ParseRecord reads one line of a record file: one JSON object with a
// positive id, a receipt time, and states that start at received and
// follow the incident state machine.
func ParseRecord(b []byte) (Record, error) {
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, zhufang.Errorf(zhufang.EINVALID, "not a load record: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return rec, zhufang.Errorf(zhufang.EINVALID, "more than one JSON value on the line")
	}
	switch {
	case rec.ID <= 0:
		return rec, zhufang.Errorf(zhufang.EINVALID, "id must be a positive whole number")
	case rec.ReceivedAt.IsZero():
		return rec, zhufang.Errorf(zhufang.EINVALID, "received_at is missing")
	case len(rec.States) == 0 || rec.States[0] != zhufang.StateReceived:
		return rec, zhufang.Errorf(zhufang.EINVALID, "states must start with received")
	}
	for i := 1; i < len(rec.States); i++ {
		if !zhufang.CanTransition(rec.States[i-1], rec.States[i]) {
			return rec, zhufang.Errorf(zhufang.EINVALID, "states: an incident cannot go from %.20q to %.20q", rec.States[i-1], rec.States[i])
		}
	}
	return rec, nil
}
