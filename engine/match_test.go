package engine

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/balas-bot/balas/rules"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// newSet numbers the rules and wraps them in a Set with defaults.
func newSet(rs ...*rules.Rule) *rules.Set {
	for i, r := range rs {
		r.Index = i
		if r.Pos == (rules.Pos{}) {
			r.Pos = rules.Pos{File: "t.yaml", Line: i*3 + 1, Col: 5}
		}
	}
	return &rules.Set{
		Settings: rules.Settings{SessionTTL: 30 * time.Minute, MarkRead: true, Location: time.UTC},
		Rules:    rs,
	}
}

func ptr(s string) *string { return &s }

func globs(ps ...string) []rules.Glob {
	g := make([]rules.Glob, len(ps))
	for i, p := range ps {
		g[i] = rules.Glob{Pattern: p}
	}
	return g
}

func mustExpr(t testing.TB, src string) *rules.Expr {
	t.Helper()
	e, err := rules.CompileExpr(src, rules.Pos{File: "t.yaml", Line: 1, Col: 1})
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return e
}

func text(s string) Inbound {
	return Inbound{ID: "wamid.1", From: "628123456789", WaID: "628123456789", ContactName: "Budi", Type: "text", Text: s, Timestamp: t0}
}

// sentAt is in as the customer sent it at at (Meta's timestamp).
func sentAt(in Inbound, at time.Time) Inbound {
	in.Timestamp = at
	return in
}

func button(id, title string) Inbound {
	return Inbound{ID: "wamid.2", From: "628123456789", Type: "interactive", ReplyKind: "button", ReplyID: id, ReplyTitle: title}
}

func listReply(id, title string) Inbound {
	return Inbound{ID: "wamid.3", From: "628123456789", Type: "interactive", ReplyKind: "list", ReplyID: id, ReplyTitle: title}
}

func ruleID(d Decision) string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.ID
}

