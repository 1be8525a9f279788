package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/balas-bot/balas/outbound"
)

// Two balas serve on one database would both send the replies pending in
// its outbox (the second reads them at start while the first is still
// sending them): customers get every such reply twice. A second serve on
// a database in use is refused, saying why; once the first has stopped,
// it starts.
func TestSecondServeOnTheSameDatabaseIsRefused(t *testing.T) {
	defer func(w time.Duration) { dbLockWait = w }(dbLockWait)
	dbLockWait = 50 * time.Millisecond
	a, cfg := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	second, err := newApp(context.Background(), cfg, log, outbound.NewDryRun(log))
	if err == nil {
		second.close()
		t.Fatal("a second balas serve started on a database in use")
	}
	if !strings.Contains(err.Error(), "another balas serve") {
		t.Fatalf("error %q does not say another balas serve uses the database", err)
	}
	a.close()
	third, err := newApp(context.Background(), cfg, log, outbound.NewDryRun(log))
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	third.close()
}
