package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/balas-bot/balas/engine"
)

// This file implements the engine's Store and Tx interfaces on SQLite.

var _ engine.Tx = (*Tx)(nil)
var _ engine.Store = (*DB)(nil)

// Update runs fn as one write job (see Write).
func (db *DB) Update(ctx context.Context, fn func(tx engine.Tx) error) error {
	return db.Write(ctx, func(tx *Tx) error { return fn(tx) })
}

// PendingDeliveries lists deliveries not yet handled, oldest first.
func (db *DB) PendingDeliveries(ctx context.Context, after int64, limit int) ([]engine.StoredDelivery, error) {
	ds, err := db.UnprocessedDeliveries(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]engine.StoredDelivery, len(ds))
	for i, d := range ds {
		out[i] = engine.StoredDelivery{ID: d.ID, Body: d.Body}
	}
	return out, nil
}

// Conversation returns the conversation of customer with a business number,
// creating it when new.
func (tx *Tx) Conversation(phoneNumberID, customer string) (engine.StoredConversation, error) {
	c := engine.StoredConversation{PhoneNumberID: phoneNumberID, Customer: customer}
	key := convKey{phoneNumberID, customer}
	row, ok := tx.cachedConversation(key)
	if !ok {
		query := `SELECT id, wa_id, user_id, name, state, session, handoff_until, last_inbound_at
			FROM conversations WHERE phone_number_id = ? AND customer = ?`
		err := tx.QueryRow(query, phoneNumberID, customer).Scan(&row.id, &row.waID, &row.userID, &row.name,
			&row.state, &row.session, &row.handoffUntil, &row.lastIn)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return c, fmt.Errorf("load conversation: %w", err)
		}
		if err != nil {
			now := tx.now.UnixMilli()
			res, err := tx.Exec(`INSERT INTO conversations (phone_number_id, customer, created_at, updated_at) VALUES (?, ?, ?, ?)`,
				phoneNumberID, customer, now, now)
			if err != nil {
				return c, fmt.Errorf("create conversation: %w", err)
			}
			c.ID, _ = res.LastInsertId()
			tx.setConversation(key, &convRow{id: c.ID, session: "{}"})
			return c, nil
		}
		tx.setConversation(key, &row)
	}
	c.ID, c.WaID, c.UserID, c.Name, c.State = row.id, row.waID, row.userID, row.name, row.state
	if row.session != "" && row.session != "{}" {
		if err := json.Unmarshal([]byte(row.session), &c.Session); err != nil {
			return c, fmt.Errorf("conversation %d: session is not JSON: %w", c.ID, err)
		}
	}
	c.HandoffUntil, c.LastInboundAt = fromMilli(row.handoffUntil), fromMilli(row.lastIn)
	return c, nil
}

// SaveConversation stores a conversation's state, session and handoff.
func (tx *Tx) SaveConversation(c engine.StoredConversation) error {
	session := []byte("{}")
	if len(c.Session) > 0 {
		var err error
		if session, err = json.Marshal(c.Session); err != nil {
			return fmt.Errorf("save conversation %d: session: %w", c.ID, err)
		}
	}
	row := convRow{id: c.ID, waID: c.WaID, userID: c.UserID, name: c.Name, state: c.State, session: string(session),
		handoffUntil: unixMilli(c.HandoffUntil), lastIn: unixMilli(c.LastInboundAt)}
	res, err := tx.Exec(`UPDATE conversations SET wa_id = ?, user_id = ?, name = ?, state = ?, session = ?,
		handoff_until = ?, last_inbound_at = ?, updated_at = ? WHERE id = ?`,
		row.waID, row.userID, row.name, row.state, row.session, row.handoffUntil, row.lastIn, tx.now.UnixMilli(), row.id)
	if err != nil {
		return fmt.Errorf("save conversation %d: %w", c.ID, err)
	}
	key := convKey{c.PhoneNumberID, c.Customer}
	if n, _ := res.RowsAffected(); n != 1 || key.phoneNumberID == "" {
		tx.setConversation(key, nil) // not the row Conversation gave: read it again next time
		return nil
	}
	tx.setConversation(key, &row)
	return nil
}

