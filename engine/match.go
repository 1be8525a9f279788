package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/rules"
)

// Failure is the `when` condition that kept a rule from answering.
type Failure struct {
	Condition string    // the `when` key: keywords, exact, regex, button, list, type, state, from, expr
	Pos       rules.Pos // where the condition is written (the rule's position when unknown)
	Reason    string    // e.g. `keywords [halo hai]: no keyword in "menu"`
}

// check evaluates every condition of p's `when` against m, in the order the
// contract lists them. With explain it says which condition failed and why.
func (b *Bot) check(p *prepared, m *message, explain bool) (bool, map[string]string, Failure) {
	w := &p.rule.When
	fail := func(cond string, pos rules.Pos, format string, args ...any) (bool, map[string]string, Failure) {
		if !explain {
			return false, nil, Failure{}
		}
		if pos == (rules.Pos{}) {
			pos = p.rule.Pos
		}
		return false, nil, Failure{Condition: cond, Pos: pos, Reason: fmt.Sprintf(format, args...)}
	}
	// Reactions and system messages are answered only by a rule that asks
	// for their type, never by one written for what customers type; the
	// check is here so that balas test, explain and chat decide alike.
	switch m.in.Type {
	case webhook.TypeReaction, webhook.TypeSystem:
		if !slices.Contains(w.Types, m.in.Type) {
			return fail("type", w.TypesPos, "a %s is answered only by a rule with `type: %s` (a ❤️ on a reply, or a changed number, must not get the fallback)", m.in.Type, m.in.Type)
		}
	}
	if len(w.Keywords) > 0 && !matchKeywords(p.keywords, m.words) {
		if m.typed == "" {
			return fail("keywords", w.KeywordsPos, "keywords %s: %s", words(w.Keywords), typedDesc(m))
		}
		return fail("keywords", w.KeywordsPos, "keywords %s: no keyword in %s", words(w.Keywords), typedDesc(m))
	}
	if len(w.Exact) > 0 && !slices.Contains(p.exact, m.norm) {
		if m.typed == "" {
			return fail("exact", w.ExactPos, "exact %s: %s", words(w.Exact), typedDesc(m))
		}
		return fail("exact", w.ExactPos, "exact %s: %s is none of them", words(w.Exact), typedDesc(m))
	}
	var match map[string]string
	if w.Regex != nil {
		// Like keywords and exact, a regex looks at what was typed: a
		// sticker or a tap is not an empty text for `.*` to match.
		if m.typed == "" {
			return fail("regex", w.RegexPos, "regex `%s`: %s", w.Regex.String(), typedDesc(m))
		}
		sub := w.Regex.FindStringSubmatch(m.typed)
		if sub == nil {
			return fail("regex", w.RegexPos, "regex `%s`: no match in %s", w.Regex.String(), typedDesc(m))
		}
		for i, name := range w.Regex.SubexpNames() {
			if name == "" {
				continue
			}
			if match == nil {
				match = make(map[string]string)
			}
			match[name] = sub[i]
		}
	}
	if len(w.Buttons) > 0 {
		if m.in.ReplyKind != "button" {
			return fail("button", w.ButtonsPos, "button %v: %s", globList(w.Buttons), notA(m, "button reply"))
		}
		if !matchGlobs(w.Buttons, m.in.ReplyID) {
			return fail("button", w.ButtonsPos, "button %v: button id %q does not match", globList(w.Buttons), m.in.ReplyID)
		}
	}
	if len(w.Lists) > 0 {
		if m.in.ReplyKind != "list" {
			return fail("list", w.ListsPos, "list %v: %s", globList(w.Lists), notA(m, "list reply"))
		}
		if !matchGlobs(w.Lists, m.in.ReplyID) {
			return fail("list", w.ListsPos, "list %v: row id %q does not match", globList(w.Lists), m.in.ReplyID)
		}
	}
	if len(w.Types) > 0 && !slices.Contains(w.Types, m.typ) {
		if m.typ != m.in.Type {
			return fail("type", w.TypesPos, "type %v: the message is of type %q (%s)", w.Types, m.typ, m.in.Type)
		}
		return fail("type", w.TypesPos, "type %v: the message is of type %q", w.Types, m.typ)
	}
	if w.States != nil && !slices.Contains(w.States, m.state) {
		if m.state == "" {
			return fail("state", w.StatesPos, "state %q: the conversation is in no state", w.States)
		}
		return fail("state", w.StatesPos, "state %q: the conversation is in state %q", w.States, m.state)
	}
	if len(w.From) > 0 && !matchGlobs(w.From, m.in.From) {
		return fail("from", w.FromPos, "from %v: sender %q does not match", globList(w.From), m.in.From)
	}
	if w.Expr != nil {
		m.env.Match = match
		ok, err := w.Expr.Eval(&m.env)
		m.env.Match = nil
		if err != nil {
			m.note("rule %s: when.expr: %v", p.rule.ID, err)
			return fail("expr", w.ExprPos, "expr `%s`: error: %v", w.Expr.Source, err)
		}
		if !ok {
			return fail("expr", w.ExprPos, "expr `%s`: false", w.Expr.Source)
		}
	}
	return true, match, Failure{}
}

// matchKeywords reports whether one of the keywords (each a word sequence)
// appears as whole consecutive words in words.
func matchKeywords(keywords [][]string, words []string) bool {
	for _, k := range keywords {
		for i := 0; i+len(k) <= len(words); i++ {
			if words[i] != k[0] {
				continue
			}
			if slices.Equal(words[i:i+len(k)], k) {
				return true
			}
		}
	}
	return false
}

func matchGlobs(globs []rules.Glob, s string) bool {
	for _, g := range globs {
		if g.Match(s) {
			return true
		}
	}
	return false
}

func globList(globs []rules.Glob) []string {
	s := make([]string, len(globs))
	for i, g := range globs {
		s[i] = g.Pattern
	}
	return s
}

// words prints a list of keywords: [halo hai "selamat pagi"].
func words(ks []string) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		if k == "" || strings.ContainsAny(k, " \t\"") {
			k = fmt.Sprintf("%q", k)
		}
		parts[i] = k
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func typedDesc(m *message) string {
	if m.typed == "" {
		switch m.in.ReplyKind {
		case "button":
			return fmt.Sprintf("nothing was typed (a tap of button %q)", m.in.ReplyID)
		case "list":
			return fmt.Sprintf("nothing was typed (a tap of list row %q)", m.in.ReplyID)
		}
		return fmt.Sprintf("nothing was typed (%s %s message)", article(m.in.Type), m.in.Type)
	}
	return fmt.Sprintf("%q", m.typed)
}

func notA(m *message, what string) string {
	switch m.in.ReplyKind {
	case "button":
		return fmt.Sprintf("not a %s (a button reply %q)", what, m.in.ReplyID)
	case "list":
		return fmt.Sprintf("not a %s (a list reply %q)", what, m.in.ReplyID)
	}
	if m.typed != "" {
		return fmt.Sprintf("not a %s (%s message %q)", what, m.in.Type, m.typed)
	}
	return fmt.Sprintf("not a %s (%s %s message)", what, article(m.in.Type), m.in.Type)
}

// article is the indefinite article before a message type's name: "an
// image", "a sticker".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
