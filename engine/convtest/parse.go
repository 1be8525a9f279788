// Package convtest runs conversation tests (`*_test.yaml`): scripted customer
// messages with the answer expected to each, played against a rule set
// through engine.Bot.Decide with the conversation carried from step to step
// exactly as the server carries it. `balas test` is built on it.
package convtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/balas-bot/balas/rules"
)

// DefaultAt is when a test's clock starts if it gives no `at`: Monday
// 5 January 2026, 10:00 UTC.
var DefaultAt = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// DefaultContact is the customer of a test that names none.
var DefaultContact = Contact{Name: "Customer", WaID: "6281234567890"}

// Suite is one parsed test file.
type Suite struct {
	File  string
	Tests []*Test
}

// Test is one scripted conversation.
type Test struct {
	Name    string
	Pos     rules.Pos
	Contact Contact
	At      time.Time
	Steps   []*Step
}

// Contact is the customer who writes.
type Contact struct {
	Name string
	WaID string
}

// Step is one customer message and what must follow it.
type Step struct {
	Pos    rules.Pos
	After  time.Duration // advanced on the clock before the message
	Send   Send
	Expect Expect
}

// Send is the customer's message: typed text, a button or list tap, or a
// message of another type (with Text as its caption).
type Send struct {
	Text   string
	Button string // button reply id (or template quick-reply payload)
	List   string // list reply id
	Type   string // message type; "text" unless a tap or given
	Title  string // title of the tapped button or row (default: from the bot's latest answer that showed it, else the id)
	Emoji  string // a reaction's emoji; "" takes a reaction back
}

// Expect is what the bot must do; nil fields were not given.
type Expect struct {
	Pos      rules.Pos
	Rule     *Want[string]
	Reply    *Want[string]
	Contains *Want[string]
	Buttons  *Want[[]string]
	Rows     *Want[[]string]
	State    *Want[string]
	Session  []SessionWant
	NoReply  *Want[bool]
}

// Want is one expected value and where it is written.
type Want[T any] struct {
	Value T
	Pos   rules.Pos
}

// SessionWant is one expected session value; Absent for `key: null`.
type SessionWant struct {
	Key    string
	Value  string
	Absent bool
	Pos    rules.Pos
}

// Error is a problem in a test file, at a position.
type Error struct {
	Pos rules.Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Files returns the test files that belong to the rules at path: for a
// folder every `*_test.yaml`/`*_test.yml` in it; for a file NAME.yaml the
// files NAME_test.yaml and NAME_*_test.yaml beside it (also .yml), except
// those of another rules file beside it whose name is longer
// (NAME_promo_test.yaml tests NAME_promo.yaml).
func Files(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir, prefix := path, ""
	if !fi.IsDir() {
		dir = filepath.Dir(path)
		base := filepath.Base(path)
		prefix = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml") + "_"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var others []string // prefixes of the longer-named rules files beside path
	for _, e := range entries {
		if n := e.Name(); prefix != "" && !e.IsDir() && rules.IsRulesFile(n) {
			if p := strings.TrimSuffix(n, filepath.Ext(n)) + "_"; len(p) > len(prefix) && strings.HasPrefix(p, prefix) {
				others = append(others, p)
			}
		}
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !IsTestFile(n) || !strings.HasPrefix(n, prefix) {
			continue
		}
		if slices.ContainsFunc(others, func(p string) bool { return strings.HasPrefix(n, p) }) {
			continue // another file's tests
		}
		files = append(files, filepath.Join(dir, n))
	}
	sort.Strings(files)
	return files, nil
}

// IsTestFile reports whether a file name is a conversation test file.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, "_test.yaml") || strings.HasSuffix(name, "_test.yml")
}

// ParseFile reads and parses a test file.
func ParseFile(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a test file. Every problem is reported as an *Error
// (`file:line:col: message`), joined with errors.Join.
func Parse(file string, data []byte) (*Suite, error) {
	p := &parser{file: file}
	s := &Suite{File: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 1
		msg := err.Error()
		// yaml.v3 says "yaml: line N: …"
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			if n, after, ok := strings.Cut(rest, ": "); ok {
				if l, err := strconv.Atoi(n); err == nil {
					line, msg = l, after
				}
			}
		}
		return nil, &Error{Pos: rules.Pos{File: file, Line: line, Col: 1}, Msg: msg}
	}
	if len(doc.Content) == 0 {
		return s, nil // empty file: no tests
	}
	root := resolveAliases(doc.Content[0], map[*yaml.Node]bool{})
	p.mapping(root, "the test file", func(key string, k, v *yaml.Node) {
		switch key {
		case "tests":
			if !p.kind(v, yaml.SequenceNode, "tests must be a list of tests") {
				return
			}
			for _, tn := range v.Content {
				if t := p.test(tn); t != nil {
					s.Tests = append(s.Tests, t)
				}
			}
		default:
			p.unknown(k, key, "tests")
		}
	})
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return s, nil
}

// resolveAliases puts every alias's node in its place, so that an aliased
// step, expect or contact is read like one written out (`expect: *want` must
// check what it says, not pass unread). Each node is visited once: aliases
// share their node, so nothing is copied and no alias bomb expands.
func resolveAliases(n *yaml.Node, done map[*yaml.Node]bool) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if done[n] {
		return n
	}
	done[n] = true
	for i, c := range n.Content {
		n.Content[i] = resolveAliases(c, done)
	}
	return n
}