// TestConditions checks one condition at a time, through the index (Decide)
// and without it (Explain).
func TestConditions(t *testing.T) {
	tests := []struct {
		name  string
		when  rules.When
		in    Inbound
		state string
		want  bool
	}{
		{"keyword plain", rules.When{Keywords: []string{"halo"}}, text("halo"), "", true},
		{"keyword upper", rules.When{Keywords: []string{"halo"}}, text("HALO"), "", true},
		{"keyword accent", rules.When{Keywords: []string{"halo"}}, text("Hálo!!"), "", true},
		{"keyword emoji around", rules.When{Keywords: []string{"halo"}}, text("👋halo👋"), "", true},
		{"keyword in sentence", rules.When{Keywords: []string{"halo"}}, text("halo kak, ada stok?"), "", true},
		{"keyword not a prefix", rules.When{Keywords: []string{"halo"}}, text("halodoc"), "", false},
		{"keyword not a suffix", rules.When{Keywords: []string{"halo"}}, text("ahalo"), "", false},
		{"keyword second of list", rules.When{Keywords: []string{"halo", "hai"}}, text("Hai!"), "", true},
		{"keyword phrase", rules.When{Keywords: []string{"selamat pagi"}}, text("Selamat   pagi, kak"), "", true},
		{"keyword phrase split", rules.When{Keywords: []string{"selamat pagi"}}, text("selamat siang pagi"), "", false},
		{"keyword phrase written loosely", rules.When{Keywords: []string{"Selamat  Pagi!"}}, text("selamat pagi"), "", true},
		{"keyword english", rules.When{Keywords: []string{"opening hours"}}, text("What are your OPENING hours?"), "", true},
		{"keyword caption", rules.When{Keywords: []string{"bukti"}}, Inbound{Type: "image", Text: "Bukti transfer"}, "", true},
		{"keyword never a tap title", rules.When{Keywords: []string{"order"}}, button("btn_order", "Order"), "", false},
		{"keyword empty text", rules.When{Keywords: []string{"halo"}}, text(""), "", false},
		{"exact", rules.When{Exact: []string{"ya"}}, text("Ya!"), "", true},
		{"exact not part", rules.When{Exact: []string{"ya"}}, text("ya kak"), "", false},
		{"exact phrase", rules.When{Exact: []string{"terima kasih"}}, text("Terima kasih 🙏"), "", true},
		{"regex", rules.When{Regex: regexp.MustCompile(`(?i)^order\s+#?(?P<n>\d+)$`)}, text("ORDER #123"), "", true},
		{"regex as sent", rules.When{Regex: regexp.MustCompile(`^Order`)}, text("order"), "", false},
		{"regex on a caption", rules.When{Regex: regexp.MustCompile(`^Bukti`)}, Inbound{Type: "image", Text: "Bukti transfer"}, "", true},
		// A regex matches what was typed: a sticker or a tap, with nothing
		// typed, is not an empty note for `(?s)^(?P<note>.*)$`.
		{"regex nothing typed", rules.When{Regex: regexp.MustCompile(`(?s)^(?P<note>.*)$`)}, Inbound{Type: "sticker"}, "", false},
		{"regex never a tap title", rules.When{Regex: regexp.MustCompile(`.*`)}, button("btn_order", "Order"), "", false},
		{"button", rules.When{Buttons: globs("btn_order")}, button("btn_order", "Order"), "", true},
		{"button other id", rules.When{Buttons: globs("btn_order")}, button("btn_cancel", "Batal"), "", false},
		{"button glob", rules.When{Buttons: globs("btn_*")}, button("btn_cancel", "Batal"), "", true},
		{"button not a list", rules.When{Buttons: globs("product_001")}, listReply("product_001", "A"), "", false},
		{"button not typed", rules.When{Buttons: globs("order")}, text("order"), "", false},
		{"list", rules.When{Lists: globs("product_001")}, listReply("product_001", "A"), "", true},
		{"list glob", rules.When{Lists: globs("product_*")}, listReply("product_002", "B"), "", true},
		{"list glob miss", rules.When{Lists: globs("product_*")}, listReply("faq_1", "B"), "", false},
		{"list not a button", rules.When{Lists: globs("product_*")}, button("product_1", "B"), "", false},
		{"type", rules.When{Types: []string{"image", "document"}}, Inbound{Type: "document"}, "", true},
		{"type miss", rules.When{Types: []string{"image", "document"}}, text("x"), "", false},
		{"state", rules.When{States: []string{"awaiting_address"}}, text("Jl. Merdeka"), "awaiting_address", true},
		{"state miss", rules.When{States: []string{"awaiting_address"}}, text("Jl. Merdeka"), "", false},
		{"state none", rules.When{States: []string{""}}, text("x"), "", true},
		{"state none miss", rules.When{States: []string{""}}, text("x"), "awaiting_address", false},
		{"from", rules.When{From: globs("62812*")}, Inbound{Type: "text", From: "6281299"}, "", true},
		{"from miss", rules.When{From: globs("62812*")}, Inbound{Type: "text", From: "6281399"}, "", false},
		{"expr", rules.When{Expr: mustExpr(t, `message.type == "text" && contact.name == "Budi"`)}, text("x"), "", true},
		{"expr false", rules.When{Expr: mustExpr(t, `now.Hour() >= 21`)}, text("x"), "", false},
		{"expr sees match", rules.When{Regex: regexp.MustCompile(`(?P<n>\d+)`), Expr: mustExpr(t, `match.n == "42"`)}, text("no 42"), "", true},
		{"every key must hold", rules.When{Keywords: []string{"halo"}, States: []string{"x"}}, text("halo"), "", false},
		{"every key holds", rules.When{Keywords: []string{"halo"}, Types: []string{"text"}, From: globs("62*")}, text("halo"), "", true},
		{"no condition", rules.When{}, text("anything"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(newSet(&rules.Rule{ID: "r", When: tt.when, Goto: ptr("done")}))
			conv := Conversation{State: tt.state}
			d := b.Decide(tt.in, conv, t0)
			if got := d.Rule != nil; got != tt.want {
				t.Errorf("Decide matched = %v, want %v (notes %v)", got, tt.want, d.Notes)
			}
			ex := b.Explain(tt.in, conv, t0)
			if got := ex.Winner() != nil; got != tt.want {
				t.Errorf("Explain matched = %v, want %v", got, tt.want)
			}
			if !tt.want && (len(ex.Tried) != 1 || ex.Tried[0].Failure.Reason == "") {
				t.Errorf("Explain gives no reason: %+v", ex.Tried)
			}
		})
	}
}

func TestRegexGroups(t *testing.T) {
	b := New(newSet(&rules.Rule{ID: "ticket", When: rules.When{Regex: regexp.MustCompile(`(?i)ticket\s+#?(?P<number>\d+)`)}}))
	m := b.newMessage(&Inbound{Type: "text", Text: "Ticket #4711 please"}, &Conversation{}, t0)
	ok, match, _ := b.check(&b.rules[0], m, false)
	if !ok || match["number"] != "4711" {
		t.Fatalf("check = %v %v", ok, match)
	}
}

