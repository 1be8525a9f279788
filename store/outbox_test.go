package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// seedConversation inserts a conversation and one queued outbound message.
func seedConversation(t *testing.T, db *DB, customer string) (convID, msgID int64) {
	t.Helper()
	err := db.Write(context.Background(), func(tx *Tx) error {
		now := tx.Now().UnixMilli()
		res, err := tx.Exec(`INSERT INTO conversations (phone_number_id, customer, wa_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			"113355779900246", customer, customer, now, now)
		if err != nil {
			return err
		}
		convID, _ = res.LastInsertId()
		res, err = tx.Exec(`INSERT INTO messages (direction, conversation_id, type, status, payload, created_at, updated_at)
			VALUES ('out', ?, 'text', 'queued', '{}', ?, ?)`, convID, now, now)
		if err != nil {
			return err
		}
		msgID, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return convID, msgID
}

func enqueue(t *testing.T, db *DB, it OutboxItem) int64 {
	t.Helper()
	var id int64
	if err := db.Write(context.Background(), func(tx *Tx) error {
		var err error
		id, err = tx.EnqueueOutbox(it)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

type msgRow struct {
	wamid, status, title string
	code                 int
}

func readMessage(t *testing.T, db *DB, id int64) msgRow {
	t.Helper()
	var m msgRow
	if err := db.Reader().QueryRow(`SELECT wamid, status, error_code, error_title FROM messages WHERE id = ?`, id).
		Scan(&m.wamid, &m.status, &m.code, &m.title); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOutboxEnqueueAndList(t *testing.T) {
	ctx := context.Background()
	clock := time.UnixMilli(1789365600000)
	db, err := Open(ctx, t.TempDir()+"/b.db", Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conv, msg := seedConversation(t, db, "6281234567890")
	window := clock.Add(-time.Hour)
	id1 := enqueue(t, db, OutboxItem{ConversationID: conv, PhoneNumberID: "113355779900246", ToNumber: "6281234567890",
		Kind: OutboxRead, ContextWamid: "wamid.in", WindowStart: window})
	id2 := enqueue(t, db, OutboxItem{ConversationID: conv, MessageID: msg, PhoneNumberID: "113355779900246",
		ToNumber: "6281234567890", ToUserID: "ID.1", Kind: OutboxMessage, Reply: []byte(`{"kind":"text","text":"hai"}`),
		ContextWamid: "wamid.in", WindowStart: window})
	if id2 <= id1 {
		t.Fatalf("ids %d, %d not increasing", id1, id2)
	}
	if err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.EnqueueOutbox(OutboxItem{ConversationID: conv, PhoneNumberID: "x", Kind: "fax"})
		return err
	}); err == nil {
		t.Fatal("unknown kind accepted")
	}

	items, err := db.PendingOutbox(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d pending, want 2", len(items))
	}
	got := items[1]
	if got.ID != id2 || got.MessageID != msg || got.ConversationID != conv || got.Kind != "message" ||
		string(got.Reply) != `{"kind":"text","text":"hai"}` || got.ToUserID != "ID.1" || got.ContextWamid != "wamid.in" ||
		!got.WindowStart.Equal(window) || !got.NextAttemptAt.Equal(clock) || got.Attempts != 0 {
		t.Fatalf("round trip: %+v", got)
	}
	if items[0].MessageID != 0 || items[0].Reply != nil {
		t.Fatalf("receipt: %+v", items[0])
	}
	after, err := db.PendingOutbox(ctx, id1, 10)
	if err != nil || len(after) != 1 || after[0].ID != id2 {
		t.Fatalf("afterID: %+v %v", after, err)
	}
	if n, err := db.OutboxPending(ctx); err != nil || n != 2 {
		t.Fatalf("pending count %d %v", n, err)
	}

	// A retry stays pending with its new schedule.
	next := clock.Add(3 * time.Second)
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: id2, State: "pending", Attempts: 1, NextAttemptAt: next,
		ErrorCode: "http_500", LastError: "boom"}); err != nil {
		t.Fatal(err)
	}
	items, _ = db.PendingOutbox(ctx, id1, 10)
	if len(items) != 1 || items[0].Attempts != 1 || !items[0].NextAttemptAt.Equal(next) {
		t.Fatalf("after retry: %+v", items)
	}
	if m := readMessage(t, db, msg); m.status != "queued" {
		t.Fatalf("retry touched the message: %+v", m)
	}

	if err := db.CompleteOutbox(ctx, OutboxResult{ID: id1, State: "sent", Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: id2, State: "sent", Wamid: "wamid.out", Attempts: 2}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.OutboxPending(ctx); n != 0 {
		t.Fatalf("pending after sent: %d", n)
	}
	if m := readMessage(t, db, msg); m.wamid != "wamid.out" || m.status != "sent" {
		t.Fatalf("message after sent: %+v", m)
	}
	// An outcome is recorded once: a late failure does not overwrite sent.
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: id2, State: "failed", ErrorCode: "131047"}); err != nil {
		t.Fatal(err)
	}
	if m := readMessage(t, db, msg); m.status != "sent" {
		t.Fatalf("sent row overwritten: %+v", m)
	}
	var state, wamid string
	var attempts int
	db.Reader().QueryRow(`SELECT state, wamid, attempts FROM outbox WHERE id = ?`, id2).Scan(&state, &wamid, &attempts)
	if state != "sent" || wamid != "wamid.out" || attempts != 2 {
		t.Fatalf("outbox row: %s %s %d", state, wamid, attempts)
	}
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: 999, State: "sent"}); err == nil {
		t.Fatal("unknown row accepted")
	}
}

func TestCompleteOutboxFailed(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	conv, msg := seedConversation(t, db, "6281234567890")
	id := enqueue(t, db, OutboxItem{ConversationID: conv, MessageID: msg, PhoneNumberID: "p", ToNumber: "6281234567890",
		Kind: "message", Reply: []byte(`{"kind":"text"}`), WindowStart: time.Now()})
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: id, State: "failed", Attempts: 1, ErrorCode: "131047",
		LastError: "(#131047) Re-engagement message"}); err != nil {
		t.Fatal(err)
	}
	m := readMessage(t, db, msg)
	if m.status != "failed" || m.code != 131047 || m.title != "(#131047) Re-engagement message" {
		t.Fatalf("message: %+v", m)
	}
	var code string
	db.Reader().QueryRow(`SELECT error_code FROM outbox WHERE id = ?`, id).Scan(&code)
	if code != "131047" {
		t.Fatalf("outbox error_code %q", code)
	}
	// Non-numeric codes (network, http_NNN) leave error_code 0.
	conv2, msg2 := seedConversation(t, db, "6285712345678")
	id2 := enqueue(t, db, OutboxItem{ConversationID: conv2, MessageID: msg2, PhoneNumberID: "p", ToNumber: "1",
		Kind: "message", Reply: []byte(`{}`)})
	db.CompleteOutbox(ctx, OutboxResult{ID: id2, State: "failed", ErrorCode: "network", LastError: "gave up"})
	if m := readMessage(t, db, msg2); m.status != "failed" || m.code != 0 {
		t.Fatalf("message: %+v", m)
	}
}

// A status webhook can be stored before the send's answer is recorded.
func TestCompleteOutboxKeepsEarlierStatuses(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	cases := []struct {
		name     string
		statuses []string
		want     string
		code     int
	}{
		{"none", nil, "sent", 0},
		{"delivered", []string{"delivered"}, "delivered", 0},
		{"read before delivered", []string{"read", "delivered", "sent"}, "read", 0},
		{"played", []string{"delivered", "played", "read"}, "played", 0},
		{"failed wins", []string{"sent", "failed", "delivered"}, "failed", 131026},
		{"unknown status ignored", []string{"deleted"}, "sent", 0},
		{"unknown status beside delivered", []string{"delivered", "warning"}, "delivered", 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv, msg := seedConversation(t, db, "62800"+string(rune('0'+i)))
			wamid := "wamid.case." + c.name
			for _, s := range c.statuses {
				code := 0
				if s == "failed" {
					code = 131026
				}
				if err := db.Write(ctx, func(tx *Tx) error {
					_, err := tx.Exec(`INSERT INTO statuses (wamid, status, error_code, error_title, payload, created_at) VALUES (?, ?, ?, ?, '{}', 0)`,
						wamid, s, code, map[bool]string{true: "Message undeliverable"}[code != 0])
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			id := enqueue(t, db, OutboxItem{ConversationID: conv, MessageID: msg, PhoneNumberID: "p", ToNumber: "1",
				Kind: "message", Reply: []byte(`{}`)})
			if err := db.CompleteOutbox(ctx, OutboxResult{ID: id, State: "sent", Wamid: wamid, Attempts: 1}); err != nil {
				t.Fatal(err)
			}
			m := readMessage(t, db, msg)
			if m.wamid != wamid || m.status != c.want || m.code != c.code {
				t.Fatalf("got %+v, want status %s code %d", m, c.want, c.code)
			}
		})
	}
}

// A status webhook must find its outbound message through the index, not
// by scanning every message ever stored.
func TestStatusQueryUsesIndex(t *testing.T) {
	db := openTest(t, "")
	q := strings.NewReplacer("?1", "'read'", "?2", "0", "?3", "''", "?4", "0", "?5", "'wamid.x'").Replace(applyStatus)
	if got := queryPlan(t, db, q); !strings.Contains(got, "USING INDEX messages_out_wamid") {
		t.Fatalf("status update plan %q, want a search using messages_out_wamid", got)
	}
	// Every send's outcome probes statuses: a search, never a scan.
	q = strings.NewReplacer("?1", "'wamid.x'", "?2", "0", "?3", "1").Replace(completeSentNoStatus)
	if got := queryPlan(t, db, q); strings.Contains(got, "SCAN") || !strings.Contains(got, "SEARCH statuses USING") {
		t.Fatalf("send outcome plan %q, want searches only", got)
	}
}

func queryPlan(t *testing.T, db *DB, q string) string {
	t.Helper()
	rows, err := db.Reader().Query("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// HandedOver moves past a row only once OnQueued's fn was told of its
// commit; rows of an earlier run count as handed over.
func TestHandedOver(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/b.db"
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := db.HandedOver(); got != 0 {
		t.Fatalf("empty outbox: HandedOver %d, want 0", got)
	}
	conv, _ := seedConversation(t, db, "6281234567890")
	item := OutboxItem{ConversationID: conv, PhoneNumberID: "113355779900246", ToNumber: "6281234567890",
		Kind: OutboxRead, ContextWamid: "wamid.in"}
	first := enqueue(t, db, item) // nobody listening: handed over to nobody
	if got := db.HandedOver(); got != first {
		t.Fatalf("HandedOver %d, want %d", got, first)
	}
	var during int64
	db.OnQueued(func([]OutboxItem) { during = db.HandedOver() })
	second := enqueue(t, db, item)
	if during != first {
		t.Fatalf("HandedOver was %d while fn was told of row %d, want %d", during, second, first)
	}
	if got := db.HandedOver(); got != second {
		t.Fatalf("HandedOver %d after fn, want %d", got, second)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path)
	if got := db.HandedOver(); got != second {
		t.Fatalf("after reopen: HandedOver %d, want %d", got, second)
	}
}
