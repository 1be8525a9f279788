package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine/webhook"
)

const vipRules = `version: 1
rules:
  - id: vip
    when: {from: "62812*"}
    reply: "VIP {{ message.from }}"
  - id: bantuan
    fallback: true
    reply: Maaf
`

// A customer's number written as people write it, +62812…, is the number
// WhatsApp sends, 62812…, in explain, chat and send alike; one WhatsApp
// never sends (not digits, or 0812… without the country code) is refused
// with how to write it.
func TestCustomerNumberFlags(t *testing.T) {
	dir := writeFiles(t, map[string]string{"vip.yaml": vipRules})

	stdout, stderr, code := runBalas(t, "", "explain", "--from", "+6281299", dir, "halo")
	if code != 0 || !strings.Contains(stdout, "✓ vip") || !strings.Contains(stdout, "VIP 6281299\n") {
		t.Errorf("explain --from +6281299: exit %d\n%s%s", code, stdout, stderr)
	}

	stdout, stderr, code = runBalas(t, "halo\n", "chat", "--from", "+6281299", dir)
	if code != 0 || !strings.Contains(stdout, "bot: VIP 6281299\n") {
		t.Errorf("chat --from +6281299: exit %d\n%s%s", code, stdout, stderr)
	}

	var from string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if d, err := webhook.Decode(body); err == nil && len(d.Messages) == 1 {
			from = d.Messages[0].From
		}
		io.WriteString(w, "OK")
	}))
	defer srv.Close()
	_, stderr, code = runBalas(t, "", "send", "--url", srv.URL, "--from", "+6281299", "halo")
	if code != 0 || from != "6281299" {
		t.Errorf("send --from +6281299: exit %d, delivered from %q, want 6281299\n%s", code, from, stderr)
	}

	for _, args := range [][]string{
		{"explain", "--from", "62-812", dir, "halo"},
		{"chat", "--from", "Budi", dir},
		{"send", "--url", srv.URL, "--from", "", "halo"},
		{"explain", "--from", "081299", dir, "halo"},
		{"chat", "--from", "0812 99", dir},
		{"send", "--url", srv.URL, "--from", "+081299", "halo"},
	} {
		_, stderr, code := runBalas(t, "", args...)
		if code != 2 || !strings.Contains(stderr, "--from") || !strings.Contains(stderr, "digits with the country code") {
			t.Errorf("balas %v: exit %d, want 2 and how to write the number\n%s", args, code, stderr)
		}
	}
}
