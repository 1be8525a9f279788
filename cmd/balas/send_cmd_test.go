package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/balas-bot/balas/engine/webhook"
)

func TestSendCommand(t *testing.T) {
	var mu sync.Mutex
	var got []*webhook.Delivery
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.VerifySignature([]byte("rahasia"), body, r.Header.Get("X-Hub-Signature-256")) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		d, err := webhook.Decode(body)
		if err != nil {
			t.Errorf("balas send posted an undecodable body: %v", err)
		}
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
		io.WriteString(w, "OK")
	}))
	defer srv.Close()
	cases := []struct {
		args              []string
		typ, text, id, by string
	}{
		{[]string{"--from", "6289999", "--name", "Sari", "halo", "kak"}, "text", "halo kak", "", "6289999"},
		{[]string{"--button", "btn_order", "--title", "Order Sekarang"}, "interactive", "", "btn_order", "6281234567890"},
		{[]string{"--list", "product_001"}, "interactive", "", "product_001", "6281234567890"},
		{[]string{"--list", "product_kaos_hitam", "--title", "Kaos Polos Hitam", "--description", "Rp 79.000"}, "interactive", "", "product_kaos_hitam", "6281234567890"},
		{[]string{"--image", "bukti transfer"}, "image", "bukti transfer", "", "6281234567890"},
	}
	for _, c := range cases {
		args := append([]string{"send", "--url", srv.URL + "/webhook", "--secret", "rahasia"}, c.args...)
		stdout, stderr, code := runBalas(t, "", args...)
		if code != 0 || !strings.HasPrefix(stdout, "200 OK") {
			t.Fatalf("balas %v: exit %d, %q %q", c.args, code, stdout, stderr)
		}
	}
	if len(got) != len(cases) {
		t.Fatalf("%d deliveries received, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		m := got[i].Messages[0]
		_, id, _, _ := m.ReplyRef()
		if m.Type != c.typ || m.TypedText() != c.text || id != c.id || m.From != c.by {
			t.Errorf("delivery %d: type %s text %q id %q from %s; want %s %q %q %s", i, m.Type, m.TypedText(), id, m.From, c.typ, c.text, c.id, c.by)
		}
	}
	if _, _, title, desc := got[3].Messages[0].ReplyRef(); title != "Kaos Polos Hitam" || desc != "Rp 79.000" {
		t.Errorf("list row sent with title %q description %q", title, desc)
	}
	if got[0].Messages[0].Contact == nil || got[0].Messages[0].Contact.Profile.Name != "Sari" {
		t.Error("--name not sent as the contact's profile name")
	}
	// A wrong secret is refused by the server and reported with exit 1.
	if stdout, _, code := runBalas(t, "", "send", "--url", srv.URL+"/webhook", "--secret", "salah", "halo"); code != 1 || !strings.HasPrefix(stdout, "401") {
		t.Fatalf("wrong secret: exit %d %q", code, stdout)
	}
	// Usage errors.
	if _, stderr, code := runBalas(t, "", "send", "--button", "a", "--list", "b"); code != 2 || !strings.Contains(stderr, "at most one") {
		t.Fatalf("two kinds: exit %d %q", code, stderr)
	}
	if _, stderr, code := runBalas(t, "", "send", "--description", "Rp 1", "halo"); code != 2 || !strings.Contains(stderr, "--description goes with --list") {
		t.Fatalf("--description without --list: exit %d %q", code, stderr)
	}
	if _, stderr, code := runBalas(t, "", "send", "--title", "Kaos", "halo"); code != 2 || !strings.Contains(stderr, "--title goes with --button or --list") {
		t.Fatalf("--title without --button or --list: exit %d %q", code, stderr)
	}
	if _, _, code := runBalas(t, "", "send"); code != 2 {
		t.Fatalf("nothing to send: exit %d", code)
	}
	if _, stderr, code := runBalas(t, "", "send", "--url", "http://127.0.0.1:1/webhook", "halo"); code != 1 || !strings.Contains(stderr, "is balas serve running") {
		t.Fatalf("no server: exit %d %q", code, stderr)
	}
}

// The app secret taken from BALAS_APP_SECRET is never printed: not by
// --help, nor with the flag listing after a wrong flag; and it still signs.
func TestSendKeepsTheSecret(t *testing.T) {
	const secret = "rahasia-aplikasi-meta-123"
	bin := rulesToolsBinary(t)
	for _, args := range [][]string{{"send", "--help"}, {"send", "--no-such-flag"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "BALAS_APP_SECRET="+secret)
		out, _ := cmd.CombinedOutput()
		if strings.Contains(string(out), secret) {
			t.Errorf("balas %s printed the app secret:\n%s", strings.Join(args, " "), out)
		}
		if !strings.Contains(string(out), "$BALAS_APP_SECRET") {
			t.Errorf("balas %s does not say where the secret comes from:\n%s", strings.Join(args, " "), out)
		}
	}
	var signature string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Sign([]byte(secret), body) == r.Header.Get(webhook.SignatureHeader) {
			signature = "good"
		}
	}))
	defer srv.Close()
	cmd := exec.Command(bin, "send", "--url", srv.URL, "halo")
	cmd.Env = append(os.Environ(), "BALAS_APP_SECRET="+secret)
	if out, err := cmd.CombinedOutput(); err != nil || signature != "good" {
		t.Fatalf("send with BALAS_APP_SECRET: %v, signature %q\n%s", err, signature, out)
	}
}

// --secret puts the app secret where every user of the machine sees it (ps,
// /proc/PID/cmdline) and in shell history: send says so, and --help
// says BALAS_APP_SECRET is better.
func TestSendWarnsAboutASecretOnTheCommandLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, stderr, code := runBalas(t, "", "send", "--url", srv.URL, "--secret", "rahasia", "halo")
	if code != 0 || !strings.Contains(stderr, "prefer BALAS_APP_SECRET") {
		t.Errorf("exit %d, stderr %q: want a note that --secret is visible to other users", code, stderr)
	}
	help, _, _ := runBalas(t, "", "send", "--help")
	if !strings.Contains(help, "ps") {
		t.Errorf("--help does not say why $BALAS_APP_SECRET is better:\n%s", help)
	}
}