func TestRuleOrderAndFallbacks(t *testing.T) {
	set := newSet(
		&rules.Rule{ID: "fb1", Fallback: true},
		&rules.Rule{ID: "a", When: rules.When{Keywords: []string{"menu"}}},
		&rules.Rule{ID: "b", When: rules.When{Keywords: []string{"menu", "katalog"}}},
		&rules.Rule{ID: "fb2", Fallback: true, When: rules.When{Types: []string{"image"}}},
		&rules.Rule{ID: "c", When: rules.When{Types: []string{"image"}}, Goto: ptr("x")},
		&rules.Rule{ID: "d", When: rules.When{States: []string{"x"}}},
	)
	b := New(set)
	tests := []struct {
		in    Inbound
		state string
		want  string
	}{
		{text("menu"), "", "a"},
		{text("katalog"), "", "b"},
		{text("apa ya"), "", "fb1"},
		{Inbound{Type: "image"}, "", "c"},
		{Inbound{Type: "image"}, "x", "c"},
		{text("apa"), "x", "d"},
		{text("menu"), "x", "a"},
	}
	for _, tt := range tests {
		d := b.Decide(tt.in, Conversation{State: tt.state}, t0)
		if ruleID(d) != tt.want {
			t.Errorf("%q in state %q: rule %q, want %q", tt.in.Text, tt.state, ruleID(d), tt.want)
		}
	}

	// Only fallbacks that hold answer; none: no rule.
	b = New(newSet(
		&rules.Rule{ID: "a", When: rules.When{Keywords: []string{"menu"}}},
		&rules.Rule{ID: "fb", Fallback: true, When: rules.When{Types: []string{"image"}}},
	))
	if d := b.Decide(text("hm"), Conversation{}, t0); d.Rule != nil || len(d.Replies) != 0 {
		t.Errorf("unmatched message answered by %q", ruleID(d))
	}
	if d := b.Decide(Inbound{Type: "image"}, Conversation{}, t0); ruleID(d) != "fb" {
		t.Errorf("image: %q, want fb", ruleID(d))
	}
}

func TestExplainOrder(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "sapa", When: rules.When{Keywords: []string{"halo", "hai"}, KeywordsPos: rules.Pos{File: "shop.yaml", Line: 14, Col: 5}}},
		&rules.Rule{ID: "menu", When: rules.When{Keywords: []string{"menu"}}},
		&rules.Rule{ID: "late", When: rules.When{Keywords: []string{"menu"}}},
		&rules.Rule{ID: "fb", Fallback: true},
	))
	ex := b.Explain(text("menu"), Conversation{}, t0)
	if len(ex.Tried) != 2 || ex.Tried[0].Matched || !ex.Tried[1].Matched {
		t.Fatalf("tried %+v", ex.Tried)
	}
	var sb strings.Builder
	if err := ex.Write(&sb); err != nil {
		t.Fatal(err)
	}
	want := "✗ sapa  shop.yaml:14:5  keywords [halo hai]: no keyword in \"menu\"\n✓ menu  t.yaml:4:5\n"
	if !strings.HasPrefix(sb.String(), want) {
		t.Errorf("explanation:\n%s\nwant prefix:\n%s", sb.String(), want)
	}
	ex = b.Explain(text("zzz"), Conversation{}, t0)
	if len(ex.Tried) != 4 || ex.Winner().ID != "fb" {
		t.Fatalf("tried %+v", ex.Tried)
	}
	sb.Reset()
	ex.Write(&sb)
	if !strings.Contains(sb.String(), "(no rule matched; trying the fallbacks)\n✓ fb") {
		t.Errorf("explanation:\n%s", sb.String())
	}
}

