package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

const opsRules = `version: 1
rules:
  - id: salam
    when: {keywords: [halo]}
    reply: "versi satu"
`

func writeRules(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // as editors save
		t.Fatal(err)
	}
}

func readyz(t *testing.T, p *e2eProc) readiness {
	t.Helper()
	resp, err := e2eClient.Get(p.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// A broken edit never replaces the running rules; fixing it does.
func TestReloadKeepsLastGoodRules(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	os.Mkdir(rulesDir, 0o755)
	file := filepath.Join(rulesDir, "shop.yaml")
	writeRules(t, file, opsRules)
	g := newE2EGraph(t)
	p := startBalasServe(t, rulesDir, filepath.Join(dir, "balas.db"), g.url())
	say := func(n int) {
		p.mustPost(t, webhook.Fake{From: fmt.Sprintf("62811%04d", n), Text: "halo"}.Body())
	}
	lastReply := func(n int) string {
		var got string
		e2eWait(t, 10*time.Second, "a reply", func() bool {
			r := g.replies(fmt.Sprintf("+62811%04d", n))
			if len(r) == 0 {
				return false
			}
			got = e2eStr(r[len(r)-1].Body, "text", "body")
			return true
		})
		return got
	}
	say(1)
	if got := lastReply(1); got != "versi satu" {
		t.Fatalf("reply %q", got)
	}

	// A broken edit: unknown key on line 5.
	writeRules(t, file, strings.Replace(opsRules, "reply:", "replly:", 1))
	e2eWait(t, 10*time.Second, "the failed reload in /readyz", func() bool { return readyz(t, p).LastReloadError != "" })
	r := readyz(t, p)
	// The first error by position: the rule lost its reply (3:5), because
	// of the misspelt key (5:5).
	if !strings.Contains(r.LastReloadError, "shop.yaml:3:5: rule `salam` does nothing") {
		t.Fatalf("last_reload_error %q, want the first error as file:line:col: message", r.LastReloadError)
	}
	if m := p.metrics(t); m["balas_rules_last_reload_successful"] != 0 || m[`balas_rules_reloads_total{result="failure"}`] < 1 {
		t.Fatalf("metrics after a bad edit: successful=%v failures=%v", m["balas_rules_last_reload_successful"], m[`balas_rules_reloads_total{result="failure"}`])
	}
	say(2)
	if got := lastReply(2); got != "versi satu" {
		t.Fatalf("after a broken edit the bot answered %q; the last good rules must keep serving", got)
	}
	if !strings.Contains(p.log.String(), "shop.yaml:5:5: unknown key `replly`") {
		t.Fatal("the reload error is not logged as file:line:col: message")
	}

	// Fixed: the new rules answer.
	writeRules(t, file, strings.Replace(opsRules, "versi satu", "versi dua", 1))
	e2eWait(t, 10*time.Second, "the good reload", func() bool { return readyz(t, p).LastReloadError == "" })
	say(3)
	if got := lastReply(3); got != "versi dua" {
		t.Fatalf("after fixing the rules the bot answered %q", got)
	}
	if m := p.metrics(t); m["balas_rules_last_reload_successful"] != 1 {
		t.Fatal("balas_rules_last_reload_successful is not back to 1")
	}
}

// SIGTERM stops balas within its shutdown timeout, and replies still
// queued are sent after the next start.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(opsRules), 0o644)
	db := filepath.Join(dir, "balas.db")
	g := newE2EGraph(t)
	// A slow sender (2 messages/s) so that replies are still queued at the stop.
	p := startBalasServe(t, filepath.Join(dir, "shop.yaml"), db, g.url(), "--send-rate", "2", "--shutdown-timeout", "5s")
	const n = 6
	for i := 0; i < n; i++ {
		p.mustPost(t, webhook.Fake{From: fmt.Sprintf("62812%04d", i), Text: "halo"}.Body())
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("balas did not stop within 15 s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, p.log.String())
	}
	if !strings.Contains(p.log.String(), "shutting down") {
		t.Fatal("no shutdown logged")
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))

	// Whatever was not sent is sent after a restart, none twice.
	startBalasServe(t, filepath.Join(dir, "shop.yaml"), db, g.url())
	e2eWait(t, 20*time.Second, "every reply", func() bool {
		total := 0
		for i := 0; i < n; i++ {
			total += len(g.replies(fmt.Sprintf("+62812%04d", i)))
		}
		return total >= n
	})
	for i := 0; i < n; i++ {
		if got := len(g.replies(fmt.Sprintf("+62812%04d", i))); got != 1 {
			t.Errorf("customer %d got %d replies, want 1", i, got)
		}
	}
}

func TestServeStartupErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "shop.yaml")
	os.WriteFile(good, []byte(opsRules), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nrules:\n  - id: x\n    when: {keyword: [halo]}\n    reply: hi\n"), 0o644)
	noSecrets := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BALAS_") {
			noSecrets = append(noSecrets, kv)
		}
	}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"no app secret", noSecrets, []string{"--rules", good}, 2, "BALAS_APP_SECRET is not set"},
		{"missing rules path", e2eEnv(), []string{"--rules", filepath.Join(dir, "nope")}, 1, "rules path"},
		{"rules with errors", e2eEnv(), []string{"--rules", bad}, 1, "bad.yaml:4:12: unknown key `keyword`; did you mean `keywords`?"},
		{"database folder missing", e2eEnv(), []string{"--rules", good, "--db", filepath.Join(dir, "no", "such", "balas.db")}, 1, "database folder"},
		{"address in use", e2eEnv(), []string{"--rules", good, "--addr", "256.0.0.1:1"}, 1, "listen on"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"serve", "--db", filepath.Join(t.TempDir(), "b.db")}, c.args...)
			cmd := newBalasCmd(t, c.env, args...)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != c.code || !strings.Contains(string(out), c.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.want)
			}
		})
	}
}

func newBalasCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(rulesToolsBinary(t), args...)
	c.Env = env
	return c
}
