package main

import (
	"log/slog"
	"strings"
	"testing"
)

// A stop ends with a line that says balas stopped cleanly and how many
// replies wait in the outbox for the next start: without it, an operator
// cannot tell a finished shutdown from one the supervisor cut short.
func TestShutdownLogsThatBalasStopped(t *testing.T) {
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	var logs lockedBuffer
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	_, stop := runApp(t, a)
	<-a.started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	i := strings.Index(out, `msg="shutting down"`)
	if i < 0 {
		t.Fatalf("no shutdown logged:\n%s", out)
	}
	if !strings.Contains(out[i:], `msg=stopped`) || !strings.Contains(out[i:], "outbox_pending=0") {
		t.Fatalf("after \"shutting down\", no line that balas stopped with the replies left in the outbox:\n%s", out[i:])
	}
}
