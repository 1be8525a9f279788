package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/store"
)

const testSecret = "balas-test-app-secret"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signatures reads testdata/SIGNATURES.txt: file name → header value, and
// the value of the re-serialised text_unicode.json.
func signatures(t testing.TB) (map[string]string, string) {
	t.Helper()
	sigs := map[string]string{}
	var reserialised string
	sc := bufio.NewScanner(bytes.NewReader(fixture(t, "SIGNATURES.txt")))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# text_unicode.json parsed") {
			reserialised = line[strings.Index(line, "sha256="):]
			continue
		}
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			sigs[f[0]] = f[1]
		}
	}
	return sigs, reserialised
}

func newTestServer(t testing.TB, dbPath string, dev bool) (*httptest.Server, *store.DB) {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "balas.db")
	}
	db, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{
		appSecret:   []byte(testSecret),
		verifyToken: []byte("rahasia-verifikasi"),
		dev:         dev,
		intake:      storeOnly{db},
		ready: func(ctx context.Context) (readiness, bool) {
			return readiness{Status: "ready"}, db.Ping(ctx) == nil
		},
		metrics: newMetrics(),
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ts := httptest.NewServer(s.handler())
	t.Cleanup(func() { ts.Close(); db.Close() })
	return ts, db
}

func post(t testing.TB, url string, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestVerificationHandshake(t *testing.T) {
	ts, _ := newTestServer(t, "", false)
	cases := []struct {
		name, mode, token, challenge string
		code                         int
	}{
		{"ok", "subscribe", "rahasia-verifikasi", "1158201444", 200},
		{"challenge echoed verbatim", "subscribe", "rahasia-verifikasi", "0042-abc", 200},
		{"bad token", "subscribe", "salah", "1158201444", 403},
		{"token prefix", "subscribe", "rahasia", "1158201444", 403},
		{"bad mode", "unsubscribe", "rahasia-verifikasi", "1158201444", 403},
		{"no mode", "", "rahasia-verifikasi", "1158201444", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := url.Values{"hub.mode": {c.mode}, "hub.verify_token": {c.token}, "hub.challenge": {c.challenge}}
			resp, err := http.Get(ts.URL + "/webhook?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.code)
			}
			if c.code == 200 {
				if string(body) != c.challenge {
					t.Fatalf("body %q, want the challenge %q", body, c.challenge)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Fatalf("content type %q, want text/plain", ct)
				}
			}
		})
	}
}

func TestWebhookSignatures(t *testing.T) {
	ts, db := newTestServer(t, "", false)
	sigs, reserialised := signatures(t)
	text := fixture(t, "text.json")
	unicode := fixture(t, "text_unicode.json")
	cases := []struct {
		name string
		body []byte
		sig  string
		code int
	}{
		{"good", text, sigs["text.json"], 200},
		{"unicode fixture, raw bytes", unicode, sigs["text_unicode.json"], 200},
		{"unicode fixture, signature of the re-serialised body", unicode, reserialised, 401},
		{"missing", text, "", 401},
		{"wrong", text, sigs["status_read.json"], 401},
		{"malformed: no prefix", text, strings.TrimPrefix(sigs["text.json"], "sha256="), 401},
		{"malformed: sha1", text, "sha1=" + strings.TrimPrefix(sigs["text.json"], "sha256="), 401},
		{"malformed: not hex", text, "sha256=zz", 401},
		{"body changed by one byte", append(bytes.Clone(text[:len(text)-1]), ' '), sigs["text.json"], 401},
	}
	stored := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(t, ts.URL, c.body, c.sig)
			if code != c.code {
				t.Fatalf("status %d (%s), want %d", code, body, c.code)
			}
		})
		if c.code == 200 {
			stored++
		}
	}
	n, _ := db.CountDeliveries(context.Background())
	if int(n) != stored {
		t.Fatalf("%d deliveries stored, want %d (only the accepted ones)", n, stored)
	}
}

