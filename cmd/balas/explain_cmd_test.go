package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestExplainCommand(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop})
	file := filepath.Join(dir, "shop.yaml")

	stdout, _, code := runBalas(t, "", "explain", dir, "menu")
	want := "✗ alamat  " + file + `:5:12  state ["awaiting_address"]: the conversation is in no state
✗ sapa  ` + file + `:9:12  keywords [halo hai]: no keyword in "menu"
✓ menu  ` + file + `:11:5
  bot: Silakan pilih produk
    (Lihat produk)
    Terlaris
    [1] Produk A — Rp 100.000
    [2] Produk B
  → state "", session {}
`
	if code != 0 || stdout != want {
		t.Errorf("exit %d\n%s\nwant:\n%s", code, stdout, want)
	}

	// Flags after the message; the state makes the first rule answer.
	stdout, _, code = runBalas(t, "", "explain", dir, "Jl. Merdeka 1", "--state", "awaiting_address", "--session", "product=Produk A")
	if code != 0 || !strings.HasPrefix(stdout, "✓ alamat  "+file+":4:5\n  bot: Terima kasih! Produk A dikirim ke: Jl. Merdeka 1\n") {
		t.Errorf("--state: exit %d\n%s", code, stdout)
	}

	// Taps and types.
	stdout, _, _ = runBalas(t, "", "explain", dir, "button:btn_order")
	if !strings.Contains(stdout, `✗ pilih-produk  `+file+`:23:12  list [product_*]: not a list reply (a button reply "btn_order")`) ||
		!strings.Contains(stdout, "✓ order  ") {
		t.Errorf("button:\n%s", stdout)
	}
	stdout, _, _ = runBalas(t, "", "explain", dir, "list:product_002", "Produk B")
	if !strings.Contains(stdout, "✓ pilih-produk") || !strings.Contains(stdout, "Kamu memilih Produk B.") {
		t.Errorf("list:\n%s", stdout)
	}
	stdout, _, _ = runBalas(t, "", "explain", dir, "type:image")
	if !strings.Contains(stdout, `type [text]: the message is of type "image"`) || !strings.Contains(stdout, "✓ foto") {
		t.Errorf("type:\n%s", stdout)
	}

	// Fallbacks only when nothing else matched.
	stdout, _, _ = runBalas(t, "", "explain", dir, "apa ini")
	if !strings.Contains(stdout, "✗ foto  ") || !strings.Contains(stdout, "(no rule matched; trying the fallbacks)\n✓ bantuan  ") {
		t.Errorf("fallback:\n%s", stdout)
	}
	if strings.Contains(mustExplain(t, dir, "halo"), "bantuan") {
		t.Error("fallback tried although sapa matched")
	}
}

