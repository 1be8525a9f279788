package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestChatCommand(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop})
	input := strings.Join([]string{
		"Halo!",
		"menu",
		"1", // Produk A
		"9", // no such choice
		"1", // Order Sekarang
		"/state",
		"Jl. Merdeka 1",
		"list:product_002",
		"button:btn_cancel",
		"type:image bukti",
		"/as Siti 6281298765432",
		"hai",
		"/reset",
		"/nope",
		"/quit",
		"never read",
	}, "\n") + "\n"
	stdout, stderr, code := runBalas(t, input, "chat", "--name", "Budi", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	want := `you: Halo!
bot: Hai Budi! Selamat datang di Toko Maju
(rule: sapa)
you: menu
bot: Silakan pilih produk
  (Lihat produk)
  Terlaris
  [1] Produk A — Rp 100.000
  [2] Produk B
(rule: menu)
you: [Produk A] (list:product_001)
bot: Kamu memilih Produk A. Lanjut order?
  [1] Order Sekarang
  [2] Batal
(rule: pilih-produk)
(no choice 9: the last reply has 2 (1–2))
you: [Order Sekarang] (button:btn_order)
bot: Kirim alamat pengiriman kamu ya.
(rule: order)
state: "awaiting_address"
session: {product: Produk A}
you: Jl. Merdeka 1
bot: Terima kasih! Produk A dikirim ke: Jl. Merdeka 1
(rule: alamat)
you: [Produk B] (list:product_002)
bot: Kamu memilih Produk B. Lanjut order?
`
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout:\n%s\nwant prefix:\n%s", stdout, want)
	}
	for _, w := range []string{
		"you: [Batal] (button:btn_cancel)\nbot: Maaf, aku belum paham.\n(rule: bantuan)\n",
		"you: [image] bukti\nbot: Foto diterima.\n(rule: foto)\n",
		"(you are now Siti, 6281298765432)\nyou: hai\nbot: Hai Siti! Selamat datang di Toko Maju\n",
		"(conversation reset)\n(unknown command /nope; /help lists them)\n",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "never read") {
		t.Error("read past /quit")
	}
	if !strings.Contains(stderr, "7 rules from") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestChatCommandEOFAndWait(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop})
	stdout, _, code := runBalas(t, "menu\n1\n/wait 31m\n1\n", "chat", "--at", "2026-01-05T10:00:00+07:00", dir)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// After the wait the session expired: the tap of Order still works (it
	// is matched by id), the reply no longer knows the product.
	if !strings.Contains(stdout, "(31m0s later: Mon 2026-01-05 03:31)\n") || !strings.Contains(stdout, "(the session had expired: state and session were cleared)\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestChatCommandReloads(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop})
	path := filepath.Join(dir, "shop.yaml")
	cmd := exec.Command(rulesToolsBinary(t), "chat", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var seen strings.Builder
	// say sends one line and reads the answer up to its "(rule: …)" line.
	say := func(line string) {
		t.Helper()
		io.WriteString(stdin, line+"\n")
		for lines.Scan() {
			seen.WriteString(lines.Text() + "\n")
			if strings.HasPrefix(lines.Text(), "(rule: ") {
				return
			}
		}
		t.Fatalf("chat ended early:\n%s\n%s", seen.String(), stderr.String())
	}
	say("halo")
	edited := strings.Replace(cmdShop, "Selamat datang di {{ vars.shop }}", "Apa kabar?", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	say("halo")
	// A broken edit: the last good rules stay.
	if err := os.WriteFile(path, []byte("version: 1\nrules: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	say("halo")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	want := `you: halo
bot: Hai Customer! Selamat datang di Toko Maju
(rule: sapa)
(rules reloaded: 7 rules)
you: halo
bot: Hai Customer! Apa kabar?
(rule: sapa)
you: halo
bot: Hai Customer! Apa kabar?
(rule: sapa)
`
	if seen.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", seen.String(), want)
	}
	if !strings.Contains(stderr.String(), "still using the last good rules") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestChatCommandUsage(t *testing.T) {
	if stdout, _, code := runBalas(t, "", "chat", "--help"); code != 0 || !strings.Contains(stdout, "Usage: balas chat") || !strings.Contains(stdout, "/as NAME NUMBER") {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
	if _, stderr, code := runBalas(t, "", "chat"); code != 2 || !strings.Contains(stderr, "balas chat examples/rules/toko") {
		t.Errorf("no args: exit %d %s", code, stderr)
	}
	dir := writeFiles(t, map[string]string{"bad.yaml": "version: 1\nrules:\n  - id: a\n    whenn: {}\n"})
	if _, stderr, code := runBalas(t, "", "chat", dir); code != 1 || !strings.Contains(stderr, "bad.yaml:4:5:") {
		t.Errorf("bad rules: exit %d %s", code, stderr)
	}
}

// The end of a handoff is shown in the rules' time zone, as /wait shows the
// clock, whatever the zone of --at or of the machine.
func TestChatCommandShowsHandoffInTheRulesTimezone(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": `version: 1
settings: {timezone: Asia/Jakarta}
rules:
  - id: admin
    when: {keywords: [admin]}
    reply: Admin akan membalas.
    handoff: 2h
`})
	stdout, _, code := runBalas(t, "admin\n/wait 1h\nhalo\n/state\n", "chat", "--at", "2026-01-05T10:00:00Z", dir)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// 10:00 UTC is 17:00 in Jakarta: the handoff ends at 19:00 WIB.
	if !strings.Contains(stdout, "(1h0m0s later: Mon 2026-01-05 18:00)\n") ||
		!strings.Contains(stdout, "(in handoff until 2026-01-05 19:00 WIB: a person answers, the bot stays quiet)\n") ||
		!strings.Contains(stdout, "handoff until: 2026-01-05T19:00:00+07:00\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

// A list shown before the bot's last answer is still on the customer's
// screen: tapping one of its rows by id sends the row's title, as WhatsApp
// does, not the id.
func TestChatTapOnAnEarlierReplyCarriesItsTitle(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop})
	stdout, stderr, code := runBalas(t, "menu\nhalo\nlist:product_002\n", "chat", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if want := "you: [Produk B] (list:product_002)\nbot: Kamu memilih Produk B. Lanjut order?\n"; !strings.Contains(stdout, want) {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
}

// `type:reaction ❤️` reacts with ❤️; `type:reaction` alone takes a
// reaction back, and chat says which it sent.
func TestChatReactionCarriesItsEmoji(t *testing.T) {
	dir := writeFiles(t, map[string]string{"r.yaml": `version: 1
rules:
  - id: suka
    when: {type: reaction, expr: 'message.reaction.emoji != ""'}
    reply: "Terima kasih {{ message.reaction.emoji }}"
`})
	stdout, stderr, code := runBalas(t, "type:reaction ❤️\ntype:reaction\n", "chat", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	want := "you: [reaction ❤️]\nbot: Terima kasih ❤️\n(rule: suka)\nyou: [reaction taken back]\n(no rule matched)\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	out := mustExplain(t, dir, "type:reaction", "👍")
	if !strings.Contains(out, "✓ suka") {
		t.Errorf("explain:\n%s", out)
	}
}

// After a wait past session_ttl, /state shows what the next message will
// find, as the server would: no state and an empty session.
func TestChatStateAfterTheSessionExpired(t *testing.T) {
	dir := writeFiles(t, map[string]string{"shop.yaml": cmdShop})
	stdout, _, code := runBalas(t, "menu\n1\n1\n/state\n/wait 29m\n/state\n/wait 1m\n/state\n", "chat", "--at", "2026-01-05T10:00:00+07:00", dir)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	kept := "state: \"awaiting_address\"\nsession: {product: Produk A}\n"
	if n := strings.Count(stdout, kept); n != 2 {
		t.Errorf("the state is shown %d times before it expires, want 2:\n%s", n, stdout)
	}
	if want := "(1m0s later: Mon 2026-01-05 03:30)\n(the session expired: the next message finds no state and an empty session)\nstate: \"\"\nsession: {}\n"; !strings.HasSuffix(stdout, want) {
		t.Errorf("stdout:\n%s\nwant the end:\n%s", stdout, want)
	}
}
