package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/balas-bot/balas/rules"
	"github.com/balas-bot/balas/store"
)

const phoneID = "113355779900246"

// fakeReq is one request the fake Graph API received.
type fakeReq struct {
	n    int // 0-based arrival index
	path string
	auth string
	body []byte
	at   time.Time
}

// to is the recipient of a message body, or the message_id of a read receipt.
func (r fakeReq) to() string {
	var m map[string]any
	json.Unmarshal(r.body, &m)
	if s, _ := m["to"].(string); s != "" {
		return s
	}
	if s, _ := m["recipient"].(string); s != "" {
		return s
	}
	s, _ := m["message_id"].(string)
	return s
}

// text is the body of a text message.
func (r fakeReq) text() string {
	var m struct {
		Text struct{ Body string } `json:"text"`
	}
	json.Unmarshal(r.body, &m)
	return m.Text.Body
}

type answer struct {
	status int
	body   []byte
	header map[string]string
	delay  time.Duration
}

// fakeGraph is an httptest Graph API; handle decides each answer (nil: send_ok).
type fakeGraph struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []fakeReq
	handle func(r fakeReq) answer
	wamids atomic.Int64
}

func newFakeGraph(t testing.TB, handle func(r fakeReq) answer) *fakeGraph {
	f := &fakeGraph{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	req := fakeReq{n: len(f.reqs), path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body, at: time.Now()}
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	a := answer{status: 200}
	if f.handle != nil {
		a = f.handle(req)
	}
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.status == 0 {
		a.status = 200
	}
	if a.body == nil && a.status == 200 {
		if bytes.Contains(body, []byte(`"status":"read"`)) {
			a.body = []byte(`{"success":true}`)
		} else {
			a.body = fmt.Appendf(nil, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.fake.%d"}]}`, f.wamids.Add(1))
		}
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func (f *fakeGraph) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

func (f *fakeGraph) client() *Client {
	return NewClient(ClientOptions{BaseURL: f.srv.URL, AccessToken: "test-token",
		HTTPClient: &http.Client{Timeout: 2 * time.Second}})
}

func errAnswer(t testing.TB, status int, fixture string) answer {
	return answer{status: status, body: readFixture(t, "graph/"+fixture+".json")}
}

// --- database helpers ---

func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "balas.db")
	}
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var convIDs sync.Map // db path + customer -> conversation id

func conversation(t testing.TB, db *store.DB, customer string) int64 {
	t.Helper()
	key := db.Path() + "|" + customer
	if id, ok := convIDs.Load(key); ok {
		return id.(int64)
	}
	var id int64
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		now := tx.Now().UnixMilli()
		res, err := tx.Exec(`INSERT INTO conversations (phone_number_id, customer, wa_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			phoneID, customer, customer, now, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	convIDs.Store(key, id)
	return id
}

type queued struct{ outbox, message int64 }

// enqueueText queues a text reply (with its messages row) to customer.
func enqueueText(t testing.TB, db *store.DB, customer, text string) queued {
	t.Helper()
	return enqueueReply(t, db, customer, rules.Reply{Kind: "text", Text: text}, time.Now().Add(-time.Minute))
}

func enqueueReply(t testing.TB, db *store.DB, customer string, r rules.Reply, window time.Time) queued {
	t.Helper()
	conv := conversation(t, db, customer)
	reply, _ := json.Marshal(r)
	var q queued
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		now := tx.Now().UnixMilli()
		res, err := tx.Exec(`INSERT INTO messages (direction, conversation_id, type, text, status, payload, created_at, updated_at)
			VALUES ('out', ?, ?, ?, 'queued', ?, ?, ?)`, conv, r.Kind, r.Text, string(reply), now, now)
		if err != nil {
			return err
		}
		q.message, _ = res.LastInsertId()
		q.outbox, err = tx.EnqueueOutbox(store.OutboxItem{ConversationID: conv, MessageID: q.message, PhoneNumberID: phoneID,
			ToNumber: customer, Kind: "message", Reply: reply, ContextWamid: "wamid.in." + customer, WindowStart: window})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func enqueueReceipt(t testing.TB, db *store.DB, customer, kind, wamid string) int64 {
	t.Helper()
	conv := conversation(t, db, customer)
	var id int64
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = tx.EnqueueOutbox(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID, ToNumber: customer,
			Kind: kind, ContextWamid: wamid, WindowStart: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

type outboxRow struct {
	state, code, lastError, wamid string
	attempts                      int
}

func readOutbox(t testing.TB, db *store.DB, id int64) outboxRow {
	t.Helper()
	var r outboxRow
	if err := db.Reader().QueryRow(`SELECT state, error_code, last_error, wamid, attempts FROM outbox WHERE id = ?`, id).
		Scan(&r.state, &r.code, &r.lastError, &r.wamid, &r.attempts); err != nil {
		t.Fatal(err)
	}
	return r
}

type messageRow struct {
	wamid, status, title string
	code                 int
}

func readMessage(t testing.TB, db *store.DB, id int64) messageRow {
	t.Helper()
	var m messageRow
	if err := db.Reader().QueryRow(`SELECT wamid, status, error_code, error_title FROM messages WHERE id = ?`, id).
		Scan(&m.wamid, &m.status, &m.code, &m.title); err != nil {
		t.Fatal(err)
	}
	return m
}

// testOptions: fast backoff, no pacing unless a test asks for it, Wake only.
func testOptions() SenderOptions {
	return SenderOptions{Rate: -1, PairInterval: -1, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		PairBackoffUnit: 10 * time.Millisecond, PollInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// runSender starts s and returns a stop function that waits for Run to end.
func runSender(t testing.TB, s *Sender) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitDone waits until no outbox row is pending.
func waitDone(t testing.TB, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := db.OutboxPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("outbox still pending after 10s")
}

func TestSenderSendsEveryKind(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	var want [][]byte
	enqueueReceipt(t, db, budi, "read", inWamid)
	want = append(want, readFixture(t, "send/mark_read.json"))
	enqueueReceipt(t, db, budi, "typing", inWamid)
	want = append(want, readFixture(t, "send/typing_indicator.json"))
	for _, c := range fixtureReplies {
		if c.to.Number == "" {
			continue // the bsuid fixture is checked below
		}
		conv := conversation(t, db, budi)
		reply, _ := json.Marshal(c.reply)
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.EnqueueOutbox(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID,
				ToNumber: strings.TrimPrefix(c.to.Number, "+"), ToUserID: c.to.UserID, Kind: "message", Reply: reply,
				ContextWamid: c.context, WindowStart: time.Now()})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want = append(want, readFixture(t, "send/"+c.fixture+".json"))
	}
	s := NewSender(db, fake.client(), testOptions())
	runSender(t, s)
	waitDone(t, db)
	got := fake.requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i := range got { // one conversation: strictly in id order
		sameJSON(t, got[i].body, want[i])
		if got[i].path != "/v25.0/"+phoneID+"/messages" || got[i].auth != "Bearer test-token" {
			t.Fatalf("request %d: %s %s", i, got[i].path, got[i].auth)
		}
	}

	// A customer known only by business-scoped user id.
	conv := conversation(t, db, "ID.5581902276634410")
	reply, _ := json.Marshal(rules.Reply{Kind: "text", Text: "Halo kak Yanti, diskon 20% masih berlaku sampai Minggu."})
	db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.EnqueueOutbox(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID, ToUserID: "ID.5581902276634410",
			Kind: "message", Reply: reply, WindowStart: time.Now()})
		return err
	})
	s.Wake()
	waitDone(t, db)
	got = fake.requests()
	sameJSON(t, got[len(got)-1].body, readFixture(t, "send/text_to_bsuid.json"))
}

func TestSenderRetriesRateLimitOnce(t *testing.T) {
	for _, first := range []struct {
		name string
		a    func(t testing.TB) answer
		code string
	}{
		{"130429", func(t testing.TB) answer { return errAnswer(t, 429, "error_rate_limit") }, "130429"},
		{"http500", func(testing.TB) answer { return answer{status: 500, body: []byte("internal")} }, "http_500"},
	} {
		t.Run(first.name, func(t *testing.T) {
			db := openDB(t, "")
			fake := newFakeGraph(t, func(r fakeReq) answer {
				if r.n == 0 {
					return first.a(t)
				}
				return answer{}
			})
			reg := prometheus.NewRegistry()
			opts := testOptions()
			opts.Registerer = reg
			q := enqueueText(t, db, budi, "Halo")
			s := NewSender(db, fake.client(), opts)
			runSender(t, s)
			waitDone(t, db)
			reqs := fake.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2 (one failure, one success)", len(reqs))
			}
			row := readOutbox(t, db, q.outbox)
			if row.state != "sent" || row.attempts != 2 || row.wamid != "wamid.fake.1" {
				t.Fatalf("outbox row %+v", row)
			}
			if m := readMessage(t, db, q.message); m.status != "sent" || m.wamid != "wamid.fake.1" {
				t.Fatalf("message row %+v", m)
			}
			metric := gather(t, reg)
			if metric[`balas_outbound_errors_total{code="`+first.code+`"}`] != 1 ||
				metric[`balas_messages_total{direction="out",type="text"}`] != 1 ||
				metric[`balas_send_duration_seconds_count{kind="text"}`] != 2 ||
				metric[`balas_outbox_pending`] != 0 {
				t.Fatalf("metrics: %v", metric)
			}
		})
	}
}

// gather flattens a registry into "name{labels}" → value.
func gather(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[strings.Replace(name, mf.GetName(), mf.GetName()+"_count", 1)] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestSenderPermanentErrorNotRetried(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(r fakeReq) answer {
		if r.text() == "late" {
			return errAnswer(t, 400, "error_24h")
		}
		return answer{}
	})
	q := enqueueText(t, db, budi, "late")
	next := enqueueText(t, db, budi, "next one")
	runSender(t, NewSender(db, fake.client(), testOptions()))
	waitDone(t, db)
	if n := len(fake.requests()); n != 2 {
		t.Fatalf("%d requests, want 2 (131047 once, then the next reply)", n)
	}
	row := readOutbox(t, db, q.outbox)
	if row.state != "failed" || row.code != "131047" || row.attempts != 1 || !strings.Contains(row.lastError, "Re-engagement") {
		t.Fatalf("outbox row %+v", row)
	}
	if m := readMessage(t, db, q.message); m.status != "failed" || m.code != 131047 || m.title == "" {
		t.Fatalf("message row %+v", m)
	}
	if row := readOutbox(t, db, next.outbox); row.state != "sent" {
		t.Fatalf("a failed reply blocked the next one: %+v", row)
	}
}

// A refused access token fails no reply: the token is the operator's to fix
// (a new BALAS_ACCESS_TOKEN and a restart), not the message's, so the reply
// stays queued and is tried again with backoff, past MaxAttempts, until it
// goes out (or the customer's 24 h window closes).
func TestSenderAuthErrorKeepsTheReplyQueued(t *testing.T) {
	db := openDB(t, "")
	var refused atomic.Int64
	fake := newFakeGraph(t, func(fakeReq) answer {
		if refused.Add(1) <= 4 {
			return errAnswer(t, 401, "error_token")
		}
		return answer{}
	})
	var logs safeBuffer
	opts := testOptions()
	opts.MaxAttempts = 2
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	q := enqueueText(t, db, budi, "Halo")
	runSender(t, NewSender(db, fake.client(), opts))
	waitDone(t, db)
	if n := len(fake.requests()); n != 5 {
		t.Fatalf("%d requests, want 5 (refused 4 times, then sent)", n)
	}
	row := readOutbox(t, db, q.outbox)
	if row.state != "sent" || row.attempts != 5 {
		t.Fatalf("outbox row %+v, want sent at the 5th attempt", row)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, AuthErrorHint) || strings.Contains(out, "test-token") {
		t.Fatalf("log: %s", out)
	}
}

// While the token is refused, the row says why.
func TestSenderAuthErrorIsRecorded(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(fakeReq) answer { return errAnswer(t, 401, "error_token") })
	opts := testOptions()
	opts.BaseBackoff, opts.MaxBackoff = time.Hour, time.Hour
	q := enqueueText(t, db, budi, "Halo")
	runSender(t, NewSender(db, fake.client(), opts))
	deadline := time.Now().Add(10 * time.Second)
	for {
		row := readOutbox(t, db, q.outbox)
		if row.attempts == 1 {
			if row.state != "pending" || row.code != "190" || !strings.Contains(row.lastError, "BALAS_ACCESS_TOKEN") {
				t.Fatalf("outbox row %+v, want pending with code 190 and the hint", row)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused send was never recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSenderWindowClosed(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	q := enqueueReply(t, db, budi, rules.Reply{Kind: "text", Text: "too late"}, time.Now().Add(-25*time.Hour))
	tmpl := enqueueReply(t, db, budi, rules.Reply{Kind: "template",
		Template: &rules.TemplateMessage{Name: "hello_world", Language: "en_US"}}, time.Now().Add(-25*time.Hour))
	runSender(t, NewSender(db, fake.client(), testOptions()))
	waitDone(t, db)
	reqs := fake.requests()
	if len(reqs) != 1 || !bytes.Contains(reqs[0].body, []byte(`"template"`)) {
		t.Fatalf("requests %d, want only the template (allowed outside the window)", len(reqs))
	}
	row := readOutbox(t, db, q.outbox)
	if row.state != "failed" || row.attempts != 0 || row.code != "131047" ||
		!strings.Contains(row.lastError, "customer service window closed (last customer message 25h0m0s ago)") {
		t.Fatalf("outbox row %+v", row)
	}
	if m := readMessage(t, db, q.message); m.status != "failed" || m.code != 131047 {
		t.Fatalf("message row %+v", m)
	}
	if row := readOutbox(t, db, tmpl.outbox); row.state != "sent" {
		t.Fatalf("template row %+v", row)
	}
}

// pairLimited is a fake Graph API that answers 131056 (the customer's pair
// rate limit) to the requests fail picks and accepts the others, and sender
// options whose pair backoff unit is unit.
func pairLimited(t *testing.T, unit time.Duration, fail func(fakeReq) bool) (*fakeGraph, SenderOptions) {
	fake := newFakeGraph(t, func(r fakeReq) answer {
		if fail(r) {
			return errAnswer(t, 400, "error_pair_rate_limit")
		}
		return answer{}
	})
	opts := testOptions()
	opts.PairBackoffUnit = unit
	opts.MaxBackoff = 5 * time.Second
	return fake, opts
}

func TestSenderPairLimitDelaysOnlyThatCustomer(t *testing.T) {
	db := openDB(t, "")
	const a, b = "6281234567890", "6285712345678"
	fake, opts := pairLimited(t, 300*time.Millisecond, func(r fakeReq) bool { return r.to() == "+"+a && r.n == 0 })
	qa := enqueueText(t, db, a, "for A")
	s := NewSender(db, fake.client(), opts)
	runSender(t, s)
	// A's first attempt is answered 131056; then B's reply is queued.
	deadline := time.Now().Add(5 * time.Second)
	for len(fake.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	qb := enqueueText(t, db, b, "for B")
	s.Wake()
	waitDone(t, db)
	reqs := fake.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	var a1, a2, b1 time.Time
	for _, r := range reqs {
		switch {
		case r.to() == "+"+a && a1.IsZero():
			a1 = r.at
		case r.to() == "+"+a:
			a2 = r.at
		case r.to() == "+"+b:
			b1 = r.at
		}
	}
	if gap := a2.Sub(a1); gap < 300*time.Millisecond {
		t.Errorf("A retried after %v, want ≥ 4^0 × 300ms", gap)
	}
	if d := b1.Sub(start); d > 200*time.Millisecond || !b1.Before(a2) {
		t.Errorf("B waited %v (A's retry at +%v): B must not be held up by A's pair limit", d, a2.Sub(start))
	}
	if ra, rb := readOutbox(t, db, qa.outbox), readOutbox(t, db, qb.outbox); ra.state != "sent" || ra.attempts != 2 || rb.state != "sent" {
		t.Fatalf("rows %+v %+v", ra, rb)
	}
}

// TestSenderPairBackoffGrowsPerCustomer answers a customer's reply 131056
// twice: the second wait must be four times the first (4^x units, x counting
// the customer's consecutive 131056 answers), not start over.
func TestSenderPairBackoffGrowsPerCustomer(t *testing.T) {
	db := openDB(t, "")
	const a = "6281234567890"
	fake, opts := pairLimited(t, 100*time.Millisecond, func(r fakeReq) bool { return r.n < 2 })
	q := enqueueText(t, db, a, "for A")
	runSender(t, NewSender(db, fake.client(), opts))
	waitDone(t, db)
	reqs := fake.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 100*time.Millisecond {
		t.Errorf("first retry after %v, want ≥ 4^0 × 100ms", gap)
	}
	if gap := reqs[2].at.Sub(reqs[1].at); gap < 400*time.Millisecond {
		t.Errorf("second retry after %v, want ≥ 4^1 × 100ms", gap)
	}
	if row := readOutbox(t, db, q.outbox); row.state != "sent" || row.attempts != 3 {
		t.Fatalf("row %+v", row)
	}
}

func TestPairBackoffGrows(t *testing.T) {
	s := NewSender(nil, nil, SenderOptions{})
	for x, want := range []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, 64 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute} {
		if got := s.pairBackoff(x); got != want {
			t.Errorf("4^%d: %v, want %v", x, got, want)
		}
	}
	for attempts := 1; attempts < 20; attempts++ {
		exp := min(time.Second<<(attempts-1), 5*time.Minute)
		if attempts > 10 {
			exp = 5 * time.Minute
		}
		d := s.backoff(attempts, errString("x"))
		if d < exp/2 || d > exp {
			t.Errorf("backoff(%d) = %v, want in [%v, %v]", attempts, d, exp/2, exp)
		}
	}
	if d := s.backoff(1, &Error{HTTPStatus: 503, RetryAfter: 30 * time.Second}); d != 30*time.Second {
		t.Errorf("Retry-After not honoured: %v", d)
	}
	// A Retry-After of a day (a proxy's, say) would hold the conversation
	// past the customer's 24-hour window: it is capped like the backoff.
	if d := s.backoff(1, &Error{HTTPStatus: 503, RetryAfter: 24 * time.Hour}); d != 5*time.Minute {
		t.Errorf("Retry-After of a day: retried after %v, want the 5 min cap", d)
	}
	if d := s.backoff(1, &Error{Code: 131057, meta: true}); d < time.Minute {
		t.Errorf("131057 retried after %v, want about a minute", d)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestSenderRetriesTimeout(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(r fakeReq) answer {
		if r.n == 0 {
			return answer{delay: time.Second}
		}
		return answer{}
	})
	cl := NewClient(ClientOptions{BaseURL: fake.srv.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	q := enqueueText(t, db, budi, "Halo")
	runSender(t, NewSender(db, cl, testOptions()))
	waitDone(t, db)
	if n := len(fake.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if row := readOutbox(t, db, q.outbox); row.state != "sent" || row.attempts != 2 {
		t.Fatalf("outbox row %+v", row)
	}
}

func TestSenderKeepsOrderUnderRetries(t *testing.T) {
	db := openDB(t, "")
	var fails atomic.Int32
	fake := newFakeGraph(t, func(r fakeReq) answer {
		if r.text() == "1" && fails.Add(1) <= 2 {
			return answer{status: 500}
		}
		return answer{}
	})
	s := NewSender(db, fake.client(), testOptions())
	runSender(t, s)
	for _, txt := range []string{"1", "2", "3"} {
		enqueueText(t, db, budi, txt)
		enqueueText(t, db, "6285712345678", "other "+txt) // another conversation alongside
		s.Wake()
	}
	waitDone(t, db)
	var got []string
	for _, r := range fake.requests() {
		if r.to() == "+"+budi {
			got = append(got, r.text())
		}
	}
	if strings.Join(got, ",") != "1,1,1,2,3" {
		t.Fatalf("received %v, want 1,1,1,2,3", got)
	}
}

func TestSenderResumesAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A row already sent before the crash is never sent again.
	done := enqueueText(t, db, "6289612340987", "already sent")
	if err := db.CompleteOutbox(context.Background(), store.OutboxResult{ID: done.outbox, State: "sent", Wamid: "wamid.old", Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	customers := []string{budi, budi, "6285712345678", "6287798765432", "6287798765432"}
	for i, c := range customers {
		enqueueText(t, db, c, fmt.Sprintf("m%d", i))
	}

	// First run: the fake hangs until the sender is cancelled; then the first
	// request in is accepted (recorded sent), the others get 503.
	release := make(chan struct{})
	var first atomic.Bool
	var accepted atomic.Value // text of the one request answered 200
	fake1 := newFakeGraph(t, func(r fakeReq) answer {
		<-release
		if first.CompareAndSwap(false, true) {
			accepted.Store(r.text())
			return answer{}
		}
		return answer{status: 503}
	})
	stop := runSender(t, NewSender(db, fake1.client(), testOptions()))
	deadline := time.Now().Add(5 * time.Second)
	for len(fake1.requests()) < 3 && time.Now().Before(deadline) { // 3 conversations in parallel
		time.Sleep(time.Millisecond)
	}
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	stop() // returns after the in-flight sends were answered and recorded
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(fake1.requests()); n != 3 {
		t.Fatalf("first run sent %d requests, want 3 (one per conversation)", n)
	}

	db2 := openDB(t, path)
	fake2 := newFakeGraph(t, nil)
	runSender(t, NewSender(db2, fake2.client(), testOptions()))
	waitDone(t, db2)

	delivered := map[string]int{accepted.Load().(string): 1}
	for _, r := range fake2.requests() {
		delivered[r.text()]++
	}
	for i := range customers {
		if n := delivered[fmt.Sprintf("m%d", i)]; n != 1 {
			t.Errorf("m%d delivered %d times, want exactly once (%v)", i, n, delivered)
		}
	}
	if delivered["already sent"] != 0 {
		t.Error("a row recorded sent before the restart was sent again")
	}
	if n := len(fake2.requests()); n != len(customers)-1 {
		t.Errorf("second run sent %d, want %d", n, len(customers)-1)
	}
	var stillQueued int
	db2.Reader().QueryRow(`SELECT count(*) FROM messages WHERE status <> 'sent' OR wamid = ''`).Scan(&stillQueued)
	if stillQueued != 0 {
		t.Errorf("%d messages rows not marked sent", stillQueued)
	}
}

func TestPhoneLimiterRate(t *testing.T) {
	s := NewSender(nil, nil, SenderOptions{Rate: 50})
	lim := s.phone(phoneID).lim
	start := time.Now()
	for range 100 {
		if err := lim.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 1900*time.Millisecond || d > 4*time.Second {
		t.Fatalf("100 sends at 50/s took %v, want about 2s", d)
	}
	// Another number has its own budget.
	if !s.phone("other").lim.Allow() {
		t.Fatal("numbers share a limiter")
	}
	// 130429 halves the rate; successes bring it back.
	p := s.phone(phoneID)
	p.slowDown()
	if p.lim.Limit() != 25 {
		t.Fatalf("after 130429: %v/s", p.lim.Limit())
	}
	for range 100 {
		p.success()
	}
	if p.lim.Limit() != 50 {
		t.Fatalf("recovered to %v/s", p.lim.Limit())
	}
	if lim := NewSender(nil, nil, SenderOptions{Rate: -1}).phone("x").lim; lim.Limit() != rate.Inf {
		t.Fatal("negative rate is not unlimited")
	}
}

func TestPairLimiter(t *testing.T) {
	s := NewSender(nil, nil, SenderOptions{PairBurst: 3, PairInterval: 100 * time.Millisecond})
	it := store.OutboxItem{PhoneNumberID: phoneID, ToNumber: budi}
	lim := s.pairLimiter(it)
	start := time.Now()
	for range 5 {
		lim.Wait(context.Background())
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("burst 3 then 1 per 100ms: 5 messages took %v", d)
	}
	if other := s.pairLimiter(store.OutboxItem{PhoneNumberID: phoneID, ToNumber: "6285712345678"}); !other.Allow() {
		t.Fatal("customers share a pair limiter")
	}
	if NewSender(nil, nil, SenderOptions{PairInterval: -1}).pairLimiter(it) != nil {
		t.Fatal("negative PairInterval does not disable pair pacing")
	}
}

func TestSenderRateLimitEndToEnd(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	for i := range 10 {
		enqueueText(t, db, fmt.Sprintf("62800000%02d", i), "x")
	}
	opts := testOptions()
	opts.Rate = 20
	start := time.Now()
	runSender(t, NewSender(db, fake.client(), opts))
	waitDone(t, db)
	if d := time.Since(start); d < 430*time.Millisecond {
		t.Fatalf("10 sends at 20/s took %v, want ≥ 450ms", d)
	}
}

func TestSenderGivesUp(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(fakeReq) answer { return answer{status: 503} })
	opts := testOptions()
	opts.MaxAttempts = 3
	q := enqueueText(t, db, budi, "x")
	runSender(t, NewSender(db, fake.client(), opts))
	waitDone(t, db)
	row := readOutbox(t, db, q.outbox)
	if len(fake.requests()) != 3 || row.state != "failed" || row.attempts != 3 ||
		!strings.HasPrefix(row.lastError, "gave up after 3 attempts: ") || row.code != "http_503" {
		t.Fatalf("%d requests, row %+v", len(fake.requests()), row)
	}
}

func TestSenderDryRun(t *testing.T) {
	db := openDB(t, "")
	q := enqueueText(t, db, budi, "x")
	runSender(t, NewSender(db, NewDryRun(slog.New(slog.NewTextHandler(io.Discard, nil))), testOptions()))
	waitDone(t, db)
	if m := readMessage(t, db, q.message); m.wamid != "wamid.dryrun.1" || m.status != "sent" {
		t.Fatalf("%+v", m)
	}
}

// waitRequests waits until the fake Graph API has received n requests.
func waitRequests(t testing.TB, f *fakeGraph, n int) []fakeReq {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := f.requests(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d requests after 10s, want %d", len(f.requests()), n)
	return nil
}

// New rows reach a running sender from the commit itself: no poll, no Wake.
func TestSenderHearsOfCommits(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	s := NewSender(db, fake.client(), testOptions()) // PollInterval -1
	runSender(t, s)
	enqueueText(t, db, "6281100000001", "satu")
	enqueueText(t, db, "6281100000002", "dua")
	enqueueText(t, db, "6281100000001", "tiga")
	got := waitRequests(t, fake, 3)
	var texts []string
	for _, r := range got {
		if r.to() == "+6281100000001" {
			texts = append(texts, r.text())
		}
	}
	if strings.Join(texts, ",") != "satu,tiga" {
		t.Fatalf("one customer's replies arrived as %q, want satu,tiga in order", texts)
	}
	waitDone(t, db)
}

// Rows stored before the sender started and rows committed between
// NewSender and Run are each sent exactly once.
func TestSenderSendsEachRowOnceAcrossLoadAndCommits(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	enqueueText(t, db, "6281100000003", "sebelum sender ada") // no sender listening yet
	s := NewSender(db, fake.client(), testOptions())
	enqueueText(t, db, "6281100000003", "sebelum Run")   // stored and handed to s
	enqueueText(t, db, "6281100000004", "sebelum Run 2") // stored and handed to s
	runSender(t, s)
	enqueueText(t, db, "6281100000003", "sesudah Run")
	waitDone(t, db)
	time.Sleep(50 * time.Millisecond) // a duplicate would show up now
	got := fake.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests for 4 rows, want each sent once", len(got))
	}
	var texts []string
	for _, r := range got {
		if r.to() == "+6281100000003" {
			texts = append(texts, r.text())
		}
	}
	if want := "sebelum sender ada|sebelum Run|sesudah Run"; strings.Join(texts, "|") != want {
		t.Fatalf("replies %q, want %s", texts, want)
	}
}

// A read receipt the pipeline queued is not stored: it goes out before the
// reply behind it, is tried once, and a failure never holds up the reply.
func TestSenderReceiptsAreTriedOnce(t *testing.T) {
	db := openDB(t, "")
	var receipts atomic.Int64
	fake := newFakeGraph(t, func(r fakeReq) answer {
		if bytes.Contains(r.body, []byte(`"status":"read"`)) {
			receipts.Add(1)
			return answer{status: 500, body: []byte("internal")}
		}
		return answer{}
	})
	s := NewSender(db, fake.client(), testOptions())
	runSender(t, s)
	customer := "6281100000005"
	conv := conversation(t, db, customer)
	reply, _ := json.Marshal(rules.Reply{Kind: "text", Text: "Halo!"})
	var replyID int64
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		if err := tx.QueueReceipt(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID, ToNumber: customer,
			Kind: store.OutboxTyping, ContextWamid: inWamid, WindowStart: time.Now()}); err != nil {
			return err
		}
		var err error
		replyID, err = tx.EnqueueOutbox(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID, ToNumber: customer,
			Kind: store.OutboxMessage, Reply: reply, ContextWamid: inWamid, Receipt: store.OutboxTyping, WindowStart: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := waitRequests(t, fake, 2)
	waitDone(t, db)
	time.Sleep(100 * time.Millisecond) // a retry (backoff 10 ms) would show up now
	if n := receipts.Load(); n != 1 {
		t.Fatalf("the failing receipt was tried %d times, want once", n)
	}
	if !bytes.Contains(got[0].body, []byte(`"typing_indicator"`)) || got[1].text() != "Halo!" {
		t.Fatalf("requests in order %s then %s, want the typing indicator, then the reply", got[0].body, got[1].body)
	}
	if row := readOutbox(t, db, replyID); row.state != "sent" {
		t.Fatalf("reply row %+v, want sent", row)
	}
	var rows int
	db.Reader().QueryRow(`SELECT count(*) FROM outbox`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d outbox rows, want 1: receipts are not stored", rows)
	}
}

// queueAnswered does what the pipeline does for an answered message: a
// receipt handed over in memory, then the reply that records it.
func queueAnswered(t testing.TB, db *store.DB, customer, receipt, text string) int64 {
	t.Helper()
	conv := conversation(t, db, customer)
	reply, _ := json.Marshal(rules.Reply{Kind: "text", Text: text})
	wamid := "wamid.in." + text
	var id int64
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		if err := tx.QueueReceipt(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID, ToNumber: customer,
			Kind: receipt, ContextWamid: wamid, WindowStart: time.Now()}); err != nil {
			return err
		}
		var err error
		id, err = tx.EnqueueOutbox(store.OutboxItem{ConversationID: conv, PhoneNumberID: phoneID, ToNumber: customer,
			Kind: store.OutboxMessage, Reply: reply, ContextWamid: wamid, Receipt: receipt, WindowStart: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// Receipts are not stored; after a restart, a reply never tried gets the
// receipt recorded with it again, before it, exactly once.
func TestSenderResendsRecordedReceiptsAtStart(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	customer := "6281100000006"
	queueAnswered(t, db, customer, store.OutboxTyping, "satu") // the last run stopped before sending
	tried := queueAnswered(t, db, customer, store.OutboxRead, "dua")
	if err := db.CompleteOutbox(context.Background(), store.OutboxResult{ID: tried, State: store.OutboxStatePending,
		Attempts: 1, ErrorCode: "http_500", LastError: "tried before the restart"}); err != nil {
		t.Fatal(err)
	}
	s := NewSender(db, fake.client(), testOptions())
	queueAnswered(t, db, customer, store.OutboxRead, "tiga") // committed between NewSender and Run
	runSender(t, s)
	waitDone(t, db)
	time.Sleep(50 * time.Millisecond) // a duplicate receipt would show up now
	// "dua" was tried before the restart: its receipt went out then.
	want := "typing wamid.in.satu|satu|dua|read wamid.in.tiga|tiga"
	if got := sequence(fake); got != want {
		t.Fatalf("requests\n %s\nwant\n %s", got, want)
	}
}

// sequence is what the fake Graph API received, in order and joined by |:
// "typing W" and "read W" for the receipts of message W, a reply's text.
func sequence(f *fakeGraph) string {
	var got []string
	for _, r := range f.requests() {
		switch {
		case bytes.Contains(r.body, []byte(`"typing_indicator"`)):
			got = append(got, "typing "+r.to())
		case bytes.Contains(r.body, []byte(`"status":"read"`)):
			got = append(got, "read "+r.to())
		default:
			got = append(got, r.text())
		}
	}
	return strings.Join(got, "|")
}

// Goroutines that sent something wait a while for the next attempt; they
// must neither hold up a shutdown nor be needed by the next sends.
func TestSenderIdleExecutorsDoNotDelayShutdown(t *testing.T) {
	db := openDB(t, "")
	f := newFakeGraph(t, nil)
	s := NewSender(db, f.client(), testOptions())
	stop := runSender(t, s)
	for i := range 20 {
		enqueueText(t, db, fmt.Sprint("62811", i%5), fmt.Sprint("first ", i))
	}
	waitDone(t, db)
	for i := range 20 { // reuses the goroutines of the first round
		enqueueText(t, db, fmt.Sprint("62811", i%5), fmt.Sprint("second ", i))
	}
	waitDone(t, db)
	if n := len(f.requests()); n != 40 {
		t.Fatalf("%d requests, want 40", n)
	}
	start := time.Now()
	stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Run took %v to return with idle senders (they wait %v for work)", d, executorIdle)
	}
}

// With balas's own transport the sender's SendTimeout is enforced by the
// connection's deadline (no timer per call): a hung call still ends on time
// and is retried.
func TestSenderTimeoutWithDefaultTransport(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(r fakeReq) answer {
		if r.n == 0 {
			return answer{delay: 3 * time.Second}
		}
		return answer{}
	})
	cl := NewClient(ClientOptions{BaseURL: fake.srv.URL})
	if !cl.boundsCalls() {
		t.Fatal("the default client does not say it bounds its calls")
	}
	o := testOptions()
	o.SendTimeout = 100 * time.Millisecond
	q := enqueueText(t, db, budi, "Halo")
	start := time.Now()
	runSender(t, NewSender(db, cl, o))
	waitDone(t, db)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the hung call ended after %v, want about SendTimeout (100 ms)", d)
	}
	if row := readOutbox(t, db, q.outbox); row.state != "sent" || row.attempts != 2 {
		t.Fatalf("outbox row %+v", row)
	}
	if NewClient(ClientOptions{HTTPClient: &http.Client{}}).boundsCalls() {
		t.Fatal("a client on the caller's http.Client says it bounds its calls")
	}
}

// TestConvQueueKeepsOrder pushes and pops through a conversation's queue in
// the patterns Run produces (a receipt and its reply, a backlog that drains
// while more arrives) and checks that items come out in order, that an
// emptied queue reuses its array, and that a queue that never drains stays
// bounded by what is waiting.
func TestConvQueueKeepsOrder(t *testing.T) {
	tests := []struct {
		name   string
		rounds [][2]int // push n items, then pop m
	}{
		{"receipt and reply", [][2]int{{2, 2}, {2, 2}, {2, 2}}},
		{"one at a time", [][2]int{{1, 1}, {1, 1}}},
		{"backlog drains", [][2]int{{500, 100}, {0, 400}}},
		{"never drains", [][2]int{{10, 0}, {3, 3}, {3, 3}, {3, 3}, {1000, 1000}, {0, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &conv{}
			next, want := int64(1), int64(1)
			for _, r := range tt.rounds {
				for range r[0] {
					c.queue = append(c.queue, store.OutboxItem{ID: next})
					next++
				}
				for range r[1] {
					if c.empty() {
						t.Fatalf("queue empty, want item %d", want)
					}
					if got := c.front().ID; got != want {
						t.Fatalf("front = %d, want %d", got, want)
					}
					c.pop()
					want++
				}
				if waiting := len(c.queue) - c.head; waiting != int(next-want) {
					t.Fatalf("%d waiting, want %d", waiting, next-want)
				}
				if c.head > 32 && c.head >= len(c.queue)/2 {
					t.Fatalf("head %d of %d: the done half was not compacted", c.head, len(c.queue))
				}
				for i := range c.queue[:c.head] {
					if c.queue[i].ID != 0 {
						t.Fatalf("slot %d still holds done item %d", i, c.queue[i].ID)
					}
				}
			}
			if c.empty() && c.head != 0 {
				t.Fatalf("an empty queue starts at %d, want 0", c.head)
			}
		})
	}
}

// gatedTransport holds every call until release is closed, counting the
// calls in flight.
type gatedTransport struct {
	release               chan struct{}
	inFlight, most, calls atomic.Int64
}

func (g *gatedTransport) Send(ctx context.Context, phoneNumberID string, body []byte) (string, error) {
	n := g.calls.Add(1)
	now := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for m := g.most.Load(); now > m && !g.most.CompareAndSwap(m, now); m = g.most.Load() {
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return fmt.Sprintf("wamid.gated.%d", n), nil
}

func (g *gatedTransport) counts() (inFlight, most, calls int) {
	return int(g.inFlight.Load()), int(g.most.Load()), int(g.calls.Load())
}

// Workers bounds the calls in flight over all conversations (balas serve's
// --send-concurrency); the others wait their turn and are all sent.
func TestSenderKeepsToWorkers(t *testing.T) {
	for _, workers := range []int{1, 3, 12} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			db := openDB(t, "")
			const customers = 10
			for i := range customers {
				enqueueText(t, db, fmt.Sprintf("62811000%02d", i), "x")
			}
			g := &gatedTransport{release: make(chan struct{})}
			var open sync.Once
			release := func() { open.Do(func() { close(g.release) }) }
			opts := testOptions()
			opts.Workers = workers
			reg := prometheus.NewRegistry()
			opts.Registerer = reg
			runSender(t, NewSender(db, g, opts))
			t.Cleanup(release) // before the sender stops, also when the test fails
			want := min(workers, customers)
			deadline := time.Now().Add(5 * time.Second)
			for {
				if n, _, _ := g.counts(); n == want {
					break
				}
				if time.Now().After(deadline) {
					n, _, _ := g.counts()
					t.Fatalf("%d calls in flight, want %d", n, want)
				}
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // room for a call over the limit to start
			if _, most, _ := g.counts(); most != want {
				t.Fatalf("at most %d calls in flight, want %d", most, want)
			}
			if m := gather(t, reg); m["balas_send_in_flight"] != float64(want) || m["balas_send_concurrency"] != float64(workers) {
				t.Errorf("balas_send_in_flight %v, balas_send_concurrency %v; want %d and %d",
					m["balas_send_in_flight"], m["balas_send_concurrency"], want, workers)
			}
			release()
			waitDone(t, db)
			if _, most, calls := g.counts(); most != want || calls != customers {
				t.Fatalf("%d calls, at most %d in flight; want %d and %d", calls, most, customers, want)
			}
			if m := gather(t, reg); m["balas_send_in_flight"] != 0 {
				t.Errorf("balas_send_in_flight %v once every call returned, want 0", m["balas_send_in_flight"])
			}
		})
	}
}

// The poll reads the table while commits keep handing rows over: a reply it
// finds must still go out after the receipt queued before it, and nothing
// twice.
func TestSenderPollKeepsReceiptsFirst(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	opts := testOptions()
	opts.PollInterval = 200 * time.Microsecond
	runSender(t, NewSender(db, fake.client(), opts))
	const writers, each = 4, 60
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				customer := fmt.Sprintf("62811%08d", w*1000+i%5)
				queueAnswered(t, db, customer, store.OutboxRead, fmt.Sprintf("m%d-%d", w, i))
			}
		})
	}
	wg.Wait()
	waitRequests(t, fake, 2*writers*each)
	waitDone(t, db)
	time.Sleep(50 * time.Millisecond) // a duplicate would show up now
	reqs := fake.requests()
	if len(reqs) != 2*writers*each {
		t.Fatalf("%d requests for %d answered messages, want a receipt and a reply each", len(reqs), writers*each)
	}
	receiptAt := map[string]int{}
	for i, r := range reqs {
		if bytes.Contains(r.body, []byte(`"status":"read"`)) {
			receiptAt[r.to()] = i
			continue
		}
		if _, ok := receiptAt["wamid.in."+r.text()]; !ok {
			t.Fatalf("reply %q went out before its read receipt", r.text())
		}
	}
}

// A reply committed just before Run starts, whose commit is handed to the
// sender only after Run's first read of the table: the read must leave the
// row to the hand-over, so that its receipt goes out once, before it.
func TestSenderStartLoadLeavesRowsNotHandedOver(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	s := NewSender(db, fake.client(), testOptions())
	customer := "6281100000077"
	conversation(t, db, customer) // created first: its commit queues nothing
	// The writer is descheduled between its commit and telling the sender
	// of it: the callback is held.
	gate := make(chan struct{})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(release) // never leave the writer blocked (Close would wait)
	db.OnQueued(func(items []store.OutboxItem) {
		items = append([]store.OutboxItem(nil), items...)
		<-gate
		s.queued(items)
	})
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		queueAnswered(t, db, customer, store.OutboxRead, "halo")
	}()
	deadline := time.Now().Add(5 * time.Second)
	for n := int64(0); n != 1; n, _ = db.OutboxPending(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatal("reply not committed")
		}
		time.Sleep(time.Millisecond)
	}
	runSender(t, s)
	time.Sleep(100 * time.Millisecond) // Run has read the table and taken what was handed over
	release()
	<-committed
	waitDone(t, db)
	time.Sleep(100 * time.Millisecond) // a late receipt would show up now
	if got, want := sequence(fake), "read wamid.in.halo|halo"; got != want {
		t.Fatalf("requests %s, want %s (the receipt once, before the reply)", got, want)
	}
}

// A failed read of the outbox at start is tried again: the rows of the
// last run and those committed meanwhile are all sent, receipts first. Once
// Run has returned, commits are not collected in memory any more.
func TestSenderRetriesItsFirstRead(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	customer := "6281100000088"
	queueAnswered(t, db, customer, store.OutboxRead, "sebelum") // left by the last run
	var logs safeBuffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := NewSender(db, fake.client(), opts)
	var fails atomic.Int32
	read := s.pending
	s.pending = func(ctx context.Context, after int64, limit int) ([]store.OutboxItem, error) {
		if fails.Add(1) <= 3 {
			return nil, errors.New("database is locked")
		}
		return read(ctx, after, limit)
	}
	stop := runSender(t, s)
	queueAnswered(t, db, customer, store.OutboxRead, "selama") // committed while the read fails
	waitRequests(t, fake, 4)
	waitDone(t, db)
	if got, want := sequence(fake), "read wamid.in.sebelum|sebelum|read wamid.in.selama|selama"; got != want {
		t.Fatalf("requests %s, want %s", got, want)
	}
	if n := strings.Count(logs.String(), "cannot read pending rows"); n != 3 {
		t.Fatalf("%d errors logged for 3 failed reads:\n%s", n, logs.String())
	}
	stop()
	queueAnswered(t, db, customer, store.OutboxRead, "sesudah")
	s.inMu.Lock()
	n := len(s.incoming)
	s.inMu.Unlock()
	if n != 0 {
		t.Fatalf("%d items held in memory by a sender whose Run has returned", n)
	}
}

// A reply held back by a refused token is tried at once when balas starts
// again (with, presumably, a new BALAS_ACCESS_TOKEN), not after its backoff.
func TestSenderTriesRepliesHeldByATokenAtStart(t *testing.T) {
	db := openDB(t, "")
	q := enqueueText(t, db, budi, "Halo")
	if err := db.CompleteOutbox(context.Background(), store.OutboxResult{ID: q.outbox, Kind: store.OutboxMessage, MessageID: q.message,
		State: store.OutboxStatePending, Attempts: 3, NextAttemptAt: time.Now().Add(time.Hour), ErrorCode: "190", LastError: AuthErrorHint}); err != nil {
		t.Fatal(err)
	}
	other := enqueueText(t, db, "6281298765432", "Halo")
	if err := db.CompleteOutbox(context.Background(), store.OutboxResult{ID: other.outbox, Kind: store.OutboxMessage, MessageID: other.message,
		State: store.OutboxStatePending, Attempts: 3, NextAttemptAt: time.Now().Add(time.Hour), ErrorCode: "130429"}); err != nil {
		t.Fatal(err)
	}
	fake := newFakeGraph(t, nil)
	runSender(t, NewSender(db, fake.client(), testOptions()))
	deadline := time.Now().Add(10 * time.Second)
	for readOutbox(t, db, q.outbox).state != "sent" {
		if time.Now().After(deadline) {
			t.Fatalf("the reply held by a refused token was not sent at start: %+v", readOutbox(t, db, q.outbox))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if row := readOutbox(t, db, other.outbox); row.state != "pending" {
		t.Errorf("a reply waiting on a rate limit was sent before its time: %+v", row)
	}
}

// The customer service window runs from the customer's last message, not
// from the message a reply answers: a reply held back for more than a day
// (a refused token, balas down) still goes out when the customer has
// written since, as Meta accepts it.
func TestSenderWindowRunsFromTheCustomersLastMessage(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	const customer = "6281311122233"
	q := enqueueReply(t, db, customer, rules.Reply{Kind: "text", Text: "late but welcome"}, time.Now().Add(-25*time.Hour))
	conv := conversation(t, db, customer)
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(`UPDATE conversations SET last_inbound_at = ? WHERE id = ?`, time.Now().Add(-time.Hour).UnixMilli(), conv)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	runSender(t, NewSender(db, fake.client(), testOptions()))
	waitDone(t, db)
	if row := readOutbox(t, db, q.outbox); row.state != "sent" {
		t.Fatalf("outbox row %+v, want sent: the customer wrote an hour ago", row)
	}
	if reqs := fake.requests(); len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
}

// A Graph call that times out is counted and recorded as "network", the
// label balas_outbound_errors_total and the outbox row share.
func TestSenderRecordsATimeoutAsNetwork(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(fakeReq) answer { return answer{delay: 3 * time.Second} })
	o := testOptions()
	o.SendTimeout = 100 * time.Millisecond
	o.MaxAttempts = 1
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	q := enqueueText(t, db, budi, "Halo")
	runSender(t, NewSender(db, NewClient(ClientOptions{BaseURL: fake.srv.URL}), o))
	waitDone(t, db)
	if row := readOutbox(t, db, q.outbox); row.state != "failed" || row.code != "network" || row.attempts != 1 {
		t.Fatalf("outbox row %+v, want failed with code network after its one attempt", row)
	}
	if n := gather(t, reg)[`balas_outbound_errors_total{code="network"}`]; n != 1 {
		t.Fatalf(`balas_outbound_errors_total{code="network"} = %v, want 1`, n)
	}
}

// fullDisk is the outbox of a database whose disk is full: while full is
// set, every outcome fails to commit as SQLite reports it.
type fullDisk struct {
	*store.DB
	full  atomic.Bool
	tries atomic.Int32
}

func (f *fullDisk) CompleteOutbox(ctx context.Context, r store.OutboxResult) error {
	if f.full.Load() {
		f.tries.Add(1)
		return errors.New("store: commit: database or disk is full (13)")
	}
	return f.DB.CompleteOutbox(ctx, r)
}

// A reply sent while the disk is full is recorded as sent once there is
// space again, however long that takes, and without a restart: a row left
// pending would reach the customer a second time at the next start.
func TestSenderRecordsASendOnceTheDiskHasSpaceAgain(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	customer := "6281100000077"
	q := enqueueText(t, db, customer, "halo")
	disk := &fullDisk{DB: db}
	disk.full.Store(true)
	stop := runSender(t, NewSender(disk, fake.client(), testOptions()))
	waitRequests(t, fake, 1)
	for deadline := time.Now().Add(8 * time.Second); disk.tries.Load() < 20; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sender stopped trying to record the send after %d tries while the disk was full", disk.tries.Load())
		}
	}
	disk.full.Store(false)
	waitDone(t, db)
	if r := readOutbox(t, db, q.outbox); r.state != store.OutboxStateSent || r.wamid == "" {
		t.Fatalf("outbox row after the disk had space again: %+v, want sent with its wamid", r)
	}
	if m := readMessage(t, db, q.message); m.status != "sent" || m.wamid == "" {
		t.Fatalf("message after the disk had space again: %+v, want sent with its wamid", m)
	}
	stop()
	restarted := runSender(t, NewSender(db, fake.client(), testOptions()))
	time.Sleep(200 * time.Millisecond)
	restarted()
	if n := len(fake.requests()); n != 1 {
		t.Fatalf("%d requests, want 1: the reply was sent again after a restart", n)
	}
}

// A large backlog (balas stopped for long, or the Graph API down) is not
// read into memory all at once when the sender starts: the memory of a
// start stays bounded however many replies wait, and each of them, and
// every reply committed meanwhile, is still sent once.
func TestSenderStartsOnALargeBacklogWithBoundedMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db := openDB(t, path)
	const backlog = 10_000
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		now := tx.Now().UnixMilli()
		for _, q := range []string{
			`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ?1)
			 INSERT INTO conversations (id, phone_number_id, customer, created_at, updated_at) SELECT 100000 + i, '` + phoneID + `', 'b' || i, ?2, ?2 FROM c`,
			`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ?1)
			 INSERT INTO messages (id, direction, conversation_id, type, text, status, payload, created_at, updated_at)
			 SELECT 100000 + i, 'out', 100000 + i, 'text', 'hai', 'queued', '{"kind":"text","text":"hai"}', ?2, ?2 FROM c`,
			`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ?1)
			 INSERT INTO outbox (conversation_id, message_id, phone_number_id, to_number, kind, reply, context_wamid, window_start,
			 	state, next_attempt_at, created_at, updated_at)
			 SELECT 100000 + i, 100000 + i, '` + phoneID + `', '6281' || i, 'message', '{"kind":"text","text":"hai"}', 'wamid.' || i, ?2,
			 	'pending', ?2, ?2, ?2 FROM c`,
		} {
			if _, err := tx.Exec(q, backlog, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, path) // a restart: the backlog is the last run's
	g := &gatedTransport{release: make(chan struct{})}
	var open sync.Once
	release := func() { open.Do(func() { close(g.release) }) }
	before := runtime.NumGoroutine()
	runSender(t, NewSender(db, g, testOptions()))
	t.Cleanup(release)
	waitCalls := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, _, calls := g.counts(); calls >= n {
				return
			}
			if time.Now().After(deadline) {
				_, _, calls := g.counts()
				t.Fatalf("%d calls, want %d", calls, n)
			}
		}
	}
	waitCalls(64) // every worker (64 by default) is busy
	var late []queued
	for i := range 20 { // committed while the backlog waits
		late = append(late, enqueueText(t, db, fmt.Sprintf("6281177%04d", i), "baru"))
	}
	time.Sleep(200 * time.Millisecond) // room for the sender to take on more
	if n := runtime.NumGoroutine() - before; n > backlog/2 {
		t.Fatalf("%d goroutines with %d replies waiting: the sender holds every waiting reply at once", n, backlog)
	}
	release()
	waitDone(t, db)
	if _, _, calls := g.counts(); calls != backlog+len(late) {
		t.Fatalf("%d calls, want %d: each reply once", calls, backlog+len(late))
	}
	for _, q := range late {
		if r := readOutbox(t, db, q.outbox); r.state != store.OutboxStateSent {
			t.Fatalf("a reply committed while the backlog waited: %+v, want sent", r)
		}
	}
}
