package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A client that announces a 3 MiB body and sends one byte must not cost the
// server 3 MiB: the signature is checked only after the body is read, so
// anyone on the internet could otherwise hold gigabytes with a few hundred
// idle connections (each held for the 30 s read timeout).
func TestWebhookMemoryFollowsBytesReceivedNotContentLength(t *testing.T) {
	ts, _ := newTestServer(t, "", false)
	const conns = 48
	before := heapInUse()
	stalledPosts(t, ts.URL, conns, nil)
	time.Sleep(500 * time.Millisecond) // every handler is reading its body
	grew := int64(heapInUse()) - int64(before)
	if limit := int64(16 << 20); grew > limit {
		t.Fatalf("%d connections that sent 1 byte each grew the heap by %d MiB (limit %d MiB): the body buffer is sized by the client's Content-Length",
			conns, grew>>20, limit>>20)
	}
}

// stalledPosts opens n connections to the server at base, each posting a
// webhook that announces 3 MiB and sends "{" and then sent, and no more.
// They are closed at the end of the test.
func stalledPosts(t *testing.T, base string, n int, sent []byte) []net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	var open []net.Conn
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
	for i := range n {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", maxWebhookBody)
		if _, err := c.Write(sent); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	return open
}

// A body larger than a pooled buffer takes one of a few slots while it is
// read: connections that each send 200 KiB of an announced 3 MiB and wait
// hold at most maxLargeBodies × 3 MiB; the others are answered 503 (Meta
// retries) at once, without their bytes being kept.
func TestWebhookLargeBodiesReadAFewAtATime(t *testing.T) {
	ts, _ := newTestServer(t, "", false)
	const conns = maxLargeBodies + 8
	open := stalledPosts(t, ts.URL, conns, bytes.Repeat([]byte(" "), 200<<10))
	refused := 0
	for _, c := range open {
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.HasPrefix(line, "HTTP/1.1 503") {
			refused++
		} else if line != "" {
			t.Errorf("answer %q, want 503 or none yet", line)
		}
	}
	if refused != conns-maxLargeBodies {
		t.Errorf("%d of %d large bodies refused, want %d (all but %d)", refused, conns, conns-maxLargeBodies, maxLargeBodies)
	}
}

const hostileRules = `version: 1
settings: {mark_read: false}
rules:
  - id: salam
    when: {keywords: [halo]}
    reply: "Halo juga"
  - id: lain
    fallback: true
    reply: "Maaf"
`

// hostileEnvelope wraps messages (JSON objects) in one messages change for
// the business number phoneID.
func hostileEnvelope(phoneID string, messages ...string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"104857600123456","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"6281188880000","phone_number_id":"` + phoneID + `"},` +
		`"messages":[` + strings.Join(messages, ",") + `]}}]}]}`
}

func hostileText(from, wamid, text string) string {
	return `{"from":"` + from + `","id":"` + wamid + `","timestamp":"1789365600","type":"text","text":{"body":"` + text + `"}}`
}

// hostileApp is serve's app (dry-run sender, not running) behind httptest.
func hostileApp(t *testing.T) (*app, string) {
	t.Helper()
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": hostileRules}))
	ts := httptest.NewServer(a.handler)
	t.Cleanup(ts.Close)
	return a, ts.URL
}

