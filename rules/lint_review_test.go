package rules

import (
	"strings"
	"testing"
)

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
