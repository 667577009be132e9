package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"zhufang"
)

var _ zhufang.AuditService = (*DB)(nil)

// auditLockKey names the PostgreSQL advisory lock that admits one audit
// writer at a time, so each entry links to the one before it.
const auditLockKey = 0x7a6866 // "zhf"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// audit appends an entry for the context's actor in the caller's
// transaction: the change and its record commit together or not at all.
func (tx *Tx) audit(ctx context.Context, action, record, detail string) error {
	a := zhufang.ActorFromContext(ctx)
	var userID int64
	var addr string
	if a != nil {
		addr = a.Address
		if a.User != nil {
			userID = a.User.ID
		}
	}
	return tx.auditAs(ctx, a.Name(), userID, addr, action, record, detail)
}

// auditAs appends an entry for a named actor. The chain's head is read
// under a lock (SQLite's single writer, or an advisory lock held to the end
// of the transaction on PostgreSQL); taking it last keeps it short. The
// head comes from audit_chain, not from the last row, so an ID once given
// is never given again, even after the rows holding it were deleted.
func (tx *Tx) auditAs(ctx context.Context, actor string, userID int64, addr, action, record, detail string) error {
	if tx.db.engine == Postgres {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(auditLockKey)); err != nil {
			return err
		}
	}
	e := &zhufang.AuditEntry{At: tx.now, Actor: clip(actor, 100), UserID: userID, Action: action,
		Record: clip(record, 100), Address: clip(addr, 100), Detail: clip(detail, 500)}
	rule := zhufang.AuditRule{Key: tx.db.auditKey}
	err := tx.queryRow(ctx, `SELECT head_id, head_hash, keyed_from FROM audit_chain`).Scan(&e.ID, &e.PrevHash, &rule.KeyedFrom)
	if err != nil {
		return tx.db.translate(err)
	}
	e.ID++
	if rule.Keyed(e.ID) && rule.Key == nil {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "the audit chain of %s is keyed, and this process was not given its key", tx.db.where)
	}
	e.Hash = rule.Hash(e)
	if _, err = tx.exec(ctx, `INSERT INTO audit_log (id, at, actor, user_id, action, record, address, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, tx.db.timeArg(e.At), e.Actor, e.UserID, e.Action, e.Record,
		e.Address, e.Detail, e.PrevHash, e.Hash); err != nil {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE audit_chain SET head_id = ?, head_hash = ?`, e.ID, e.Hash)
	return err
}

// clip cuts text to at most n runes of valid UTF-8, so an audit entry
// never fails over the length of what it records.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// RecordAudit appends an entry for the context's actor in its own
// transaction: a view of personal data.
func (db *DB) RecordAudit(ctx context.Context, action, record, detail string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()
	if err := tx.audit(ctx, action, record, detail); err != nil {
		return err
	}
	return tx.commit()
}

const auditColumns = `id, at, actor, user_id, action, record, address, detail, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (*zhufang.AuditEntry, error) {
	e := &zhufang.AuditEntry{}
	err := sc.Scan(&e.ID, timeColumn{&e.At}, &e.Actor, &e.UserID, &e.Action, &e.Record, &e.Address, &e.Detail, &e.PrevHash, &e.Hash)
	return e, err
}

// FindAudit returns the entries the filter selects, newest first.
func (db *DB) FindAudit(ctx context.Context, f zhufang.AuditFilter) ([]*zhufang.AuditEntry, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewAudit); err != nil {
		return nil, err
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE 1 = 1`
	var args []any
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Record != "" {
		q += ` AND record = ?`
		args = append(args, f.Record)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, db.timeArg(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, db.timeArg(f.To))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q += ` ORDER BY id DESC LIMIT ? OFFSET ?`
	args = append(args, limit, max(f.Offset, 0))
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*zhufang.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, db.translate(err)
		}
		out = append(out, e)
	}
	return out, db.translate(rows.Err())
}

// UseAuditKey makes db hash the audit rows it writes with key (HMAC-SHA256)
// and verify them with it. The first time a chain is given a key, the next
// row becomes its first keyed row; the rows before it keep the unkeyed rule
// they were written with; keyed reports whether that happened now. A
// chain already keyed with another key is refused: rows hashed with two
// keys would not verify. Call it before db writes, once.
func (db *DB) UseAuditKey(ctx context.Context, key []byte) (keyed bool, err error) {
	if len(key) < 32 {
		return false, zhufang.Errorf(zhufang.EINVALID, "an audit key must be at least 32 bytes")
	}
	id := zhufang.AuditKeyID(key)
	tx, err := db.begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.rollback()
	if db.engine == Postgres {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(auditLockKey)); err != nil {
			return false, err
		}
	}
	var keyedFrom int64
	var keyID string
	if err := tx.queryRow(ctx, `SELECT keyed_from, key_id FROM audit_chain`).Scan(&keyedFrom, &keyID); err != nil {
		return false, db.translate(err)
	}
	switch {
	case keyedFrom == 0:
		if _, err := tx.exec(ctx, `UPDATE audit_chain SET keyed_from = head_id + 1, key_id = ?`, id); err != nil {
			return false, err
		}
		keyed = true
	case keyID != id:
		return false, zhufang.Errorf(zhufang.EINVALID, "the audit chain of %s is keyed with key %s, and the key given is %s: "+
			"give this process the key the chain was started with (copy its audit key folder)", db.where, keyID, id)
	}
	if err := tx.commit(); err != nil {
		return false, err
	}
	db.auditKey = key
	return keyed, nil
}

