package zhufang

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
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

// ComputeHash returns the hash the entry carries under the unkeyed rule,
// the rule of rows written before the chain had a key: SHA-256 over its
// ID, time, fields and the previous hash, each length-prefixed so no two
// different entries encode alike. Anyone can compute it, so it shows
// accidents, not someone rewriting the chain on purpose.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	e.encode(h)
	return hex.EncodeToString(h.Sum(nil))
}

// ComputeKeyedHash returns the hash the entry carries under the keyed
// rule: HMAC-SHA256 with key over the same encoding. Without the key no
// one can make a row that verifies.
func (e *AuditEntry) ComputeKeyedHash(key []byte) string {
	h := hmac.New(sha256.New, key)
	e.encode(h)
	return hex.EncodeToString(h.Sum(nil))
}

// encode writes the entry's hashed form.
func (e *AuditEntry) encode(h hash.Hash) {
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
}

// AuditKeyID names an audit key without giving it away: the first 16 hex
// digits of a SHA-256 of it. A chain records the ID of its key, so that a
// process given another key is refused rather than writing rows no
// verifier could check.
func AuditKeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("zhufang audit key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// AuditRule says how each row of a chain is hashed: rows from KeyedFrom on
// with the keyed rule, rows before it (written before the chain had a key)
// with the unkeyed one.
type AuditRule struct {
	Key       []byte // the HMAC key; nil where the chain is not keyed
	KeyedFrom int64  // the first keyed row's ID; 0 if no row is keyed
}

// Keyed reports whether the row id is hashed with the key.
func (r AuditRule) Keyed(id int64) bool { return r.KeyedFrom > 0 && id >= r.KeyedFrom }

// Hash returns the hash e must carry.
func (r AuditRule) Hash(e *AuditEntry) string {
	if r.Keyed(e.ID) {
		return e.ComputeKeyedHash(r.Key)
	}
	return e.ComputeHash()
}

// AuditBreak is the first broken link of the chain.
type AuditBreak struct {
	ID     int64  `json:"id"`     // the first row that does not verify
	Kind   string `json:"kind"`   // AuditMissing or AuditAltered
	Reason string `json:"reason"` // what is wrong with it
}

// VerifyChain checks entries given in ID order by rule, continuing from
// prev (the hash before the first entry, "" at the start of the chain) and
// from the ID before it. It returns the first broken link, or nil.
func VerifyChain(rule AuditRule, prevID int64, prev string, entries []*AuditEntry) *AuditBreak {
	for _, e := range entries {
		switch {
		case e.ID != prevID+1:
			return &AuditBreak{ID: e.ID, Kind: AuditMissing, Reason: "rows are missing before this one (ID " + itoaGap(prevID, e.ID) + ")"}
		case e.PrevHash != prev:
			return &AuditBreak{ID: e.ID, Kind: AuditAltered, Reason: "it does not follow the row before it: a row was removed, inserted or reordered"}
		case rule.Hash(e) != e.Hash && rule.Keyed(e.ID):
			return &AuditBreak{ID: e.ID, Kind: AuditAltered, Reason: "its keyed hash does not match its content: the row was modified, or rehashed by someone without the key"}
		case rule.Hash(e) != e.Hash:
			return &AuditBreak{ID: e.ID, Kind: AuditAltered, Reason: "its content does not match its hash: the row was modified"}
		}
		prevID, prev = e.ID, e.Hash
	}
	return nil
}

func itoaGap(prev, got int64) string {
	return formatInt(prev+1) + " expected, " + formatInt(got) + " found"
}

// AuditReport is what a full verification of the audit trail found.
type AuditReport struct {
	Chain     string `json:"chain"`
	Rows      int64  `json:"rows"`       // rows in the chain
	Verified  int64  `json:"verified"`   // rows before the first broken link
	Unkeyed   int64  `json:"unkeyed"`    // rows checked only by the unkeyed rule
	KeyedFrom int64  `json:"keyed_from"` // the first keyed row; 0 if none
	// Checkpoint is the newest checkpoint of the chain it was held
	// against; nil if none.
	Checkpoint *AuditCheckpoint `json:"checkpoint,omitempty"`
	Findings   []AuditFinding   `json:"findings"`
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
