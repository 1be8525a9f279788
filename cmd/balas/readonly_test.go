//go:build unix

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/balas-bot/balas/store"
)

// A database file balas may read but not write stops balas serve at start,
// with the reason: running on it, balas would answer every webhook 503 and
// send the replies waiting in its outbox without being able to record them
// as sent, so a restart would send them again.
func TestServeRefusesADatabaseItCannotWrite(t *testing.T) {
	dir := t.TempDir()
	rulesDir := writeFiles(t, map[string]string{"r.yaml": opsRules})
	path := filepath.Join(dir, "b.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rulesToolsBinary(t), "serve", "--db", path, "--rules", rulesDir, "--addr", e2eFreeAddr(t))
	cmd.Env = e2eEnv()
	if os.Geteuid() == 0 {
		// root writes any file: run as nobody, who may read everything
		// the test made and write the folder (for the lock, -wal, -shm).
		for _, p := range []string{filepath.Dir(dir), filepath.Dir(filepath.Dir(rulesDir)), filepath.Dir(rulesDir),
			filepath.Dir(rulesToolsBinary(t))} {
			os.Chmod(p, 0o755)
		}
		os.Chmod(dir, 0o777)
		filepath.Walk(rulesDir, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o755) })
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("balas serve kept running on a database it cannot write; its output:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), path) ||
		!strings.Contains(string(out), "readonly") || !strings.Contains(string(out), "may write the file") {
		t.Fatalf("exit %d, output:\n%s\nwant exit 1 naming %s, read-only and what to check", code, out, path)
	}
}
