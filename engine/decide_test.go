package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/balas-bot/balas/rules"
)

func parse(t testing.TB, src string) *Bot {
	t.Helper()
	set, diags, err := rules.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("rules: %v\n%s", err, rules.FormatDiagnostics(diags))
	}
	return New(set)
}

const shop = `
version: 1
settings: {timezone: Asia/Jakarta, session_ttl: 30m}
vars: {shop: Toko Maju}
rules:
  - id: alamat
    when: {state: awaiting_address, type: text}
    reply: "Terima kasih! {{ session.product }} dikirim ke: {{ message.text }}"
    goto: ""
  - id: ulang
    when: {keywords: [ulang]}
    reset: true
    set: {lama: "{{ session.product }}", baru: "x"}
    goto: start
    reply: "state={{ state }} lama={{ session.lama }} product={{ session.product }}"
  - id: sapa
    when: {keywords: [halo, hai, "selamat pagi"]}
    reply: "Hai {{ contact.name }}! Selamat datang di {{ vars.shop }} 👋"
  - id: tiket
    when: {regex: '(?i)tiket\s+(?P<no>\d+)'}
    reply: "Tiket {{ match.no }} dari {{ message.from }} ({{ business.display_phone_number }})"
  - id: pilih-produk
    when: {list: "product_*"}
    set: {product: "{{ message.reply.title }}"}
    reply:
      buttons:
        body: "Kamu memilih {{ message.reply.title }}. Lanjut order?"
        buttons:
          - {id: btn_order, title: Order Sekarang}
          - {id: btn_cancel, title: Batal}
  - id: order
    when: {button: btn_order}
    reply: Kirim alamat pengiriman kamu ya.
    goto: awaiting_address
  - id: panjang
    when: {keywords: [panjang]}
    reply: "{{ message.text }}"
  - id: jam
    when: {keywords: [jam]}
    reply: "{{ now.Format('15:04 MST') }}"
  - id: dua
    when: {keywords: [dua]}
    reply:
      - "satu"
      - {react: "👍"}
  - id: bantuan
    fallback: true
    reply: Maaf, aku belum paham.
`

func TestTemplatesAndFlow(t *testing.T) {
	b := parse(t, shop)
	in := text("Selamat  Pagi!")
	in.PhoneNumberID, in.DisplayPhoneNumber = "1055", "+62 21 555"
	d := b.Decide(in, Conversation{}, t0)
	if ruleID(d) != "sapa" || len(d.Replies) != 1 || d.Replies[0].Text != "Hai Budi! Selamat datang di Toko Maju 👋" || d.Replies[0].Kind != "text" {
		t.Fatalf("sapa: %+v", d)
	}

	// A list tap: message.text is the row's title, set stores it.
	d = b.Decide(listReply("product_001", "Produk A"), d.Conversation, t0.Add(time.Minute))
	if ruleID(d) != "pilih-produk" || d.Replies[0].Text != "Kamu memilih Produk A. Lanjut order?" ||
		len(d.Replies[0].Buttons) != 2 || d.Conversation.Session["product"] != "Produk A" {
		t.Fatalf("pilih-produk: %+v", d)
	}
	d = b.Decide(button("btn_order", "Order Sekarang"), d.Conversation, t0.Add(2*time.Minute))
	if ruleID(d) != "order" || d.Conversation.State != "awaiting_address" {
		t.Fatalf("order: %+v", d)
	}
	d = b.Decide(text("Jl. Merdeka 1"), d.Conversation, t0.Add(3*time.Minute))
	if ruleID(d) != "alamat" || d.Replies[0].Text != "Terima kasih! Produk A dikirim ke: Jl. Merdeka 1" ||
		d.Conversation.State != "" || d.Conversation.Session["product"] != "Produk A" {
		t.Fatalf("alamat: %+v", d)
	}

	in = text("Tiket 4711")
	in.DisplayPhoneNumber = "+62 21 555"
	d = b.Decide(in, Conversation{}, t0)
	if got := d.Replies[0].Text; got != "Tiket 4711 dari 628123456789 (+62 21 555)" {
		t.Errorf("tiket: %q", got)
	}

	// now is in the set's timezone.
	d = b.Decide(text("jam"), Conversation{}, t0)
	if got := d.Replies[0].Text; got != "17:00 WIB" {
		t.Errorf("jam: %q", got)
	}

	d = b.Decide(text("dua"), Conversation{}, t0)
	if len(d.Replies) != 2 || d.Replies[0].Text != "satu" || d.Replies[1].Kind != "react" || d.Replies[1].Emoji != "👍" {
		t.Errorf("dua: %+v", d.Replies)
	}

	d = b.Decide(text("???"), Conversation{}, t0)
	if ruleID(d) != "bantuan" || d.Replies[0].Text != "Maaf, aku belum paham." {
		t.Errorf("fallback: %+v", d)
	}
}

func TestResetSetGotoOrder(t *testing.T) {
	b := parse(t, shop)
	conv := Conversation{State: "x", Session: map[string]any{"product": "A", "other": 1}}
	d := b.Decide(text("ulang"), conv, t0)
	// reset clears; set sees the session before the reset; goto after; the
	// reply sees the result.
	s := d.Conversation.Session
	if d.Conversation.State != "start" || s["lama"] != "A" || s["baru"] != "x" || s["product"] != nil || s["other"] != nil {
		t.Fatalf("conversation: %+v", d.Conversation)
	}
	if got := d.Replies[0].Text; got != "state=start lama=A product=" {
		t.Errorf("reply: %q", got)
	}
	if conv.Session["product"] != "A" || len(conv.Session) != 2 || conv.State != "x" {
		t.Error("input conversation changed")
	}
}

