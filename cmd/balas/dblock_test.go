package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
	a, cfg := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	cfg.LockWait = 50 * time.Millisecond
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

// A balas serve stopped (SIGTERM, Ctrl-C) while it waits for another one to
// let go of the database stops at once, instead of after the whole wait.
func TestServeStoppedWhileWaitingForTheDatabaseStopsAtOnce(t *testing.T) {
	_, cfg := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	second, err := newApp(ctx, cfg, log, outbound.NewDryRun(log))
	if err == nil {
		second.close()
		t.Fatal("a second balas serve started on a database in use")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stopped after %v; want at once", took.Round(time.Millisecond))
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %q does not say it was stopped", err)
	}
}

// The lock belongs to the database, not to the name it was given: a
// second balas serve that reaches the same file through a symbolic link
// would otherwise take a lock of its own and send the waiting replies a
// second time.
func TestSecondServeThroughASymlinkIsRefused(t *testing.T) {
	a, cfg := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(cfg.DB, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	viaLink := *cfg
	viaLink.DB, viaLink.LockWait = link, 50*time.Millisecond
	second, err := newApp(context.Background(), &viaLink, log, outbound.NewDryRun(log))
	if err == nil {
		second.close()
		t.Fatal("a second balas serve started on a database in use, reached through a symbolic link")
	}
	if !strings.Contains(err.Error(), "another balas serve") {
		t.Fatalf("error %q does not say another balas serve uses the database", err)
	}
	a.close()
	third, err := newApp(context.Background(), &viaLink, log, outbound.NewDryRun(log))
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	third.close()
}

// --db / BALAS_DB naming a folder (balas.db meant inside it) stops balas
// serve at start saying so, and which file to name instead; not that the
// folder may be missing or not writable, which sends one looking in the
// wrong place. Nothing is left beside the folder.
func TestServeOnAFolderSaysToNameADatabaseFile(t *testing.T) {
	rulesDir := writeFiles(t, map[string]string{"r.yaml": opsRules})
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := &config{Rules: rulesDir, RulesGiven: true, DB: dir,
		SendRate: 80, SendConcurrency: 4, PairBurst: 20, AppSecret: testSecret, AccessToken: "tok", Shutdown: 2 * time.Second}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(context.Background(), cfg, log, outbound.NewDryRun(log))
	if err == nil {
		a.close()
		t.Fatal("balas serve started with a folder as its database")
	}
	msg := err.Error()
	for _, want := range []string{dir + " is a folder", "--db / BALAS_DB", "database file", filepath.Join(dir, "balas.db")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "writable") || strings.Contains(msg, "exists") {
		t.Errorf("error %q sends one to check the folder's permissions", msg)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("files left beside the folder: %v", entries)
	}
}
