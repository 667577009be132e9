package zhufang

import (
	"fmt"
	"time"
)

// AuditCheckpoint states the audit chain's head at a moment. Signed and
// kept outside the database (package auditkey), in the manner of a
// transparency log's signed tree head, it lets a verifier see what the
// chain alone cannot: rows deleted from its tail, and IDs given twice.
type AuditCheckpoint struct {
	Chain     string    // the chain's ID: one file may hold several databases' checkpoints
	Count     int64     // rows in the chain
	HeadID    int64     // the last row's ID
	HeadHash  string    // the last row's hash
	KeyedFrom int64     // the first row hashed with the key; 0 if none
	At        time.Time // when it was taken
}

// AuditState is what a walk of the chain saw, to hold against checkpoints.
type AuditState struct {
	Chain     string
	Count     int64
	HeadID    int64 // the last row's ID, 0 for an empty chain
	HeadHash  string
	HighWater int64 // the highest ID the chain says it ever gave
	KeyedFrom int64 // the first keyed row, as the database says
	// Marks are the rows found at the checkpoints' head IDs.
	Marks map[int64]AuditMark
}

// AuditMark is the row a walk found at a checkpoint's head ID.
type AuditMark struct {
	Hash string
	Upto int64 // how many rows have this ID or a lower one
}

// Kinds of audit findings.
const (
	AuditAltered    = "altered"    // a row's content or place no longer fits the chain
	AuditMissing    = "missing"    // rows were deleted
	AuditReused     = "reused"     // an ID was, or can be, given twice
	AuditBadSeal    = "checkpoint" // a checkpoint does not verify, or the chain moved its keyed boundary
	AuditUnverified = "unverified" // nothing holds the chain to account
)

// AuditFinding is one thing verification found wrong with the audit trail.
type AuditFinding struct {
	Kind   string `json:"kind"`
	ID     int64  `json:"id,omitempty"` // the row it is about, if one
	Detail string `json:"detail"`
}

// CompareCheckpoints holds the chain as a walk saw it against the
// checkpoints of the same chain, oldest first. It reports what the
// database's own high-water mark shows, what the newest checkpoint shows,
// and the oldest earlier checkpoint that no longer fits, which is nearest
// to where the chain was changed.
func CompareCheckpoints(cps []AuditCheckpoint, s AuditState) []AuditFinding {
	var out []AuditFinding
	switch {
	case s.HighWater > s.HeadID:
		out = append(out, AuditFinding{AuditMissing, s.HighWater, fmt.Sprintf(
			"rows were deleted from the tail: the chain gave IDs up to %d, but its last row is %d", s.HighWater, s.HeadID)})
	case s.HighWater < s.HeadID:
		out = append(out, AuditFinding{AuditReused, s.HeadID, fmt.Sprintf(
			"the chain's high-water mark %d is below its last row %d: it was lowered, so IDs can be given twice", s.HighWater, s.HeadID)})
	}
	var mine []AuditCheckpoint
	for _, cp := range cps {
		if cp.Chain == s.Chain {
			mine = append(mine, cp)
		}
	}
	if len(mine) == 0 {
		return out
	}
	latest := compareCheckpoint(mine[len(mine)-1], s)
	for _, cp := range mine[:len(mine)-1] {
		if f := compareCheckpoint(cp, s); len(f) > 0 {
			if len(latest) == 0 || f[0] != latest[0] {
				out = append(out, f...)
			}
			break
		}
	}
	return append(out, latest...)
}

// compareCheckpoint holds the chain against one checkpoint.
func compareCheckpoint(cp AuditCheckpoint, s AuditState) []AuditFinding {
	var out []AuditFinding
	said := fmt.Sprintf("the checkpoint of %s says %d rows up to ID %d with head %s", cp.At.UTC().Format(time.RFC3339), cp.Count, cp.HeadID, cp.HeadHash)
	if cp.KeyedFrom != s.KeyedFrom {
		out = append(out, AuditFinding{AuditBadSeal, cp.KeyedFrom, fmt.Sprintf(
			"the checkpoint of %s says rows are keyed from ID %d; the database says %d: the boundary was moved, so that keyed rows pass as unkeyed",
			cp.At.UTC().Format(time.RFC3339), cp.KeyedFrom, s.KeyedFrom)})
	}
	if cp.HeadID == 0 {
		return out
	}
	m, ok := s.Marks[cp.HeadID]
	switch {
	case !ok && cp.HeadID > s.HeadID:
		out = append(out, AuditFinding{AuditMissing, cp.HeadID, fmt.Sprintf(
			"%s; the database has only %d, up to ID %d: rows were deleted from the tail", said, s.Count, s.HeadID)})
	case !ok:
		out = append(out, AuditFinding{AuditMissing, cp.HeadID, fmt.Sprintf(
			"%s; the database has no row %d: it was deleted", said, cp.HeadID)})
	case m.Hash != cp.HeadHash:
		out = append(out, AuditFinding{AuditReused, cp.HeadID, fmt.Sprintf(
			"%s; the database's row %d has hash %s: the ID was given again after the rows it ended were deleted, or the chain was rewritten with the key",
			said, cp.HeadID, m.Hash)})
	case m.Upto < cp.Count:
		out = append(out, AuditFinding{AuditMissing, cp.HeadID, fmt.Sprintf(
			"%s; the database has only %d rows up to there: rows were deleted", said, m.Upto)})
	}
	return out
}