func TestFitApplied(t *testing.T) {
	b := parse(t, shop)
	long := "panjang " + strings.Repeat("kata ", 1000)
	d := b.Decide(text(long), Conversation{}, t0)
	if ruleID(d) != "panjang" || len(d.Replies) != 1 {
		t.Fatalf("%+v", d)
	}
	if n := len([]rune(d.Replies[0].Text)); n > 4096 || !strings.HasSuffix(d.Replies[0].Text, "…") {
		t.Errorf("text not shortened: %d runes", n)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "panjang") {
		t.Errorf("notes: %q", d.Notes)
	}
}

func TestRenderErrorDropsMessage(t *testing.T) {
	b := parse(t, `
version: 1
rules:
  - id: r
    when: {keywords: [x]}
    reply:
      - "{{ 10 / int(session.n) }}"
      - ok
`)
	d := b.Decide(text("x"), Conversation{Session: map[string]any{"n": "zero"}}, t0)
	if ruleID(d) != "r" || len(d.Replies) != 1 || d.Replies[0].Text != "ok" || len(d.Notes) != 1 {
		t.Errorf("%+v", d)
	}
}

func TestExplainRendersReply(t *testing.T) {
	b := parse(t, shop)
	ex := b.Explain(listReply("product_002", "Produk B"), Conversation{}, t0)
	var sb strings.Builder
	ex.Write(&sb)
	out := sb.String()
	for _, want := range []string{
		"✗ alamat  t.yaml:7:37  type [text]: the message is of type \"interactive\"\n",
		"✗ tiket  t.yaml:20:12  regex `(?i)tiket\\s+(?P<no>\\d+)`: nothing was typed (a tap of list row \"product_002\")\n",
		"✗ sapa  t.yaml:17:12  keywords [halo hai \"selamat pagi\"]: nothing was typed (a tap of list row \"product_002\")\n",
		"✓ pilih-produk  t.yaml:22:5\n",
		"  bot: Kamu memilih Produk B. Lanjut order?\n    [1] Order Sekarang\n    [2] Batal\n",
		`→ state "", session {product: Produk B}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "bantuan") {
		t.Errorf("fallback tried although a rule matched:\n%s", out)
	}
}

func TestFormatReplies(t *testing.T) {
	got := FormatReplies([]rules.Reply{
		{Kind: "text", Text: "Halo\nkak"},
		{Kind: "buttons", Text: "Lanjut?", Buttons: []rules.Button{{ID: "a", Title: "Ya"}, {ID: "b", Title: "Tidak"}}},
		{Kind: "list", Text: "Pilih", ListButton: "Lihat", Sections: []rules.Section{
			{Title: "S1", Rows: []rules.Row{{ID: "r1", Title: "Satu", Description: "Rp 1"}}},
			{Title: "S2", Rows: []rules.Row{{ID: "r2", Title: "Dua"}}},
		}},
		{Kind: "image", Media: &rules.Media{Link: "https://x/a.jpg"}, Text: "Foto"},
		{Kind: "react", Emoji: "👍"},
	})
	want := `bot: Halo
     kak
bot: Lanjut?
  [1] Ya
  [2] Tidak
bot: Pilih
  (Lihat)
  S1
  [3] Satu — Rp 1
  S2
  [4] Dua
bot: [image: https://x/a.jpg] Foto
bot: (reacts 👍 to your message)
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	cs := Choices([]rules.Reply{{Kind: "buttons", Buttons: []rules.Button{{ID: "a", Title: "Ya"}}}, {Kind: "list", Sections: []rules.Section{{Rows: []rules.Row{{ID: "r", Title: "R"}}}}}})
	if len(cs) != 2 || cs[0] != (Choice{Kind: "button", ID: "a", Title: "Ya"}) || cs[1].Kind != "list" {
		t.Errorf("choices %+v", cs)
	}
}

// Reactions and system messages are answered by a rule that asks for their
// type, never by the fallback.
func TestReactionsAndSystemMessagesNeedTheirType(t *testing.T) {
	b := parse(t, `
version: 1
rules:
  - id: nomor-baru
    when: {type: system}
    reply: Nomor baru tercatat.
  - id: sapa
    when: {keywords: [halo]}
    reply: hai
  - id: bantuan
    fallback: true
    reply: Maaf, aku belum paham.
`)
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for typ, want := range map[string]string{"system": "nomor-baru", "reaction": "", "text": "bantuan"} {
		if got := ruleID(b.Decide(Inbound{ID: "wamid.1", From: "6281398765401", Type: typ}, Conversation{}, now)); got != want {
			t.Errorf("a %s message: rule %q, want %q", typ, got, want)
		}
	}
}

// A session value that a rule builds from what customers type stays
// bounded: a rule that appends each message to a session value must not let
// one customer grow their conversation (kept in memory, copied and written
// to the database at every message) without end.
func TestSessionValuesAreBounded(t *testing.T) {
	b := parse(t, `
version: 1
rules:
  - id: catat
    fallback: true
    set: {log: "{{ session.log }}{{ message.text }}"}
    reply: "dicatat"
`)
	conv := Conversation{}
	msg := strings.Repeat("q", 4096)
	var last Decision
	for i := range 100 {
		last = b.Decide(text(msg), conv, t0.Add(time.Duration(i)*time.Second))
		conv = last.Conversation
	}
	if n := len(conv.Session["log"].(string)); n > MaxSessionValue {
		t.Fatalf("session value of %d bytes after 100 messages; want at most %d", n, MaxSessionValue)
	}
	if len(last.Errors) != 1 || !strings.Contains(last.Errors[0], "log") || len(last.Replies) != 1 {
		t.Errorf("errors %q, replies %d: want the set refused with a note and the reply sent", last.Errors, len(last.Replies))
	}
}
