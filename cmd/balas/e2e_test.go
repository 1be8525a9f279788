package main

// End-to-end tests: the built balas binary runs as a subprocess against a
// fake Graph API in this process, and the tests post signed webhook
// deliveries to it exactly as Meta would.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/rules"
)

const (
	e2eSecret      = "e2e test secret"
	e2eAccessToken = "test-token"
	e2eVerifyToken = "e2e-verify-token"
	e2eMessagePath = "/v25.0/" + webhook.FakePhoneNumberID + "/messages"
	e2eTokoRules   = "../../examples/rules/toko"
)

// ---------------------------------------------------------------------------
// The fake Graph API.

// e2eCall is one POST the fake Graph API received.
type e2eCall struct {
	Path string
	Auth string
	Body map[string]any
}

// e2eGet walks decoded JSON by map keys (string) and slice indexes (int).
func e2eGet(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func e2eStr(v any, path ...any) string {
	s, _ := e2eGet(v, path...).(string)
	return s
}

func (c e2eCall) receipt() bool { return e2eStr(c.Body, "status") == "read" }
func (c e2eCall) to() string    { return e2eStr(c.Body, "to") }

func (c e2eCall) String() string {
	b, _ := json.Marshal(c.Body)
	return c.Path + " " + string(b)
}

// e2eGraph records every POST and answers like Meta.
type e2eGraph struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []e2eCall
	seq   int
	// delay holds every answer this long (set before the first call);
	// inFlight and most count the calls being answered.
	delay          time.Duration
	inFlight, most int
}

func newE2EGraph(t *testing.T) *e2eGraph {
	g := &e2eGraph{}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *e2eGraph) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if r.Method != http.MethodPost || json.Unmarshal(raw, &body) != nil {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"bad request","type":"OAuthException","code":100}}`)
		return
	}
	g.mu.Lock()
	g.calls = append(g.calls, e2eCall{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
	g.seq++
	n := g.seq
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	time.Sleep(g.delay)
	w.Header().Set("Content-Type", "application/json")
	if e2eStr(body, "status") == "read" {
		io.WriteString(w, `{"success":true}`)
		return
	}
	to := e2eStr(body, "to")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.fake.%d"}]}`,
		to, strings.TrimPrefix(to, "+"), n)
}

func (g *e2eGraph) url() string { return g.srv.URL }

// mostInFlight is the most calls that were being answered at once.
func (g *e2eGraph) mostInFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most
}

func (g *e2eGraph) all() []e2eCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// replies are the messages sent (everything but read receipts), to one
// number ("+62…") or, with to == "", to everyone.
func (g *e2eGraph) replies(to string) []e2eCall {
	var out []e2eCall
	for _, c := range g.all() {
		if !c.receipt() && (to == "" || c.to() == to) {
			out = append(out, c)
		}
	}
	return out
}

// receipts maps each inbound wamid marked read to how often it was.
func (g *e2eGraph) receipts() map[string]int {
	out := map[string]int{}
	for _, c := range g.all() {
		if c.receipt() {
			out[e2eStr(c.Body, "message_id")]++
		}
	}
	return out
}

// checkCalls asserts that every call went to the phone number's messages
// endpoint with the access token, and that replies are addressed "+<digits>".
func (g *e2eGraph) checkCalls(t *testing.T) {
	t.Helper()
	for _, c := range g.all() {
		if c.Path != e2eMessagePath {
			t.Errorf("graph call to %s, want %s: %v", c.Path, e2eMessagePath, c)
		}
		if c.Auth != "Bearer "+e2eAccessToken {
			t.Errorf("graph call with Authorization %q, want %q", c.Auth, "Bearer "+e2eAccessToken)
		}
		if e2eStr(c.Body, "messaging_product") != "whatsapp" {
			t.Errorf("graph call without messaging_product whatsapp: %v", c)
		}
		if !c.receipt() {
			to := c.to()
			if len(to) < 2 || to[0] != '+' || strings.Trim(to[1:], "0123456789") != "" {
				t.Errorf("reply to %q, want +<number>: %v", to, c)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The balas subprocess.

// e2eLog is a goroutine-safe buffer for the subprocess's output.
type e2eLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *e2eLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *e2eLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e2eProc is a running `balas serve`.
type e2eProc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	log    *e2eLog
	exited chan struct{}
}

var e2eClient = &http.Client{
	Timeout:   15 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second},
}

func e2eFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// e2eEnv is the environment without any BALAS_* variable of the caller's,
// plus the secrets of the tests.
func e2eEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BALAS_") {
			env = append(env, kv)
		}
	}
	return append(env, "BALAS_APP_SECRET="+e2eSecret, "BALAS_ACCESS_TOKEN="+e2eAccessToken,
		"BALAS_VERIFY_TOKEN="+e2eVerifyToken)
}

