package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

// The rules break between serve's own load and the watcher's first one
// (while stored deliveries are replayed, which takes long after a crash):
// the rules serve loaded keep answering, and the fix is still picked up.
func TestRulesBrokenAtStartKeepWatching(t *testing.T) {
	rulesDir := writeFiles(t, map[string]string{"r.yaml": opsRules})
	a, _ := testApp(t, rulesDir)
	file := filepath.Join(rulesDir, "r.yaml")
	writeRules(t, file, "version: 1\nrules:\n  - id: salam\n    when: {keyword: [halo]}\n    reply: x\n")
	runApp(t, a)
	deadline := time.Now().Add(5 * time.Second)
	for a.watcher.Status().LastError == "" {
		if time.Now().After(deadline) {
			t.Fatal("the watcher never loaded the rules")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := a.watcher.Status(); st.Successful || st.Set == nil || st.Set.Rules[0].ID != "salam" {
		t.Fatalf("after the broken first load: %+v, want the rules serve loaded, and the error", st)
	}
	writeRules(t, file, "version: 1\nrules:\n  - id: fixed\n    when: {keywords: [halo]}\n    reply: hai\n")
	for {
		if r := a.pipeline.Bot().Set().Rules; len(r) == 1 && r[0].ID == "fixed" {
			break
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("the fixed rules were never loaded: %+v", a.watcher.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// While serve handles the deliveries stored before its last stop, it
// already listens: /healthz answers (a liveness probe does not kill it),
// /readyz says "starting" and webhooks get 503, so that no new message is
// decided before an older one. Then it is ready, the stored delivery
// handled.
func TestServeListensWhileHandlingStoredDeliveries(t *testing.T) {
	rulesDir := writeFiles(t, map[string]string{"r.yaml": opsRules})
	a, cfg := testApp(t, rulesDir)
	if _, err := a.db.StoreDelivery(context.Background(), []byte(hostileEnvelope("106540352242922", hostileText("6281200000001", "wamid.stored", "halo")))); err != nil {
		t.Fatal(err)
	}
	// Another process holds the write lock: handling the stored delivery
	// waits for it.
	other, err := sql.Open("sqlite", "file:"+cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	base, _ := runApp(t, a)

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz while starting: %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, `"status":"starting"`) {
		t.Fatalf("/readyz while starting: %d %s", code, body)
	}
	body := []byte(hostileEnvelope("106540352242922", hostileText("6281200000001", "wamid.new", "halo")))
	if code, msg := post(t, base, body, webhook.Sign([]byte(testSecret), body)); code != 503 {
		t.Fatalf("webhook while starting: %d %s, want 503", code, msg)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, _ := get("/readyz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready after the write lock was let go")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int
	if err := a.db.Reader().QueryRow(`SELECT count(*) FROM messages WHERE wamid = 'wamid.stored'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the stored delivery's message: %d rows (%v), want 1", n, err)
	}
}

// runApp runs a on a loopback port until stop (or the end of the test) and
// returns its base URL. stop ends the run and returns run's error.
func runApp(t *testing.T, a *app) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, ln) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

// A failure while handling the deliveries stored before the last stop (a
// full disk, the database locked by another program for long) does not end
// serve, which would leave the shop without a bot until someone restarts
// it: serve tries again, still "starting", and then serves.
func TestServeRetriesStoredDeliveriesUntilTheyCanBeHandled(t *testing.T) {
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	if _, err := a.db.StoreDelivery(context.Background(), []byte(hostileEnvelope("106540352242922", hostileText("6281200000001", "wamid.stored", "halo")))); err != nil {
		t.Fatal(err)
	}
	fails := 2
	a.recoverStored = func(ctx context.Context) (int, error) {
		if fails > 0 {
			fails--
			return 0, errors.New("store: commit: database or disk is full (13)")
		}
		return a.pipeline.Recover(ctx)
	}
	a.recoverWait = 10 * time.Millisecond
	_, stop := runApp(t, a)
	select {
	case <-a.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve never started after two failed tries (run: %v)", stop())
	}
	var n int
	if err := a.db.Reader().QueryRow(`SELECT count(*) FROM messages WHERE wamid = 'wamid.stored'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the stored delivery's message: %d rows (%v), want 1", n, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}
