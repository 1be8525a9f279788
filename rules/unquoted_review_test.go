package rules

import (
	"strings"
	"testing"
)

// An unquoted `{{ … }}` must be told to add quotes.
func TestUnquotedTemplateMessage(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		// `reply: {{ contact.name }}` is a YAML mapping inside a mapping.
		{"unquoted template", "version: 1\nrules:\n  - id: a\n    when: {keywords: [a]}\n    reply: {{ contact.name }}\n",
			[]string{"r.yaml:5:12: a value that starts with `{{` must be quoted: write \"{{ … }}\" in double quotes"}},
		{"unquoted template in set", "version: 1\nrules:\n  - id: a\n    when: {keywords: [a]}\n    set: {nama: {{ contact.name }}}\n    reply: ok\n",
			[]string{"r.yaml:5:17: a value that starts with `{{` must be quoted: write \"{{ … }}\" in double quotes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _ := loadDiags(t, writeRules(t, map[string]string{"r.yaml": tt.yaml}))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
