package main

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// The rules break between serve's own load and the watcher's first one
// (while stored deliveries are replayed, which takes long after a crash):
// the rules serve loaded keep answering, and the fix is still picked up.
func TestRulesBrokenAtStartKeepWatching(t *testing.T) {
	rulesDir := writeFiles(t, map[string]string{"r.yaml": opsRules})
	a, _ := testApp(t, rulesDir)
	file := filepath.Join(rulesDir, "r.yaml")
	writeRules(t, file, "version: 1\nrules:\n  - id: salam\n    when: {keyword: [halo]}\n    reply: x\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, ln) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for a.watcher.Status().LastReloadAt.IsZero() {
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
