package rules

import (
	"strings"
	"testing"
)

func TestLints(t *testing.T) {
	const head = "version: 1\nrules:\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unconditioned rule shadows later rules", head +
			"  - id: all\n    reply: hi\n  - id: menu\n    when: {keywords: [menu]}\n    reply: ho\n",
			[]string{"r.yaml:5:5: warning: rule `menu` can never match: rule `all` (r.yaml:3:5) comes first and has no conditions, so it answers every message"}},
		{"same keywords and nothing else", head +
			"  - id: a\n    when: {keywords: [menu, katalog]}\n    reply: hi\n  - id: b\n    when: {keywords: [katalog], type: text}\n    reply: ho\n",
			[]string{"r.yaml:6:5: warning: rule `b` can never match: rule `a` (r.yaml:3:5) comes first and matches every message this one would"}},
		{"more specific later rule is fine", head +
			"  - id: a\n    when: {keywords: [menu]}\n    reply: hi\n  - id: b\n    when: {keywords: [menu, katalog]}\n    reply: ho\n",
			[]string{"r.yaml:7:23: warning: keyword `menu` never reaches rule `b`: rule `a` (r.yaml:3:5) comes first and has it too"}},
		{"glob covers", head +
			"  - id: a\n    when: {button: 'btn_*'}\n    reply: hi\n  - id: b\n    when: {button: btn_order}\n    reply: ho\n",
			[]string{"r.yaml:6:5: warning: rule `b` can never match: rule `a` (r.yaml:3:5) comes first and matches every message this one would"}},
		{"different state is fine", head +
			"  - id: a\n    when: {state: x, keywords: [menu]}\n    reply: hi\n  - id: b\n    when: {keywords: [menu]}\n    reply: ho\n  - id: c\n    when: {state: x}\n    goto: ''\n",
			nil},
		{"second fallback", head +
			"  - id: a\n    fallback: true\n    reply: hi\n  - id: b\n    fallback: true\n    reply: ho\n",
			[]string{"r.yaml:6:5: warning: fallback `b` can never answer: fallback `a` (r.yaml:3:5) comes first and always answers"}},
		{"fallback is not shadowed by rules", head +
			"  - id: a\n    reply: hi\n  - id: b\n    fallback: true\n    reply: ho\n",
			nil},
		{"goto unhandled state", head +
			"  - id: a\n    when: {button: order}\n    reply: hi\n    goto: awaiting_adress\n  - id: b\n    when: {state: awaiting_address}\n    goto: ''\n",
			[]string{"r.yaml:6:11: warning: no rule handles state `awaiting_adress`: no `when.state` names it, so the conversation stays there until the session ends"}},
		{"button and row ids unhandled", head +
			"  - id: a\n    when: {keywords: [x]}\n    reply:\n      - buttons: {body: b, buttons: [{id: yes, title: Ya}, {id: no, title: Tidak}]}\n" +
			"      - list: {body: b, button: Lihat, sections: [{title: S, rows: [{id: p_1, title: A}, {id: q_1, title: B}]}]}\n" +
			"  - id: b\n    when: {button: yes}\n    reply: ok\n  - id: c\n    when: {list: 'p_*'}\n    reply: ok\n",
			[]string{
				"r.yaml:6:65: warning: no rule handles button `no`: no `when.button` matches it",
				"r.yaml:7:95: warning: no rule handles list row `q_1`: no `when.list` matches it",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRules(t, map[string]string{"r.yaml": tt.yaml})
			got, _, err := loadDiags(t, dir)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A rule whose `when` has an error is reported for that error alone: lint
// does not take what is left of it for what the author meant.
func TestLintsQuietAboutRulesWithABrokenWhen(t *testing.T) {
	const head = "version: 1\nrules:\n"
	tests := []struct {
		name, yaml string
	}{
		{"empty keywords do not answer every message", head +
			"  - id: a\n    when: {keywords: []}\n    reply: x\n  - id: b\n    when: {keywords: [halo]}\n    reply: y\n"},
		{"a rule after a broken one is not shadowed by it", head +
			"  - id: a\n    when: {keywords: [menu], type: txet}\n    reply: x\n  - id: b\n    when: {keywords: [menu], type: text}\n    reply: y\n"},
		{"a misspelt state does not make its goto unhandled", head +
			"  - id: a\n    when: {keywords: [pesan]}\n    reply: x\n    goto: alamat\n  - id: b\n    when: {state: alamat, keywrods: [ya]}\n    reply: y\n"},
		{"a misspelt key in when", head +
			"  - id: a\n    when: {keyword: [halo]}\n    reply: hi\n  - id: b\n    when: {keywords: [menu]}\n    reply: ho\n"},
		{"an exact text that can never match", head +
			"  - id: a\n    when: {exact: [\"👍\"]}\n    reply: hi\n  - id: b\n    when: {keywords: [menu]}\n    reply: ho\n"},
		{"keywords written without when", head +
			"  - id: a\n    keywords: [halo]\n    reply: hi\n  - id: b\n    when: {keywords: [menu]}\n    reply: ho\n"},
		{"an expr that does not compile", head +
			"  - id: a\n    when: {expr: 'jam > 9'}\n    reply: hi\n  - id: b\n    when: {keywords: [menu]}\n    reply: ho\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRules(t, map[string]string{"r.yaml": tt.yaml})
			got, _, err := loadDiags(t, dir)
			if err == nil {
				t.Fatal("loaded without the error")
			}
			for _, d := range got {
				if strings.Contains(d, "warning") {
					t.Errorf("warning beside the error: %s\nall: %s", d, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// Lints must not warn about what is not true: a rule without conditions
// does not answer reactions or system messages (the engine keeps those for
// rules that ask for their type), and a rule whose `when` had an error is
// not "a rule without conditions".
func TestLintsNoFalseWarnings(t *testing.T) {
	const head = "version: 1\nrules:\n"
	tests := []struct {
		name string
		yaml string
		want []string // every diagnostic, errors and warnings
	}{
		{"unconditioned rule does not shadow type: reaction", head +
			"  - id: all\n    reply: hi\n  - id: r\n    when: {type: reaction}\n    reply: {react: \"❤️\"}\n",
			nil},
		{"unconditioned rule does not shadow type: [system, reaction]", head +
			"  - id: all\n    reply: hi\n  - id: s\n    when: {type: [system, reaction]}\n    reply: ok\n",
			nil},
		{"state rule does not shadow the same state's reactions", head +
			"  - id: a\n    when: {state: x}\n    reply: hi\n  - id: b\n    when: {state: x, type: reaction}\n    reply: ok\n  - id: c\n    when: {keywords: [go]}\n    goto: x\n",
			nil},
		{"unconditioned rule does not shadow a rule that also takes reactions", head +
			"  - id: all\n    reply: hi\n  - id: t\n    when: {type: [text, reaction]}\n    reply: ok\n",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRules(t, map[string]string{"r.yaml": tt.yaml})
			got, _, _ := loadDiags(t, dir)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
