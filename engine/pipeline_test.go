package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/rules"
	"github.com/balas-bot/balas/store"
)

const pipelineRules = `version: 1
settings:
  session_ttl: 30m
  timezone: Asia/Jakarta
rules:
  - id: admin
    when: {keywords: [admin]}
    handoff: 2h
    reply: Admin akan membalas.
  - id: order
    when: {keywords: [order]}
    goto: awaiting_address
    reply: Kirim alamat kamu.
  - id: alamat
    when: {state: awaiting_address, type: text}
    goto: ""
    set: {alamat: "{{ message.text }}"}
    reply: "Dikirim ke {{ message.text }}"
  - id: suka
    when: {type: reaction, expr: 'message.text == "never"'}
    reply: never sent
  - id: echo
    when: {regex: '^echo (?P<n>\d+)$'}
    reply: "echo {{ match.n }}"
  - id: sapa
    when: {keywords: [halo]}
    reply: "Hai {{ contact.name }}!"
  - id: bantuan
    fallback: true
    reply: Maaf, aku belum paham.
`

// counter is an engine.Observer that counts.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) { c.mu.Lock(); c.n[k]++; c.mu.Unlock() }
func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}
func (c *counter) Inbound(t string)    { c.add("in:" + t) }
func (c *counter) Duplicate()          { c.add("duplicate") }
func (c *counter) RuleHit(rule string) { c.add("hit:" + rule) }
func (c *counter) Unmatched()          { c.add("unmatched") }
func (c *counter) Status(s string)     { c.add("status:" + s) }
func (c *counter) Event(f string)      { c.add("event:" + f) }

type rig struct {
	db    *store.DB
	p     *engine.Pipeline
	obs   *counter
	clock time.Time
	mu    sync.Mutex
	sent  []store.OutboxItem // what commits handed to the sender, in order
}

// handed is what the commits handed to the sender so far (replies with
// their outbox ids, receipts with id 0), in order.
func (r *rig) handed() []store.OutboxItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

func (r *rig) now() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.clock }
func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	r.clock = r.clock.Add(d)
	r.mu.Unlock()
}

func newRig(t testing.TB) *rig {
	t.Helper()
	return newRigWith(t, pipelineRules)
}

// newRigWith is a rig answering with the rules src.
func newRigWith(t testing.TB, src string) *rig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	set, diags, err := rules.Load(filepath.Join(dir, "shop.yaml"))
	if err != nil {
		t.Fatalf("rules: %v %v", err, diags)
	}
	r := &rig{obs: &counter{n: map[string]int{}}, clock: time.Date(2026, 9, 14, 13, 0, 0, 0, time.UTC)}
	r.db, err = store.Open(context.Background(), filepath.Join(dir, "balas.db"), store.Options{Now: r.now})
	if err != nil {
		t.Fatal(err)
	}
	r.db.OnQueued(func(items []store.OutboxItem) {
		r.mu.Lock()
		r.sent = append(r.sent, items...)
		r.mu.Unlock()
	})
	t.Cleanup(func() { r.db.Close() })
	r.p = engine.NewPipeline(r.db, engine.New(set), engine.PipelineOptions{Now: r.now, Observer: r.obs})
	return r
}

func (r *rig) accept(t *testing.T, body []byte) {
	t.Helper()
	if err := r.p.Accept(context.Background(), body); err != nil {
		t.Fatalf("accept: %v", err)
	}
}

func (r *rig) text(from, text string) []byte {
	return webhook.Fake{From: from, Name: "Budi", Text: text, Timestamp: r.now()}.Body()
}

// replies lists the queued reply texts (not receipts) to a number, in order.
func (r *rig) replies(t *testing.T, to string) []string {
	t.Helper()
	items, err := r.db.PendingOutbox(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if it.Kind != "message" || it.ToNumber != to {
			continue
		}
		var rep rules.Reply
		if err := json.Unmarshal(it.Reply, &rep); err != nil {
			t.Fatal(err)
		}
		out = append(out, rep.Text)
	}
	return out
}

