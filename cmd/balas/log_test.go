package main

import (
	"bytes"
	"encoding/json"
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