// InsertInbound stores a customer message once per dedupe key.
func (tx *Tx) InsertInbound(r engine.InboundRecord) (bool, error) {
	payload := r.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	now := tx.now.UnixMilli()
	var ts int64 // 0: Meta's timestamp was missing or not a number
	if !r.Timestamp.IsZero() {
		ts = r.Timestamp.Unix()
	}
	res, err := tx.Exec(`INSERT INTO messages (direction, dedupe_key, wamid, conversation_id, inbox_id, type, text, rule, outcome,
		payload, timestamp, created_at, updated_at) VALUES ('in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dedupe_key) DO NOTHING`,
		r.DedupeKey, r.Wamid, r.ConversationID, r.InboxID, r.Type, r.Text, r.Rule, r.Outcome,
		string(payload), ts, now, now)
	if err != nil {
		return false, fmt.Errorf("store message %s: %w", r.Wamid, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// InsertReply stores an outbound message and queues it.
func (tx *Tx) InsertReply(r engine.ReplyRecord) error {
	reply, err := engine.MarshalReply(r.Reply)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	now := tx.now.UnixMilli()
	res, err := tx.Exec(`INSERT INTO messages (direction, conversation_id, type, text, rule, status, payload, created_at, updated_at)
		VALUES ('out', ?, ?, ?, ?, 'queued', ?, ?, ?)`,
		r.ConversationID, r.Reply.Kind, r.Reply.Text, r.Rule, string(reply), now, now)
	if err != nil {
		return fmt.Errorf("store reply: %w", err)
	}
	msgID, _ := res.LastInsertId()
	_, err = tx.EnqueueOutbox(OutboxItem{
		ConversationID: r.ConversationID,
		MessageID:      msgID,
		PhoneNumberID:  r.To.PhoneNumberID,
		ToNumber:       r.To.Number,
		ToUserID:       r.To.UserID,
		Kind:           OutboxMessage,
		Reply:          reply,
		Decoded:        &r.Reply,
		Receipt:        r.Receipt,
		ContextWamid:   r.ContextWamid,
		WindowStart:    r.WindowStart,
	})
	return err
}

// EnqueueReceipt queues a read receipt or typing indicator. It is not stored
// (see QueueReceipt): it reaches the sender after the commit.
func (tx *Tx) EnqueueReceipt(r engine.ReceiptRecord) error {
	kind := OutboxRead
	if r.Typing {
		kind = OutboxTyping
	}
	return tx.QueueReceipt(OutboxItem{
		ConversationID: r.ConversationID,
		PhoneNumberID:  r.To.PhoneNumberID,
		ToNumber:       r.To.Number,
		ToUserID:       r.To.UserID,
		Kind:           kind,
		ContextWamid:   r.Wamid,
		WindowStart:    r.WindowStart,
	})
}

// statusRank orders delivery statuses; a status never moves backwards.
// applyStatus names the condition of the partial index messages_out_wamid
// so that SQLite uses it (TestStatusQueryUsesIndex).
const statusRank = `CASE %s WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3
	WHEN 'played' THEN 4 WHEN 'failed' THEN 5 ELSE 0 END`

var applyStatus = `UPDATE messages SET status = ?1, error_code = ?2, error_title = ?3, updated_at = ?4
	WHERE direction = 'out' AND wamid <> '' AND wamid = ?5 AND ` + fmt.Sprintf(statusRank, "status") + ` < ` + fmt.Sprintf(statusRank, "?1")

// RecordStatus stores a status once per (wamid, status) and moves the
// outbound message's status forward (never back: a late "delivered" after
// "read" changes nothing).
func (tx *Tx) RecordStatus(s engine.StatusRecord) (bool, error) {
	payload := s.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	now := tx.now.UnixMilli()
	var ts int64
	if !s.Timestamp.IsZero() {
		ts = s.Timestamp.Unix()
	}
	res, err := tx.Exec(`INSERT INTO statuses (wamid, status, timestamp, recipient, error_code, error_title, payload, inbox_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (wamid, status) DO NOTHING`,
		s.Wamid, s.Status, ts, s.Recipient, s.ErrorCode, s.ErrorTitle, string(payload), s.InboxID, now)
	if err != nil {
		return false, fmt.Errorf("store status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := tx.Exec(applyStatus, s.Status, s.ErrorCode, s.ErrorTitle, now, s.Wamid); err != nil {
		return true, fmt.Errorf("apply status: %w", err)
	}
	return true, nil
}

// RecordEvent stores a webhook change that is not a message or status.
func (tx *Tx) RecordEvent(e engine.EventRecord) error {
	payload := e.Payload
	if len(payload) == 0 {
		payload = []byte("null")
	}
	_, err := tx.Exec(`INSERT INTO events (inbox_id, entry_id, field, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
		e.InboxID, e.EntryID, e.Field, string(payload), tx.now.UnixMilli())
	if err != nil {
		return fmt.Errorf("store %s event: %w", e.Field, err)
	}
	return nil
}
