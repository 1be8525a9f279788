package engine

import (
	"slices"
	"strings"

	"github.com/balas-bot/balas/rules"
)

// index narrows a message down to the rules that can possibly match it. Every
// rule is filed under exactly one of its conditions, the most selective one
// the index knows (exact text, first keyword word, literal button or list id,
// state, type); rules with none of those are always candidates.
type index struct {
	always    []int32
	exact     map[string][]int32
	words     map[string][]int32
	button    map[string][]int32
	buttonAny []int32 // rules with a glob button id: candidates for every button reply
	list      map[string][]int32
	listAny   []int32
	state     map[string][]int32
	types     map[string][]int32
}

func buildIndex(all []prepared, ids []int32) *index {
	x := &index{
		exact:  map[string][]int32{},
		words:  map[string][]int32{},
		button: map[string][]int32{},
		list:   map[string][]int32{},
		state:  map[string][]int32{},
		types:  map[string][]int32{},
	}
	add := func(m map[string][]int32, key string, i int32) {
		l := m[key]
		if len(l) > 0 && l[len(l)-1] == i {
			return // one rule under the same key once
		}
		m[key] = append(l, i)
	}
	for _, i := range ids {
		p := &all[i]
		w := &p.rule.When
		switch {
		case len(w.Exact) > 0:
			for _, e := range p.exact {
				add(x.exact, e, i)
			}
		case len(w.Keywords) > 0:
			// A rule whose keywords all normalise to nothing never matches:
			// it is filed nowhere.
			for _, k := range p.keywords {
				add(x.words, k[0], i)
			}
		case len(w.Buttons) > 0:
			if hasGlob(w.Buttons) {
				x.buttonAny = append(x.buttonAny, i)
			} else {
				for _, g := range w.Buttons {
					add(x.button, g.Pattern, i)
				}
			}
		case len(w.Lists) > 0:
			if hasGlob(w.Lists) {
				x.listAny = append(x.listAny, i)
			} else {
				for _, g := range w.Lists {
					add(x.list, g.Pattern, i)
				}
			}
		case w.States != nil:
			for _, s := range w.States {
				add(x.state, s, i)
			}
		case len(w.Types) > 0:
			for _, t := range w.Types {
				add(x.types, t, i)
			}
		default:
			x.always = append(x.always, i)
		}
	}
	return x
}

func hasGlob(globs []rules.Glob) bool {
	for _, g := range globs {
		if strings.Contains(g.Pattern, "*") {
			return true
		}
	}
	return false
}

// candidates returns, in rule order and without repeats, the rules that may
// match m. The result may use m's scratch space; it is valid until the next call.
func (x *index) candidates(m *message) []int32 {
	c := m.buf[:0]
	c = append(c, x.always...)
	c = append(c, x.exact[m.norm]...)
	for _, w := range m.words {
		c = append(c, x.words[w]...)
	}
	switch m.in.ReplyKind {
	case "button":
		c = append(c, x.button[m.in.ReplyID]...)
		c = append(c, x.buttonAny...)
	case "list":
		c = append(c, x.list[m.in.ReplyID]...)
		c = append(c, x.listAny...)
	}
	c = append(c, x.state[m.state]...)
	c = append(c, x.types[m.typ]...)
	slices.Sort(c)
	return slices.Compact(c)
}
