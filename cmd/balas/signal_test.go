package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/store"
)

// A SIGHUP (systemctl reload, a rules deploy script) that comes while balas
// serve is still starting, handling the deliveries stored before the last
// stop, must not kill it: SIGHUP's default action ends the process.
// startWithBacklog starts balas serve on a database holding 1000 stored but
// unhandled deliveries (serve handles them, one commit each, before it
// listens) and returns once it is handling them.
func startWithBacklog(t *testing.T) *e2eProc {
	t.Helper()
	bin := rulesToolsBinary(t)
	g := newE2EGraph(t)
	db := filepath.Join(t.TempDir(), "balas.db")
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx *store.Tx) error {
		for i := range 1000 {
			body := webhook.Fake{From: fmt.Sprintf("62899%07d", i), Name: "P", WamID: fmt.Sprintf("wamid.hup.%d", i), Text: "halo"}.Body()
			if _, err := tx.InsertDelivery(body, false); err != nil {
				return err
			}
		}
		return nil
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	p := &e2eProc{log: &e2eLog{}, exited: make(chan struct{})}
	addr := e2eFreeAddr(t)
	p.base = "http://" + addr
	p.cmd = exec.Command(bin, "serve", "--addr", addr, "--db", db, "--rules", e2eTokoRules,
		"--graph-url", g.url(), "--pair-interval", "0")
	p.cmd.Env = e2eEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.log.String(), "message handled") {
		if time.Now().After(deadline) {
			t.Fatalf("balas serve did not start handling the stored deliveries:\n%s", p.log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if strings.Contains(p.log.String(), "balas is listening") {
		t.Skip("balas started listening before the signal could be sent")
	}
	return p
}

// A SIGHUP (systemctl reload, a rules deploy script) that comes while balas
// serve is still starting, handling the deliveries stored before the last
// stop, must not kill it: SIGHUP's default action ends the process.
func TestSIGHUPWhileStartingDoesNotKill(t *testing.T) {
	p := startWithBacklog(t)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !p.waitReady(60 * time.Second) {
		select {
		case <-p.exited:
			t.Fatalf("balas serve ended on a SIGHUP while starting: %v", p.cmd.ProcessState)
		default:
			t.Fatalf("balas serve did not become ready:\n%s", p.log.String())
		}
	}
}

// A SIGTERM while balas serve starts is a stop asked for, as at any other
// time: exit code 0, no error. What was not handled yet is handled at the
// next start.
func TestSIGTERMWhileStartingExitsZero(t *testing.T) {
	p := startWithBacklog(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("balas serve did not stop on SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(p.log.String(), "balas serve:") {
		t.Fatalf("exit code %d after SIGTERM while starting; output ends:\n%s", code, lastLines(p.log.String(), 3))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
