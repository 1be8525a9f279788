package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/balas-bot/balas/rules"
)

// benchRules writes a rule set of n rules (keyword, button, list and state
// rules in turn, plus a regex and an expr rule that the index cannot
// exclude) and loads it with rules.Load.
func benchRules(tb testing.TB, n int) (*rules.Set, int) {
	var b strings.Builder
	b.WriteString("version: 1\nsettings: {timezone: Asia/Jakarta}\nvars: {shop: Toko}\nrules:\n")
	b.WriteString("  - id: order-no\n    when: {regex: '^order #(?P<no>\\d+)$'}\n    reply: \"Order {{ match.no }}\"\n")
	b.WriteString("  - id: lokasi\n    when: {expr: 'message.type == \"location\"'}\n    reply: Lokasi diterima\n")
	lastKeyword := 0
	for i := 2; i < n; i++ {
		fmt.Fprintf(&b, "  - id: r%d\n", i)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "    when: {keywords: [kw%d, \"kata %d\"]}\n", i, i)
			lastKeyword = i
		case 1:
			fmt.Fprintf(&b, "    when: {button: btn_%d}\n", i)
		case 2:
			fmt.Fprintf(&b, "    when: {list: row_%d}\n", i)
		case 3:
			fmt.Fprintf(&b, "    when: {state: s%d, type: text}\n", i)
		}
		fmt.Fprintf(&b, "    reply: \"Hai {{ contact.name }}, ini jawaban %d dari {{ vars.shop }}\"\n", i)
	}
	path := filepath.Join(tb.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	set, diags, err := rules.Load(path)
	if err != nil {
		tb.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	return set, lastKeyword
}

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		set, last := benchRules(b, n)
		bot := New(set)
		cases := []struct {
			name string
			in   Inbound
			want string
		}{
			{"miss", text("Apa kabar hari ini, kak?"), ""},
			{"late-hit", text(fmt.Sprintf("Halo, KW%d ada?", last)), fmt.Sprintf("r%d", last)},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				conv := Conversation{Session: map[string]any{"product": "A"}, LastInboundAt: t0}
				if d := bot.Decide(c.in, conv, t0); ruleID(d) != c.want {
					b.Fatalf("rule %q, want %q", ruleID(d), c.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					bot.Decide(c.in, conv, t0)
				}
				b.ReportMetric(float64(len(set.Rules)), "rules")
			})
		}
	}
}

func BenchmarkNew(b *testing.B) {
	set, _ := benchRules(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		New(set)
	}
}

// TestDecideCostIndependentOfRuleCount checks the index: the number of rules
// a message is checked against does not grow with the set.
func TestDecideCostIndependentOfRuleCount(t *testing.T) {
	for _, n := range []int{10, 10000} {
		set, last := benchRules(t, n)
		bot := New(set)
		for _, s := range []string{"Apa kabar hari ini, kak?", fmt.Sprintf("halo kw%d", last)} {
			in := text(s)
			m := bot.newMessage(&in, &Conversation{}, t0)
			if c := bot.main.candidates(m); len(c) > 3 {
				t.Errorf("%d rules, %q: %d candidates", n, s, len(c))
			}
		}
	}
}