func TestWebhookRejectsBadBodies(t *testing.T) {
	ts, db := newTestServer(t, "", false)
	sign := func(b []byte) string { return webhook.Sign([]byte(testSecret), b) }
	big := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), maxWebhookBody)...)
	big = append(big, `"}`...)
	atLimit := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), maxWebhookBody-8)...)
	atLimit = append(atLimit, `"}`...)
	cases := []struct {
		name string
		body []byte
		code int
	}{
		{"over 3 MiB", big, 413},
		{"exactly 3 MiB", atLimit, 200},
		{"not JSON", []byte("hello"), 400},
		{"JSON array", []byte(`[{"object":"whatsapp_business_account"}]`), 400},
		{"JSON string", []byte(`"x"`), 400},
		{"truncated JSON", []byte(`{"object":"whatsapp_business_account"`), 400},
		{"empty", []byte(``), 400},
		{"object", []byte(`{"object":"whatsapp_business_account","entry":[]}`), 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if len(atLimit) != maxWebhookBody {
				t.Fatalf("test body is %d bytes", len(atLimit))
			}
			code, body := post(t, ts.URL, c.body, sign(c.body))
			if code != c.code {
				t.Fatalf("status %d (%s), want %d", code, body, c.code)
			}
		})
	}
	n, _ := db.CountDeliveries(context.Background())
	if n != 2 {
		t.Fatalf("%d deliveries stored, want 2", n)
	}
}

func TestDevModeAcceptsUnsigned(t *testing.T) {
	ts, _ := newTestServer(t, "", true)
	text := fixture(t, "text.json")
	if code, body := post(t, ts.URL, text, ""); code != 200 {
		t.Fatalf("unsigned in dev: %d %s", code, body)
	}
	if code, _ := post(t, ts.URL, text, "sha256=00"); code != 401 {
		t.Fatalf("a wrong signature is still refused in dev: got %d", code)
	}
}

func TestDeliverySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	ts, db := newTestServer(t, path, false)
	sigs, _ := signatures(t)
	body := fixture(t, "text_unicode.json")
	if code, _ := post(t, ts.URL, body, sigs["text_unicode.json"]); code != 200 {
		t.Fatalf("status %d", code)
	}
	// The 200 is a promise: close everything and look again.
	ts.Close()
	db.Close()
	db2, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.UnprocessedDeliveries(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.Equal(got[0].Body, body) {
		t.Fatalf("after restart: %d deliveries; want the exact body stored", len(got))
	}
}

func TestConcurrentPostsStoredOnce(t *testing.T) {
	ts, db := newTestServer(t, "", false)
	const n = 300
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			body := webhook.Fake{Text: fmt.Sprintf("pesan %d", i), WamID: fmt.Sprintf("wamid.test%d", i)}.Body()
			if code, msg := post(t, ts.URL, body, webhook.Sign([]byte(testSecret), body)); code != 200 {
				t.Errorf("post %d: %d %s", i, code, msg)
			}
		}(i)
	}
	wg.Wait()
	ds, err := db.UnprocessedDeliveries(context.Background(), 0, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Fatalf("%d deliveries stored, want %d", len(ds), n)
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[string(d.Body)] {
			t.Fatal("a delivery was stored twice")
		}
		seen[string(d.Body)] = true
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts, _ := newTestServer(t, "", false)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": `"status":"ready"`, "/metrics": "balas_webhook_requests_total"} {
		if path == "/metrics" {
			post(t, ts.URL, []byte(`{}`), "") // one 401 so the counter has a series
		}
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %q, want 200 containing %q", path, resp.StatusCode, b, want)
		}
	}
}

// Every metric the contract names is there from the start, before anything
// happened, so that a dashboard or an alert on it has a series to read.
func TestMetricsExistFromTheStart(t *testing.T) {
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, name := range []string{
		`balas_webhook_requests_total{code="200"} 0`, `balas_messages_total{direction="in",type="text"} 0`,
		"balas_duplicates_total 0", `balas_rule_hits_total{rule="salam"} 0`, "balas_unmatched_total 0",
		`balas_outbound_errors_total{code="network"} 0`, "balas_outbox_pending", "balas_rules_last_reload_successful",
		"balas_webhook_duration_seconds_count", "balas_send_duration_seconds_count", `balas_statuses_total{status="failed"} 0`,
	} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
