package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// No secret (app secret, verify token, access token) appears in a log
// line, an HTTP answer or the database, also when webhooks come with wrong
// signatures and tokens and the Graph API echoes the access token in its
// error answers (plainly, JSON-escaped, or in a proxy's error page).
func TestSecretsStayOutOfLogsAnswersAndDatabase(t *testing.T) {
	const (
		appSecret   = "app-secret-5f1e2d3c4b5a"
		verifyToken = "verify-token-9a8b7c6d"
		accessToken = "EAAGaccessTokenZCq204miQUcFdxzAGZAuDN4B"
	)
	escaped := `\u0045` + accessToken[1:] // "E" JSON-escaped
	answers := []struct {
		status int
		body   string
	}{
		{400, `{"error":{"message":"Malformed access token ` + accessToken + `","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`},
		{400, `{"error":{"message":"Malformed access token ` + escaped + `","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`},
		{400, `{"error":{"message":"(#131009) Parameter value is not valid","type":"OAuthException","code":131009,"error_data":{"messaging_product":"whatsapp","details":"token ` + escaped + `"}}}`},
		{502, `<html><body>upstream said: Authorization: Bearer ` + accessToken + `</body></html>`},
	}
	var calls sync.Mutex
	n := 0
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Lock()
		a := answers[n%len(answers)]
		n++
		calls.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer graph.Close()

	var logs lockedBuffer
	cfg := &config{Rules: writeFiles(t, map[string]string{"r.yaml": opsRules}), RulesGiven: true, DB: filepath.Join(t.TempDir(), "s.db"),
		GraphURL: graph.URL, GraphVersion: "v25.0", SendRate: 1000, SendConcurrency: 4, PairBurst: 100, Shutdown: 2 * time.Second,
		AppSecret: appSecret, VerifyToken: verifyToken, AccessToken: accessToken}
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	base, stop := runApp(t, a)
	var answered bytes.Buffer
	get := func(path string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(&answered, resp.Body)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	get("/webhook?" + url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken[:5]}, "hub.challenge": {"1"}}.Encode())
	for i := range 8 {
		body := []byte(hostileEnvelope("106540352242922", strings.Replace(hostileText(fmt.Sprintf("62812000000%02d", i), fmt.Sprintf("wamid.s%d", i), "halo"),
			"1789365600", fmt.Sprint(time.Now().Unix()), 1)))
		sig := webhook.Sign([]byte(appSecret), body)
		if i == 0 {
			code, out := post(t, base, body, "sha256="+strings.Repeat("0", 64))
			answered.WriteString(out)
			if code != http.StatusUnauthorized {
				t.Fatalf("wrong signature: %d", code)
			}
		}
		code, out := post(t, base, body, sig)
		answered.WriteString(out)
		if code != http.StatusOK {
			t.Fatalf("POST: %d %q", code, out)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		calls.Lock()
		m := n
		calls.Unlock()
		if m >= 2*len(answers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d Graph calls made", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the outcomes are recorded
	get("/readyz")
	get("/metrics")
	stop()

	db, err := sql.Open("sqlite", "file:"+cfg.DB+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored strings.Builder
	for _, q := range []string{
		`SELECT coalesce(last_error, '') || ' ' || coalesce(error_code, '') FROM outbox`,
		`SELECT coalesce(error_title, '') || ' ' || coalesce(error_code, '') FROM messages`,
		`SELECT coalesce(error, '') FROM inbox`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			stored.WriteString(s + "\n")
		}
		rows.Close()
	}
	if !strings.Contains(stored.String(), "[access token]") {
		t.Errorf("the database holds no redacted Graph error; the test did not reach that path:\n%s", stored.String())
	}
	for _, secret := range []string{appSecret, verifyToken, accessToken, accessToken[1:]} {
		for where, text := range map[string]string{"log": logs.String(), "HTTP answers": answered.String(), "database": stored.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the secret %q:\n%s", where, secret, text)
			}
		}
	}
}