// startBalasServe runs `balas serve` on rulesPath and db, sending to graphURL,
// and waits until /readyz answers 200. The process is killed at cleanup; its
// output is logged if the test failed.
func startBalasServe(t *testing.T, rulesPath, db, graphURL string, extra ...string) *e2eProc {
	t.Helper()
	bin := rulesToolsBinary(t)
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		p := &e2eProc{log: &e2eLog{}, exited: make(chan struct{})}
		addr := e2eFreeAddr(t)
		p.base = "http://" + addr
		args := append([]string{"serve", "--addr", addr, "--db", db, "--rules", rulesPath,
			"--graph-url", graphURL, "--pair-interval", "0"}, extra...)
		p.cmd = exec.Command(bin, args...)
		p.cmd.Env = e2eEnv()
		p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start balas serve: %v", err)
		}
		go func() { p.cmd.Wait(); close(p.exited) }()
		t.Cleanup(func() {
			p.kill()
			if t.Failed() {
				t.Logf("balas serve %s output:\n%s", p.base, p.log.String())
			}
		})
		if p.waitReady(15 * time.Second) {
			return p
		}
		lastErr = p.log.String()
		p.kill()
		if !strings.Contains(lastErr, "address already in use") {
			break
		}
	}
	t.Fatalf("balas serve did not become ready; its output:\n%s", lastErr)
	return nil
}

func (p *e2eProc) waitReady(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return false
		default:
		}
		resp, err := e2eClient.Get(p.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// kill ends the process with SIGKILL and waits until it is gone.
func (p *e2eProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// post sends a webhook body, signed with the app secret unless sign is false.
func (p *e2eProc) post(body []byte, sign bool) (int, error) {
	req, err := http.NewRequest(http.MethodPost, p.base+"/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if sign {
		req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte(e2eSecret), body))
	}
	resp, err := e2eClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// mustPost posts a signed body and fails the test unless it gets 200.
func (p *e2eProc) mustPost(t *testing.T, body []byte) {
	t.Helper()
	code, err := p.post(body, true)
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /webhook: %d %v, want 200", code, err)
	}
}

// metrics returns every sample of GET /metrics, keyed as written
// (`name{label="value"}`).
func (p *e2eProc) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := e2eClient.Get(p.base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// e2eWait polls cond until it holds or limit passes.
func e2eWait(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Deliveries.

// e2eMsg is one inbound message for e2eDelivery: the type-specific fields go
// in Fields (e.g. "type": "location", "location": {...}).
type e2eMsg struct {
	From, Name, ID string
	Fields         map[string]any
}

// e2eDelivery builds a Cloud API delivery with one entry and one change
// holding every message, and a contact for each distinct sender.
func e2eDelivery(msgs ...e2eMsg) []byte {
	var contacts, messages []any
	seen := map[string]bool{}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for _, m := range msgs {
		if !seen[m.From] {
			seen[m.From] = true
			contacts = append(contacts, map[string]any{"profile": map[string]any{"name": m.Name}, "wa_id": m.From})
		}
		msg := map[string]any{"from": m.From, "id": m.ID, "timestamp": ts}
		for k, v := range m.Fields {
			msg[k] = v
		}
		messages = append(messages, msg)
	}
	b, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id": webhook.FakeWABAID,
			"changes": []any{map[string]any{
				"field": "messages",
				"value": map[string]any{
					"messaging_product": "whatsapp",
					"metadata": map[string]any{"display_phone_number": webhook.FakeDisplayPhoneNumber,
						"phone_number_id": webhook.FakePhoneNumberID},
					"contacts": contacts,
					"messages": messages,
				},
			}},
		}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func e2eListReply(id, title, description string) map[string]any {
	return map[string]any{
		"type":    "interactive",
		"context": map[string]any{"from": webhook.FakeDisplayPhoneNumber, "id": "wamid.e2e.ours"},
		"interactive": map[string]any{"type": "list_reply",
			"list_reply": map[string]any{"id": id, "title": title, "description": description}},
	}
}

func e2eTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "e2e", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------------------
// 1. Every rule of the shop example, through the real binary.

// e2eWant is one expected reply.
type e2eWant struct {
	typ      string // text, button, list, reaction
	text     string // exact text (text) or body (button, list); "" not checked
	contains string
	buttons  []string
	rows     []string
	emoji    string
	quote    bool // context.message_id is the customer's message
}

type e2eCustomer struct{ name, number string }

// e2eStep is one message of a conversation and what it must get.
type e2eStep struct {
	who  e2eCustomer
	body func(c e2eCustomer, wamid string) []byte
	// expect gives the rule that answers ("" for none) and the replies,
	// given the time the message was handled.
	expect func(now time.Time) (string, []e2eWant)
}

func e2eText(text string) func(e2eCustomer, string) []byte {
	return func(c e2eCustomer, wamid string) []byte {
		return webhook.Fake{From: c.number, Name: c.name, WamID: wamid, Text: text}.Body()
	}
}

func e2eButton(id, title string) func(e2eCustomer, string) []byte {
	return func(c e2eCustomer, wamid string) []byte {
		return webhook.Fake{From: c.number, Name: c.name, WamID: wamid, ButtonID: id, ButtonTitle: title}.Body()
	}
}

func e2eList(id, title, description string) func(e2eCustomer, string) []byte {
	return func(c e2eCustomer, wamid string) []byte {
		return e2eDelivery(e2eMsg{From: c.number, Name: c.name, ID: wamid, Fields: e2eListReply(id, title, description)})
	}
}

func e2eImage(caption string) func(e2eCustomer, string) []byte {
	return func(c e2eCustomer, wamid string) []byte {
		return webhook.Fake{From: c.number, Name: c.name, WamID: wamid, Image: true, Text: caption}.Body()
	}
}

func e2eFields(fields map[string]any) func(e2eCustomer, string) []byte {
	return func(c e2eCustomer, wamid string) []byte {
		return e2eDelivery(e2eMsg{From: c.number, Name: c.name, ID: wamid, Fields: fields})
	}
}

func e2eFixed(rule string, want ...e2eWant) func(time.Time) (string, []e2eWant) {
	return func(time.Time) (string, []e2eWant) { return rule, want }
}

var e2eJakarta = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		panic(err)
	}
	return loc
}()

