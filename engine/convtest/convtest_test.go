package convtest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

const shop = `
version: 1
vars: {shop: Toko Maju}
rules:
  - id: alamat
    when: {state: awaiting_address, type: text}
    reply: "Terima kasih! {{ session.product }} dikirim ke: {{ message.text }}"
    goto: ""
  - id: sapa
    when: {keywords: [halo]}
    reply: "Hai {{ contact.name }}! Selamat datang di {{ vars.shop }} 👋"
  - id: menu
    when: {keywords: [menu]}
    reply:
      list:
        body: Pilih
        button: Lihat
        sections:
          - rows:
              - {id: product_001, title: Produk A, description: "Rp 100.000"}
              - {id: product_002, title: Produk B}
  - id: pilih-produk
    when: {list: "product_*"}
    set: {product: "{{ message.reply.title }}", desc: "{{ message.reply.description }}"}
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
  - id: admin
    when: {keywords: [admin]}
    handoff: 1h
    reply: Admin segera membalas.
  - id: foto
    when: {type: image}
    reply: "Foto: {{ message.media.caption }}"
`

func bot(t *testing.T) *engine.Bot {
	t.Helper()
	set, diags, err := rules.Parse("shop.yaml", []byte(shop))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	return engine.New(set)
}

// mustPass runs the conversation tests in suite against the rules in src
// and fails t for every test that does not pass.
func mustPass(t *testing.T, src, suite string) {
	t.Helper()
	set, diags, err := rules.Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	s, err := Parse("r_test.yaml", []byte(suite))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Run(engine.New(set), s) {
		if !r.Passed() {
			t.Errorf("%s: %s", r.Name, r.Failure)
		}
	}
}