// AuditHead returns the chain's head now, for a checkpoint: the last row
// and how many rows there are, read from the rows themselves in one
// statement, so that a row written meanwhile is either in both or in
// neither.
func (db *DB) AuditHead(ctx context.Context) (zhufang.AuditCheckpoint, error) {
	cp := zhufang.AuditCheckpoint{At: db.clock.Now().UTC().Truncate(time.Microsecond)}
	err := db.queryRow(ctx, `SELECT c.chain_id, c.keyed_from, (SELECT count(*) FROM audit_log),
		coalesce((SELECT max(id) FROM audit_log), 0), coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), '')
		FROM audit_chain c`).Scan(&cp.Chain, &cp.KeyedFrom, &cp.Count, &cp.HeadID, &cp.HeadHash)
	return cp, db.translate(err)
}

// VerifyAudit walks the whole chain with db's key and its own high-water
// mark, and returns the first thing wrong and the number of rows before it
// that verify.
func (db *DB) VerifyAudit(ctx context.Context) (*zhufang.AuditBreak, int64, error) {
	r, err := db.CheckAudit(ctx, db.auditKey, nil)
	if err != nil || len(r.Findings) == 0 {
		return nil, r.Verified, err
	}
	f := r.Findings[0]
	return &zhufang.AuditBreak{ID: f.ID, Reason: f.Detail}, r.Verified, nil
}

// CheckAudit walks the whole chain, checking keyed rows with key, and
// holds it against its high-water mark and against cps, the checkpoints of its signed heads
// (read and their signatures checked by the caller), oldest first. The
// newest checkpoint of this chain says where the keyed rows begin; without
// one the database's word is taken, and the report says so.
func (db *DB) CheckAudit(ctx context.Context, key []byte, cps []zhufang.AuditCheckpoint) (*zhufang.AuditReport, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewAudit); err != nil {
		return &zhufang.AuditReport{}, err
	}
	r := &zhufang.AuditReport{}
	// One snapshot for the whole walk: rows written meanwhile, and the
	// high-water mark they move, are all seen or all unseen. A read-only
	// transaction takes no write lock on SQLite (a plain, deferred BEGIN).
	opts := &sql.TxOptions{ReadOnly: true}
	if db.engine == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	snap, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return r, db.translate(err)
	}
	defer snap.Rollback()
	st := zhufang.AuditState{Marks: map[int64]zhufang.AuditMark{}}
	if err := snap.QueryRowContext(ctx, `SELECT chain_id, head_id, keyed_from FROM audit_chain`).Scan(&st.Chain, &st.HighWater, &st.KeyedFrom); err != nil {
		return r, db.translate(err)
	}
	r.Chain = st.Chain
	rule := zhufang.AuditRule{Key: key, KeyedFrom: st.KeyedFrom}
	marks := map[int64]bool{}
	for i := range cps {
		if cps[i].Chain == st.Chain {
			marks[cps[i].HeadID] = true
			r.Checkpoint = &cps[i]
		}
	}
	if r.Checkpoint != nil {
		rule.KeyedFrom = r.Checkpoint.KeyedFrom
	}
	r.KeyedFrom = rule.KeyedFrom
	if rule.KeyedFrom > 0 && rule.Key == nil {
		return r, zhufang.Errorf(zhufang.EINVALID, "the audit chain of %s is keyed from row %d: verifying it needs its HMAC key", db.where, rule.KeyedFrom)
	}
	var brk *zhufang.AuditBreak
	const page = 5000
	for {
		batch, err := db.auditPage(ctx, snap, st.HeadID, page)
		if err != nil {
			return r, err
		}
		if brk == nil {
			if brk = zhufang.VerifyChain(rule, st.HeadID, st.HeadHash, batch); brk == nil {
				r.Verified += int64(len(batch))
			}
		}
		for _, e := range batch {
			if brk != nil && e.ID == brk.ID {
				r.Verified = st.Count
			}
			st.Count++
			if !rule.Keyed(e.ID) {
				r.Unkeyed++
			}
			if marks[e.ID] {
				st.Marks[e.ID] = zhufang.AuditMark{Hash: e.Hash, Upto: st.Count}
			}
			st.HeadID, st.HeadHash = e.ID, e.Hash
		}
		if len(batch) < page {
			break
		}
	}
	r.Rows = st.Count
	if brk != nil {
		r.Findings = append(r.Findings, zhufang.AuditFinding{Kind: brk.Kind, ID: brk.ID, Detail: fmt.Sprintf("row %d: %s", brk.ID, brk.Reason)})
	}
	r.Findings = append(r.Findings, zhufang.CompareCheckpoints(cps, st)...)
	return r, nil
}

// auditPage reads up to n rows after the ID after, in ID order.
func (db *DB) auditPage(ctx context.Context, snap *sql.Tx, after int64, n int) ([]*zhufang.AuditEntry, error) {
	rows, err := snap.QueryContext(ctx, db.rebind(`SELECT `+auditColumns+` FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`), after, n)
	if err != nil {
		return nil, db.translate(err)
	}
	defer rows.Close()
	var batch []*zhufang.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, db.translate(err)
		}
		batch = append(batch, e)
	}
	return batch, db.translate(rows.Err())
}
