package rules

import (
	"strings"
	"testing"
)

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
			var errs []string
			for _, g := range got {
				if !strings.Contains(g, ": warning: ") {
					errs = append(errs, g)
				}
			}
			if strings.Join(errs, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