func (r *rig) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := r.db.Reader().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPipelineAnswersAndQueuesInOrder(t *testing.T) {
	r := newRig(t)
	r.accept(t, r.text("6281111", "Halo kak"))
	r.accept(t, r.text("6281111", "mau order"))
	r.accept(t, r.text("6281111", "Jl. Merdeka 1"))
	want := []string{"Hai Budi!", "Kirim alamat kamu.", "Dikirim ke Jl. Merdeka 1"}
	if got := r.replies(t, "6281111"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
	// A read receipt goes to the sender before each reply; only the
	// replies are stored in the outbox.
	var kinds []string
	for _, it := range r.handed() {
		kinds = append(kinds, it.Kind)
		if (it.Kind == "read") != (it.ID == 0) {
			t.Fatalf("%s item has outbox id %d: receipts are not stored, replies are", it.Kind, it.ID)
		}
	}
	if got := strings.Join(kinds, ","); got != "read,message,read,message,read,message" {
		t.Fatalf("kinds handed to the sender %s", got)
	}
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE kind <> 'message'`); n != 0 {
		t.Fatalf("%d receipts stored in the outbox, want none", n)
	}
	// Each reply records the receipt queued before it (sent again after a
	// restart).
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE receipt = 'read'`); n != 3 {
		t.Fatalf("%d replies record their read receipt, want 3", n)
	}
	if n := r.count(t, `SELECT count(*) FROM messages WHERE direction = 'in' AND outcome = 'answered'`); n != 3 {
		t.Fatalf("%d inbound messages recorded as answered, want 3", n)
	}
	var state, session string
	r.db.Reader().QueryRow(`SELECT state, session FROM conversations WHERE customer = '6281111'`).Scan(&state, &session)
	if state != "" || !strings.Contains(session, "Jl. Merdeka 1") {
		t.Fatalf("conversation state %q session %s", state, session)
	}
	if r.obs.get("hit:alamat") != 1 || r.obs.get("in:text") != 3 {
		t.Fatalf("observer: %v", r.obs.n)
	}
}

func TestPipelineHandlesEachMessageOnce(t *testing.T) {
	r := newRig(t)
	body := r.text("6282222", "halo")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.accept(t, body) }()
	}
	wg.Wait()
	r.accept(t, body) // and once more, later
	if got := r.replies(t, "6282222"); len(got) != 1 {
		t.Fatalf("%d replies to 11 copies of one message, want 1", len(got))
	}
	if r.obs.get("duplicate") != 10 {
		t.Fatalf("%d duplicates counted, want 10", r.obs.get("duplicate"))
	}
	if n := r.count(t, `SELECT count(*) FROM inbox`); n != 11 {
		t.Fatalf("%d deliveries stored, want all 11", n)
	}
}

