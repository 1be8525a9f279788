package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/balas-bot/balas/outbound"
)

// testApp is balas serve's app on a new database, with rulesDir, replies
// logged instead of sent; it is closed when the test ends.
func testApp(t *testing.T, rulesDir string) (*app, *config) {
	t.Helper()
	cfg := &config{Rules: rulesDir, RulesGiven: true, DB: filepath.Join(t.TempDir(), "b.db"),
		SendRate: 80, SendConcurrency: 4, PairBurst: 20, AppSecret: testSecret, AccessToken: "tok", Shutdown: 2 * time.Second}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(context.Background(), cfg, log, outbound.NewDryRun(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.close() })
	return a, cfg
}

// /readyz turns 503 when the database file is deleted under a running
// balas: every webhook it answered 200 from then on would be lost at the
// next start.
func TestReadyzNoticesTheDatabaseFileGone(t *testing.T) {
	a, cfg := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	ts := httptest.NewServer(a.handler)
	defer ts.Close()
	get := func() (int, readiness) {
		resp, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r readiness
		json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	if code, r := get(); code != 200 || r.Database != "ok" {
		t.Fatalf("readyz %d %+v, want 200", code, r)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(cfg.DB + suffix)
	}
	if code, r := get(); code != 503 || !strings.Contains(r.Database, "b.db is gone") {
		t.Fatalf("readyz after the database file was deleted: %d %+v, want 503 naming the file", code, r)
	}
}

// A webhook is not answered 200 once the database file is gone: the
// delivery would be lost at the next start, so Meta is told to retry.
func TestWebhookRefusesWhenTheDatabaseFileIsGone(t *testing.T) {
	a, cfg := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	ts := httptest.NewServer(a.handler)
	defer ts.Close()
	sigs, _ := signatures(t)
	if code, out := post(t, ts.URL, fixture(t, "text.json"), sigs["text.json"]); code != http.StatusOK {
		t.Fatalf("POST /webhook: %d %q", code, out)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(cfg.DB + suffix)
	}
	if code, out := post(t, ts.URL, fixture(t, "text_unicode.json"), sigs["text_unicode.json"]); code != http.StatusServiceUnavailable {
		t.Fatalf("POST /webhook after the database file was deleted: %d %q, want 503 (Meta retries)", code, out)
	}
}
