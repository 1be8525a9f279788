package rules

import (
	"fmt"
	"regexp"
	"time"
)

// This file is the contract between the rules package (which builds a Set)
// and the engine (which evaluates it). A Set is immutable once built: the
// engine may share it between goroutines without locks.

// Set is a loaded, validated and compiled rule set.
type Set struct {
	Version  string   // short content hash of every source file, in order
	Files    []string // the rule files loaded, in name order
	Settings Settings
	Vars     map[string]any
	Rules    []*Rule // evaluation order: files by name, rules as written (fallbacks included)
}

// Settings are the rule set's settings with defaults applied.
type Settings struct {
	SessionTTL time.Duration  // default 30m
	MarkRead   bool           // default true
	Typing     bool           // default false
	Location   *time.Location // settings.timezone, default UTC
}

// Pos is a place in a rules file. Lines and columns count from 1.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Rule is one compiled rule.
type Rule struct {
	ID       string
	Pos      Pos // position of the rule's `id` (or the rule mapping)
	Index    int // position in Set.Rules
	Fallback bool
	When     When
	Reply    []*Message    // rendered and sent in order
	Set      []*Assignment // session values to store, in the order written
	Goto     *string       // nil: state unchanged; "" leaves every state
	Reset    bool
	Handoff  time.Duration // 0: no handoff
	// Hash is a short hash of the rule's YAML content (not its position):
	// reloads compare it to tell changed rules.
	Hash string
}

// When is a rule's conditions. A nil or empty field was not given; every
// condition given must hold.
type When struct {
	// Keywords are normalised with Normalize; each may be several words and
	// matches as a whole-word sequence of the normalised typed text.
	Keywords []string
	// Exact are normalised with Normalize and compared to the whole
	// normalised typed text.
	Exact   []string
	Regex   *regexp.Regexp
	Buttons []Glob   // button reply ids or template quick-reply payloads
	Lists   []Glob   // list reply ids
	Types   []string // message types
	States  []string // nil: not given; [""] matches "no state"
	From    []Glob   // sender number globs
	Expr    *Expr

	// Positions of each condition key, for explanations. Zero when not given.
	KeywordsPos, ExactPos, RegexPos, ButtonsPos, ListsPos, TypesPos, StatesPos, FromPos, ExprPos Pos
}

// Empty reports whether the rule has no condition at all.
func (w *When) Empty() bool {
	return len(w.Keywords) == 0 && len(w.Exact) == 0 && w.Regex == nil &&
		len(w.Buttons) == 0 && len(w.Lists) == 0 && len(w.Types) == 0 &&
		w.States == nil && len(w.From) == 0 && w.Expr == nil
}

// Assignment is one `set:` entry.
type Assignment struct {
	Key   string
	Value *Template
	Pos   Pos
}

// Message is one compiled reply message; Render fills its templates.
// The concrete fields are private to the rules package.
//
//	func (m *Message) Render(env *Env) (Reply, error)
//	func (m *Message) Kind() string
//
// Render returns the rendered message. It does not check WhatsApp's limits;
// see Fit.
