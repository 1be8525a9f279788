package rules

import "strings"

// Condition bits of a rule's `when`, for the shadowing lints.
const (
	cKeywords = 1 << iota
	cExact
	cRegex
	cButtons
	cLists
	cTypes
	cStates
	cFrom
	cExpr
)

func condMask(w *When) int {
	m := 0
	if len(w.Keywords) > 0 {
		m |= cKeywords
	}
	if len(w.Exact) > 0 {
		m |= cExact
	}
	if w.Regex != nil {
		m |= cRegex
	}
	if len(w.Buttons) > 0 {
		m |= cButtons
	}
	if len(w.Lists) > 0 {
		m |= cLists
	}
	if len(w.Types) > 0 {
		m |= cTypes
	}
	if w.States != nil {
		m |= cStates
	}
	if len(w.From) > 0 {
		m |= cFrom
	}
	if w.Expr != nil {
		m |= cExpr
	}
	return m
}

// subsetStr reports whether every item of sub is in sup.
func subsetStr(sub, sup []string) bool {
	for _, s := range sub {
		if !contains(sup, s) {
			return false
		}
	}
	return true
}

// subsetGlob reports whether whatever one of sub matches, one of sup matches.
func subsetGlob(sub, sup []Glob) bool {
	for _, g := range sub {
		ok := false
		for _, h := range sup {
			if h.Pattern == g.Pattern || h.Pattern == "*" || (!strings.Contains(g.Pattern, "*") && h.Match(g.Pattern)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// covers reports whether every message that satisfies b also satisfies a,
// as far as can be told without running expressions.
func covers(a, b *When, ma, mb int) bool {
	if ma&^mb != 0 {
		return false
	}
	if ma&cKeywords != 0 && !subsetStr(b.Keywords, a.Keywords) {
		return false
	}
	if ma&cExact != 0 && !subsetStr(b.Exact, a.Exact) {
		return false
	}
	if ma&cRegex != 0 && a.Regex.String() != b.Regex.String() {
		return false
	}
	if ma&cButtons != 0 && !subsetGlob(b.Buttons, a.Buttons) {
		return false
	}
	if ma&cLists != 0 && !subsetGlob(b.Lists, a.Lists) {
		return false
	}
	if ma&cTypes != 0 && !subsetStr(b.Types, a.Types) {
		return false
	}
	if ma&cTypes == 0 && (contains(b.Types, "reaction") || contains(b.Types, "system")) {
		// Reactions and system messages are answered only by a rule that
		// names their type: a rule without `type` does not take them.
		return false
	}
	if ma&cStates != 0 && !subsetStr(b.States, a.States) {
		return false
	}
	if ma&cFrom != 0 && !subsetGlob(b.From, a.From) {
		return false
	}
	if ma&cExpr != 0 && a.Expr.Source != b.Expr.Source {
		return false
	}
	return true
}

// firstKey is the value earlier rules are indexed by: the first list-valued
// condition of a mask. A rule a can only cover b if a holds b's first value
// of that condition (or, for globs, `*`).
func firstKey(w *When, m int) (int, []string) {
	switch {
	case m&cKeywords != 0:
		return cKeywords, w.Keywords
	case m&cExact != 0:
		return cExact, w.Exact
	case m&cButtons != 0:
		return cButtons, globPatterns(w.Buttons)
	case m&cLists != 0:
		return cLists, globPatterns(w.Lists)
	case m&cTypes != 0:
		return cTypes, w.Types
	case m&cStates != 0:
		return cStates, w.States
	case m&cFrom != 0:
		return cFrom, globPatterns(w.From)
	}
	return 0, nil
}

func globPatterns(gs []Glob) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Pattern
	}
	return out
}

// maskGroup indexes earlier rules that have the same condition mask.
type maskGroup struct {
	mask  int
	all   []int            // rule indexes, in order (used when there is no list key)
	byKey map[string][]int // first-key value -> rule indexes, in order
	wild  map[string][]int // rules with a `*` glob, by the glob's text before the first `*`
}

// lint adds the warnings: unreachable rules, shadowed keywords, states that
// no rule handles, offered button and row ids that no rule handles.
func (l *loader) lint() {
	rules := l.set.Rules
	if len(rules) != len(l.infos) {
		return
	}
	var groups []*maskGroup
	byMask := map[int]*maskGroup{}
	kwOwner := map[string]int{} // keyword -> first keyword-only rule having it
	var firstFallback *Rule
	for j, r := range rules {
		if l.infos[j].badWhen {
			continue
		}
		if r.Fallback {
			if firstFallback != nil {
				l.warnf(r.Pos, "fallback `%s` can never answer: fallback `%s` (%s) comes first and always answers", r.ID, firstFallback.ID, firstFallback.Pos)
			} else {
				firstFallback = r
			}
			continue
		}
		mj := condMask(&r.When)
		shadow := -1
		for _, g := range groups {
			if g.mask&^mj != 0 {
				continue
			}
			cands := g.all
			if g.byKey != nil {
				_, vals := firstKey(&r.When, g.mask)
				if len(vals) == 0 {
					continue
				}
				cands = append([]int(nil), g.byKey[vals[0]]...)
				if g.wild != nil {
					v := vals[0]
					if k := strings.IndexByte(v, '*'); k >= 0 {
						v = v[:k]
					}
					for n := 0; n <= len(v); n++ {
						cands = append(cands, g.wild[v[:n]]...)
					}
				}
			}
			for _, i := range cands {
				if (shadow < 0 || i < shadow) && covers(&rules[i].When, &r.When, g.mask, mj) {
					shadow = i
					break
				}
			}
		}
		if shadow >= 0 {
			s := rules[shadow]
			if s.When.Empty() {
				l.warnf(r.Pos, "rule `%s` can never match: rule `%s` (%s) comes first and has no conditions, so it answers every message", r.ID, s.ID, s.Pos)
			} else {
				l.warnf(r.Pos, "rule `%s` can never match: rule `%s` (%s) comes first and matches every message this one would", r.ID, s.ID, s.Pos)
			}
		} else if mj == cKeywords {
			info := l.infos[j]
			for k, kw := range r.When.Keywords {
				if i, ok := kwOwner[kw]; ok && k < len(info.keywordPos) {
					o := rules[i]
					l.warnf(info.keywordPos[k], "keyword `%s` never reaches rule `%s`: rule `%s` (%s) comes first and has it too", kw, r.ID, o.ID, o.Pos)
				}
			}
		}
		if mj == cKeywords {
			for _, kw := range r.When.Keywords {
				if _, ok := kwOwner[kw]; !ok {
					kwOwner[kw] = j
				}
			}
		}
		g := byMask[mj]
		if g == nil {
			g = &maskGroup{mask: mj}
			if key, _ := firstKey(&r.When, mj); key != 0 {
				g.byKey = map[string][]int{}
			}
			byMask[mj] = g
			groups = append(groups, g)
		}
		if g.byKey != nil {
			_, vals := firstKey(&r.When, mj)
			for _, v := range vals {
				if k := strings.IndexByte(v, '*'); k >= 0 {
					if g.wild == nil {
						g.wild = map[string][]int{}
					}
					g.wild[v[:k]] = append(g.wild[v[:k]], j)
				} else {
					g.byKey[v] = append(g.byKey[v], j)
				}
			}
		} else {
			g.all = append(g.all, j)
		}
	}

	// States and ids that some rule handles; globs by their text before `*`.
	// A rule whose `when` is broken may handle more than can be told.
	for _, info := range l.infos {
		if info.badWhen {
			return
		}
	}
	states := map[string]bool{"": true}
	buttons, lists := newGlobIndex(), newGlobIndex()
	for _, r := range rules {
		for _, s := range r.When.States {
			states[s] = true
		}
		for _, g := range r.When.Buttons {
			buttons.add(g)
		}
		for _, g := range r.When.Lists {
			lists.add(g)
		}
	}
	for j, r := range rules {
		info := l.infos[j]
		if r.Goto != nil && !states[*r.Goto] {
			l.warnf(info.gotoPos, "no rule handles state `%s`: no `when.state` names it, so the conversation stays there until the session ends", *r.Goto)
		}
		for _, b := range info.buttons {
			if !buttons.match(b.id) {
				l.warnf(b.pos, "no rule handles button `%s`: no `when.button` matches it", b.id)
			}
		}
		for _, row := range info.rows {
			if !lists.match(row.id) {
				l.warnf(row.pos, "no rule handles list row `%s`: no `when.list` matches it", row.id)
			}
		}
	}
}

// globIndex answers "does any of these globs match s" without trying each.
type globIndex struct {
	exact    map[string]bool
	byPrefix map[string][]Glob
}

func newGlobIndex() *globIndex {
	return &globIndex{exact: map[string]bool{}, byPrefix: map[string][]Glob{}}
}

func (x *globIndex) add(g Glob) {
	k := strings.IndexByte(g.Pattern, '*')
	if k < 0 {
		x.exact[g.Pattern] = true
		return
	}
	x.byPrefix[g.Pattern[:k]] = append(x.byPrefix[g.Pattern[:k]], g)
}

func (x *globIndex) match(s string) bool {
	if x.exact[s] {
		return true
	}
	for n := 0; n <= len(s); n++ {
		for _, g := range x.byPrefix[s[:n]] {
			if g.Match(s) {
				return true
			}
		}
	}
	return false
}
