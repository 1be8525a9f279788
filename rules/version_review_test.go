package rules

import (
	"strings"
	"testing"
)

// `version: "1"` must be told to drop the quotes.
func TestQuotedVersionMessage(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		// "unsupported version `1`; this balas reads `version: 1`" left the
		// author staring at the same text.
		{"quoted version", "version: \"1\"\nrules: []\n",
			[]string{"r.yaml:1:10: `version` is the number 1: write `version: 1`, without quotes"}},
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
