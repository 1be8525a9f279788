package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/balas-bot/balas/rules"
)

// Outbox item kinds.
const (
	OutboxMessage = "message" // a reply (rules.Reply JSON in Reply)
	OutboxRead    = "read"    // a read receipt for ContextWamid
	OutboxTyping  = "typing"  // a read receipt with the typing indicator
)

// Outbox row states.
const (
	OutboxStatePending = "pending"
	OutboxStateSent    = "sent"
	OutboxStateFailed  = "failed"
)

// OutboxItem is one row of the durable outbox: a reply, read receipt or
// typing indicator waiting to be sent. Read receipts queued by the pipeline
// are not stored (they are harmless to lose): they have ID 0 and reach the
// sender only through DB.OnQueued.
type OutboxItem struct {
	ID, ConversationID int64
	MessageID          int64 // the outbound messages row; 0 for receipts
	PhoneNumberID      string
	ToNumber           string
	ToUserID           string
	Kind               string // "message" | "read" | "typing"
	Reply              []byte // rules.Reply JSON (kind message)
	// Decoded is the reply Reply encodes, set on items handed to the sender
	// in memory (DB.OnQueued) so it need not decode Reply; nil when the row
	// was read from the table.
	Decoded      *rules.Reply
	ContextWamid string // customer's message: quote / react target / read receipt
	// Receipt ("read" or "typing", kind message only) is the receipt for
	// ContextWamid queued just before this reply; receipts are not stored,
	// so after a restart the sender sends it again before the reply.
	Receipt       string
	WindowStart   time.Time
	Attempts      int
	NextAttemptAt time.Time
	// ErrorCode is the code of the row's last failed attempt (rows read
	// from the table; "" when none failed).
	ErrorCode string
}

// OutboxResult is the outcome of one send attempt.
type OutboxResult struct {
	ID int64
	// Kind and MessageID repeat the row's kind and outbound message, as the
	// sender has them; when Kind is empty they are read from the row.
	Kind          string
	MessageID     int64
	State         string // "sent" | "failed" | "pending" (retry at NextAttemptAt)
	Wamid         string
	Attempts      int
	NextAttemptAt time.Time
	ErrorCode     string // Meta's code, http_NNN or network
	LastError     string
}

