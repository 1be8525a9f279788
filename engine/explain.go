package engine

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/balas-bot/balas/rules"
)

// Explanation tells why a message gets the answer it gets.
type Explanation struct {
	// Expired: the session had expired and was cleared before matching.
	Expired bool
	// InHandoff: the conversation is in handoff; no rule was tried.
	InHandoff bool
	// Tried is every rule tried, in order, up to and including the winner.
	// Fallbacks appear only when no other rule matched.
	Tried []Attempt
	// Decision is what Decide returns for the same message.
	Decision Decision
}

// Attempt is one rule tried.
type Attempt struct {
	Rule    *rules.Rule
	Matched bool
	Failure Failure // zero when Matched
}

// Explain decides like Decide and records every rule it tried with the
// condition that failed, then the winner.
func (b *Bot) Explain(in Inbound, conv Conversation, now time.Time) Explanation {
	var ex Explanation
	ex.Decision = b.decide(&in, conv, now, &ex)
	return ex
}

// Winner is the rule that answers, or nil.
func (e *Explanation) Winner() *rules.Rule { return e.Decision.Rule }

// Write prints the explanation for people:
//
//	✗ sapa  shop.yaml:14:5  keywords [halo hai]: no keyword in "menu"
//	✓ menu  shop.yaml:20:5
//	  bot: Silakan pilih produk
//	    [1] Produk A — Rp 100.000
func (e *Explanation) Write(w io.Writer) error {
	var b strings.Builder
	if e.Expired {
		b.WriteString("(the session had expired: state and session were cleared first)\n")
	}
	if e.InHandoff {
		fmt.Fprintf(&b, "(in handoff until %s: a person answers, no rule is tried)\n",
			e.Decision.Conversation.HandoffUntil.Format(time.RFC3339))
	}
	fallbacks := false
	for _, a := range e.Tried {
		if a.Rule.Fallback && !fallbacks {
			fallbacks = true
			b.WriteString("(no rule matched; trying the fallbacks)\n")
		}
		if a.Matched {
			fmt.Fprintf(&b, "✓ %s  %s\n", a.Rule.ID, a.Rule.Pos)
			continue
		}
		fmt.Fprintf(&b, "✗ %s  %s  %s\n", a.Rule.ID, a.Failure.Pos, a.Failure.Reason)
	}
	d := &e.Decision
	if d.Rule == nil && !e.InHandoff {
		b.WriteString("(no rule matched: the message gets no reply)\n")
	}
	if d.Rule != nil {
		if len(d.Replies) == 0 {
			b.WriteString("  (no reply)\n")
		}
		for _, line := range strings.SplitAfter(strings.TrimSuffix(FormatReplies(d.Replies), "\n"), "\n") {
			if line != "" {
				b.WriteString("  " + line)
			}
		}
		if len(d.Replies) > 0 {
			b.WriteString("\n")
		}
		c := d.Conversation
		fmt.Fprintf(&b, "  → state %q, session %s", c.State, FormatSession(c.Session))
		if !c.HandoffUntil.IsZero() {
			fmt.Fprintf(&b, ", handoff until %s", c.HandoffUntil.Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	for _, n := range d.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatSession prints session values sorted by key: {product: Produk A}.
func FormatSession(s map[string]any) string {
	keys := slices.Sorted(maps.Keys(s))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %v", k, s[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