type parser struct {
	file string
	errs []error
}

func (p *parser) pos(n *yaml.Node) rules.Pos {
	return rules.Pos{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: p.pos(n), Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) kind(n *yaml.Node, k yaml.Kind, msg string) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != k {
		p.errorf(n, "%s", msg)
		return false
	}
	return true
}

func (p *parser) unknown(k *yaml.Node, key string, known ...string) {
	p.errorf(k, "unknown key %q (known: %s)", key, strings.Join(known, ", "))
}

// mapping calls f for every key of a mapping node, reporting keys given twice.
func (p *parser) mapping(n *yaml.Node, what string, f func(key string, k, v *yaml.Node)) {
	if !p.kind(n, yaml.MappingNode, what+" must be a mapping") {
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			p.errorf(k, "%q is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, v)
	}
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) strs(n *yaml.Node, what string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of ids", what)
		return nil, false
	}
	out := []string{}
	for _, c := range n.Content {
		s, ok := p.str(c, what+" entry")
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (p *parser) test(n *yaml.Node) *Test {
	t := &Test{Pos: p.pos(n), Contact: DefaultContact, At: DefaultAt}
	badSteps := false // reported already
	p.mapping(n, "a test", func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			t.Name, _ = p.str(v, "name")
		case "contact":
			p.mapping(v, "contact", func(key string, k, v *yaml.Node) {
				switch key {
				case "name":
					t.Contact.Name, _ = p.str(v, "contact.name")
				case "wa_id":
					if id, ok := p.str(v, "contact.wa_id"); ok && p.number(v, id) {
						t.Contact.WaID = id
					}
				default:
					p.unknown(k, key, "name", "wa_id")
				}
			})
		case "at":
			s, _ := p.str(v, "at")
			at, err := time.Parse(time.RFC3339, s)
			if err != nil {
				p.errorf(v, "at must be an RFC 3339 time like 2026-01-05T10:00:00+07:00")
				return
			}
			t.At = at
		case "steps":
			if !p.kind(v, yaml.SequenceNode, "steps must be a list") {
				badSteps = true
				return
			}
			for _, sn := range v.Content {
				if s := p.step(sn); s != nil {
					t.Steps = append(t.Steps, s)
				}
			}
		default:
			p.unknown(k, key, "name", "contact", "at", "steps")
		}
	})
	if n.Kind == yaml.MappingNode && t.Name == "" {
		p.errorf(n, "a test needs a name")
		return nil
	}
	if n.Kind == yaml.MappingNode && len(t.Steps) == 0 && !badSteps {
		p.errorf(n, "test %q has no steps: give steps, each a send and what to expect", t.Name)
	}
	return t
}

// number reports whether id is a customer's number as WhatsApp writes it
// in webhooks, and says how to write it when it is not: a number written
// otherwise would never match the rules' `from`.
func (p *parser) number(n *yaml.Node, id string) bool {
	const how = "WhatsApp writes numbers as digits with the country code, no + and no leading 0"
	digits := strings.TrimPrefix(id, "+")
	switch {
	case digits == "" || strings.Trim(digits, "0123456789") != "":
		p.errorf(n, "contact.wa_id `%s`: %s, e.g. 6281234567890", id, how)
	case digits[0] == '0':
		p.errorf(n, "contact.wa_id `%s`: %s; write `62%s` for an Indonesian %s", id, how, digits[1:], digits)
	case digits != id:
		p.errorf(n, "contact.wa_id `%s`: %s; write `%s`", id, how, digits)
	default:
		return true
	}
	return false
}

