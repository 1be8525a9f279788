package rules

import (
	"strings"
	"testing"
)

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
