package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeRules writes files into a temporary folder and returns it.
func writeRules(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadDiags loads dir and returns the diagnostics with dir/ stripped.
func loadDiags(t *testing.T, dir string) ([]string, *Set, error) {
	t.Helper()
	set, diags, err := Load(dir)
	var out []string
	for _, d := range diags {
		out = append(out, strings.ReplaceAll(d.String(), dir+string(filepath.Separator), ""))
	}
	return out, set, err
}

// errorsOnly is diags without the warnings.
func errorsOnly(diags []string) []string {
	var errs []string
	for _, d := range diags {
		if !strings.Contains(d, ": warning: ") {
			errs = append(errs, d)
		}
	}
	return errs
}

// wantDiags loads yaml as the rules file r.yaml and checks that its
// diagnostics, errors and warnings, are exactly want.
func wantDiags(t *testing.T, yaml string, want []string) {
	t.Helper()
	got, _, _ := loadDiags(t, writeRules(t, map[string]string{"r.yaml": yaml}))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadExample(t *testing.T) {
	set, diags, err := Load("testdata/shop.yaml")
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, FormatDiagnostics(diags))
	}
	if len(set.Rules) != 8 {
		t.Fatalf("got %d rules, want 8", len(set.Rules))
	}
	if got := set.Settings.Location.String(); got != "Asia/Jakarta" {
		t.Errorf("timezone %q", got)
	}
	if set.Settings.SessionTTL != 30*time.Minute || !set.Settings.MarkRead || set.Settings.Typing {
		t.Errorf("settings %+v", set.Settings)
	}
	if set.Vars["shop"] != "Toko Maju" {
		t.Errorf("vars %v", set.Vars)
	}
	if len(set.Version) != 12 || len(set.Files) != 1 || set.Files[0] != "testdata/shop.yaml" {
		t.Errorf("version %q files %v", set.Version, set.Files)
	}
	sapa := set.Rules[1]
	if sapa.ID != "sapa" || strings.Join(sapa.When.Keywords, "|") != "halo|hai|selamat pagi" {
		t.Errorf("sapa: %+v", sapa.When)
	}
	if sapa.Pos.String() != "testdata/shop.yaml:14:5" {
		t.Errorf("sapa pos %s", sapa.Pos)
	}
	env := &Env{Contact: ContactEnv{Name: "Budi"}, Vars: set.Vars}
	r, err := sapa.Reply[0].Render(env)
	if err != nil || r.Kind != "text" || r.Text != "Hai Budi! Selamat datang di Toko Maju 👋" {
		t.Errorf("render: %+v %v", r, err)
	}
	pilih := set.Rules[3]
	env.Message.Reply.Title = "Produk A"
	r, err = pilih.Reply[0].Render(env)
	if err != nil || r.Kind != "buttons" || r.Text != "Kamu memilih Produk A. Lanjut order?" ||
		len(r.Buttons) != 2 || r.Buttons[0] != (Button{ID: "btn_order", Title: "Order Sekarang"}) {
		t.Errorf("buttons render: %+v %v", r, err)
	}
	if !pilih.When.Lists[0].Match("product_001") || pilih.When.Lists[0].Match("x_product_001") {
		t.Error("list glob")
	}
	if v, err := pilih.Set[0].Value.Render(env); err != nil || v != "Produk A" {
		t.Errorf("set: %q %v", v, err)
	}
	menu, _ := set.Rules[2].Reply[0].Render(env)
	if menu.Kind != "list" || menu.ListButton != "Lihat produk" || len(menu.Sections) != 1 || len(menu.Sections[0].Rows) != 2 ||
		menu.Sections[0].Rows[1].Description != "Rp 150.000" {
		t.Errorf("list render: %+v", menu)
	}
	malam := set.Rules[5]
	env.Now = time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC)
	if ok, err := malam.When.Expr.Eval(env); !ok || err != nil {
		t.Errorf("expr: %v %v", ok, err)
	}
	foto, _ := set.Rules[6].Reply[0].Render(env)
	if !foto.Quote || foto.Kind != "text" {
		t.Errorf("quote: %+v", foto)
	}
	if !set.Rules[7].Fallback || set.Rules[4].Goto == nil || *set.Rules[4].Goto != "awaiting_address" {
		t.Error("fallback/goto")
	}
	if *set.Rules[0].Goto != "" || set.Rules[0].When.States[0] != "awaiting_address" {
		t.Error("state/goto empty")
	}
}