func (p *parser) step(n *yaml.Node) *Step {
	s := &Step{Pos: p.pos(n)}
	hasSend := false
	p.mapping(n, "a step", func(key string, k, v *yaml.Node) {
		switch key {
		case "send":
			hasSend = true
			p.send(v, &s.Send)
		case "after":
			str, _ := p.str(v, "after")
			d, err := rules.ParseDuration(str)
			if err != nil || d < 0 {
				p.errorf(v, "after must be a duration like 45m, 2h or 1d")
				return
			}
			s.After = d
		case "expect":
			s.Expect.Pos = p.pos(v)
			p.expect(v, &s.Expect)
		default:
			p.unknown(k, key, "send", "after", "expect")
		}
	})
	if n.Kind == yaml.MappingNode && !hasSend {
		p.errorf(n, "a step needs send: the customer's message")
	}
	return s
}

func (p *parser) send(n *yaml.Node, s *Send) {
	if n.Kind == yaml.ScalarNode {
		s.Text, _ = p.str(n, "send")
		s.Type = "text"
		return
	}
	kinds := 0
	p.mapping(n, "send (a text, or a mapping with text, button, list or type)", func(key string, k, v *yaml.Node) {
		switch key {
		case "text":
			s.Text, _ = p.str(v, "send.text")
		case "button":
			s.Button, _ = p.str(v, "send.button")
			kinds++
		case "list":
			s.List, _ = p.str(v, "send.list")
			kinds++
		case "type":
			t, ok := p.str(v, "send.type")
			if ok && !slices.Contains(rules.MessageTypes(), t) {
				p.errorf(v, "unknown message type %q; known types: %s", t, strings.Join(rules.MessageTypes(), ", "))
				return
			}
			s.Type = t
		case "title":
			s.Title, _ = p.str(v, "send.title")
		case "emoji":
			s.Emoji, _ = p.str(v, "send.emoji")
		default:
			p.unknown(k, key, "text", "button", "list", "type", "title", "emoji")
		}
	})
	if n.Kind != yaml.MappingNode {
		return
	}
	switch {
	case kinds > 1:
		p.errorf(n, "send takes one of button or list")
	case kinds == 1 && s.Text != "":
		p.errorf(n, "a button or list tap has no typed text; give its title with title:")
	case kinds == 0 && s.Title != "":
		p.errorf(n, "title goes with button or list")
	case s.Emoji != "" && s.Type != "reaction":
		p.errorf(n, "emoji goes with type: reaction")
	case kinds == 0 && s.Text != "" && !CarriesText(s.Type):
		// As on WhatsApp: only these carry what the customer typed.
		p.errorf(n, "a %s carries no text on WhatsApp (only text, and the caption of an image, video or document, do); leave out text:", s.Type)
	}
	if s.Type == "" {
		s.Type = "text"
		if kinds == 1 {
			s.Type = "interactive"
		}
	}
}

func (p *parser) expect(n *yaml.Node, e *Expect) {
	p.mapping(n, "expect", func(key string, k, v *yaml.Node) {
		pos := p.pos(k)
		switch key {
		case "rule":
			if s, ok := p.str(v, "expect.rule"); ok {
				e.Rule = &Want[string]{s, pos}
			}
		case "reply":
			if s, ok := p.str(v, "expect.reply"); ok {
				e.Reply = &Want[string]{s, pos}
			}
		case "contains":
			if s, ok := p.str(v, "expect.contains"); ok {
				e.Contains = &Want[string]{s, pos}
			}
		case "buttons":
			if ids, ok := p.strs(v, "expect.buttons"); ok {
				e.Buttons = &Want[[]string]{ids, pos}
			}
		case "rows":
			if ids, ok := p.strs(v, "expect.rows"); ok {
				e.Rows = &Want[[]string]{ids, pos}
			}
		case "state":
			if v.Tag == "!!null" {
				e.State = &Want[string]{"", pos}
			} else if s, ok := p.str(v, "expect.state"); ok {
				e.State = &Want[string]{s, pos}
			}
		case "session":
			p.mapping(v, "expect.session", func(key string, k, v *yaml.Node) {
				w := SessionWant{Key: key, Pos: p.pos(k)}
				switch {
				case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
					w.Absent = true
				case v.Kind == yaml.ScalarNode:
					w.Value = v.Value
				default:
					p.errorf(v, "expect.session.%s must be a value (or null for no value)", key)
					return
				}
				e.Session = append(e.Session, w)
			})
		case "no_reply":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				p.errorf(v, "expect.no_reply must be true or false")
				return
			}
			e.NoReply = &Want[bool]{b, pos}
		default:
			p.unknown(k, key, "rule", "reply", "contains", "buttons", "rows", "state", "session", "no_reply")
		}
	})
}