func countRows(t *testing.T, a *app, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.db.Reader().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// repliesTo is the number of replies queued to answer the customer message wamid.
func repliesTo(t *testing.T, a *app, wamid string) int {
	return countRows(t, a, `SELECT count(*) FROM outbox WHERE kind = 'message' AND context_wamid = ?`, wamid)
}

// One message of a batch that Meta types oddly (a number where the Cloud
// API documents a string, a string where it documents a number) must not
// cost the other customers of the same POST their answers: the batch was
// acknowledged with 200, so each of its well-formed messages is answered
// once, and the odd one is kept.
func TestWebhookOddMessageDoesNotSinkItsBatch(t *testing.T) {
	odd := map[string]string{
		"timestamp as number": `{"from":"6281000000009","id":"wamid.odd","timestamp":1789365600,"type":"text","text":{"body":"halo"}}`,
		"text body as number": `{"from":"6281000000009","id":"wamid.odd","timestamp":"1789365600","type":"text","text":{"body":5}}`,
		"latitude as string": `{"from":"6281000000009","id":"wamid.odd","timestamp":"1789365600","type":"location",` +
			`"location":{"latitude":"-7.80","longitude":"110.36"}}`,
		"identity created_timestamp as number": `{"from":"6281000000009","id":"wamid.odd","timestamp":"1789365600","type":"system",` +
			`"identity":{"acknowledged":true,"created_timestamp":1602532300000,"hash":"Sjvjlx8G6Z0="},` +
			`"system":{"body":"identity changed","type":"customer_identity_changed"}}`,
	}
	for name, oddMsg := range odd {
		t.Run(name, func(t *testing.T) {
			a, base := hostileApp(t)
			body := []byte(hostileEnvelope("113355779900246",
				hostileText("6281000000001", "wamid.good1", "halo"), oddMsg, hostileText("6281000000002", "wamid.good2", "halo")))
			if code, out := post(t, base, body, webhook.Sign([]byte(testSecret), body)); code != 200 {
				t.Fatalf("POST: %d %s", code, out)
			}
			for _, w := range []string{"wamid.good1", "wamid.good2"} {
				if n := repliesTo(t, a, w); n != 1 {
					t.Errorf("%s: %d replies queued, want 1 (it was acknowledged with 200 in a batch with one odd message)", w, n)
				}
			}
		})
	}
	// The same for the members of the messages value: a numeric
	// phone_number_id, a contact whose wa_id is a number.
	t.Run("numeric metadata and contact", func(t *testing.T) {
		a, base := hostileApp(t)
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{` +
			`"messaging_product":"whatsapp","metadata":{"display_phone_number":6281188880000,"phone_number_id":113355779900246},` +
			`"contacts":[{"profile":{"name":"Budi"},"wa_id":6281000000001}],"messages":[` + hostileText("6281000000001", "wamid.good1", "halo") + `]}}]}]}`)
		if code, out := post(t, base, body, webhook.Sign([]byte(testSecret), body)); code != 200 {
			t.Fatalf("POST: %d %s", code, out)
		}
		if n := repliesTo(t, a, "wamid.good1"); n != 1 {
			t.Errorf("%d replies queued, want 1", n)
		}
		if n := countRows(t, a, `SELECT count(*) FROM outbox WHERE phone_number_id = '113355779900246' AND to_number = '6281000000001'`); n != 1 {
			t.Errorf("%d replies from the business number to the customer, want 1", n)
		}
	})
}

// The same message in many deliveries at once (Meta's retries and the
// copies sent to every subscribed app), each a different batch, byte form
// and business number mix: stored every time, answered once.
func TestWebhookSameMessageAtOnceAnsweredOnce(t *testing.T) {
	a, base := hostileApp(t)
	same := hostileText("6281000000001", "wamid.same", "halo")
	bodies := []string{
		hostileEnvelope("113355779900246", same),
		hostileEnvelope("113355779900246", same, same),
		" \n" + hostileEnvelope("113355779900246", hostileText("6281000000002", "wamid.other", "halo"), same) + "\n",
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"113355779900246"},` +
			`"statuses":[{"id":"wamid.out","status":"read","timestamp":"1789365601","recipient_id":"6281000000001"}],"messages":[` + same + `]}},` +
			`{"field":"account_update","value":{"event":"ACCOUNT_RESTRICTION"}}]}]}`,
	}
	const copies = 12
	var wg sync.WaitGroup
	for i := range copies {
		for _, b := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := []byte(b)
				if code, out := post(t, base, body, webhook.Sign([]byte(testSecret), body)); code != 200 {
					t.Errorf("copy %d: %d %s", i, code, out)
				}
			}()
		}
	}
	wg.Wait()
	if n := countRows(t, a, `SELECT count(*) FROM inbox`); n != copies*len(bodies) {
		t.Errorf("%d deliveries stored, want %d", n, copies*len(bodies))
	}
	if n := countRows(t, a, `SELECT count(*) FROM inbox WHERE processed_at IS NULL OR error <> ''`); n != 0 {
		t.Errorf("%d deliveries unhandled or failed", n)
	}
	for _, w := range []string{"wamid.same", "wamid.other"} {
		if n := countRows(t, a, `SELECT count(*) FROM messages WHERE direction = 'in' AND wamid = ?`, w); n != 1 {
			t.Errorf("%s stored %d times, want once", w, n)
		}
		if n := repliesTo(t, a, w); n != 1 {
			t.Errorf("%s answered %d times, want once", w, n)
		}
	}
	if n := countRows(t, a, `SELECT count(*) FROM statuses`); n != 1 {
		t.Errorf("%d statuses stored, want 1", n)
	}
	if n := countRows(t, a, `SELECT count(*) FROM events WHERE field = 'account_update'`); n != copies {
		t.Errorf("%d account_update events, want %d (one per delivery)", n, copies)
	}
}

