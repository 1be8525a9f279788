package store

import (
	"context"
	"fmt"
)

// Delivery is one raw webhook delivery as Meta posted it.
type Delivery struct {
	ID         int64
	ReceivedAt int64 // unix ms
	Body       []byte
}

// InsertDelivery stores a raw webhook body inside a write job and returns
// its id; processed marks it handled at once (handled in the same job).
func (tx *Tx) InsertDelivery(body []byte, processed bool) (int64, error) {
	now := tx.now.UnixMilli()
	var at any
	if processed {
		at = now
	}
	res, err := tx.Exec(`INSERT INTO inbox (received_at, body, processed_at) VALUES (?, ?, ?)`, now, body, at)
	if err != nil {
		return 0, fmt.Errorf("store delivery: %w", err)
	}
	return res.LastInsertId()
}

// MarkProcessed records that a delivery's events were handled.
func (tx *Tx) MarkProcessed(id int64) error {
	if _, err := tx.Exec(`UPDATE inbox SET processed_at = ? WHERE id = ?`, tx.now.UnixMilli(), id); err != nil {
		return fmt.Errorf("mark delivery %d processed: %w", id, err)
	}
	return nil
}

// MarkFailed records why handling a delivery failed. A delivery that is
// not marked processed is retried at the next start.
func (tx *Tx) MarkFailed(id int64, reason string) error {
	if _, err := tx.Exec(`UPDATE inbox SET error = ? WHERE id = ?`, reason, id); err != nil {
		return fmt.Errorf("record failure of delivery %d: %w", id, err)
	}
	return nil
}

// StoreDelivery durably stores one raw webhook body and returns its id once
// committed.
func (db *DB) StoreDelivery(ctx context.Context, body []byte) (int64, error) {
	var id int64
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		id, err = tx.InsertDelivery(body, false)
		return err
	})
	return id, err
}

// UnprocessedDeliveries lists deliveries not yet handled, oldest first, with
// ids greater than after.
func (db *DB) UnprocessedDeliveries(ctx context.Context, after int64, limit int) ([]Delivery, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, received_at, body FROM inbox WHERE processed_at IS NULL AND id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list unprocessed deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		if err := rows.Scan(&d.ID, &d.ReceivedAt, &d.Body); err != nil {
			return nil, fmt.Errorf("list unprocessed deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// CountDeliveries is the number of stored deliveries.
func (db *DB) CountDeliveries(ctx context.Context) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM inbox`).Scan(&n)
	return n, err
}