func TestPipelineSessionTTLAndHandoff(t *testing.T) {
	r := newRig(t)
	r.accept(t, r.text("6283333", "order"))
	r.advance(31 * time.Minute) // past session_ttl: the state is gone
	r.accept(t, r.text("6283333", "Jl. Sudirman"))
	r.accept(t, r.text("6283333", "admin"))
	r.advance(time.Hour)
	r.accept(t, r.text("6283333", "halo")) // in handoff: stored, not answered
	r.advance(61 * time.Minute)
	r.accept(t, r.text("6283333", "halo")) // handoff over
	want := []string{"Kirim alamat kamu.", "Maaf, aku belum paham.", "Admin akan membalas.", "Hai Budi!"}
	if got := r.replies(t, "6283333"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if n := r.count(t, `SELECT count(*) FROM messages WHERE outcome = 'handoff'`); n != 1 {
		t.Fatalf("%d messages recorded during handoff, want 1", n)
	}
}

func TestPipelineStatusesNeverGoBackwards(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.accept(t, r.text("6281398765401", "halo"))
	items, _ := r.db.PendingOutbox(ctx, 0, 10)
	var reply store.OutboxItem
	for _, it := range items {
		if it.Kind == "message" {
			reply = it
		}
	}
	// The status fixtures are about one wamid; pretend our reply got it.
	var fixture struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Statuses []struct{ ID string } `json:"statuses"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	read := readFile(t, "status_read.json")
	json.Unmarshal(read, &fixture)
	wamid := fixture.Entry[0].Changes[0].Value.Statuses[0].ID
	if err := r.db.CompleteOutbox(ctx, store.OutboxResult{ID: reply.ID, State: "sent", Wamid: wamid, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		var s string
		r.db.Reader().QueryRow(`SELECT status FROM messages WHERE wamid = ?`, wamid).Scan(&s)
		return s
	}
	r.accept(t, read)
	r.accept(t, readFile(t, "status_delivered.json")) // late: must not move back
	r.accept(t, readFile(t, "status_read.json"))      // copy: stored once
	if got := status(); got != "read" {
		t.Fatalf("status %q after read then a late delivered, want read", got)
	}
	if n := r.count(t, `SELECT count(*) FROM statuses WHERE wamid = ?`, wamid); n != 2 {
		t.Fatalf("%d status rows, want 2 (read, delivered)", n)
	}
	if r.obs.get("status:read") != 1 {
		t.Fatalf("read counted %d times, want 1", r.obs.get("status:read"))
	}
	// A failed status records Meta's code on its message.
	r.accept(t, readFile(t, "status_failed.json"))
	var code int
	r.db.Reader().QueryRow(`SELECT error_code FROM statuses WHERE status = 'failed'`).Scan(&code)
	if code != 131047 {
		t.Fatalf("failed status code %d, want 131047", code)
	}
	if n := r.count(t, `SELECT count(*) FROM messages WHERE direction = 'out'`); n != 1 {
		t.Fatalf("%d outbound messages; statuses must not produce replies", n)
	}
}

func TestPipelineStoresOtherFieldsAndOddMessages(t *testing.T) {
	r := newRig(t)
	r.accept(t, readFile(t, "account_update.json"))
	r.accept(t, readFile(t, "reaction.json")) // a ❤️: not answered by the fallback
	r.accept(t, readFile(t, "system.json"))   // number change: stored, never answered
	r.accept(t, []byte(`{"object":"whatsapp_business_account","entry":"not a list"}`))
	if n := r.count(t, `SELECT count(*) FROM events WHERE field = 'account_update'`); n != 1 {
		t.Fatalf("%d account_update events, want 1", n)
	}
	if n := r.count(t, `SELECT count(*) FROM messages WHERE direction = 'in' AND type IN ('reaction', 'system') AND outcome = 'unmatched'`); n != 2 {
		t.Fatalf("%d reaction/system messages stored as unmatched, want 2", n)
	}
	if n := r.obs.get("unmatched"); n != 2 {
		t.Fatalf("balas_unmatched_total counted %d, want the reaction and the system message", n)
	}
	if n := r.count(t, `SELECT count(*) FROM messages WHERE direction = 'out'`); n != 0 {
		t.Fatalf("%d replies, want none", n)
	}
	var reason string
	if err := r.db.Reader().QueryRow(`SELECT error FROM inbox ORDER BY id DESC LIMIT 1`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "undecodable") {
		t.Fatalf("undecodable delivery recorded with %q", reason)
	}
	if n := r.count(t, `SELECT count(*) FROM inbox WHERE processed_at IS NULL`); n != 0 {
		t.Fatalf("%d deliveries left unprocessed", n)
	}
}

func TestPipelineBatchAndUsernameCustomers(t *testing.T) {
	r := newRig(t)
	r.accept(t, readFile(t, "batch_multi.json"))
	if n := r.count(t, `SELECT count(*) FROM conversations`); n != 3 {
		t.Fatalf("%d conversations from a batch of 3 senders, want 3", n)
	}
	if n := r.count(t, `SELECT count(*) FROM outbox WHERE kind = 'message'`); n != 3 {
		t.Fatalf("%d replies to a batch of 3 messages, want 3", n)
	}
	if n := r.count(t, `SELECT count(DISTINCT phone_number_id) FROM outbox`); n != 2 {
		t.Fatalf("replies from %d business numbers, want 2 (each from the number that received)", n)
	}
	// A customer with a username and no phone number is answered by user id.
	r.accept(t, webhook.Fake{UserID: "ID.555", Name: "Ayu", Text: "halo", Timestamp: r.now()}.Body())
	var to, user string
	r.db.Reader().QueryRow(`SELECT to_number, to_user_id FROM outbox WHERE kind = 'message' ORDER BY id DESC LIMIT 1`).Scan(&to, &user)
	if to != "" || user != "ID.555" {
		t.Fatalf("reply to %q / user %q, want the user id", to, user)
	}
}

func TestPipelineRecoverHandlesStoredDeliveries(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	// As after a crash between storing and handling: raw rows only.
	for i := 0; i < 3; i++ {
		if _, err := r.db.StoreDelivery(ctx, r.text("6284444", fmt.Sprintf("echo %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	n, err := r.p.Recover(ctx)
	if err != nil || n != 3 {
		t.Fatalf("recovered %d, %v; want 3", n, err)
	}
	if got := r.replies(t, "6284444"); strings.Join(got, ",") != "echo 0,echo 1,echo 2" {
		t.Fatalf("replies %q", got)
	}
	if n, _ := r.p.Recover(ctx); n != 0 {
		t.Fatalf("second recover handled %d again", n)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPipelineKeepsDeliveryWhenHandlingPanics(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	good := r.p.Bot()
	// A rule set that makes the engine panic (a nil message to render).
	r.p.SetBot(engine.New(&rules.Set{Rules: []*rules.Rule{{ID: "boom", Reply: []*rules.Message{nil}}}}))
	body := r.text("6285555", "halo")
	if err := r.p.Accept(ctx, body); err != nil {
		t.Fatalf("accept: %v (the delivery must be stored even when handling fails)", err)
	}
	var reason string
	var processed any
	if err := r.db.Reader().QueryRow(`SELECT error, processed_at FROM inbox`).Scan(&reason, &processed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "panicked") || processed != nil {
		t.Fatalf("inbox error %q, processed_at %v; want the panic recorded and the delivery left to retry", reason, processed)
	}
	if n := r.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored by a failed handling", n)
	}
	// Fixed rules: the next start handles it.
	r.p.SetBot(good)
	if n, err := r.p.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("recover: %d, %v", n, err)
	}
	if got := r.replies(t, "6285555"); len(got) != 1 || got[0] != "Hai Budi!" {
		t.Fatalf("replies after recovery %q", got)
	}
}

// FuzzPipelineAccept feeds arbitrary webhook bodies through the whole
// pipeline into SQLite: nothing may panic, every JSON object must be stored,
// and anything else refused with ErrNotJSONObject and not stored.
func FuzzPipelineAccept(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"1","id":"w","type":"interactive"}]}}]}]}`))
	for _, b := range notObjects {
		f.Add([]byte(b))
	}
	r := newRig(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		// max(id), not count(*): the table grows with every input, and a
		// count would make each run slower than the last.
		before := r.count(t, `SELECT COALESCE(max(id), 0) FROM inbox`)
		err := r.p.Accept(context.Background(), body)
		after := r.count(t, `SELECT COALESCE(max(id), 0) FROM inbox`)
		object := json.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
		switch {
		case object && err != nil:
			t.Fatalf("accept: %v", err)
		case object && after != before+1:
			t.Fatalf("delivery not stored: last id %d → %d", before, after)
		case !object && !errors.Is(err, engine.ErrNotJSONObject):
			t.Fatalf("%q accepted: %v", body, err)
		case !object && after != before:
			t.Fatalf("%q stored", body)
		}
	})
}