func mustExplain(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := runBalas(t, "", append([]string{"explain"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return stdout
}

func TestExplainCommandTime(t *testing.T) {
	out := mustExplain(t, filepath.Join("..", "..", "examples", "rules", "toko"), "stok ada?", "--at", "2026-01-05T22:00:00+07:00")
	if !strings.Contains(out, "✓ malam  ") {
		t.Errorf("night:\n%s", out)
	}
	out = mustExplain(t, filepath.Join("..", "..", "examples", "rules", "toko"), "stok ada?", "--at", "2026-01-05T10:00:00+07:00")
	if !strings.Contains(out, "✗ malam  ") || !strings.Contains(out, "expr `now.Hour() >= 21 || now.Hour() < 8`: false") || !strings.Contains(out, "✓ bantuan") {
		t.Errorf("day:\n%s", out)
	}
}

func TestExplainCommandUsage(t *testing.T) {
	if stdout, _, code := runBalas(t, "", "explain", "--help"); code != 0 || !strings.Contains(stdout, "Usage: balas explain") {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
	if _, stderr, code := runBalas(t, "", "explain", "rules"); code != 2 || !strings.Contains(stderr, "give the rules and a message") {
		t.Errorf("one arg: exit %d %s", code, stderr)
	}
	if _, stderr, code := runBalas(t, "", "explain", "--at", "today", "x", "y"); code != 2 || !strings.Contains(stderr, "RFC 3339") {
		t.Errorf("bad --at: exit %d %s", code, stderr)
	}
	if _, stderr, code := runBalas(t, "", "explain", "/no/such/rules", "halo"); code != 1 || !strings.Contains(stderr, "/no/such/rules") {
		t.Errorf("missing rules: exit %d %s", code, stderr)
	}
}

// explain and test say what the server does with a reaction and a system
// message: the fallback answers neither.
func TestExplainAndTestIgnoreWhatTheServerIgnores(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"shop.yaml": "version: 1\nrules:\n  - id: sapa\n    when: {keywords: [halo]}\n    reply: hai\n  - id: bantuan\n    fallback: true\n    reply: Maaf, aku belum paham.\n",
		"shop_test.yaml": "tests:\n  - name: reaction\n    steps:\n      - send: {type: reaction}\n        expect: {no_reply: true}\n" +
			"  - name: system\n    steps:\n      - send: {type: system}\n        expect: {no_reply: true}\n",
	})
	stdout, _, _ := runBalas(t, "", "explain", dir, "type:reaction")
	if strings.Contains(stdout, "✓ bantuan") || !strings.Contains(stdout, "type: reaction") {
		t.Errorf("explain of a reaction:\n%s", stdout)
	}
	if stdout, _, code := runBalas(t, "", "test", dir); code != 0 {
		t.Errorf("balas test: exit %d\n%s", code, stdout)
	}
}

// explain and chat say plainly when the rules path is missing, and refuse a
// message type WhatsApp does not have.
func TestExplainAndChatRefuseBadInput(t *testing.T) {
	for _, args := range [][]string{{"explain", "no-such-rules", "halo"}, {"chat", "no-such-rules"}} {
		if _, errOut, code := runBalas(t, "", args...); code != 1 || !strings.Contains(errOut, "no-such-rules: no such file or directory; give the path of a rules file or folder") {
			t.Errorf("balas %s: exit %d, %q", strings.Join(args, " "), code, errOut)
		}
	}
	if _, errOut, code := runBalas(t, "", "explain", "../../examples/rules/toko", "type:foto"); code != 2 || !strings.Contains(errOut, `unknown message type "foto"; known types: text, image`) {
		t.Errorf("explain type:foto: exit %d, %q", code, errOut)
	}
	if out, errOut, _ := runBalas(t, "type:foto\n/quit\n", "chat", "../../examples/rules/toko"); !strings.Contains(out+errOut, `unknown message type "foto"`) {
		t.Errorf("chat type:foto: %q %q", out, errOut)
	}
}

// explain and chat build the message as the server decodes it: only a text
// and the caption of an image, video or document carry typed text, so
// `type:audio halo` cannot match `keywords: [halo]` (on the server an audio
// message never does).
func TestParseInputTypedTextOnlyWhereWhatsAppHasIt(t *testing.T) {
	tests := []struct {
		line    string
		typ     string
		text    string
		caption string
		err     string
	}{
		{"halo", "text", "halo", "", ""},
		{"type:text halo", "text", "halo", "", ""},
		{"type:image bukti", "image", "bukti", "bukti", ""},
		{"type:video lihat", "video", "lihat", "lihat", ""},
		{"type:document nota", "document", "nota", "nota", ""},
		{"type:audio", "audio", "", "", ""},
		{"type:audio halo", "", "", "", "an audio message carries no text on WhatsApp"},
		{"type:sticker halo", "", "", "", "a sticker message carries no text on WhatsApp"},
		{"type:location halo", "", "", "", "a location message carries no text on WhatsApp"},
		{"type:reaction 👍", "reaction", "", "", ""}, // the emoji, not typed text
	}
	for _, tt := range tests {
		in, _, err := parseInput(tt.line, nil, nil)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q (got a %s message with text %q)", tt.line, err, tt.err, in.Type, in.Text)
			}
			continue
		}
		if err != nil || in.Type != tt.typ || in.Text != tt.text || in.Media.Caption != tt.caption {
			t.Errorf("%q: %s %q caption %q, %v; want %s %q caption %q", tt.line, in.Type, in.Text, in.Media.Caption, err, tt.typ, tt.text, tt.caption)
		}
	}
}

// WhatsApp gives a message's time in whole seconds: message.timestamp has
// no fraction on the server, so chat and explain, whose clock is the
// machine's, give it none either.
func TestChatAndExplainGiveTheMessageTimeInWholeSeconds(t *testing.T) {
	dir := writeFiles(t, map[string]string{"r.yaml": `version: 1
rules:
  - id: jam
    when: {keywords: [jam]}
    reply: "ns={{ message.timestamp.Nanosecond() }}"
`})
	out := mustExplain(t, dir, "jam")
	if !strings.Contains(out, "bot: ns=0\n") {
		t.Errorf("explain:\n%s", out)
	}
	stdout, stderr, code := runBalas(t, "jam\n", "chat", dir)
	if code != 0 || !strings.Contains(stdout, "bot: ns=0\n") {
		t.Errorf("chat: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
