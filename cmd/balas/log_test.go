package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// JSON logs write durations as text ("10s"), as the text logs do, not as
// nanoseconds a reader would take for seconds.
func TestJSONLogDurations(t *testing.T) {
	var b bytes.Buffer
	newLogger("json", &b).Info("shutting down", "timeout", 10*time.Second, "in", 1500*time.Millisecond)
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %q", b.String())
	}
	if rec["timeout"] != "10s" || rec["in"] != "1.5s" {
		t.Errorf("durations %v and %v, want \"10s\" and \"1.5s\"", rec["timeout"], rec["in"])
	}
	b.Reset()
	newLogger("text", &b).Info("shutting down", "timeout", 10*time.Second)
	if !strings.Contains(b.String(), "timeout=10s") {
		t.Errorf("text log %q", b.String())
	}
}

// --dev with an access token accepts unsigned webhooks and sends their
// replies for real: serve says so at start, with the address it listens on.
func TestDevModeWithAnAccessTokenWarnsThatRepliesAreSent(t *testing.T) {
	var b bytes.Buffer
	cfg := &config{Rules: writeFiles(t, map[string]string{"r.yaml": opsRules}), RulesGiven: true, DB: filepath.Join(t.TempDir(), "d.db"),
		GraphURL: "http://127.0.0.1:1", GraphVersion: "v25.0", SendRate: 80, SendConcurrency: 4, PairBurst: 20, Shutdown: time.Second,
		Addr: ":8080", Dev: true, AccessToken: "tok"}
	a, err := newApp(context.Background(), cfg, newLogger("text", &b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if !strings.Contains(b.String(), "UNSIGNED webhooks are SENT") || !strings.Contains(b.String(), "addr=:8080") {
		t.Errorf("log %q: want a warning that unsigned webhooks' replies are sent", b.String())
	}
}
