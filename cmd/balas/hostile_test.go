package main

import (
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
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
	u, _ := url.Parse(ts.URL)
	const conns = 48
	before := heapInUse()
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range conns {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", maxWebhookBody)
	}
	time.Sleep(500 * time.Millisecond) // every handler is reading its body
	grew := int64(heapInUse()) - int64(before)
	if limit := int64(16 << 20); grew > limit {
		t.Fatalf("%d connections that sent 1 byte each grew the heap by %d MiB (limit %d MiB): the body buffer is sized by the client's Content-Length",
			conns, grew>>20, limit>>20)
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
}