func e2eNight(now time.Time) bool {
	h := now.In(e2eJakarta).Hour()
	return h >= 21 || h < 8
}

var (
	e2eProductRows = []string{"product_kaos_hitam", "product_kaos_putih", "product_kemeja_flanel",
		"product_kemeja_linen", "product_topi", "product_totebag"}
	e2eKatalog    = e2eWant{typ: "list", text: "Silakan pilih produk yang kamu mau 👇", rows: e2eProductRows}
	e2eOrderAsk   = e2eWant{typ: "text", text: "Oke! Kirim alamat pengiriman lengkap ya: nama penerima, jalan, kota dan kode pos."}
	e2eMalamText  = "Terima kasih sudah menghubungi Toko Maju 🌙 Kami buka 08.00–21.00 WIB, pesanmu akan dibalas besok pagi. Ketik *menu* untuk melihat katalog."
	e2eBantuanTxt = "Maaf, aku belum paham 🙏 Ketik *menu* untuk melihat produk, atau pilih di bawah."
)

func e2eSapa(name string) e2eWant {
	return e2eWant{typ: "button", text: "Hai " + name + "! Selamat datang di Toko Maju 👋\nMau lihat apa hari ini?",
		buttons: []string{"btn_katalog", "btn_jam", "btn_admin"}}
}

func e2ePilih(title, price string) e2eWant {
	return e2eWant{typ: "button", text: "Kamu memilih *" + title + "* (" + price + "). Lanjut order?",
		buttons: []string{"btn_order", "btn_katalog", "btn_batal"}}
}

func e2eAdmin(name string) e2eWant {
	return e2eWant{typ: "text", text: "Baik " + name + ", admin kami akan membalas di chat ini secepatnya 🙏 Bot istirahat dulu selama 2 jam."}
}

// e2eUnmatched: a text no rule catches gets `malam` at night in Jakarta,
// the `bantuan` fallback by day.
func e2eUnmatched(now time.Time) (string, []e2eWant) {
	if e2eNight(now) {
		return "malam", []e2eWant{{typ: "text", text: e2eMalamText}}
	}
	return "bantuan", []e2eWant{{typ: "button", text: e2eBantuanTxt, buttons: []string{"btn_katalog", "btn_admin"}}}
}

func e2eJam(rule string) func(time.Time) (string, []e2eWant) {
	return func(now time.Time) (string, []e2eWant) {
		state := "buka 😊"
		if e2eNight(now) {
			state = "tutup 🌙"
		}
		return rule, []e2eWant{{typ: "text", text: "Toko Maju buka setiap hari 08.00–21.00 WIB. Sekarang pukul " +
			now.In(e2eJakarta).Format("15.04") + " WIB, kami sedang " + state}}
	}
}