func TestSessionTTL(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "in-state", When: rules.When{States: []string{"awaiting_address"}}},
		&rules.Rule{ID: "other"},
	))
	conv := Conversation{State: "awaiting_address", Session: map[string]any{"product": "A"}, LastInboundAt: t0}
	d := b.Decide(sentAt(text("x"), t0.Add(29*time.Minute)), conv, t0.Add(29*time.Minute))
	if ruleID(d) != "in-state" || d.Expired || d.Conversation.Session["product"] != "A" {
		t.Errorf("before ttl: %+v", d)
	}
	if !d.Conversation.LastInboundAt.Equal(t0.Add(29 * time.Minute)) {
		t.Errorf("LastInboundAt = %v", d.Conversation.LastInboundAt)
	}
	d = b.Decide(sentAt(text("x"), t0.Add(30*time.Minute)), conv, t0.Add(30*time.Minute))
	if ruleID(d) != "other" || !d.Expired || d.Conversation.State != "" || len(d.Conversation.Session) != 0 {
		t.Errorf("at ttl: %+v", d)
	}
	if conv.Session["product"] != "A" || conv.State != "awaiting_address" {
		t.Error("input conversation changed")
	}
	// A new conversation never expires.
	if d := b.Decide(text("x"), Conversation{}, t0); d.Expired {
		t.Error("new conversation expired")
	}
}

// The session's idle time runs between the customer's messages (Meta's
// timestamps), not between the moments balas handles them: a message
// redelivered after a downtime continues the conversation it was written
// in.
func TestSessionTTLCountsFromTheCustomersMessages(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "in-state", When: rules.When{States: []string{"awaiting_address"}}},
		&rules.Rule{ID: "other"},
	))
	conv := Conversation{State: "awaiting_address", LastInboundAt: t0}
	tests := []struct {
		name        string
		wrote, now  time.Time
		wantRule    string
		wantLastMsg time.Time
	}{
		{"written 5 min later, handled 45 min later", t0.Add(5 * time.Minute), t0.Add(45 * time.Minute), "in-state", t0.Add(5 * time.Minute)},
		{"written 40 min later", t0.Add(40 * time.Minute), t0.Add(41 * time.Minute), "other", t0.Add(40 * time.Minute)},
		{"no timestamp: when handled", time.Time{}, t0.Add(45 * time.Minute), "other", t0.Add(45 * time.Minute)},
		{"a timestamp ahead of the clock: when handled", t0.Add(time.Hour), t0.Add(10 * time.Minute), "in-state", t0.Add(10 * time.Minute)},
		{"delivered out of order: never back", t0.Add(-time.Minute), t0.Add(2 * time.Minute), "in-state", t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := b.Decide(sentAt(text("x"), tt.wrote), conv, tt.now)
			if ruleID(d) != tt.wantRule {
				t.Errorf("rule %q, want %q", ruleID(d), tt.wantRule)
			}
			if !d.Conversation.LastInboundAt.Equal(tt.wantLastMsg) {
				t.Errorf("LastInboundAt %v, want %v", d.Conversation.LastInboundAt, tt.wantLastMsg)
			}
		})
	}
}

func TestHandoff(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "admin", When: rules.When{Keywords: []string{"admin"}}, Handoff: 2 * time.Hour},
		&rules.Rule{ID: "fb", Fallback: true},
	))
	d := b.Decide(text("mau bicara dengan admin"), Conversation{}, t0)
	if ruleID(d) != "admin" || d.InHandoff || !d.Conversation.HandoffUntil.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("start: %+v", d)
	}
	conv := d.Conversation
	d = b.Decide(sentAt(text("halo?"), t0.Add(time.Hour)), conv, t0.Add(time.Hour))
	if d.Rule != nil || !d.InHandoff || len(d.Replies) != 0 {
		t.Fatalf("during: %+v", d)
	}
	if !d.Conversation.LastInboundAt.Equal(t0.Add(time.Hour)) || !d.Conversation.HandoffUntil.Equal(conv.HandoffUntil) {
		t.Errorf("during conv: %+v", d.Conversation)
	}
	ex := b.Explain(text("halo?"), conv, t0.Add(time.Hour))
	if !ex.InHandoff || len(ex.Tried) != 0 {
		t.Errorf("explain during handoff: %+v", ex)
	}
	d = b.Decide(sentAt(text("halo?"), t0.Add(2*time.Hour)), d.Conversation, t0.Add(2*time.Hour))
	if ruleID(d) != "fb" || d.InHandoff || !d.Conversation.HandoffUntil.IsZero() {
		t.Errorf("after: %+v", d)
	}
}

