package store

import (
	"context"
	"fmt"
	"time"
)

// PruneCounts are the rows Prune deleted, per table.
type PruneCounts struct {
	Outbox, Messages, Inbox, Statuses, Events int64
}

// Total is the number of rows deleted.
func (c PruneCounts) Total() int64 {
	return c.Outbox + c.Messages + c.Inbox + c.Statuses + c.Events
}

// pruneTable says which rows of a table Prune may delete: those whose time
// column is older than the cut-off, unless keep holds for them.
type pruneTable struct {
	name string
	at   string // the row's time, unix milliseconds
	keep string // rows kept whatever their age; "" for none
	n    func(*PruneCounts) *int64
}

// pruneTables are pruned in this order: an outbox row goes before the
// message it sends (a foreign key), so that message can go too.
var pruneTables = []pruneTable{
	{name: "outbox", at: "created_at", keep: "state = 'pending'", // still to be sent
		n: func(c *PruneCounts) *int64 { return &c.Outbox }},
	{name: "messages", at: "created_at", keep: "EXISTS (SELECT 1 FROM outbox WHERE outbox.message_id = messages.id)",
		n: func(c *PruneCounts) *int64 { return &c.Messages }},
	{name: "inbox", at: "received_at", keep: "processed_at IS NULL", // handled at the next start
		n: func(c *PruneCounts) *int64 { return &c.Inbox }},
	{name: "statuses", at: "created_at", n: func(c *PruneCounts) *int64 { return &c.Statuses }},
	{name: "events", at: "created_at", n: func(c *PruneCounts) *int64 { return &c.Events }},
}

// pruneChunk is how many rows one write job looks at: small enough that
// webhooks committed in the same batch are not held up for long.
const pruneChunk = 500

// Prune deletes rows older than before that balas no longer needs: handled
// deliveries (inbox), messages in and out, sent and failed outbox rows,
// statuses and other webhook events. It never deletes a conversation (its
// state and session), a delivery not yet handled, a reply still to be sent
// or the message it sends, nor the last row of a table (ids must only
// grow, and SQLite gives a new row the highest id plus one). A message
// whose row is gone is no longer recognised as a duplicate, so before must
// be older than Meta's redeliveries (7 days).
//
// Rows are deleted in small write jobs, in id order from the oldest, and a
// table's pass ends at its first row not older than before: ids grow with
// time, so a pass reads only the rows it deletes (and the few it keeps).
// Each job is committed with the other writes of its batch, so webhooks
// keep being answered while a large backlog is pruned.
func (db *DB) Prune(ctx context.Context, before time.Time) (PruneCounts, error) {
	var total PruneCounts
	cut := before.UnixMilli()
	for _, t := range pruneTables {
		var after int64
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			var deleted, last int64
			var done bool
			err := db.Write(ctx, func(tx *Tx) error {
				var err error
				deleted, last, done, err = tx.pruneChunk(t, after, cut)
				return err
			})
			if err != nil {
				return total, fmt.Errorf("prune %s: %w", t.name, err)
			}
			*t.n(&total) += deleted
			if done {
				break
			}
			after = last
		}
	}
	return total, nil
}

// pruneChunk deletes the rows of t after id after, up to pruneChunk of
// them, that are older than cut and not kept. last is the highest id it
// looked at; done is true when the table holds no older rows after it.
func (tx *Tx) pruneChunk(t pruneTable, after, cut int64) (deleted, last int64, done bool, err error) {
	rows, err := tx.Query(`SELECT id, `+t.at+` FROM `+t.name+` WHERE id > ? ORDER BY id LIMIT ?`, after, pruneChunk)
	if err != nil {
		return 0, 0, false, err
	}
	last, n := after, 0
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return 0, 0, false, err
		}
		n++
		if at >= cut {
			done = true // this row and the ones after it are recent
			break
		}
		last = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, false, err
	}
	if n < pruneChunk {
		done = true
	}
	if last == after {
		return 0, last, done, nil
	}
	cond := ""
	if t.keep != "" {
		cond = " AND NOT (" + t.keep + ")"
	}
	// The table's last row stays, whatever its age: SQLite gives a new row
	// the highest id plus one, and ids must only grow (the sender reads the
	// outbox after the last id it saw).
	res, err := tx.Exec(`DELETE FROM `+t.name+` WHERE id > ? AND id <= ? AND `+t.at+` < ?`+cond+
		` AND id < (SELECT max(id) FROM `+t.name+`)`, after, last, cut)
	if err != nil {
		return 0, 0, false, err
	}
	deleted, _ = res.RowsAffected()
	return deleted, last, done, nil
}