// check compares the replies one message got with want.
func (w e2eWant) check(c e2eCall, wamid string) error {
	b := c.Body
	var got string
	switch w.typ {
	case "text":
		got = e2eStr(b, "text", "body")
	case "button", "list":
		if e2eStr(b, "type") != "interactive" || e2eStr(b, "interactive", "type") != w.typ {
			return fmt.Errorf("want an interactive %s, got %v", w.typ, c)
		}
		got = e2eStr(b, "interactive", "body", "text")
	case "reaction":
		if e2eStr(b, "reaction", "emoji") != w.emoji || e2eStr(b, "reaction", "message_id") != wamid {
			return fmt.Errorf("want reaction %s to %s, got %v", w.emoji, wamid, c)
		}
	}
	if typ := e2eStr(b, "type"); w.typ != "button" && w.typ != "list" && typ != w.typ {
		return fmt.Errorf("want type %s, got %v", w.typ, c)
	}
	if w.text != "" && got != w.text {
		return fmt.Errorf("want text %q, got %q", w.text, got)
	}
	if w.contains != "" && !strings.Contains(got, w.contains) {
		return fmt.Errorf("want text containing %q, got %q", w.contains, got)
	}
	if w.buttons != nil {
		var ids []string
		for i := 0; e2eGet(b, "interactive", "action", "buttons", i) != nil; i++ {
			ids = append(ids, e2eStr(b, "interactive", "action", "buttons", i, "reply", "id"))
		}
		if !reflect.DeepEqual(ids, w.buttons) {
			return fmt.Errorf("want buttons %v, got %v", w.buttons, ids)
		}
	}
	if w.rows != nil {
		var ids []string
		for s := 0; e2eGet(b, "interactive", "action", "sections", s) != nil; s++ {
			for r := 0; e2eGet(b, "interactive", "action", "sections", s, "rows", r) != nil; r++ {
				ids = append(ids, e2eStr(b, "interactive", "action", "sections", s, "rows", r, "id"))
			}
		}
		if !reflect.DeepEqual(ids, w.rows) {
			return fmt.Errorf("want list rows %v, got %v", w.rows, ids)
		}
	}
	if q := e2eStr(b, "context", "message_id"); w.quote && q != wamid {
		return fmt.Errorf("want the reply to quote %s, got context %q", wamid, q)
	} else if !w.quote && q != "" {
		return fmt.Errorf("want no quote, got context %q", q)
	}
	return nil
}

// e2eHits is the balas_rule_hits_total counters.
func e2eHits(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if id, ok := strings.CutPrefix(k, `balas_rule_hits_total{rule="`); ok {
			out[strings.TrimSuffix(id, `"}`)] = v
		}
	}
	return out
}

// e2eRunSteps drives a conversation through p and checks every reply, rule hit
// and read receipt. It returns the number of replies expected.
func e2eRunSteps(t *testing.T, p *e2eProc, g *e2eGraph, prefix string, steps []e2eStep) int {
	t.Helper()
	total := 0
	before := e2eHits(p.metrics(t))
	for i, s := range steps {
		wamid := fmt.Sprintf("wamid.e2e.%s.%02d", prefix, i)
		to := "+" + s.who.number
		n0 := len(g.replies(to))
		t0 := time.Now()
		p.mustPost(t, s.body(s.who, wamid))
		t1 := time.Now()
		// The receipt is queued before the replies and a conversation's
		// outbox is sent in order: once the receipt is in, wait for the
		// replies expected at either end of the handling time.
		e2eWait(t, 10*time.Second, "read receipt of "+wamid, func() bool { return g.receipts()[wamid] > 0 })
		rule0, want0 := s.expect(t0)
		rule1, want1 := s.expect(t1)
		n := max(len(want0), len(want1))
		e2eWait(t, 10*time.Second, fmt.Sprintf("%d replies to step %d (%s)", n, i, wamid), func() bool {
			return len(g.replies(to)) >= n0+min(len(want0), len(want1))
		})
		got := g.replies(to)[n0:]
		after := e2eHits(p.metrics(t))
		diff := map[string]float64{}
		for k, v := range after {
			if d := v - before[k]; d != 0 {
				diff[k] = d
			}
		}
		before = after
		errFor := func(rule string, want []e2eWant) error {
			wantDiff := map[string]float64{}
			if rule != "" {
				wantDiff[rule] = 1
			}
			if !reflect.DeepEqual(diff, wantDiff) {
				return fmt.Errorf("rule hits changed by %v, want %v", diff, wantDiff)
			}
			if len(got) != len(want) {
				return fmt.Errorf("got %d replies, want %d: %v", len(got), len(want), got)
			}
			for j, w := range want {
				if err := w.check(got[j], wamid); err != nil {
					return fmt.Errorf("reply %d: %v", j+1, err)
				}
			}
			return nil
		}
		err := errFor(rule0, want0)
		if err != nil && (rule1 != rule0 || !reflect.DeepEqual(want0, want1)) {
			if err1 := errFor(rule1, want1); err1 == nil {
				err = nil
			}
		}
		if err != nil {
			t.Errorf("step %d (%s from %s): %v", i, wamid, s.who.name, err)
		}
		total += len(got)
	}
	return total
}

