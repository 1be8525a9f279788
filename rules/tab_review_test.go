package rules

import (
	"strings"
	"testing"
)

// A tab in the indentation is the commonest slip of people who write YAML in
// a plain editor. yaml.v3 names a line before the tab's (the start of the
// construct it was reading), at column 1; the author must be sent to the
// tab itself and told to use spaces.
func TestTabIndentationPosition(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"tab before a key", "version: 1\nrules:\n  - id: sapa\n\twhen: {keywords: [halo]}\n    reply: hai\n",
			[]string{"r.yaml:4:1: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces"}},
		{"tab after spaces, later rule", "version: 1\nrules:\n  - id: a\n    when: {keywords: [halo]}\n    reply: hai\n  - id: b\n  \treply: x\n",
			[]string{"r.yaml:7:3: a tab in the indentation: YAML indents with spaces only; replace the tab with spaces"}},
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
