package zhufang

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Audit actions. Every state change is recorded in the same transaction as
// the change; every view of personal data is recorded when it is shown.
const (
	AuditSignIn         = "sign_in"
	AuditSignInFailed   = "sign_in_failed"
	AuditSignOut        = "sign_out"
	AuditSignOutAll     = "sign_out_everywhere"
	AuditUserCreate     = "user_create"
	AuditUserPassword   = "user_password"
	AuditUserDisable    = "user_disable"
	AuditUserEnable     = "user_enable"
	AuditIncidentCreate = "incident_create"
	AuditIncidentState  = "incident_transition"
	AuditIncidentLane   = "incident_lane"
	AuditAssign         = "assign"
	AuditAssignment     = "assignment_transition"
	AuditUnitStatus     = "unit_status"
	AuditViewPersonal   = "view_personal"
	AuditDeviceToken    = "device_token"
	AuditHistoryImport  = "history_import"
	// AuditUserRole records a change of a user's role or ground, made in
	// the console's users page.
	AuditUserRole = "user_role"
)

// AuditEntry is one link of the audit chain. Hash covers the entry's fields
// and the previous entry's hash, so changing, removing or reordering a row
// breaks the chain at that row.
type AuditEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	UserID   int64     `json:"user_id,omitempty"`
	Action   string    `json:"action"`
	Record   string    `json:"record"` // kind:id, as incident:42
	Address  string    `json:"address,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// ComputeHash returns the hash the entry should carry: SHA-256 over its ID,
// time, fields and the previous hash, each length-prefixed so no two
// different entries encode alike.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.ID))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UTC().UnixMicro()))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.UserID))
	h.Write(n[:])
	for _, s := range []string{e.Actor, e.Action, e.Record, e.Address, e.Detail, e.PrevHash} {
		field(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditBreak is the first broken link of the chain.
type AuditBreak struct {
	ID     int64  `json:"id"`     // the first row that does not verify
	Reason string `json:"reason"` // what is wrong with it
}

// VerifyChain checks entries given in ID order, continuing from prev (the
// hash before the first entry, "" at the start of the chain) and from the
// ID before it. It returns the first broken link, or nil.
func VerifyChain(prevID int64, prev string, entries []*AuditEntry) *AuditBreak {
	for _, e := range entries {
		switch {
		case e.ID != prevID+1:
			return &AuditBreak{ID: e.ID, Reason: "rows are missing before this one (ID " + itoaGap(prevID, e.ID) + ")"}
		case e.PrevHash != prev:
			return &AuditBreak{ID: e.ID, Reason: "it does not follow the row before it: a row was removed, inserted or reordered"}
		case e.ComputeHash() != e.Hash:
			return &AuditBreak{ID: e.ID, Reason: "its content does not match its hash: the row was modified"}
		}
		prevID, prev = e.ID, e.Hash
	}
	return nil
}

func itoaGap(prev, got int64) string {
	return formatInt(prev+1) + " expected, " + formatInt(got) + " found"
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Record string
	Action string
	From   time.Time
	To     time.Time
	Limit  int
	Offset int
}

// AuditService keeps the audit trail.
type AuditService interface {
	// RecordAudit appends an entry for the context's actor.
	RecordAudit(ctx context.Context, action, record, detail string) error
	FindAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
	// VerifyAudit walks the whole chain and returns its first broken link
	// and how many rows it checked.
	VerifyAudit(ctx context.Context) (*AuditBreak, int64, error)
}