func TestResetGoto(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "batal", When: rules.When{Keywords: []string{"batal"}}, Reset: true},
		&rules.Rule{ID: "restart", When: rules.When{Keywords: []string{"ulang"}}, Reset: true, Goto: ptr("start")},
		&rules.Rule{ID: "leave", When: rules.When{Keywords: []string{"keluar"}}, Goto: ptr("")},
		&rules.Rule{ID: "stay", When: rules.When{Keywords: []string{"tetap"}}},
	))
	conv := Conversation{State: "awaiting_address", Session: map[string]any{"product": "A"}}
	tests := []struct {
		text, state string
		session     bool
	}{
		{"batal", "", false},
		{"ulang", "start", false},
		{"keluar", "", true},
		{"tetap", "awaiting_address", true},
	}
	for _, tt := range tests {
		d := b.Decide(text(tt.text), conv, t0)
		if d.Conversation.State != tt.state || (d.Conversation.Session["product"] == "A") != tt.session {
			t.Errorf("%s: state %q session %v", tt.text, d.Conversation.State, d.Conversation.Session)
		}
	}
	if conv.State != "awaiting_address" || conv.Session["product"] != "A" {
		t.Error("input conversation changed")
	}
}

func TestExprRuntimeError(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "bad", When: rules.When{Expr: mustExpr(t, `int(session.n) > 1`)}},
		&rules.Rule{ID: "next"},
	))
	d := b.Decide(text("x"), Conversation{Session: map[string]any{"n": "abc"}}, t0)
	if ruleID(d) != "next" {
		t.Errorf("rule %q", ruleID(d))
	}
	if len(d.Notes) == 0 {
		t.Error("no note for the expression error")
	}
}

func TestNowInTimezone(t *testing.T) {
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	set := newSet(&rules.Rule{ID: "malam", When: rules.When{Expr: mustExpr(t, `now.Hour() >= 21 || now.Hour() < 8`)}})
	set.Settings.Location = jkt
	b := New(set)
	// 15:00 UTC is 22:00 in Jakarta.
	if d := b.Decide(text("x"), Conversation{}, time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC)); ruleID(d) != "malam" {
		t.Error("22:00 WIB is not night")
	}
	if d := b.Decide(text("x"), Conversation{}, time.Date(2026, 1, 5, 5, 0, 0, 0, time.UTC)); d.Rule != nil {
		t.Error("12:00 WIB is night")
	}
}

// TestIndexAgreesWithLinearScan runs many messages through Decide (indexed)
// and Explain (every rule in order): both must pick the same rule.
func TestIndexAgreesWithLinearScan(t *testing.T) {
	var rs []*rules.Rule
	words := []string{"halo", "menu", "harga", "stok", "admin", "order", "batal"}
	for i := 0; i < 200; i++ {
		w := rules.When{}
		switch i % 9 {
		case 0:
			w.Keywords = []string{words[i%len(words)], words[(i/3)%len(words)] + " " + words[(i/5)%len(words)]}
		case 1:
			w.Exact = []string{words[i%len(words)]}
		case 2:
			w.Buttons = globs("btn_" + words[i%len(words)])
		case 3:
			w.Lists = globs("row_" + words[i%len(words)] + "*")
		case 4:
			w.States = []string{[]string{"", "a", "b"}[i%3]}
			w.Types = []string{"text"}
		case 5:
			w.Types = []string{[]string{"image", "text", "document"}[i%3]}
		case 6:
			w.Keywords = []string{words[i%len(words)]}
			w.States = []string{"a"}
		case 7:
			w.From = globs("62" + string(rune('0'+i%10)) + "*")
		case 8:
			w.Regex = regexp.MustCompile(words[i%len(words)] + `\d`)
		}
		rs = append(rs, &rules.Rule{ID: "r" + string(rune('A'+i%26)) + strings.Repeat("x", i/26), When: w, Fallback: i%17 == 16})
	}
	b := New(newSet(rs...))
	var ins []Inbound
	for _, a := range words {
		for _, c := range words {
			ins = append(ins, text(a+" "+c), text(strings.ToUpper(a)+"!! "+c+"1"), button("btn_"+a, a), listReply("row_"+c+"_2", c))
		}
	}
	ins = append(ins, Inbound{Type: "image", From: "6231"}, Inbound{Type: "document"}, text(""), text("zzz"))
	for _, in := range ins {
		for _, st := range []string{"", "a", "b"} {
			conv := Conversation{State: st}
			d := b.Decide(in, conv, t0)
			ex := b.Explain(in, conv, t0)
			if ruleID(d) != ruleID(ex.Decision) {
				t.Errorf("%+v in %q: Decide %q, linear %q", in, st, ruleID(d), ruleID(ex.Decision))
			}
		}
	}
}

func TestConcurrentDecide(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "a", When: rules.When{Keywords: []string{"halo"}}, Goto: ptr("x")},
		&rules.Rule{ID: "fb", Fallback: true},
	))
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 200; j++ {
				b.Decide(text("halo kak"), Conversation{Session: map[string]any{"a": 1}}, t0)
			}
			done <- true
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
}