// notObjects are bodies that are not one JSON object.
var notObjects = []string{"", "  ", "hello", "null", "[]", `[{"object":"whatsapp_business_account"}]`, `"x"`, "1",
	`{"object":"whatsapp_business_account"`, `{"a":1}{"b":2}`, `{"a":1} x`, `{"a":tru}`, "{\"a\":\"\xff\x00\"}"}

func TestPipelineRefusesWhatIsNotAJSONObject(t *testing.T) {
	r := newRig(t)
	for _, b := range notObjects {
		if err := r.p.Accept(context.Background(), []byte(b)); !errors.Is(err, engine.ErrNotJSONObject) {
			t.Errorf("%q: err %v, want ErrNotJSONObject", b, err)
		}
	}
	if n := r.count(t, `SELECT count(*) FROM inbox`); n != 0 {
		t.Fatalf("%d refused bodies stored", n)
	}
	// A JSON object that is not a delivery the decoder understands is
	// Meta's all the same: stored, with the reason.
	if err := r.p.Accept(context.Background(), []byte(`{"object":"whatsapp_business_account","entry":"not a list"}`)); err != nil {
		t.Fatal(err)
	}
	if n := r.count(t, `SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL`); n != 1 {
		t.Fatalf("undecodable object: %d rows stored and marked, want 1", n)
	}
}

