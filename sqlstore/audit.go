package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
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
// of the transaction on PostgreSQL); taking it last keeps it short.
func (tx *Tx) auditAs(ctx context.Context, actor string, userID int64, addr, action, record, detail string) error {
	if tx.db.engine == Postgres {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(auditLockKey)); err != nil {
			return err
		}
	}
	e := &zhufang.AuditEntry{At: tx.now, Actor: clip(actor, 100), UserID: userID, Action: action,
		Record: clip(record, 100), Address: clip(addr, 100), Detail: clip(detail, 500)}
	err := tx.queryRow(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&e.ID, &e.PrevHash)
	if err != nil && err != sql.ErrNoRows {
		return tx.db.translate(err)
	}
	e.ID++
	e.Hash = e.ComputeHash()
	_, err = tx.exec(ctx, `INSERT INTO audit_log (id, at, actor, user_id, action, record, address, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, tx.db.timeArg(e.At), e.Actor, e.UserID, e.Action, e.Record,
		e.Address, e.Detail, e.PrevHash, e.Hash)
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

// VerifyAudit walks the chain from its first row in pages and returns the
// first broken link and the number of rows it checked.
func (db *DB) VerifyAudit(ctx context.Context) (*zhufang.AuditBreak, int64, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewAudit); err != nil {
		return nil, 0, err
	}
	const page = 5000
	var prevID, checked int64
	var prev string
	for {
		rows, err := db.query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`, prevID, page)
		if err != nil {
			return nil, checked, err
		}
		var batch []*zhufang.AuditEntry
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return nil, checked, db.translate(err)
			}
			batch = append(batch, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, checked, db.translate(err)
		}
		if b := zhufang.VerifyChain(prevID, prev, batch); b != nil {
			for _, e := range batch {
				if e.ID == b.ID {
					break
				}
				checked++
			}
			return b, checked, nil
		}
		checked += int64(len(batch))
		if len(batch) < page {
			return nil, checked, nil
		}
		prevID, prev = batch[len(batch)-1].ID, batch[len(batch)-1].Hash
	}
}