func TestArticle(t *testing.T) {
	for word, want := range map[string]string{
		"image": "an", "audio": "an", "order": "an", "unsupported": "an", "interactive": "an",
		"text": "a", "sticker": "a", "document": "a", "video": "a", "": "a",
	} {
		if got := article(word); got != want {
			t.Errorf("article(%q) = %q, want %q", word, got, want)
		}
	}
}

// message.timestamp is in settings.timezone, like now: Meta's timestamps are
// read as Unix seconds, which Go puts in the server's own zone, and
// `balas test` gives them the zone of the test's `at`; a rule on the hour of
// the message must answer the same everywhere.
func TestMessageTimestampInTimezone(t *testing.T) {
	b := parse(t, `
version: 1
settings: {timezone: Asia/Jakarta}
rules:
  - id: malam
    when: {expr: 'message.timestamp.Hour() >= 21'}
    reply: "{{ message.timestamp.Format('15:04 MST') }}"
`)
	for _, zone := range []*time.Location{time.UTC, time.FixedZone("test", -5*3600), time.Local} {
		// 15:00 UTC is 22:00 in Jakarta.
		wrote := time.Date(2026, 1, 5, 15, 0, 0, 0, time.UTC).In(zone)
		d := b.Decide(sentAt(text("x"), wrote), Conversation{}, wrote.Add(time.Second))
		if ruleID(d) != "malam" {
			t.Errorf("written 22:00 WIB (given in %s): rule %q, want malam", zone, ruleID(d))
			continue
		}
		if got := d.Replies[0].Text; got != "22:00 WIB" {
			t.Errorf("written 22:00 WIB (given in %s): reply %q", zone, got)
		}
	}
}

// A message of a type WhatsApp added after balas (request_welcome, say) is
// of type `unknown` for `when.type`, so that a rule can answer it; its
// expressions still see the name WhatsApp gave.
func TestTypeUnknownMatchesTypesBalasDoesNotKnow(t *testing.T) {
	reply, diags, err := rules.Parse("t.yaml", []byte("version: 1\nrules:\n  - id: r\n    reply: \"{{ message.type }}\"\n"))
	if err != nil {
		t.Fatal(err, diags)
	}
	b := New(newSet(
		&rules.Rule{ID: "known", When: rules.When{Types: []string{"text", "image"}}},
		&rules.Rule{ID: "unknown", When: rules.When{Types: []string{"unknown"}}, Reply: reply.Rules[0].Reply},
	))
	for _, typ := range []string{"request_welcome", "poll", "unknown"} {
		in := Inbound{ID: "wamid.9", From: "628123456789", Type: typ, Timestamp: t0}
		d := b.Decide(in, Conversation{}, t0)
		if ruleID(d) != "unknown" {
			t.Errorf("type %q: rule %q, want unknown", typ, ruleID(d))
			continue
		}
		if len(d.Replies) != 1 || d.Replies[0].Text != typ {
			t.Errorf("type %q: message.type rendered %+v, want %q", typ, d.Replies, typ)
		}
		if ex := b.Explain(in, Conversation{}, t0); ex.Winner() == nil || ex.Winner().ID != "unknown" {
			t.Errorf("type %q: explain picks %v, want unknown", typ, ex.Winner())
		}
	}
	for _, typ := range []string{"text", "image", "reaction", "unsupported"} {
		if d := b.Decide(Inbound{Type: typ, Text: "x"}, Conversation{}, t0); ruleID(d) == "unknown" {
			t.Errorf("type %q answered by `type: unknown`", typ)
		}
	}
}

// A customer answering a menu numbered with keycap emoji types "2️⃣": it
// answers as "2" does.
func TestKeycapDigitAnswersAsTheDigit(t *testing.T) {
	b := New(newSet(
		&rules.Rule{ID: "dua", When: rules.When{Exact: []string{"2"}}},
		&rules.Rule{ID: "pilih", When: rules.When{Keywords: []string{"pilih 3"}}},
	))
	for in, want := range map[string]string{"2️⃣": "dua", " 2️⃣ ": "dua", "2⃣": "dua", "Pilih 3️⃣ kak": "pilih"} {
		if d := b.Decide(text(in), Conversation{}, t0); ruleID(d) != want {
			t.Errorf("%q: rule %q, want %q", in, ruleID(d), want)
		}
	}
}