// BenchmarkPipelineAccept measures what the store's writer does per
// message, without HTTP: 64 goroutines hand signed-off "halo" deliveries
// from 1,000 customers to Pipeline.Accept, which stores each, decides, updates
// the conversation and queues a receipt and a reply, group-committed into a
// real SQLite file (WAL, synchronous=FULL).
func BenchmarkPipelineAccept(b *testing.B) {
	r := newRig(b)
	r.db.OnQueued(func([]store.OutboxItem) {}) // the sender is not measured here
	// Logs are formatted as in production, then dropped.
	p := engine.NewPipeline(r.db, r.p.Bot(), engine.PipelineOptions{Now: r.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = webhook.Fake{From: fmt.Sprintf("6281%07d", i%1000), Name: "Budi", Text: "halo",
			WamID: fmt.Sprintf("wamid.bench.%d", i), Timestamp: r.now()}.Body()
	}
	var next atomic.Int64
	b.SetParallelism(32) // × GOMAXPROCS goroutines, like the webhook's connections
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.Accept(context.Background(), bodies[next.Add(1)-1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// reactionBody is a ❤️ from a phone-number customer on the fixture business.
func reactionBody(from, wamid string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"%s","changes":[{"value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"%s","phone_number_id":"%s"},
"contacts":[{"profile":{"name":"Budi"},"wa_id":"%s"}],
"messages":[{"from":"%s","id":"%s","timestamp":"%d","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"\u2764\ufe0f"}}]},
"field":"messages"}]}]}`, webhook.FakeWABAID, webhook.FakeDisplayPhoneNumber, webhook.FakePhoneNumberID, from, from, wamid, at.Unix()))
}

// A message that gets no answer (a reaction no rule asks for) still ages
// the conversation: a state past session_ttl resets, instead of being kept
// alive by the reaction's fresh timestamp.
func TestIgnoredReactionEndsAnExpiredSession(t *testing.T) {
	r := newRig(t)
	r.accept(t, r.text("6286666", "order")) // state awaiting_address
	r.advance(2 * time.Hour)                // far past session_ttl (30m)
	r.accept(t, reactionBody("6286666", "wamid.react.1", r.now()))
	r.advance(time.Minute)
	r.accept(t, r.text("6286666", "halo"))
	want := []string{"Kirim alamat kamu.", "Hai Budi!"}
	if got := r.replies(t, "6286666"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q (the state expired before the reaction)", got, want)
	}
}

// A message the customer wrote during a handoff is the person's to answer,
// also when Meta delivers it only after the handoff has ended (balas was
// down): it is stored, never answered later.
func TestPipelineHandoffCoversMessagesWrittenDuringIt(t *testing.T) {
	r := newRig(t)
	r.accept(t, r.text("6283344", "admin")) // a 2h handoff
	wrote := r.now().Add(time.Hour)
	r.advance(3 * time.Hour) // balas was down; Meta redelivers now
	r.accept(t, webhook.Fake{From: "6283344", Name: "Budi", Text: "halo", Timestamp: wrote}.Body())
	want := []string{"Admin akan membalas."}
	if got := r.replies(t, "6283344"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if n := r.count(t, `SELECT count(*) FROM messages WHERE outcome = 'handoff'`); n != 1 {
		t.Fatalf("%d messages recorded during handoff, want 1", n)
	}
	// What the customer writes after the handoff is answered again.
	r.accept(t, r.text("6283344", "halo"))
	want = append(want, "Hai Budi!")
	if got := r.replies(t, "6283344"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
}

// A `type: reaction` rule sees the emoji, and "" when the customer took the
// reaction back (Meta then omits it), so that "Terima kasih ❤️" answers a
// ❤️ and not its removal; and the message reacted to.
func TestReactionRuleSeesTheEmoji(t *testing.T) {
	r := newRigWith(t, `
version: 1
rules:
  - id: makasih
    when: {type: reaction, expr: 'message.reaction.emoji != ""'}
    reply: "Terima kasih {{ message.reaction.emoji }} (untuk {{ message.reaction.message_id }})"
`)
	r.accept(t, reactionBody("6287777", "wamid.react.1", r.now()))
	removed := strings.Replace(string(reactionBody("6287777", "wamid.react.2", r.now())), `,"emoji":"\u2764\ufe0f"`, "", 1)
	r.accept(t, []byte(removed))
	if got := r.replies(t, "6287777"); len(got) != 1 || got[0] != "Terima kasih ❤️ (untuk wamid.x)" {
		t.Fatalf("replies %q, want one thanks for the ❤️ on wamid.x and none for its removal", got)
	}
}