// A message without a usable timestamp (missing, or not a number) is stored
// with timestamp 0, as the schema says of an unknown time, not as the Unix
// time of year 1 (-62135596800), which sorts before everything and reads as
// a date.
func TestWebhookMessageWithoutTimestampStoredAsZero(t *testing.T) {
	a, base := hostileApp(t)
	body := []byte(hostileEnvelope("113355779900246",
		`{"from":"6281000000011","id":"wamid.nots","type":"text","text":{"body":"halo"}}`,
		`{"from":"6281000000012","id":"wamid.badts","timestamp":"soon","type":"text","text":{"body":"halo"}}`,
		hostileText("6281000000013", "wamid.okts", "halo")))
	if code, out := post(t, base, body, webhook.Sign([]byte(testSecret), body)); code != 200 {
		t.Fatalf("POST: %d %s", code, out)
	}
	for wamid, want := range map[string]int64{"wamid.nots": 0, "wamid.badts": 0, "wamid.okts": 1789365600} {
		var ts int64
		if err := a.db.Reader().QueryRow(`SELECT timestamp FROM messages WHERE wamid = ?`, wamid).Scan(&ts); err != nil {
			t.Fatalf("%s: %v", wamid, err)
		}
		if ts != want {
			t.Errorf("%s stored with timestamp %d, want %d", wamid, ts, want)
		}
	}
}

// Methods the endpoints do not serve are 405 with an Allow header, not
// 404 (which says the path does not exist), and HEAD works where GET does,
// as uptime monitors and load balancers probe with it.
func TestEndpointsAnswerOtherMethods(t *testing.T) {
	ts, _ := newTestServer(t, "", false)
	cases := []struct {
		method, path string
		code         int
		allow        string
	}{
		{http.MethodPut, "/webhook", 405, "GET, POST"},
		{http.MethodDelete, "/webhook", 405, "GET, POST"},
		{http.MethodPost, "/healthz", 405, "GET, HEAD"},
		{http.MethodHead, "/healthz", 200, ""},
		{http.MethodHead, "/readyz", 200, ""},
		{http.MethodGet, "/nothing", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.code)
			}
			if got := resp.Header.Get("Allow"); c.allow != "" && got != c.allow {
				t.Fatalf("Allow %q, want %q", got, c.allow)
			}
		})
	}
}

// A callback URL entered with a trailing slash (https://host/webhook/) must
// work as it reads: a redirect to /webhook is not followed by webhook
// senders (a POST redirected with 307 is a failed delivery, retried for 7
// days and then dropped), so the handshake and deliveries are served there
// directly.
func TestWebhookTrailingSlash(t *testing.T) {
	ts, db := newTestServer(t, "", false)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(ts.URL + "/webhook/?hub.mode=subscribe&hub.verify_token=rahasia-verifikasi&hub.challenge=42")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "42" {
		t.Errorf("GET /webhook/ handshake: %d %q, want 200 \"42\"", resp.StatusCode, b)
	}
	body := fixture(t, "text.json")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/webhook/", bytes.NewReader(body))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(testSecret), body))
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("POST /webhook/: %d, want 200", resp.StatusCode)
	}
	if n, _ := db.CountDeliveries(context.Background()); n != 1 {
		t.Errorf("%d deliveries stored, want 1", n)
	}
}