func TestLoadFolder(t *testing.T) {
	dir := writeRules(t, map[string]string{
		"b.yaml":      "version: 1\nrules:\n  - id: b\n    fallback: true\n    reply: '{{ vars.shop }}'\n",
		"a.yml":       "version: 1\nvars: {shop: Toko}\nsettings: {session_ttl: 1d2h, timezone: Europe/Paris, typing: true, mark_read: false}\nrules:\n  - id: a\n    reply: hi\n",
		"a_test.yaml": "tests: []\n",
		"notes.txt":   "not rules",
	})
	diags, set, err := loadDiags(t, dir)
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	if len(set.Files) != 2 || filepath.Base(set.Files[0]) != "a.yml" || set.Rules[1].ID != "b" || set.Rules[1].Index != 1 {
		t.Fatalf("files %v rules %v", set.Files, set.Rules)
	}
	st := set.Settings
	if st.SessionTTL != 26*time.Hour || st.MarkRead || !st.Typing || st.Location.String() != "Europe/Paris" {
		t.Errorf("settings %+v", st)
	}
	if set.Files[0] != filepath.Join(dir, "a.yml") {
		t.Errorf("file path %q", set.Files[0])
	}
}

func TestLoadErrors(t *testing.T) {
	const head = "version: 1\nrules:\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"unknown key with suggestion", map[string]string{"r.yaml": head + "  - id: a\n    when: {keyword: [halo]}\n    reply: hi\n"},
			[]string{"r.yaml:4:12: unknown key `keyword`; did you mean `keywords`?"}},
		{"unknown key without suggestion", map[string]string{"r.yaml": head + "  - id: a\n    colour: red\n    reply: hi\n"},
			[]string{"r.yaml:4:5: unknown key `colour` in a rule; known keys: id, when, reply, set, goto, reset, handoff, fallback"}},
		{"wrong type", map[string]string{"r.yaml": head + "  - id: a\n    reply: hi\n    reset: yes please\n"},
			[]string{"r.yaml:5:12: `reset` must be true or false, got a string"}},
		{"rules not a list", map[string]string{"r.yaml": "version: 1\nrules: {a: 1}\n"},
			[]string{"r.yaml:2:8: `rules` must be a list of rules, got a mapping"}},
		{"version missing", map[string]string{"r.yaml": "rules:\n  - id: a\n    reply: hi\n"},
			[]string{"r.yaml:1:1: `version: 1` is missing: every rules file starts with it"}},
		{"version wrong", map[string]string{"r.yaml": "version: 2\nrules: []\n"},
			[]string{"r.yaml:1:10: unsupported version `2`; this balas reads `version: 1`"}},
		{"empty file", map[string]string{"r.yaml": ""},
			[]string{"r.yaml:1:1: empty file: a rules file starts with `version: 1`"}},
		{"invalid yaml", map[string]string{"r.yaml": "version: 1\nrules:\n  - id: a\n   reply: [\n"},
			[]string{"r.yaml:2:1: invalid YAML: did not find expected '-' indicator"}},
		{"duplicate key", map[string]string{"r.yaml": head + "  - id: a\n    reply: hi\n    reply: ho\n"},
			[]string{"r.yaml:5:5: key `reply` is given twice (first at line 4)"}},
		{"duplicate id across files", map[string]string{
			"a.yaml": head + "  - id: a\n    reply: hi\n",
			"b.yaml": head + "  - id: a\n    reply: ho\n"},
			[]string{"b.yaml:3:9: rule id `a` is used twice (first at a.yaml:3:9)"}},
		{"missing id", map[string]string{"r.yaml": head + "  - reply: hi\n"},
			[]string{"r.yaml:3:5: A rule needs `id`"}},
		{"setting twice across files", map[string]string{
			"a.yaml": "version: 1\nsettings: {timezone: UTC}\n",
			"b.yaml": "version: 1\nsettings:\n  timezone: UTC\n"},
			[]string{"b.yaml:3:3: `settings.timezone` is given twice (first at a.yaml:2:12)"}},
		{"var twice across files", map[string]string{
			"a.yaml": "version: 1\nvars: {shop: A}\n",
			"b.yaml": "version: 1\nvars: {shop: B}\n"},
			[]string{"b.yaml:2:8: `vars.shop` is given twice (first at a.yaml:2:8)"}},
		{"bad duration", map[string]string{"r.yaml": "version: 1\nsettings: {session_ttl: 30 minutes}\n"},
			[]string{"r.yaml:2:25: `session_ttl`: invalid duration `30 minutes` (write e.g. 30m, 2h, 1d12h)"}},
		{"bad timezone", map[string]string{"r.yaml": "version: 1\nsettings: {timezone: Asia/Jakart}\n"},
			[]string{"r.yaml:2:22: unknown time zone `Asia/Jakart` (write an IANA name like Asia/Jakarta or UTC)"}},
		{"bad regex", map[string]string{"r.yaml": head + "  - id: a\n    when: {regex: 'a(b'}\n    reply: hi\n"},
			[]string{"r.yaml:4:19: invalid regex: missing closing ): `a(b`"}},
		{"match without regex", map[string]string{"r.yaml": head + "  - id: a\n    reply: 'x {{ match.n }}'\n"},
			[]string{"r.yaml:4:15: `match.n` in `text`: `match` is only set in rules with a `regex`"}},
		{"match group unknown", map[string]string{"r.yaml": head + "  - id: a\n    when: {regex: '(?P<num>\\d+)'}\n    reply: 'x {{ match.nun }}'\n"},
			[]string{"r.yaml:5:15: `match.nun` in `text`: the regex has no group named `nun`; did you mean `num`?"}},
		{"unknown type", map[string]string{"r.yaml": head + "  - id: a\n    when: {type: [txt]}\n    reply: hi\n"},
			[]string{"r.yaml:4:19: unknown message type `txt`; did you mean `text`?"}},
		{"from with plus", map[string]string{"r.yaml": head + "  - id: a\n    when: {from: '+62*'}\n    reply: hi\n"},
			[]string{"r.yaml:4:18: `from` `+62*`: numbers in webhooks have no `+`; write `62*`"}},
		{"from written the local way", map[string]string{"r.yaml": head + "  - id: a\n    when: {from: ['0812*', '+0812*']}\n    reply: hi\n"},
			[]string{"r.yaml:4:19: `from` `0812*`: numbers in webhooks start with the country code, never 0; write `62812*` for an Indonesian 0812…",
				"r.yaml:4:28: `from` `+0812*`: numbers in webhooks start with the country code, never 0; write `62812*` for an Indonesian 0812…"}},
		{"rule does nothing", map[string]string{"r.yaml": head + "  - id: a\n    when: {keywords: [x]}\n"},
			[]string{"r.yaml:3:5: rule `a` does nothing: give it a `reply` or an action (`set`, `goto`, `reset`, `handoff`)"}},
		{"fallback with when", map[string]string{"r.yaml": head + "  - id: a\n    fallback: true\n    when: {keywords: [x]}\n    reply: hi\n"},
			[]string{"r.yaml:5:5: a fallback rule cannot have `when`: fallbacks answer, in order, only when no other rule matched"}},
		{"misspelt name in template", map[string]string{"r.yaml": head + "  - id: a\n    reply: 'Hai {{ mesage.text }}'\n"},
			[]string{"r.yaml:4:17: in `text`: {{ mesage.text }}: unknown name `mesage`; did you mean `message`?"}},
		{"misspelt field in template", map[string]string{"r.yaml": head + "  - id: a\n    reply: Hai {{ message.txet }}\n"},
			[]string{"r.yaml:4:16: in `text`: {{ message.txet }}: `message` has no field `txet`; did you mean `text`?"}},
		{"misspelt field of a part of the message", map[string]string{"r.yaml": head + "  - id: a\n    when: {expr: 'message.reply.titel != \"\"'}\n    reply: hi\n"},
			[]string{"r.yaml:4:18: in `expr`: `message.reply` has no field `titel`; did you mean `title`?"}},
		{"unknown field in template", map[string]string{"r.yaml": head + "  - id: a\n    reply: Hai {{ business.name }} {{ hari }}\n"},
			[]string{"r.yaml:4:16: in `text`: {{ business.name }}: `business` has no field `name`; its fields are phone_number_id, display_phone_number",
				"r.yaml:4:36: in `text`: {{ hari }}: unknown name `hari`; the names are message, contact, business, state, session, vars, match, now"}},
		{"expr not bool", map[string]string{"r.yaml": head + "  - id: a\n    when: {expr: 'message.text'}\n    reply: hi\n"},
			[]string{"r.yaml:4:18: in `expr`: expected bool, but got string"}},
		{"undeclared var", map[string]string{"r.yaml": "version: 1\nvars: {shop: A}\nrules:\n  - id: a\n    reply: '{{ vars.shopp }}'\n"},
			[]string{"r.yaml:5:13: `vars.shopp` is not declared under `vars`; did you mean `shop`?"}},
		{"unclosed template", map[string]string{"r.yaml": head + "  - id: a\n    reply: 'ab {{ x'\n"},
			[]string{"r.yaml:4:16: in `text`: `{{` is not closed by `}}`"}},
		{"too many buttons", map[string]string{"r.yaml": head + "  - id: a\n    reply:\n      buttons:\n        body: b\n        buttons:\n" +
			"          - {id: a, title: A}\n          - {id: b, title: B}\n          - {id: c, title: C}\n          - {id: d, title: D}\n"},
			[]string{"r.yaml:11:13: `buttons` has 4 items; WhatsApp allows at most 3"}},
		{"no buttons", map[string]string{"r.yaml": head + "  - id: a\n    reply: {buttons: {body: b, buttons: []}}\n"},
			[]string{"r.yaml:4:41: `buttons` needs at least 1 item"}},
		{"button title too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: {buttons: {body: b, buttons: [{id: x, title: Order Sekarang 🛒 sekali}]}}\n"},
			[]string{"r.yaml:4:57: `title` is 23 characters; WhatsApp allows at most 20"}},
		{"button title 20 with emoji ok", map[string]string{"r.yaml": head + "  - id: a\n    when: {button: x}\n    reply: {buttons: {body: b, buttons: [{id: x, title: Order Sekarang 🛒 ya}]}}\n"},
			nil},
		{"button title templated too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: {buttons: {body: b, buttons: [{id: x, title: 'Order Sekarang sekali {{ contact.name }}'}]}}\n"},
			[]string{"r.yaml:4:57: `title` is at least 22 characters (not counting {{ }}); WhatsApp allows at most 20"}},
		{"duplicate button ids and titles", map[string]string{"r.yaml": head + "  - id: a\n    when: {button: x}\n    reply: {buttons: {body: b, buttons: [{id: x, title: A}, {id: x, title: A}]}}\n"},
			[]string{"r.yaml:5:66: button id `x` is used twice in this message (first at line 5)",
				"r.yaml:5:76: button title `A` is used twice in this message (first at line 5); WhatsApp needs unique titles"}},
		{"button id too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: {buttons: {body: b, buttons: [{id: " + strings.Repeat("x", 257) + ", title: A}]}}\n"},
			[]string{"r.yaml:4:47: `id` is 257 characters; WhatsApp allows at most 256"}},
		{"interactive body too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: {buttons: {body: " + strings.Repeat("x", 1025) + ", buttons: [{id: x, title: A}]}}\n"},
			[]string{"r.yaml:4:29: `body` is 1025 characters; WhatsApp allows at most 1024"}},
		{"text too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: " + strings.Repeat("x", 4097) + "\n"},
			[]string{"r.yaml:4:12: `text` is 4097 characters; WhatsApp allows at most 4096"}},
		{"header and footer too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: {cta_url: {body: b, display_text: Buka, url: 'https://x.id', header: " + strings.Repeat("h", 61) + ", footer: " + strings.Repeat("f", 61) + "}}\n"},
			[]string{"r.yaml:4:81: `header` is 61 characters; WhatsApp allows at most 60", "r.yaml:4:152: `footer` is 61 characters; WhatsApp allows at most 60"}},
		{"cta display text and url", map[string]string{"r.yaml": head + "  - id: a\n    reply: {cta_url: {body: b, display_text: Buka katalog lengkap kami, url: 'ftp://x'}}\n"},
			[]string{"r.yaml:4:46: `display_text` is 25 characters; WhatsApp allows at most 20", "r.yaml:4:78: `url` must be an http:// or https:// URL"}},
		{"list limits", map[string]string{"r.yaml": head + "  - id: a\n    reply:\n      list:\n        body: b\n        button: Lihat semua produk kami\n        sections:\n" +
			"          - title: Produk terlaris minggu ini\n            rows:\n" +
			"              - {id: p1, title: Produk dengan nama panjang sekali, description: " + strings.Repeat("d", 73) + "}\n" +
			"              - {id: p1, title: B}\n"},
			[]string{
				"r.yaml:7:17: `button` is 23 characters; WhatsApp allows at most 20",
				"r.yaml:9:20: `title` is 26 characters; WhatsApp allows at most 24",
				"r.yaml:11:33: `title` is 33 characters; WhatsApp allows at most 24",
				"r.yaml:11:81: `description` is 73 characters; WhatsApp allows at most 72",
				"r.yaml:12:22: row id `p1` is used twice in this list (first at line 11)",
			}},
		{"list rows over 10 in all", map[string]string{"r.yaml": head + "  - id: a\n    reply:\n      list:\n        body: b\n        button: Lihat\n        sections:\n" +
			"          - title: A\n            rows: [{id: a1, title: x}, {id: a2, title: x}, {id: a3, title: x}, {id: a4, title: x}, {id: a5, title: x}, {id: a6, title: x}]\n" +
			"          - title: B\n            rows: [{id: b1, title: x}, {id: b2, title: x}, {id: b3, title: x}, {id: b4, title: x}, {id: b5, title: x}]\n"},
			[]string{"r.yaml:12:100: a list has at most 10 rows in all its sections; this is row 11"}},
		{"section title needed", map[string]string{"r.yaml": head + "  - id: a\n    when: {list: '*'}\n    reply: {list: {body: b, button: l, sections: [{rows: [{id: a, title: A}]}, {title: T, rows: [{id: b, title: B}]}]}}\n"},
			[]string{"r.yaml:5:51: with more than one section, each section needs a `title`"}},
		{"media link and id", map[string]string{"r.yaml": head + "  - id: a\n    reply: [{image: {link: 'https://x.id/a.png', id: '123'}}, {video: {caption: c}}, {document: {link: 'x.pdf'}}]\n"},
			[]string{"r.yaml:4:50: `image` takes `link` or `id`, not both", "r.yaml:4:71: `video` needs `link` (a public URL) or `id` (an uploaded media id)", "r.yaml:4:104: `link` must be an http:// or https:// URL"}},
		{"caption too long", map[string]string{"r.yaml": head + "  - id: a\n    reply: {image: {id: '1', caption: " + strings.Repeat("c", 1025) + "}}\n"},
			[]string{"r.yaml:4:39: `caption` is 1025 characters; WhatsApp allows at most 1024"}},
		{"audio has no caption", map[string]string{"r.yaml": head + "  - id: a\n    reply: {audio: {id: '1', caption: c}}\n"},
			[]string{"r.yaml:4:30: unknown key `caption` in `audio`; known keys: link, id"}},
		{"two kinds", map[string]string{"r.yaml": head + "  - id: a\n    reply: {text: a, image: {id: '1'}}\n"},
			[]string{"r.yaml:4:22: a message has one kind, but `text` and `image` are both given (use a list of messages to send several)"}},
		{"no kind", map[string]string{"r.yaml": head + "  - id: a\n    reply: {quote: true}\n"},
			[]string{"r.yaml:4:12: a message needs one kind key: text, buttons, list, image, video, audio, document, sticker, cta_url, location_request, react, template"}},
		{"handoff bad", map[string]string{"r.yaml": head + "  - id: a\n    handoff: 0s\n"},
			[]string{"r.yaml:4:14: `handoff` must be longer than 0"}},
		{"keyword empty after normalising", map[string]string{"r.yaml": head + "  - id: a\n    when: {keywords: ['!!!']}\n    reply: hi\n"},
			[]string{"r.yaml:4:23: keyword `!!!` has no letters or digits, so it can never match; match emoji and symbols with `regex` instead, e.g. regex: '!!!'"}},
		{"set value not string", map[string]string{"r.yaml": head + "  - id: a\n    set: {product: [a]}\n"},
			[]string{"r.yaml:4:20: `set.product` must be a string (templates allowed), got a list"}},
		{"collects all problems", map[string]string{"r.yaml": head + "  - id: a\n    when: {keyword: x, type: txt}\n    reply: '{{ nope }}'\n"},
			[]string{"r.yaml:4:12: unknown key `keyword`; did you mean `keywords`?", "r.yaml:4:30: unknown message type `txt`; did you mean `text`?", "r.yaml:5:13: in `text`: {{ nope }}: unknown name `nope`; the names are message, contact, business, state, session, vars, match, now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRules(t, tt.files)
			got, _, err := loadDiags(t, dir)
			errs := errorsOnly(got)
			if strings.Join(errs, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if (err != nil) != (len(tt.want) > 0) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// A few kilobytes of aliases of aliases would make tens of millions of
// values to check: the file is refused at once, with the reason.
func TestAliasBombRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n  - id: a\n    reply:\n      - &msg\n        list:\n          body: b\n          button: b\n          sections:\n            - &sec\n              title: t\n              rows: &rows\n                - &row {id: \"{{ 'i' }}\", title: t}\n")
	for range 999 {
		b.WriteString("                - *row\n")
	}
	for range 999 {
		b.WriteString("            - *sec\n")
	}
	for range 19 {
		b.WriteString("      - *msg\n")
	}
	done := make(chan []Diagnostic, 1)
	go func() {
		_, diags, _ := Parse("bomb.yaml", []byte(b.String()))
		done <- diags
	}()
	select {
	case diags := <-done:
		if len(diags) != 1 || !strings.Contains(diags[0].String(), "through its aliases") {
			t.Fatalf("diagnostics: %d, first %v", len(diags), diags[:min(len(diags), 1)])
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Parse of a %d-byte file did not finish in 5 s", b.Len())
	}
	// Ordinary aliases stay welcome.
	if _, diags, err := Parse("ok.yaml", []byte("version: 1\nvars: {}\nrules:\n  - id: a\n    when: {keywords: [a]}\n    reply: &r hai\n  - id: b\n    when: {keywords: [b]}\n    reply: *r\n")); err != nil {
		t.Fatalf("%v\n%s", err, FormatDiagnostics(diags))
	}
}

// A template error is reported where it is written, also in a value that
// runs over several lines, a block (| or >) or holds escapes.
func TestTemplateErrorPositions(t *testing.T) {
	for _, tc := range []struct{ reply, want string }{
		{"Hai {{ contact.name }}, selamat datang di toko {{ nope }}", "r.yaml:4:59"},
		{"Hai {{ contact.name }}, selamat datang\n      di toko {{ nope }}", "r.yaml:5:15"},
		{"\"Hai {{ contact.name }}, selamat datang\n      di toko {{ nope }}\"", "r.yaml:5:15"},
		{"'It''s {{ nope }}'", "r.yaml:4:19"},
		{`"Caf\u00e9 {{ nope }}"`, "r.yaml:4:23"},
		{`"Tab\there {{ nope }}"`, "r.yaml:4:23"},
		{"|\n      Hai 👋\n      Kak {{ nope }}", "r.yaml:6:11"},
		{"|-  # a comment\n\n      Hai\n\n        Kak {{ nope }}", "r.yaml:8:13"},
		{">\n      Hai,\n      kak {{ nope }}", "r.yaml:6:11"},
		{">\n      Hai\n\n      kak {{ nope }}", "r.yaml:4:12"}, // a kept line break: the scalar's position
		{"|2\n        Hai {{ nope }}", "r.yaml:4:12"},           // an indentation indicator: the scalar's position
	} {
		src := "version: 1\nrules:\n  - id: sapa\n    reply: " + tc.reply + "\n"
		_, diags, err := Parse("r.yaml", []byte(src))
		if err == nil || len(diags) == 0 {
			t.Errorf("%q: no error", tc.reply)
			continue
		}
		if got := diags[0].String(); !strings.HasPrefix(got, tc.want+": in `text`: {{ nope }}") {
			t.Errorf("%q: %s, want it at %s", tc.reply, got, tc.want)
		}
	}
}

// YAML merge keys work in rules as YAML says: the keys of the anchor that
// the rule does not give itself.
func TestMergeKeys(t *testing.T) {
	set, diags, err := Parse("r.yaml", []byte(`version: 1
rules:
  - &base
    id: sapa
    when: {keywords: [halo]}
    reply: Hai!
  - <<: *base
    id: sapa-pagi
    when: {keywords: [pagi]}
  - <<: [*base]
    id: sapa-malam
    when: {keywords: [malam]}
    reply: Selamat malam!
`))
	if err != nil {
		t.Fatalf("%v\n%s", err, FormatDiagnostics(diags))
	}
	if len(set.Rules) != 3 {
		t.Fatalf("%d rules", len(set.Rules))
	}
	for i, want := range []string{"Hai!", "Hai!", "Selamat malam!"} {
		out, err := set.Rules[i].Reply[0].Render(&Env{})
		if err != nil || out.Text != want {
			t.Errorf("rule %s answers %q (%v), want %q", set.Rules[i].ID, out.Text, err, want)
		}
	}
	if got := set.Rules[1].When.Keywords; len(got) != 1 || got[0] != "pagi" {
		t.Errorf("sapa-pagi keywords %v: its own must win over the anchor's", got)
	}
	_, diags, err = Parse("r.yaml", []byte("version: 1\nrules:\n  - <<: hai\n    id: a\n    reply: x\n"))
	if err == nil || !strings.Contains(FormatDiagnostics(diags), "`<<` merges mappings") {
		t.Errorf("a merge of a string: %v\n%s", err, FormatDiagnostics(diags))
	}
}

// "Any message can take quote: true": on a reaction, which is on the
// customer's message already, it is accepted and changes nothing.
func TestReactTakesQuote(t *testing.T) {
	set, diags, err := Parse("r.yaml", []byte("version: 1\nrules:\n  - id: suka\n    when: {keywords: [makasih]}\n    reply:\n      - {react: '👍', quote: true}\n"))
	if err != nil {
		t.Fatalf("%v\n%s", err, FormatDiagnostics(diags))
	}
	out, err := set.Rules[0].Reply[0].Render(&Env{})
	if err != nil || out.Kind != "react" || out.Quote {
		t.Fatalf("rendered %+v (%v), want a reaction that quotes nothing", out, err)
	}
}

// WhatsApp refuses an interactive message whose body, button title, list
// button or row title is empty, and balas cannot send an empty text: `balas
// check` must say so, at the field, instead of the reply failing at run time.
func TestLoadRefusesEmptyRequiredText(t *testing.T) {
	cases := []struct {
		name, reply, want string
	}{
		{"text", `reply: ""`, "t.yaml:5:12: `text` is empty"},
		{"text body", `reply: {text: {body: ""}}`, "t.yaml:5:26: `body` is empty"},
		{"buttons body", `reply: {buttons: {body: " ", buttons: [{id: a, title: A}]}}`, "t.yaml:5:29: `body` is empty"},
		{"button title", `reply: {buttons: {body: b, buttons: [{id: a, title: ""}]}}`, "t.yaml:5:57: `title` is empty"},
		{"list button", `reply: {list: {body: b, button: "", sections: [{rows: [{id: r, title: R}]}]}}`, "t.yaml:5:37: `button` is empty"},
		{"row title", `reply: {list: {body: b, button: B, sections: [{rows: [{id: r, title: ""}]}]}}`, "t.yaml:5:74: `title` is empty"},
		{"cta display_text", `reply: {cta_url: {body: b, display_text: "", url: "https://a.id"}}`, "t.yaml:5:46: `display_text` is empty"},
		{"location_request", `reply: {location_request: ""}`, "t.yaml:5:31: `location_request` is empty"},
		{"blank text", `reply: "   "`, "t.yaml:5:12: `text` is empty; WhatsApp refuses a message without it (to send nothing, leave out `reply`)"},
		{"text in a list", `reply: [ok, ""]`, "t.yaml:5:17: `text` is empty"},
		{"template name", `reply: {template: {name: "", language: id}}`, "t.yaml:5:30: `name` is empty"},
		{"media id", `reply: {image: {id: ""}}`, "t.yaml:5:25: `id` is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "version: 1\nrules:\n  - id: r\n    when: {keywords: [x]}\n    " + c.reply + "\n"
			_, diags, _ := Parse("t.yaml", []byte(src))
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			found := false
			for _, g := range got {
				if strings.HasPrefix(g, c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("diagnostics %q, want one starting %q", got, c.want)
			}
		})
	}
}

// Shop owners want to answer a 👍 or 🙏: the error must say how (regex),
// not only that the keyword can never match.
func TestEmojiKeywordSaysHow(t *testing.T) {
	for _, key := range []string{"keywords", "exact"} {
		t.Run(key, func(t *testing.T) {
			src := "version: 1\nrules:\n  - id: a\n    when: {" + key + ": [\"👍\"]}\n    reply: sip\n"
			got, _, _ := loadDiags(t, writeRules(t, map[string]string{"r.yaml": src}))
			want := "match emoji and symbols with `regex` instead, e.g. regex: '👍'"
			if len(got) != 1 || !strings.HasSuffix(got[0], want) {
				t.Errorf("got %q\nwant …%s", got, want)
			}
		})
	}
}

// The contract says every `{{ … }}` in a string is an expression compiled
// and checked when the rules load. In the keys that take a plain name it
// was silently kept as text: `goto: "{{ session.next }}"` moved the
// conversation to a state literally named "{{ session.next }}".
func TestTemplatesOutsideTemplateFieldsRefused(t *testing.T) {
	const head = "version: 1\nrules:\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"goto", head + "  - id: a\n    when: {keywords: [a]}\n    goto: \"{{ session.next }}\"\n",
			[]string{"r.yaml:5:11: `goto` takes a plain name: `{{ … }}` is not filled in here"}},
		{"when.button", head + "  - id: a\n    when: {button: \"{{ session.btn }}\"}\n    reply: x\n",
			[]string{"r.yaml:4:20: `button` takes a plain name: `{{ … }}` is not filled in here"}},
		{"when.state", head + "  - id: a\n    when: {state: [x, \"{{ state }}\"]}\n    reply: x\n",
			[]string{"r.yaml:4:23: `state` takes a plain name: `{{ … }}` is not filled in here"}},
		{"when.list", head + "  - id: a\n    when: {list: \"p_{{ vars.x }}\"}\n    reply: x\n",
			[]string{"r.yaml:4:18: `list` takes a plain name: `{{ … }}` is not filled in here"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _ := loadDiags(t, writeRules(t, map[string]string{"r.yaml": tt.yaml}))
			errs := errorsOnly(got)
			if strings.Join(errs, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// `balas check shop_test.yaml` read the conversation tests as rules and
// said "unknown key `tests`" and "`version: 1` is missing".
func TestLoadATestFileSaysSo(t *testing.T) {
	dir := writeRules(t, map[string]string{
		"shop.yaml":      "version: 1\nrules: []\n",
		"shop_test.yaml": "tests: []\n",
	})
	_, diags, err := Load(filepath.Join(dir, "shop_test.yaml"))
	if err == nil || len(diags) != 1 {
		t.Fatalf("err %v, diags %v", err, diags)
	}
	want := "is a conversation test file, not rules: check the rules file or folder beside it (balas test runs the tests)"
	if !strings.Contains(diags[0].String(), want) {
		t.Errorf("got %s\nwant …%s", diags[0], want)
	}
}

// A phone number or an account number written without quotes under `vars`
// is read by YAML as a number and loses what makes it one: `0812345`
// rendered "812345", `+62812…` lost its +, a 22-digit account number came
// out as 1.2345678901234568e+21. balas check said nothing.
func TestVarsNumbersThatChangeWarned(t *testing.T) {
	tests := []struct {
		name, vars string
		want       []string
	}{
		{"leading zero", "nomor: 0812345", []string{"r.yaml:2:15: warning: `vars.nomor` is read as the number 812345, not 0812345 as written; quote it (\"0812345\") to keep it as written"}},
		{"plus sign", "hp: +6281234567890", []string{"r.yaml:2:12: warning: `vars.hp` is read as the number 6281234567890, not +6281234567890 as written; quote it (\"+6281234567890\") to keep it as written"}},
		{"long account number", "rek: 1234567890123456789012", []string{"r.yaml:2:13: warning: `vars.rek` is read as the number 1234567890123456800000, not 1234567890123456789012 as written; quote it (\"1234567890123456789012\") to keep it as written"}},
		{"plain numbers are fine", "harga: 15000\n  diskon: 0.1\n  besar: 1500000000", nil},
		{"quoted is fine", "nomor: \"0812345\"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "version: 1\nvars: {x: 1}\nrules: []\n"
			src = strings.Replace(src, "vars: {x: 1}", "vars:\n  "+tt.vars, 1)
			src = strings.Replace(src, "vars:\n  ", "vars: {", 1)
			src = strings.Replace(src, "\nrules:", "}\nrules:", 1)
			src = strings.ReplaceAll(src, "\n  ", ", ")
			got, _, err := loadDiags(t, writeRules(t, map[string]string{"r.yaml": src}))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("%s\ngot:\n%s\nwant:\n%s", src, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Comparing now's weekday or month with a number or a name fails type
// checking in expr; the error says how to write it.
func TestExprWeekdayHint(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"now.Weekday() == 0", "compare int(now.Weekday()) with 0 to 6 (0 is Sunday)"},
		{`now.Weekday() == "Sunday"`, `or now.Weekday().String() with "Sunday"`},
		{"now.Month() == 12", "compare int(now.Month()) with 1 to 12"},
	} {
		src := "version: 1\nrules:\n  - id: r\n    when: {expr: '" + tc.expr + "'}\n    reply: x\n"
		got, _, err := loadDiags(t, writeRules(t, map[string]string{"r.yaml": src}))
		if err == nil || len(got) == 0 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: %q, want an error saying %q", tc.expr, got, tc.want)
		}
	}
	ok := "version: 1\nrules:\n  - id: r\n    when: {expr: 'int(now.Weekday()) == 0 && now.Month().String() == \"December\"'}\n    reply: x\n"
	if got, _, err := loadDiags(t, writeRules(t, map[string]string{"r.yaml": ok})); err != nil {
		t.Errorf("the hinted forms do not load: %v %q", err, got)
	}
}

// Slips rule authors commonly make are each told how to fix them.
func TestLoadMessagesForCommonSlips(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		// A tab in the indentation is the commonest slip of people who write YAML in
		// a plain editor. yaml.v3 names a line before the tab's (the start of the
		// construct it was reading), at column 1; the author must be sent to the
		// tab itself and told to use spaces.
		{"tab before a key", "version: 1\nrules:\n  - id: sapa\n\twhen: {keywords: [halo]}\n    reply: hai\n",
			[]string{"r.yaml:4:1: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces"}},
		{"tab after spaces, later rule", "version: 1\nrules:\n  - id: a\n    when: {keywords: [halo]}\n    reply: hai\n  - id: b\n  \treply: x\n",
			[]string{"r.yaml:7:3: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces"}},
		// `timezone: Local` is the machine's zone: `balas test` on a laptop in WIB and
		// the server in UTC would answer differently.
		{"timezone Local", "version: 1\nsettings: {timezone: Local}\nrules: []\n",
			[]string{"r.yaml:2:22: time zone `Local` is the zone of the machine balas runs on, which differs between your computer and the server; write an IANA name like Asia/Jakarta"}},
		// An unquoted `{{ … }}` is a YAML mapping inside a mapping: the
		// author is told to add quotes.
		{"unquoted template", "version: 1\nrules:\n  - id: a\n    when: {keywords: [a]}\n    reply: {{ contact.name }}\n",
			[]string{"r.yaml:5:12: a value that starts with `{{` must be quoted: write \"{{ … }}\" in double quotes"}},
		{"unquoted template in set", "version: 1\nrules:\n  - id: a\n    when: {keywords: [a]}\n    set: {nama: {{ contact.name }}}\n    reply: ok\n",
			[]string{"r.yaml:5:17: a value that starts with `{{` must be quoted: write \"{{ … }}\" in double quotes"}},
		// `version: "1"` is told to drop the quotes; "unsupported version `1`; this balas reads `version: 1`" left the
		// author staring at the same text.
		{"quoted version", "version: \"1\"\nrules: []\n",
			[]string{"r.yaml:1:10: `version` is the number 1: write `version: 1`, without quotes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDiags(t, tt.yaml, tt.want)
		})
	}
}
