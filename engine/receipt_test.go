package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestReadReceiptsFollowSettings: mark_read sends a read receipt for every
// handled message; typing shows "typing…" (with the read receipt) before an
// answer. A message that gets no answer gets a read receipt only when
// mark_read is on: typing alone never marks it read.
func TestReadReceiptsFollowSettings(t *testing.T) {
	const rulesFmt = `version: 1
settings: {mark_read: %s, typing: %s}
rules:
  - id: sapa
    when: {keywords: [halo]}
    reply: hai
  - id: diam
    when: {keywords: [diam]}
    set: {x: "1"}
`
	tests := []struct {
		markRead, typing string
		text             string
		want             string // kinds handed to the sender
	}{
		{"true", "false", "halo", "read,message"},
		{"true", "false", "diam", "read"},    // answered by a rule without reply
		{"true", "false", "apa ini", "read"}, // unmatched
		{"true", "true", "halo", "typing,message"},
		{"true", "true", "apa ini", "read"},
		{"false", "false", "halo", "message"},
		{"false", "false", "apa ini", ""},
		{"false", "true", "halo", "typing,message"}, // the typing indicator marks read by itself
		{"false", "true", "diam", ""},
		{"false", "true", "apa ini", ""},
	}
	for _, tt := range tests {
		r := newRigWith(t, fmt.Sprintf(rulesFmt, tt.markRead, tt.typing))
		r.accept(t, r.text("6287777", tt.text))
		var kinds []string
		for _, it := range r.handed() {
			kinds = append(kinds, it.Kind)
		}
		if got := strings.Join(kinds, ","); got != tt.want {
			t.Errorf("mark_read %s, typing %s, %q: sender got %q, want %q", tt.markRead, tt.typing, tt.text, got, tt.want)
		}
	}
}