// TestE2EShopRules drives the conversations of
// examples/rules/toko/toko_test.yaml through signed webhooks into the
// binary and checks every reply the fake Graph API receives. Every rule id
// of toko.yaml must be hit.
func TestE2EShopRules(t *testing.T) {
	g := newE2EGraph(t)
	p := startBalasServe(t, e2eTokoRules, filepath.Join(t.TempDir(), "balas.db"), g.url())

	budi := e2eCustomer{"Budi", "628123456789"}
	ani := e2eCustomer{"Ani", "628111000001"}
	rina := e2eCustomer{"Rina", "628111000002"}
	tono := e2eCustomer{"Tono", "628111000003"}
	sari := e2eCustomer{"Sari", "6281311112222"}
	wati := e2eCustomer{"Wati", "628111000005"}
	dedi := e2eCustomer{"Dedi", "628111000004"}
	budi2 := e2eCustomer{"Budi", "628123450000"}

	steps := []e2eStep{
		// order flow from greeting to payment
		{budi, e2eText("Halo kak!"), e2eFixed("sapa", e2eSapa("Budi"))},
		{budi, e2eButton("btn_katalog", "Lihat Katalog"), e2eFixed("katalog-tombol", e2eKatalog)},
		{budi, e2eList("product_kemeja_flanel", "Kemeja Flanel", "Rp 149.000"), e2eFixed("pilih-produk", e2ePilih("Kemeja Flanel", "Rp 149.000"))},
		{budi, e2eButton("btn_order", "Order Sekarang"), e2eFixed("order", e2eOrderAsk)},
		{budi, e2eFields(map[string]any{"type": "location", "location": map[string]any{
			"latitude": -6.9175, "longitude": 107.6191, "name": "Alun-alun Bandung", "address": "Jl. Asia Afrika"}}),
			e2eFixed("alamat-bukan-teks", e2eWant{typ: "text", text: "Alamatnya diketik saja ya, contoh: Jl. Merdeka 1, Bandung 40111. Ketik *batal* kalau tidak jadi."})},
		{budi, e2eText("Budi Santoso, Jl. Merdeka 1, Bandung 40111"), e2eFixed("alamat",
			e2eWant{typ: "text", text: "Siap! *Kemeja Flanel* (Rp 149.000) akan dikirim ke:\nBudi Santoso, Jl. Merdeka 1, Bandung 40111"},
			e2eWant{typ: "text", text: "Silakan transfer Rp 149.000 ke BCA 123 456 7890 a.n. Toko Maju, lalu kirim foto bukti transfernya di sini ya 📸"})},
		{budi, e2eText("sudah transfer ya kak"), e2eFixed("tunggu-bayar",
			e2eWant{typ: "text", text: "Terima kasih! Kirim foto bukti transfernya di sini ya, biar bisa langsung kami cek 🙏"})},
		{budi, e2eImage("bukti transfer"), e2eFixed("bukti-bayar", e2eWant{typ: "text", quote: true,
			text: "Terima kasih Budi! Bukti transfer untuk *Kemeja Flanel* sudah kami terima ✅ Pesanan segera diproses, nomor resi kami kirim di chat ini."})},

		// catalogue by keyword
		{ani, e2eText("Menu dong 🙏"), e2eFixed("katalog", e2eKatalog)},
		{ani, e2eText("DAFTAR HARGA"), e2eFixed("katalog", e2eKatalog)},
		{ani, e2eText("katalognya ada?"), e2eUnmatched},

		// cancel by button and by word
		{rina, e2eList("product_topi", "Topi Baseball", "Rp 59.000"), e2eFixed("pilih-produk", e2ePilih("Topi Baseball", "Rp 59.000"))},
		{rina, e2eButton("btn_batal", "Batal"), e2eFixed("batal-tombol", e2eWant{typ: "text", text: "Oke, tidak jadi. Ketik *menu* kalau mau lihat produk lain 😊"})},
		{rina, e2eList("product_totebag", "Tote Bag Kanvas", "Rp 45.000"), e2eFixed("pilih-produk", e2ePilih("Tote Bag Kanvas", "Rp 45.000"))},
		{rina, e2eButton("btn_order", "Order Sekarang"), e2eFixed("order", e2eOrderAsk)},
		{rina, e2eText("Gak jadi deh"), e2eFixed("batal", e2eWant{typ: "text", text: "Oke, pesanan dibatalkan. Ketik *menu* kalau mau lihat produk lagi 😊"})},

		// the order button without a product in the session
		{tono, e2eButton("btn_order", "Order Sekarang"), e2eFixed("order-tanpa-produk", e2eWant{typ: "text", text: "Pilih produknya dulu ya 🙂 Ketik *menu* untuk melihat katalog."})},

		// handoff to a person: the bot is silent afterwards
		{sari, e2eText("Saya mau bicara dengan admin"), e2eFixed("admin", e2eAdmin("Sari"))},
		{sari, e2eText("halo?"), e2eFixed("")},
		{wati, e2eText("halo"), e2eFixed("sapa", e2eSapa("Wati"))},
		{wati, e2eButton("btn_admin", "Chat Admin"), e2eFixed("admin-tombol", e2eAdmin("Wati"))},
		{wati, e2eText("menu"), e2eFixed("")},

		// opening hours and shipping (the answers depend on the hour in Jakarta)
		{dedi, e2eText("Jam berapa buka?"), e2eJam("jam")},
		{dedi, e2eButton("btn_jam", "Jam Buka"), e2eJam("jam-tombol")},
		{dedi, e2eText("Berapa ongkir ke Surabaya?"), e2eFixed("ongkir", e2eWant{typ: "text",
			text: "Kami kirim dari Bandung lewat JNE, J&T dan SiCepat. Ongkir dihitung setelah alamat masuk, nomor resi dikirim di chat ini."})},
		{dedi, e2eText("Kak, stoknya masih ada?"), e2eUnmatched},

		// thanks, files and everything else
		{budi2, e2eText("Makasih ya kak!"), e2eFixed("terima-kasih", e2eWant{typ: "reaction", emoji: "🙏"},
			e2eWant{typ: "text", text: "Sama-sama, Budi! Senang bisa membantu 😊"})},
		{budi2, e2eFields(map[string]any{"type": "document", "document": map[string]any{"filename": "bukti.pdf",
			"mime_type": "application/pdf", "sha256": "7a9KkHuo8vQEH8CzR5MVz/E9CJYkNxJ3FrKl8OSzS5w=", "id": "6587557481860502"}}),
			e2eFixed("foto", e2eWant{typ: "text", quote: true, text: "Terima kasih, file kamu sudah kami terima. Admin akan mengeceknya ya."})},
		{budi2, e2eImage(""), e2eFixed("foto", e2eWant{typ: "text", quote: true, text: "Terima kasih, file kamu sudah kami terima. Admin akan mengeceknya ya."})},
		{budi2, e2eText("asdfgh"), e2eUnmatched},
	}
	total := e2eRunSteps(t, p, g, "toko", steps)
	hits := e2eHits(p.metrics(t))

	// `malam` answers only at night in Jakarta and hides the `bantuan`
	// fallback then: the other one of the two is hit on a copy of toko.yaml
	// whose time zone has the opposite time of day now.
	src, err := os.ReadFile(filepath.Join(e2eTokoRules, "toko.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	target := 2 // night there while it is day in Jakarta
	if e2eNight(time.Now()) {
		target = 14 // and day while it is night
	}
	k := ((target-time.Now().UTC().Hour())%24 + 24) % 24
	if k > 12 {
		k -= 24
	}
	zone := "Etc/GMT"
	if k > 0 {
		zone = "Etc/GMT-" + strconv.Itoa(k)
	} else if k < 0 {
		zone = "Etc/GMT+" + strconv.Itoa(-k)
	}
	flipped := strings.Replace(string(src), "timezone: Asia/Jakarta", "timezone: "+zone, 1)
	if flipped == string(src) {
		t.Fatal("toko.yaml has no `timezone: Asia/Jakarta` line to change")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "toko.yaml"), []byte(flipped), 0o644); err != nil {
		t.Fatal(err)
	}
	g2 := newE2EGraph(t)
	p2 := startBalasServe(t, dir, filepath.Join(t.TempDir(), "balas.db"), g2.url())
	other := e2eCustomer{"Eko", "628111000006"}
	e2eRunSteps(t, p2, g2, "flipped", []e2eStep{{other, e2eText("asdfgh"), func(time.Time) (string, []e2eWant) {
		// In the flipped zone it is now the opposite time of day to Jakarta.
		_, want := e2eUnmatched(time.Now())
		if len(want) == 1 && want[0].typ == "text" {
			return "bantuan", []e2eWant{{typ: "button", text: e2eBantuanTxt, buttons: []string{"btn_katalog", "btn_admin"}}}
		}
		return "malam", []e2eWant{{typ: "text", text: e2eMalamText}}
	}}})
	for id, v := range e2eHits(p2.metrics(t)) {
		hits[id] += v
	}

	set, _, err := rules.Load(e2eTokoRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Rules {
		if hits[r.ID] == 0 {
			t.Errorf("rule %s of toko.yaml was never hit (balas_rule_hits_total)", r.ID)
		}
	}

	// Nothing beyond what the steps expected, one receipt per message, and
	// every call well-formed.
	time.Sleep(100 * time.Millisecond)
	if got := len(g.replies("")); got != total {
		t.Errorf("fake Graph API got %d replies, want %d", got, total)
	}
	rc := g.receipts()
	for i := range steps {
		if w := fmt.Sprintf("wamid.e2e.toko.%02d", i); rc[w] != 1 {
			t.Errorf("%s was marked read %d times, want 1", w, rc[w])
		}
	}
	if len(rc) != len(steps) {
		t.Errorf("read receipts for %d messages, want %d: %v", len(rc), len(steps), rc)
	}
	g.checkCalls(t)
	g2.checkCalls(t)
}

// ---------------------------------------------------------------------------
// 2–6.

// TestE2EConcurrentDuplicates posts one delivery 10 times at once: every
// copy is acknowledged, the message is answered once.
func TestE2EConcurrentDuplicates(t *testing.T) {
	g := newE2EGraph(t)
	p := startBalasServe(t, e2eTokoRules, filepath.Join(t.TempDir(), "balas.db"), g.url())
	body := webhook.Fake{From: "628222000001", Name: "Dina", WamID: "wamid.e2e.dup.1", Text: "halo"}.Body()

	start := make(chan struct{})
	codes := make([]int, 10)
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], errs[i] = p.post(body, true)
		}()
	}
	close(start)
	wg.Wait()
	for i := range codes {
		if errs[i] != nil || codes[i] != http.StatusOK {
			t.Errorf("copy %d: %d %v, want 200", i, codes[i], errs[i])
		}
	}
	e2eWait(t, 10*time.Second, "the reply", func() bool { return len(g.replies("")) >= 1 && len(g.receipts()) >= 1 })
	time.Sleep(300 * time.Millisecond)
	if r := g.replies(""); len(r) != 1 || r[0].to() != "+628222000001" {
		t.Errorf("got %d replies, want exactly 1 to +628222000001: %v", len(r), r)
	}
	if rc := g.receipts(); rc["wamid.e2e.dup.1"] != 1 || len(rc) != 1 {
		t.Errorf("read receipts %v, want exactly one for wamid.e2e.dup.1", rc)
	}
	m := p.metrics(t)
	if got := m["balas_duplicates_total"]; got != 9 {
		t.Errorf("balas_duplicates_total = %v, want 9", got)
	}
	if got := m[`balas_rule_hits_total{rule="sapa"}`]; got != 1 {
		t.Errorf(`balas_rule_hits_total{rule="sapa"} = %v, want 1`, got)
	}
	g.checkCalls(t)
}