// unixMilli is t in Unix milliseconds, 0 for the zero time (as stored).
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMilli reverses unixMilli.
func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// EnqueueOutbox adds a pending row (next_attempt_at = now) inside a write job
// and returns its id. Rows of one conversation are sent in id order.
func (tx *Tx) EnqueueOutbox(it OutboxItem) (int64, error) {
	if it.Kind == "" {
		it.Kind = OutboxMessage
	}
	switch it.Kind {
	case OutboxMessage, OutboxRead, OutboxTyping:
	default:
		return 0, fmt.Errorf("enqueue outbox: unknown kind %q (want message, read or typing)", it.Kind)
	}
	if it.PhoneNumberID == "" {
		return 0, errors.New("enqueue outbox: no phone number id")
	}
	switch it.Receipt {
	case "", OutboxRead, OutboxTyping:
	default:
		return 0, fmt.Errorf("enqueue outbox: receipt %q is not read or typing", it.Receipt)
	}
	var msgID any
	if it.MessageID != 0 {
		msgID = it.MessageID
	}
	now := tx.now.UnixMilli()
	res, err := tx.Exec(`INSERT INTO outbox (conversation_id, message_id, phone_number_id, to_number, to_user_id,
		kind, reply, context_wamid, receipt, window_start, state, attempts, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
		it.ConversationID, msgID, it.PhoneNumberID, it.ToNumber, it.ToUserID,
		it.Kind, string(it.Reply), it.ContextWamid, it.Receipt, unixMilli(it.WindowStart), now, now, now)
	if err != nil {
		return 0, fmt.Errorf("enqueue outbox: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("enqueue outbox: %w", err)
	}
	it.ID, it.Attempts = id, 0
	it.NextAttemptAt = tx.now.Truncate(time.Millisecond)
	tx.queued = append(tx.queued, it)
	return id, nil
}

// QueueReceipt hands a read receipt or typing indicator to the sender after
// the commit without storing it: a receipt lost in a crash costs nothing,
// and storing it would double the outbox writes.
func (tx *Tx) QueueReceipt(it OutboxItem) error {
	switch it.Kind {
	case OutboxRead, OutboxTyping:
	default:
		return fmt.Errorf("queue receipt: kind %q is not read or typing", it.Kind)
	}
	if it.PhoneNumberID == "" {
		return errors.New("queue receipt: no phone number id")
	}
	it.ID, it.MessageID, it.Reply, it.Attempts = 0, 0, nil, 0
	it.NextAttemptAt = tx.now.Truncate(time.Millisecond)
	tx.queued = append(tx.queued, it)
	return nil
}

// PendingOutbox lists pending rows with id > afterID in id order, at most limit.
func (db *DB) PendingOutbox(ctx context.Context, afterID int64, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, conversation_id, COALESCE(message_id, 0), phone_number_id,
		to_number, to_user_id, kind, reply, context_wamid, receipt, window_start, attempts, next_attempt_at, error_code
		FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list pending outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var reply string
		var window, next int64
		if err := rows.Scan(&it.ID, &it.ConversationID, &it.MessageID, &it.PhoneNumberID, &it.ToNumber,
			&it.ToUserID, &it.Kind, &reply, &it.ContextWamid, &it.Receipt, &window, &it.Attempts, &next, &it.ErrorCode); err != nil {
			return nil, fmt.Errorf("list pending outbox: %w", err)
		}
		if reply != "" {
			it.Reply = []byte(reply)
		}
		it.WindowStart = fromMilli(window)
		it.NextAttemptAt = fromMilli(next)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending outbox: %w", err)
	}
	return out, nil
}

// OutboxPending is the number of pending outbox rows.
func (db *DB) OutboxPending(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE state = 'pending'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending outbox: %w", err)
	}
	return n, nil
}

// LastInbound is when the customer of a conversation last wrote (Meta's
// timestamp of their last message); zero when unknown.
func (db *DB) LastInbound(ctx context.Context, conversationID int64) (time.Time, error) {
	var ms int64
	err := db.read.QueryRowContext(ctx, `SELECT last_inbound_at FROM conversations WHERE id = ?`, conversationID).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read conversation %d: %w", conversationID, err)
	}
	return fromMilli(ms), nil
}

// completeSent gives a sent message its wamid and the furthest status
// already received for it (?1 wamid, ?2 now, ?3 messages id): status
// webhooks can arrive before the send's answer is recorded. failed wins and
// brings Meta's code; no status yet means sent. Aggregates and scalar
// lookups on statuses(wamid, status), not a sorted union: SQLite builds a
// temporary table for the latter on every send, which cost twice as much.
const completeSent = `UPDATE messages SET wamid = ?1, updated_at = ?2,
	status = CASE (SELECT max(CASE status WHEN 'failed' THEN 9 WHEN 'played' THEN 4 WHEN 'read' THEN 3
			WHEN 'delivered' THEN 2 END) FROM statuses WHERE ?1 <> '' AND wamid = ?1)
		WHEN 9 THEN 'failed' WHEN 4 THEN 'played' WHEN 3 THEN 'read' WHEN 2 THEN 'delivered' ELSE 'sent' END,
	error_code = coalesce((SELECT error_code FROM statuses WHERE ?1 <> '' AND wamid = ?1 AND status = 'failed'), 0),
	error_title = coalesce((SELECT error_title FROM statuses WHERE ?1 <> '' AND wamid = ?1 AND status = 'failed'), '')
	WHERE id = ?3`

// completeSentNoStatus is completeSent for a wamid no status was received
// for (it changes nothing otherwise).
const completeSentNoStatus = `UPDATE messages SET wamid = ?1, updated_at = ?2, status = 'sent', error_code = 0, error_title = ''
	WHERE id = ?3 AND NOT EXISTS (SELECT 1 FROM statuses WHERE ?1 <> '' AND wamid = ?1)`

// CompleteOutbox records the outcome of a send attempt in one write job. A row
// that is no longer pending is left as it is (an outcome is recorded once).
// For a sent message the messages row gets its wamid and status 'sent', or the
// highest status already received for that wamid (status webhooks can arrive
// before the send's answer is recorded; failed wins); for a failed message the
// messages row is marked failed with Meta's numeric code and the error.
func (db *DB) CompleteOutbox(ctx context.Context, r OutboxResult) error {
	switch r.State {
	case OutboxStateSent, OutboxStateFailed, OutboxStatePending:
	default:
		return fmt.Errorf("complete outbox %d: unknown state %q", r.ID, r.State)
	}
	return db.Write(ctx, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		kind, msgID := r.Kind, sql.NullInt64{Int64: r.MessageID, Valid: r.MessageID != 0}
		if kind == "" {
			err := tx.QueryRow(`SELECT kind, message_id FROM outbox WHERE id = ?`, r.ID).Scan(&kind, &msgID)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("complete outbox %d: no such row", r.ID)
			}
			if err != nil {
				return fmt.Errorf("complete outbox %d: %w", r.ID, err)
			}
		}
		next := unixMilli(r.NextAttemptAt)
		if next == 0 {
			next = now
		}
		res, err := tx.Exec(`UPDATE outbox SET state = ?, wamid = ?, attempts = ?, next_attempt_at = ?,
			error_code = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = 'pending'`,
			r.State, r.Wamid, r.Attempts, next, r.ErrorCode, r.LastError, now, r.ID)
		if err != nil {
			return fmt.Errorf("complete outbox %d: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRow(`SELECT 1 FROM outbox WHERE id = ?`, r.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("complete outbox %d: no such row", r.ID)
			}
			return nil // no longer pending: the outcome was recorded before
		}
		if kind != OutboxMessage || !msgID.Valid || r.State == OutboxStatePending {
			return nil
		}
		if r.State == OutboxStateFailed {
			code, _ := strconv.Atoi(r.ErrorCode)
			if _, err := tx.Exec(`UPDATE messages SET status = 'failed', error_code = ?, error_title = ?, updated_at = ? WHERE id = ?`,
				code, r.LastError, now, msgID.Int64); err != nil {
				return fmt.Errorf("complete outbox %d: update message: %w", r.ID, err)
			}
			return nil
		}
		// Sent. Nearly always no status has arrived yet: one probe of
		// statuses decides that, and the message is simply sent.
		res, err = tx.Exec(completeSentNoStatus, r.Wamid, now, msgID.Int64)
		if err != nil {
			return fmt.Errorf("complete outbox %d: update message: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// Statuses came first: take the furthest one received for this wamid.
		if _, err := tx.Exec(completeSent, r.Wamid, now, msgID.Int64); err != nil {
			return fmt.Errorf("complete outbox %d: update message: %w", r.ID, err)
		}
		return nil
	})
}