func TestPassingSuite(t *testing.T) {
	s, err := Parse("shop_test.yaml", []byte(`
tests:
  - name: order flow
    contact: {name: Budi, wa_id: "628123456789"}
    at: "2026-01-05T10:00:00+07:00"
    steps:
      - send: Halo
        expect: {rule: sapa, reply: "Hai Budi! Selamat datang di Toko Maju 👋"}
      - send: menu
        expect: {rows: [product_001, product_002], buttons: []}
      - send: {list: product_001}
        expect: {rule: pilih-produk, buttons: [btn_order, btn_cancel], session: {product: Produk A, desc: "Rp 100.000"}}
      - send: {button: btn_order}
        expect: {rule: order, state: awaiting_address}
      - send: Jl. Merdeka 1
        expect: {contains: "Jl. Merdeka 1", state: "", session: {product: Produk A, missing: null}}
      - send: {type: image, text: bukti}
        expect: {reply: "Foto: bukti", no_reply: false}
  - name: handoff and ttl
    steps:
      - send: admin
        expect: {rule: admin}
      - after: 59m
        send: halo
        expect: {no_reply: true, rule: ""}
      - after: 1m
        send: halo
        expect: {rule: sapa, reply: "Hai Customer! Selamat datang di Toko Maju 👋"}
      - send: {list: product_002, title: Produk B}
        expect: {session: {product: Produk B}}
      - after: 30m
        send: "x"
        expect: {no_reply: true, session: {product: null}}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := bot(t)
	for _, r := range Run(b, s) {
		if !r.Passed() {
			t.Errorf("%s: %s", r.Name, r.Failure)
		}
	}
}

func TestFailures(t *testing.T) {
	b := bot(t)
	tests := []struct {
		expect string
		want   string
	}{
		{`{rule: menu}`, `t_test.yaml:6: step 1: expected rule "menu", got "sapa"`},
		{`{reply: "Hai!"}`, `t_test.yaml:6: step 1: expected reply "Hai!", got "Hai Customer! Selamat datang di Toko Maju 👋"`},
		{`{contains: "Budi"}`, `t_test.yaml:6: step 1: expected a reply containing "Budi", got "Hai Customer! Selamat datang di Toko Maju 👋"`},
		{`{buttons: [a]}`, `t_test.yaml:6: step 1: expected buttons ["a"], got []`},
		{`{rows: [a]}`, `t_test.yaml:6: step 1: expected rows ["a"], got []`},
		{`{state: x}`, `t_test.yaml:6: step 1: expected state "x", got ""`},
		{`{session: {a: b}}`, `t_test.yaml:6: step 1: expected session a "b", got no value`},
		{`{no_reply: true}`, `t_test.yaml:6: step 1: expected no reply, got "Hai Customer! Selamat datang di Toko Maju 👋"`},
	}
	for _, tt := range tests {
		src := "tests:\n  - name: t\n    steps:\n      - send: halo\n        expect:\n          x: " + tt.expect + "\n"
		// Put the expectation on its own line (6) under a real key.
		src = strings.Replace(src, "          x: ", "          ", 1)
		src = strings.Replace(src, "        expect:\n          "+tt.expect, "        expect:\n          "+strings.TrimSuffix(strings.TrimPrefix(tt.expect, "{"), "}"), 1)
		s, err := Parse("t_test.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		r := Run(b, s)[0]
		if r.Passed() {
			t.Errorf("%s: passed", tt.expect)
			continue
		}
		if got := r.Failure.String(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.expect, got, tt.want)
		}
	}
	// A test stops at its first failing step.
	s, _ := Parse("t_test.yaml", []byte("tests:\n  - name: t\n    steps:\n      - send: halo\n        expect: {rule: x}\n      - send: halo\n        expect: {rule: y}\n"))
	if r := Run(b, s)[0]; r.Failure.Step != 1 {
		t.Errorf("step %d", r.Failure.Step)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"tests:\n  - name: a\n    stepz: []\n", `t_test.yaml:3:5: unknown key "stepz"`},
		{"tests:\n  - name: a\n    steps:\n      - send: hi\n        expect: {rul: x}\n", `t_test.yaml:5:18: unknown key "rul"`},
		{"tests:\n  - name: a\n    steps:\n      - send: {txt: hi}\n", `t_test.yaml:4:16: unknown key "txt"`},
		{"tests:\n  - name: a\n    at: yesterday\n", `t_test.yaml:3:9: at must be an RFC 3339 time`},
		{"tests:\n  - name: a\n    steps:\n      - send: hi\n        after: soon\n", `t_test.yaml:5:16: after must be a duration`},
		{"tests:\n  - steps: []\n", `t_test.yaml:2:5: a test needs a name`},
		{"tests:\n  - name: a\n    steps:\n      - expect: {rule: x}\n", `t_test.yaml:4:9: a step needs send`},
		{"test: []\n", `t_test.yaml:1:1: unknown key "test"`},
		{"tests: [\n", `t_test.yaml:1:1: did not find`},
		{"tests:\n  - name: a\n    steps:\n      - send: {button: a, list: b}\n", `t_test.yaml:4:15: send takes one of button or list`},
		{"tests:\n  - name: a\n    steps:\n      - send: {type: imagee}\n", `t_test.yaml:4:22: unknown message type "imagee"; known types: text, image,`},
		{"tests:\n  - name: a\n    contact: {wa_id: '+6281234'}\n", "t_test.yaml:3:22: contact.wa_id `+6281234`: WhatsApp writes numbers as digits with the country code, no + and no leading 0; write `6281234`"},
		{"tests:\n  - name: a\n    contact: {wa_id: '081234'}\n", "t_test.yaml:3:22: contact.wa_id `081234`: WhatsApp writes numbers as digits with the country code, no + and no leading 0; write `6281234` for an Indonesian 081234"},
		{"tests:\n  - name: a\n    contact: {wa_id: Budi}\n", "t_test.yaml:3:22: contact.wa_id `Budi`: WhatsApp writes numbers as digits with the country code, no + and no leading 0, e.g. 6281234567890"},
	}
	for _, tt := range tests {
		_, err := Parse("t_test.yaml", []byte(tt.src))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %s…", tt.src, err, tt.want)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"shop.yaml", "shop_test.yaml", "shop_extra_test.yml", "faq.yaml", "faq_test.yaml", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, err := Files(dir)
	want := []string{"faq_test.yaml", "shop_extra_test.yml", "shop_test.yaml"}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Files(dir) = %v, %v", got, err)
	}
	got, _ = Files(filepath.Join(dir, "shop.yaml"))
	if !reflect.DeepEqual(got, want[1:]) {
		t.Errorf("Files(shop.yaml) = %v", got)
	}
	if _, err := Files(filepath.Join(dir, "nope")); err == nil {
		t.Error("no error for a missing path")
	}
}

func TestInboundTitleFromLastReply(t *testing.T) {
	last := []engine.Choice{{Kind: "list", ID: "p1", Title: "Produk A", Description: "Rp 1"}}
	in := Inbound(DefaultContact, Send{List: "p1", Type: "interactive"}, last, DefaultAt)
	if in.ReplyTitle != "Produk A" || in.ReplyDescription != "Rp 1" || in.ReplyKind != "list" || in.Text != "" {
		t.Errorf("%+v", in)
	}
	in = Inbound(DefaultContact, Send{Button: "b9", Type: "interactive"}, last, DefaultAt)
	if in.ReplyTitle != "b9" || in.ReplyKind != "button" {
		t.Errorf("%+v", in)
	}
}

// The tests of shop_promo.yaml are not the tests of shop.yaml: they would
// run against rules without the ones they test and fail.
func TestFilesOfARulesFileLeaveOutTheTestsOfAnother(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"shop.yaml", "shop_promo.yml", "shop_test.yaml", "shop_promo_test.yaml", "shop_flow_test.yaml"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	got, _ := Files(filepath.Join(dir, "shop.yaml"))
	want := []string{filepath.Join(dir, "shop_flow_test.yaml"), filepath.Join(dir, "shop_test.yaml")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Files(shop.yaml) = %v, want %v", got, want)
	}
	got, _ = Files(filepath.Join(dir, "shop_promo.yml"))
	if want := []string{filepath.Join(dir, "shop_promo_test.yaml")}; !reflect.DeepEqual(got, want) {
		t.Errorf("Files(shop_promo.yml) = %v, want %v", got, want)
	}
}

// A test without steps checks nothing: it must not pass as if it did.
func TestATestWithoutStepsIsAnError(t *testing.T) {
	for _, src := range []string{"tests:\n  - name: a\n", "tests:\n  - name: a\n    steps: []\n"} {
		_, err := Parse("t_test.yaml", []byte(src))
		if want := "t_test.yaml:2:5: test \"a\" has no steps"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %v, want %s…", src, err, want)
		}
	}
}
