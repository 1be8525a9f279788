package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

// A stopped balas leaves nothing running and nothing open: no goroutine
// of its own, and no keep-alive connection to the Graph API (an embedding
// program, or a test, would otherwise keep one socket per idle connection).
func TestShutdownLeavesNoGoroutinesOrConnections(t *testing.T) {
	g := &e2eGraph{}
	var open atomic.Int64
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(g.serve))
	g.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	g.srv.Start()
	t.Cleanup(g.srv.Close)
	before := runtime.NumGoroutine()

	cfg := &config{Rules: writeFiles(t, map[string]string{"r.yaml": opsRules}), RulesGiven: true,
		DB: filepath.Join(t.TempDir(), "b.db"), SendRate: 1000, SendConcurrency: 8, PairBurst: 20,
		AppSecret: testSecret, AccessToken: e2eAccessToken, Shutdown: 5 * time.Second,
		GraphURL: g.url(), GraphVersion: "v25.0", Retention: 8 * 24 * time.Hour}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(context.Background(), cfg, log, nil) // the real Graph client
	if err != nil {
		t.Fatal(err)
	}
	_, stop := runApp(t, a)
	<-a.started
	const n = 30
	for i := 0; i < n; i++ {
		body := webhook.Fake{From: fmt.Sprintf("62811%07d", i), WamID: fmt.Sprintf("wamid.stop.%d", i), Text: "halo"}.Body()
		req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte(testSecret), body))
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("POST /webhook: %d", rec.Code)
		}
	}
	e2eWait(t, 10*time.Second, "the replies", func() bool { return len(g.replies("")) >= n })
	if open.Load() == 0 {
		t.Fatal("no connection to the Graph API was kept alive; the test shows nothing")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	e2eWait(t, 2*time.Second, "the Graph API connections to close", func() bool { return open.Load() == 0 })

	// os/signal's loop, started by run's signal.Notify, runs for good.
	var after int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before+1 || time.Now().After(deadline) {
			break
		}
	}
	if after > before+1 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after the shutdown:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