// TestE2EBatchDelivery: one delivery carrying 3 messages from 3 customers
// gets 3 replies, one to each, greeting each by the name in its contact.
func TestE2EBatchDelivery(t *testing.T) {
	g := newE2EGraph(t)
	p := startBalasServe(t, e2eTokoRules, filepath.Join(t.TempDir(), "balas.db"), g.url())
	who := []e2eCustomer{{"Adi", "628333000001"}, {"Bela", "628333000002"}, {"Citra", "628333000003"}}
	var msgs []e2eMsg
	for i, c := range who {
		msgs = append(msgs, e2eMsg{From: c.number, Name: c.name, ID: fmt.Sprintf("wamid.e2e.batch.%d", i),
			Fields: map[string]any{"type": "text", "text": map[string]any{"body": "halo"}}})
	}
	p.mustPost(t, e2eDelivery(msgs...))
	e2eWait(t, 10*time.Second, "3 replies and 3 receipts", func() bool {
		return len(g.replies("")) >= 3 && len(g.receipts()) >= 3
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(g.replies("")); n != 3 {
		t.Errorf("got %d replies, want 3", n)
	}
	for i, c := range who {
		r := g.replies("+" + c.number)
		if len(r) != 1 {
			t.Errorf("%d replies to +%s, want 1", len(r), c.number)
			continue
		}
		if err := e2eSapa(c.name).check(r[0], ""); err != nil {
			t.Errorf("reply to %s: %v", c.name, err)
		}
		if w := fmt.Sprintf("wamid.e2e.batch.%d", i); g.receipts()[w] != 1 {
			t.Errorf("%s not marked read exactly once: %v", w, g.receipts())
		}
	}
	if got := p.metrics(t)[`balas_messages_total{direction="in",type="text"}`]; got != 3 {
		t.Errorf(`balas_messages_total{direction="in",type="text"} = %v, want 3`, got)
	}
	g.checkCalls(t)
}

// TestE2EOrderPerCustomer: 20 messages from one customer are answered in
// the order they were posted.
func TestE2EOrderPerCustomer(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "echo.yaml")
	if err := os.WriteFile(rulesFile, []byte(`version: 1
rules:
  - id: echo
    when: {regex: "^seq-[0-9]+$"}
    reply: "echo {{ message.text }}"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newE2EGraph(t)
	p := startBalasServe(t, rulesFile, filepath.Join(t.TempDir(), "balas.db"), g.url())
	var want []string
	for i := 1; i <= 20; i++ {
		text := fmt.Sprintf("seq-%02d", i)
		want = append(want, "echo "+text)
		p.mustPost(t, webhook.Fake{From: "628444000001", Name: "Eka", WamID: "wamid.e2e.order." + text, Text: text}.Body())
	}
	e2eWait(t, 15*time.Second, "20 replies", func() bool { return len(g.replies("")) >= 20 })
	time.Sleep(100 * time.Millisecond)
	var got []string
	for _, c := range g.replies("") {
		got = append(got, e2eStr(c.Body, "text", "body"))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replies in this order:\n%v\nwant\n%v", got, want)
	}
	// The read receipts, too, go out in order.
	var order []string
	for _, c := range g.all() {
		if c.receipt() {
			order = append(order, strings.TrimPrefix(e2eStr(c.Body, "message_id"), "wamid.e2e.order."))
		}
	}
	if !slices.IsSorted(order) || len(order) != 20 {
		t.Errorf("read receipts in this order: %v", order)
	}
	g.checkCalls(t)
}

// --send-concurrency bounds the Graph API calls in flight: with Graph
// slow to answer, 8 customers at once get their answers 2 calls at a time.
func TestE2ESendConcurrency(t *testing.T) {
	g := newE2EGraph(t)
	g.delay = 40 * time.Millisecond
	p := startBalasServe(t, e2eTokoRules, filepath.Join(t.TempDir(), "balas.db"), g.url(), "--send-concurrency", "2")
	const n = 8
	for i := range n {
		p.mustPost(t, webhook.Fake{From: fmt.Sprintf("62845500%04d", i), Text: "halo"}.Body())
	}
	e2eWait(t, 15*time.Second, "every reply", func() bool { return len(g.replies("")) >= n })
	if most := g.mostInFlight(); most != 2 {
		t.Errorf("at most %d Graph API calls in flight, want 2", most)
	}
	if m := p.metrics(t); m["balas_send_concurrency"] != 2 {
		t.Errorf("balas_send_concurrency %v, want 2", m["balas_send_concurrency"])
	}
	g.checkCalls(t)
}

// TestE2EStatusesAndEvents: status deliveries are stored and counted,
// answered by nothing; a repeated status counts once; other fields are
// events.
func TestE2EStatusesAndEvents(t *testing.T) {
	g := newE2EGraph(t)
	p := startBalasServe(t, e2eTokoRules, filepath.Join(t.TempDir(), "balas.db"), g.url())
	for _, name := range []string{"status_sent.json", "status_delivered.json", "status_read.json", "status_failed.json",
		"status_read.json", "account_update.json"} {
		if code, err := p.post(e2eTestdata(t, name), true); err != nil || code != http.StatusOK {
			t.Errorf("POST %s: %d %v, want 200", name, code, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if calls := g.all(); len(calls) != 0 {
		t.Errorf("statuses and events made %d Graph API calls, want none: %v", len(calls), calls)
	}
	m := p.metrics(t)
	for _, s := range []string{"sent", "delivered", "read", "failed"} {
		if got := m[`balas_statuses_total{status="`+s+`"}`]; got != 1 {
			t.Errorf(`balas_statuses_total{status=%q} = %v, want 1`, s, got)
		}
	}
	if got := m[`balas_webhook_events_total{field="account_update"}`]; got != 1 {
		t.Errorf(`balas_webhook_events_total{field="account_update"} = %v, want 1`, got)
	}
	if got := m[`balas_webhook_requests_total{code="200"}`]; got != 6 {
		t.Errorf(`balas_webhook_requests_total{code="200"} = %v, want 6`, got)
	}
	for k, v := range m {
		if (strings.HasPrefix(k, "balas_rule_hits_total") || strings.HasPrefix(k, "balas_messages_total")) && v != 0 {
			t.Errorf("%s = %v after statuses only", k, v)
		}
	}
}

// TestE2ESignatureAndHandshake: the production server refuses unsigned and
// badly signed webhooks, and answers Meta's handshake.
func TestE2ESignatureAndHandshake(t *testing.T) {
	g := newE2EGraph(t)
	p := startBalasServe(t, e2eTokoRules, filepath.Join(t.TempDir(), "balas.db"), g.url())
	body := webhook.Fake{From: "628555000001", Name: "Fajar", WamID: "wamid.e2e.sig.1", Text: "halo"}.Body()
	if code, err := p.post(body, false); err != nil || code != http.StatusUnauthorized {
		t.Errorf("unsigned POST: %d %v, want 401", code, err)
	}
	req, _ := http.NewRequest(http.MethodPost, p.base+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte("not the secret"), body))
	if resp, err := e2eClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST signed with another secret: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}

	get := func(q string) (int, string) {
		resp, err := e2eClient.Get(p.base + "/webhook?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := get("hub.mode=subscribe&hub.verify_token=" + e2eVerifyToken + "&hub.challenge=1158201444"); code != 200 || b != "1158201444" {
		t.Errorf("handshake: %d %q, want 200 1158201444", code, b)
	}
	if code, _ := get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444"); code != http.StatusForbidden {
		t.Errorf("handshake with a wrong token: %d, want 403", code)
	}

	time.Sleep(200 * time.Millisecond)
	if calls := g.all(); len(calls) != 0 {
		t.Errorf("refused deliveries made %d Graph API calls: %v", len(calls), calls)
	}
	// The signed copy is then accepted and answered.
	p.mustPost(t, body)
	e2eWait(t, 10*time.Second, "the reply", func() bool { return len(g.replies("+628555000001")) == 1 })
}
