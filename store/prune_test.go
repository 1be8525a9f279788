package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

// clock is a store clock a test moves by hand.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)     { c.ms.Store(t.UnixMilli()) }
func (c *clock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *clock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// openAt opens a new database whose clock is clk.
func openAt(t testing.TB, clk *clock) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "balas.db"), Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// exchange stores what one customer message leaves behind: the delivery,
// the inbound message, a reply with its outbox row (completed as outcome
// says: sent, failed, or left pending), a status for the reply and an
// account_update event. It returns the reply's outbox and message ids.
func exchange(t *testing.T, db *DB, customer, wamid, outcome string) (outboxID, replyID int64) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *Tx) error {
		inbox, err := tx.InsertDelivery([]byte(`{"object":"whatsapp_business_account"}`), true)
		if err != nil {
			return err
		}
		c, err := tx.Conversation("113355779900246", customer)
		if err != nil {
			return err
		}
		if _, err := tx.InsertInbound(engine.InboundRecord{ConversationID: c.ID, InboxID: inbox, DedupeKey: wamid, Wamid: wamid,
			Type: "text", Text: "halo", Outcome: "answered", Timestamp: tx.Now()}); err != nil {
			return err
		}
		c.State = "menu"
		if err := tx.SaveConversation(c); err != nil {
			return err
		}
		if err := tx.InsertReply(engine.ReplyRecord{ConversationID: c.ID, To: engine.Recipient{PhoneNumberID: "113355779900246", Number: customer},
			Reply: rules.Reply{Kind: "text", Text: "Hai!"}, ContextWamid: wamid, WindowStart: tx.Now()}); err != nil {
			return err
		}
		outboxID = tx.queued[len(tx.queued)-1].ID
		replyID = tx.queued[len(tx.queued)-1].MessageID
		return tx.RecordEvent(engine.EventRecord{InboxID: inbox, Field: "account_update", Payload: []byte(`{}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if outcome == OutboxStatePending {
		return outboxID, replyID
	}
	sent := "wamid.out." + wamid
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: outboxID, Kind: OutboxMessage, MessageID: replyID, State: outcome, Wamid: sent, ErrorCode: "131026"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.RecordStatus(engine.StatusRecord{Wamid: sent, Status: "delivered", Payload: []byte(`{}`)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return outboxID, replyID
}

func count(t *testing.T, db *DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Reader().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPruneDeletesOldRowsAndKeepsWhatIsNeeded(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clk := newClock(start)
	db := openAt(t, clk)
	ctx := context.Background()

	// January: three answered messages, one reply that failed, one still
	// pending (Meta kept failing), and a delivery that could not be handled.
	for i := range 3 {
		exchange(t, db, "6281200000001", fmt.Sprintf("wamid.old.%d", i), OutboxStateSent)
	}
	exchange(t, db, "6281200000002", "wamid.old.failed", OutboxStateFailed)
	pendingOutbox, pendingReply := exchange(t, db, "6281200000003", "wamid.old.pending", OutboxStatePending)
	unhandled, err := db.StoreDelivery(ctx, []byte(`{"broken":true}`))
	if err != nil {
		t.Fatal(err)
	}
	// March: the customer writes again.
	clk.set(start.AddDate(0, 2, 0))
	exchange(t, db, "6281200000001", "wamid.new", OutboxStateSent)

	got, err := db.Prune(ctx, start.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := PruneCounts{Outbox: 4, Messages: 5 + 4, Inbox: 5, Statuses: 4, Events: 5}
	if got != want {
		t.Errorf("Prune deleted %+v, want %+v", got, want)
	}

	checks := []struct {
		what  string
		query string
		args  []any
		want  int64
	}{
		{"conversations (state and session) are never pruned", `SELECT count(*) FROM conversations WHERE state = 'menu'`, nil, 3},
		{"the pending reply's outbox row stays", `SELECT count(*) FROM outbox WHERE id = ?`, []any{pendingOutbox}, 1},
		{"the pending reply's message stays", `SELECT count(*) FROM messages WHERE id = ?`, []any{pendingReply}, 1},
		{"the delivery not yet handled stays", `SELECT count(*) FROM inbox WHERE id = ?`, []any{unhandled}, 1},
		{"March's inbound message stays", `SELECT count(*) FROM messages WHERE wamid = 'wamid.new'`, nil, 1},
		{"March's reply stays", `SELECT count(*) FROM messages WHERE wamid = 'wamid.out.wamid.new'`, nil, 1},
		{"March's status stays", `SELECT count(*) FROM statuses`, nil, 1},
		{"March's event stays", `SELECT count(*) FROM events`, nil, 1},
		{"March's delivery stays", `SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL`, nil, 1},
		{"March's outbox row and the pending one", `SELECT count(*) FROM outbox`, nil, 2},
		{"messages left: March's two and the pending reply", `SELECT count(*) FROM messages`, nil, 3},
		{"no row points at a deleted one", `SELECT count(*) FROM pragma_foreign_key_check`, nil, 0},
	}
	for _, c := range checks {
		if n := count(t, db, c.query, c.args...); n != c.want {
			t.Errorf("%s: %d rows, want %d", c.what, n, c.want)
		}
	}

	// Nothing more to do: a second pass deletes nothing.
	if again, err := db.Prune(ctx, start.AddDate(0, 1, 0)); err != nil || again.Total() != 0 {
		t.Errorf("second Prune = %+v, %v; want nothing deleted", again, err)
	}
	// Once sent, the old reply and its message go at the next pass.
	if err := db.CompleteOutbox(ctx, OutboxResult{ID: pendingOutbox, Kind: OutboxMessage, MessageID: pendingReply, State: OutboxStateSent, Wamid: "wamid.late"}); err != nil {
		t.Fatal(err)
	}
	if again, err := db.Prune(ctx, start.AddDate(0, 1, 0)); err != nil || again != (PruneCounts{Outbox: 1, Messages: 1}) {
		t.Errorf("Prune after the pending reply was sent = %+v, %v; want its outbox row and message", again, err)
	}
}

func TestPruneWorksInChunksAndStopsAtTheFirstRecentRow(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clk := newClock(start)
	db := openAt(t, clk)
	ctx := context.Background()
	events := func(n int) {
		if err := db.Write(ctx, func(tx *Tx) error {
			for range n {
				if err := tx.RecordEvent(engine.EventRecord{Field: "account_update"}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	old := 3*pruneChunk + 7 // several write jobs
	events(old)
	clk.add(30 * 24 * time.Hour)
	events(5)
	// The clock was set back: a row older than the cut-off after recent
	// ones. Ids grow with time, so the pass stops at the first recent row
	// and leaves it (it goes at a later pass, once the rows before it do).
	clk.set(start)
	events(1)

	got, err := db.Prune(ctx, start.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got != (PruneCounts{Events: int64(old)}) {
		t.Errorf("Prune deleted %+v, want %d events", got, old)
	}
	if n := count(t, db, `SELECT count(*) FROM events`); n != 6 {
		t.Errorf("%d events left, want 6", n)
	}
}

func TestPruneStopsWithItsContext(t *testing.T) {
	db := openTest(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Prune(ctx, time.Now()); err == nil {
		t.Error("Prune with a cancelled context returned no error")
	}
}

// BenchmarkPruneChunk measures deleting a chunk of old exchanges (inbound
// message, reply, outbox row, delivery, status, event each) from a database
// that holds 20,000 of them: the writer time one prune job takes.
func BenchmarkPruneChunk(b *testing.B) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clk := newClock(start)
	db := openAt(b, clk)
	ctx := context.Background()
	const total = 20000
	for i := 0; i < total; i += 1000 {
		err := db.Write(ctx, func(tx *Tx) error {
			for j := i; j < i+1000; j++ {
				c, err := tx.Conversation("113355779900246", fmt.Sprintf("62812%07d", j%500))
				if err != nil {
					return err
				}
				wamid := fmt.Sprintf("wamid.%d", j)
				if _, err := tx.InsertInbound(engine.InboundRecord{ConversationID: c.ID, DedupeKey: wamid, Wamid: wamid, Type: "text", Text: "halo", Timestamp: tx.Now()}); err != nil {
					return err
				}
				if err := tx.InsertReply(engine.ReplyRecord{ConversationID: c.ID, To: engine.Recipient{PhoneNumberID: "113355779900246", Number: "62812"},
					Reply: rules.Reply{Kind: "text", Text: "Hai!"}, WindowStart: tx.Now()}); err != nil {
					return err
				}
				if _, err := tx.Exec(`UPDATE outbox SET state = 'sent' WHERE id = ?`, tx.queued[len(tx.queued)-1].ID); err != nil {
					return err
				}
				if _, err := tx.InsertDelivery([]byte(`{"object":"whatsapp_business_account"}`), true); err != nil {
					return err
				}
				if _, err := tx.RecordStatus(engine.StatusRecord{Wamid: "out." + wamid, Status: "sent"}); err != nil {
					return err
				}
				if err := tx.RecordEvent(engine.EventRecord{Field: "account_update"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		clk.add(time.Minute)
	}
	cut := start.Add(time.Hour).UnixMilli()
	b.ResetTimer()
	var rows, after int64
	for i := 0; i < b.N; i++ {
		t := pruneTables[i%len(pruneTables)]
		var n int64
		var done bool
		if err := db.Write(ctx, func(tx *Tx) error {
			var err error
			n, after, done, err = tx.pruneChunk(t, 0, cut)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if done && n == 0 {
			b.Fatalf("nothing left to prune in %s after %d rounds: raise total", t.name, i)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	_ = after
}

// Ids only grow: the sender reads the outbox after the last id it saw, so
// a table pruned empty would give its next row an id already seen.
func TestPruneKeepsIdsGrowing(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clk := newClock(start)
	db := openAt(t, clk)
	ctx := context.Background()
	var lastOutbox int64
	for i := range 3 {
		lastOutbox, _ = exchange(t, db, "6281200000001", fmt.Sprintf("wamid.%d", i), OutboxStateSent)
	}
	clk.add(60 * 24 * time.Hour)
	if _, err := db.Prune(ctx, clk.now()); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"outbox", "messages", "inbox", "statuses", "events"} {
		if n := count(t, db, `SELECT count(*) FROM `+table); n != 1 {
			t.Errorf("%s: %d rows left, want its last one", table, n)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("%d rows point at deleted ones", n)
	}
	if next, _ := exchange(t, db, "6281200000001", "wamid.next", OutboxStateSent); next <= lastOutbox {
		t.Errorf("the next outbox row got id %d, not above %d", next, lastOutbox)
	}
}
