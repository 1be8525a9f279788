package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the binary must know time zones without system tzdata
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Load reads a rules file, or every *.yaml/*.yml file of a folder in name
// order (*_test.yaml/*_test.yml are conversation tests and are skipped), then
// validates and compiles the whole set.
//
// It reports every problem it finds, not only the first, as diagnostics
// sorted errors first, then warnings, each by position. err is non-nil (a
// *LoadError) if and only if at least one diagnostic is an error; the Set
// returned then is incomplete, useful for counting only, and must not serve.
// When the path cannot be read at all the Set is nil.
//
//	set, diags, err := rules.Load("examples/rules")
//	for _, d := range diags {
//		fmt.Println(d) // examples/rules/shop.yaml:12:7: unknown key `keyword`; did you mean `keywords`?
//	}
//	if err != nil {
//		return err
//	}
func Load(path string) (*Set, []Diagnostic, error) {
	files, err := ruleFiles(path)
	if err != nil {
		d := []Diagnostic{{Pos: Pos{File: path}, Severity: Error, Message: err.Error()}}
		return nil, d, &LoadError{Diagnostics: d}
	}
	srcs := make([]source, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			// The position names the file: say only why it cannot be read.
			why := err
			if inner := errors.Unwrap(err); inner != nil {
				why = inner
			}
			d := []Diagnostic{{Pos: Pos{File: f}, Severity: Error, Message: "cannot read: " + why.Error()}}
			return nil, d, &LoadError{Diagnostics: d}
		}
		srcs = append(srcs, source{name: f, data: data})
	}
	return load(srcs)
}

// Parse loads a rule set from one file's bytes; name is used in positions.
func Parse(name string, data []byte) (*Set, []Diagnostic, error) {
	return load([]source{{name: name, data: data}})
}

type source struct {
	name string
	data []byte
}

// ruleFiles lists the rules files of path.
func ruleFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no such file or folder")
		}
		return nil, err
	}
	if !st.IsDir() {
		if base := filepath.Base(path); strings.HasSuffix(base, "_test.yaml") || strings.HasSuffix(base, "_test.yml") {
			return nil, errors.New("is a conversation test file, not rules: check the rules file or folder beside it (balas test runs the tests)")
		}
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !IsRulesFile(e.Name()) {
			continue
		}
		out = append(out, filepath.Join(path, e.Name()))
	}
	if len(out) == 0 {
		return nil, errors.New("no rules files (*.yaml, *.yml) in this folder")
	}
	sort.Strings(out)
	return out, nil
}

// IsRulesFile reports whether a file name in a rules folder is a rules file
// (*.yaml or *.yml, but not a *_test.yaml/*_test.yml conversation test).
func IsRulesFile(name string) bool {
	ext := filepath.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	if strings.HasPrefix(name, ".") {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), "_test")
}

// loader holds the state of one Load.
type loader struct {
	set   *Set
	diags []Diagnostic
	comp  *compiler
	file  string
	src   []byte // the file being loaded (posIn)

	hashBuf []byte // reused to hash each rule's YAML
	nErrors int    // error diagnostics so far

	settingsSeen map[string]Pos
	varsSeen     map[string]Pos
	ruleIDs      map[string]Pos
	varRefs      []varRef
	infos        []*ruleInfo

	ttl      *time.Duration
	markRead *bool
	typing   *bool
	tz       *time.Location
}

type varRef struct {
	name string
	pos  Pos
}

// ruleInfo is what the lints need to know about a rule beyond Rule.
type ruleInfo struct {
	// badWhen is true when the rule's keys or its `when` had errors (an
	// unknown key may be a condition written outside `when`): what it
	// meant to match is not known, so lint neither warns about it nor
	// because of it.
	badWhen    bool
	keywordPos []Pos // parallel to When.Keywords
	buttons    []idAt
	rows       []idAt
	gotoPos    Pos
}

type idAt struct {
	id  string
	pos Pos
}

// ruleCtx is what templates of one rule may use.
type ruleCtx struct {
	hasRegex bool
	groups   map[string]bool
	info     *ruleInfo
}

func load(srcs []source) (*Set, []Diagnostic, error) {
	l := &loader{
		set:          &Set{Vars: map[string]any{}},
		comp:         newCompiler(),
		settingsSeen: map[string]Pos{},
		varsSeen:     map[string]Pos{},
		ruleIDs:      map[string]Pos{},
	}
	h := sha256.New()
	for _, s := range srcs {
		l.set.Files = append(l.set.Files, s.name)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(s.name), len(s.data))
		h.Write(s.data)
		l.file = s.name
		l.loadFile(s.data)
	}
	l.set.Version = hex.EncodeToString(h.Sum(nil))[:12]
	l.finish()
	SortDiagnostics(l.diags)
	for _, d := range l.diags {
		if d.Severity == Error {
			return l.set, l.diags, &LoadError{Diagnostics: l.diags}
		}
	}
	return l.set, l.diags, nil
}

func (l *loader) pos(n *yaml.Node) Pos {
	return Pos{File: l.file, Line: n.Line, Col: n.Column}
}

func (l *loader) errorf(p Pos, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{Pos: p, Severity: Error, Message: fmt.Sprintf(format, args...)})
	l.nErrors++
}

func (l *loader) warnf(p Pos, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{Pos: p, Severity: Warning, Message: fmt.Sprintf(format, args...)})
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) loadFile(data []byte) {
	l.src = data
	var doc yaml.Node
	err := decodeYAML(data, &doc)
	if err == io.EOF {
		l.errorf(Pos{File: l.file, Line: 1, Col: 1}, "empty file: a rules file starts with `version: 1`")
		return
	}
	if err != nil {
		msg := err.Error()
		p := Pos{File: l.file, Line: 1, Col: 1}
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		if strings.Contains(msg, "tab character") {
			if tp, ok := indentTab(data, p.Line); ok {
				l.errorf(Pos{File: l.file, Line: tp.Line, Col: tp.Col}, "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces")
				return
			}
		}
		l.errorf(p, "invalid YAML: %s", msg)
		return
	}
	if len(doc.Content) == 0 {
		l.errorf(Pos{File: l.file, Line: 1, Col: 1}, "empty file: a rules file starts with `version: 1`")
		return
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		l.errorf(l.pos(root), "a rules file is a mapping with `version: 1` and `rules:`, got %s", describe(root))
		return
	}
	m := l.mapping(root, "file")
	if m == nil {
		return
	}
	if v := m.get("version"); v != nil {
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!str" && strings.TrimSpace(v.Value) == "1":
			l.errorf(l.pos(v), "`version` is the number 1: write `version: 1`, without quotes")
		case v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Value != "1":
			l.errorf(l.pos(v), "unsupported version %s; this balas reads `version: 1`", quoteNode(v))
		}
	}
	if v := m.get("settings"); v != nil {
		l.settings(v)
	}
	if v := m.get("vars"); v != nil {
		l.vars(v)
	}
	if v := m.get("rules"); v != nil && !isNull(v) {
		if v.Kind != yaml.SequenceNode {
			l.errorf(l.pos(v), "`rules` must be a list of rules, got %s", describe(v))
		} else {
			for _, rn := range v.Content {
				l.rule(deref(rn))
			}
		}
	}
}

// indentTab finds the first tab in the indentation of a line at or after
// line from (yaml.v3 names a line at or before the tab's).
func indentTab(data []byte, from int) (Pos, bool) {
	for i, line := range strings.Split(string(data), "\n") {
		if i+1 < from {
			continue
		}
		for col, c := range line {
			if c == '\t' {
				return Pos{Line: i + 1, Col: col + 1}, true
			}
			if c != ' ' {
				break
			}
		}
	}
	return Pos{}, false
}

// decodeYAML decodes one YAML document; a second document is an error.
func decodeYAML(data []byte, doc *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(doc); err != nil {
		return err
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		if err != nil {
			return err
		}
		return fmt.Errorf("yaml: line %d: only one YAML document per file (remove the `---`)", more.Line)
	}
	if n := expandedSize(doc, map[*yaml.Node]int{}); n > maxExpandedNodes {
		return fmt.Errorf("yaml: line 1: the file grows to more than %d values through its aliases (*name); repeat less through aliases of aliases", maxExpandedNodes)
	}
	return nil
}

// maxExpandedNodes bounds a file's size with its aliases expanded, which
// the loader walks: a few kilobytes of aliases of aliases would otherwise
// make tens of millions of values and hang balas check and every reload.
// 10,000 ordinary rules come to about a quarter of a million.
const maxExpandedNodes = 2_000_000

// expandedSize counts the values of n with every alias expanded, in time
// linear in the file (sizes are remembered per node); it stops counting
// past maxExpandedNodes.
func expandedSize(n *yaml.Node, sizes map[*yaml.Node]int) int {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return expandedSize(n.Alias, sizes)
	}
	if s, ok := sizes[n]; ok {
		return s
	}
	sizes[n] = 1 // a node in its own alias counts once (yaml.v3 refuses those anyway)
	size := 1
	for _, c := range n.Content {
		size += expandedSize(c, sizes)
		if size > maxExpandedNodes {
			break
		}
	}
	sizes[n] = size
	return size
}

// mapping is a checked YAML mapping of a known object.
type mapping struct {
	node *yaml.Node
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

func (m *mapping) get(k string) *yaml.Node {
	if m == nil {
		return nil
	}
	return m.vals[k]
}

func (m *mapping) has(k string) bool { return m != nil && m.vals[k] != nil }

var objectWhat = map[string]string{
	"file": "a rules file", "rule": "a rule", "button": "a button", "row": "a list row",
	"section": "a list section", "message": "a message",
}

func what(obj string) string {
	if w, ok := objectWhat[obj]; ok {
		return w
	}
	return "`" + obj + "`"
}

// mapping checks that n is a mapping of object obj: no unknown or repeated
// keys, every required key given. It returns nil when n is not a mapping.
// A null value counts as an empty mapping.
func (l *loader) mapping(n *yaml.Node, obj string) *mapping {
	n = deref(n)
	m := &mapping{node: n, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if isNull(n) {
		// nothing given
	} else if n.Kind != yaml.MappingNode {
		l.errorf(l.pos(n), "%s must be a mapping, got %s", capitalize(what(obj)), describe(n))
		return nil
	}
	var merged []*yaml.Node // mappings merged in with `<<: *anchor`
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := deref(n.Content[i]), deref(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode {
			l.errorf(l.pos(kn), "keys must be names, got %s", describe(kn))
			continue
		}
		k := kn.Value
		if kn.Tag == "!!merge" {
			if vn.Kind == yaml.SequenceNode {
				for _, c := range vn.Content {
					merged = append(merged, deref(c))
				}
			} else {
				merged = append(merged, vn)
			}
			continue
		}
		if _, ok := fieldOf(obj, k); !ok {
			known := keysOf(obj)
			if s := suggest(k, known); s != "" {
				l.errorf(l.pos(kn), "unknown key `%s`; did you mean `%s`?", k, s)
			} else {
				l.errorf(l.pos(kn), "unknown key `%s` in %s; known keys: %s", k, what(obj), strings.Join(known, ", "))
			}
			continue
		}
		if first, dup := m.keys[k]; dup {
			l.errorf(l.pos(kn), "key `%s` is given twice (first at line %d)", k, first.Line)
			continue
		}
		m.keys[k], m.vals[k] = kn, vn
	}
	l.merge(m, obj, merged, 0)
	for _, f := range objects[obj] {
		if f.required && m.vals[f.name] == nil {
			if obj == "file" {
				l.errorf(l.pos(n), "`version: 1` is missing: every rules file starts with it")
				continue
			}
			l.errorf(l.pos(n), "%s needs `%s`", capitalize(what(obj)), f.name)
		}
	}
	return m
}

// merge adds the keys of YAML merges (`<<: *base`, or a list of anchors)
// that the mapping does not give itself; an earlier anchor wins over a
// later one, as YAML says.
func (l *loader) merge(m *mapping, obj string, from []*yaml.Node, depth int) {
	for _, src := range from {
		if src.Kind != yaml.MappingNode {
			l.errorf(l.pos(src), "`<<` merges mappings (an anchor of a mapping, or a list of them), got %s", describe(src))
			continue
		}
		var nested []*yaml.Node
		for i := 0; i+1 < len(src.Content); i += 2 {
			kn, vn := deref(src.Content[i]), deref(src.Content[i+1])
			if kn.Kind != yaml.ScalarNode || m.keys[kn.Value] != nil {
				continue // not a name (reported where it is written), or given already
			}
			if kn.Tag == "!!merge" {
				if depth < 10 {
					nested = append(nested, vn)
				}
				continue
			}
			if _, ok := fieldOf(obj, kn.Value); !ok {
				l.errorf(l.pos(kn), "unknown key `%s` in %s (merged with `<<`); known keys: %s", kn.Value, what(obj), strings.Join(keysOf(obj), ", "))
				continue
			}
			m.keys[kn.Value], m.vals[kn.Value] = kn, vn
		}
		l.merge(m, obj, nested, depth+1)
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 10; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "true/false"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func quoteNode(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return "`" + n.Value + "`"
	}
	return describe(n)
}

func capitalize(s string) string {
	if s == "" || s[0] == '`' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// noTemplate reports (and returns true) when a key that takes a plain name
// is written with `{{ … }}`, which only the text of messages and `set`
// fill in.
func (l *loader) noTemplate(n *yaml.Node, name string) bool {
	if !strings.Contains(n.Value, "{{") {
		return false
	}
	l.errorf(l.pos(n), "`%s` takes a plain name: `{{ … }}` is not filled in here", name)
	return true
}

// unquotedTemplate reports (and returns true) when n is `{{ … }}` written
// without quotes, which YAML reads as a mapping inside a mapping.
func (l *loader) unquotedTemplate(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle == 0 || len(n.Content) != 2 {
		return false
	}
	k := n.Content[0]
	if k.Kind != yaml.MappingNode || k.Style&yaml.FlowStyle == 0 || !isNull(n.Content[1]) {
		return false
	}
	l.errorf(l.pos(n), "a value that starts with `{{` must be quoted: write \"{{ … }}\" in double quotes")
	return true
}

// str returns a scalar's text; name is the key, for messages.
func (l *loader) str(n *yaml.Node, name string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(l.pos(n), "`%s` must be a string, got %s", name, describe(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) boolean(n *yaml.Node, name string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		l.errorf(l.pos(n), "`%s` must be true or false, got %s", name, describe(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

// strings returns the items of a string-or-list value.
func (l *loader) strings(n *yaml.Node, name string) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			l.errorf(l.pos(n), "`%s` is an empty list", name)
			return nil
		}
		var out []*yaml.Node
		for _, it := range n.Content {
			it = deref(it)
			if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				l.errorf(l.pos(it), "items of `%s` must be strings, got %s", name, describe(it))
				continue
			}
			out = append(out, it)
		}
		return out
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(l.pos(n), "`%s` must be a string or a list of strings, got %s", name, describe(n))
		return nil
	}
	return []*yaml.Node{n}
}

func (l *loader) duration(n *yaml.Node, name string) (time.Duration, bool) {
	s, ok := l.str(n, name)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		l.errorf(l.pos(n), "`%s`: invalid duration `%s` (write e.g. 30m, 2h, 1d12h)", name, s)
		return 0, false
	}
	if d <= 0 {
		l.errorf(l.pos(n), "`%s` must be longer than 0", name)
		return 0, false
	}
	return d, true
}

// ParseDuration parses a Go duration ("1h30m") that may start with whole
// days ("1d", "2d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d := time.Duration(days) * 24 * time.Hour
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil || r < 0 {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			d += r
		}
		return d, nil
	}
	return time.ParseDuration(s)
}

func (l *loader) settings(n *yaml.Node) {
	m := l.mapping(n, "settings")
	if m == nil {
		return
	}
	for _, f := range objects["settings"] {
		v := m.get(f.name)
		if v == nil {
			continue
		}
		if first, dup := l.settingsSeen[f.name]; dup {
			l.errorf(l.pos(m.keys[f.name]), "`settings.%s` is given twice (first at %s)", f.name, first)
			continue
		}
		l.settingsSeen[f.name] = l.pos(m.keys[f.name])
		switch f.name {
		case "session_ttl":
			if d, ok := l.duration(v, f.name); ok {
				l.ttl = &d
			}
		case "mark_read":
			if b, ok := l.boolean(v, f.name); ok {
				l.markRead = &b
			}
		case "typing":
			if b, ok := l.boolean(v, f.name); ok {
				l.typing = &b
			}
		case "timezone":
			s, ok := l.str(v, f.name)
			if !ok {
				continue
			}
			if strings.EqualFold(strings.TrimSpace(s), "local") {
				l.errorf(l.pos(v), "time zone `%s` is the zone of the machine balas runs on, which differs between your computer and the server; write an IANA name like Asia/Jakarta", s)
				continue
			}
			loc, err := loadLocation(s)
			if err != nil {
				l.errorf(l.pos(v), "unknown time zone `%s` (write an IANA name like Asia/Jakarta or UTC)", s)
				continue
			}
			l.tz = loc
		}
	}
}

func loadLocation(s string) (loc *time.Location, err error) {
	if s == "" || strings.ContainsAny(s, "\x00\\") || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return nil, errors.New("invalid")
	}
	return time.LoadLocation(s)
}

func (l *loader) vars(n *yaml.Node) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(l.pos(n), "`vars` must be a mapping of names to values, got %s", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := deref(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode || kn.Tag == "!!null" || kn.Value == "" {
			l.errorf(l.pos(kn), "var names must be strings, got %s", describe(kn))
			continue
		}
		if first, dup := l.varsSeen[kn.Value]; dup {
			l.errorf(l.pos(kn), "`vars.%s` is given twice (first at %s)", kn.Value, first)
			continue
		}
		l.varsSeen[kn.Value] = l.pos(kn)
		var v any
		if err := decodeValue(vn, &v); err != nil {
			l.errorf(l.pos(vn), "`vars.%s`: %v", kn.Value, err)
			continue
		}
		l.set.Vars[kn.Value] = v
		if vn := deref(vn); vn.Kind == yaml.ScalarNode && vn.Style == 0 && (vn.Tag == "!!int" || vn.Tag == "!!float") && !strings.Contains(vn.Value, "_") {
			if got := formatValue(v); got != vn.Value {
				l.warnf(l.pos(vn), "`vars.%s` is read as the number %s, not %s as written; quote it (%q) to keep it as written", kn.Value, got, vn.Value, vn.Value)
			}
		}
	}
}

func decodeValue(n *yaml.Node, v *any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode: %v", r)
		}
	}()
	return n.Decode(v)
}

// rule loads one rule.
func (l *loader) rule(n *yaml.Node) {
	errs := l.nErrors
	m := l.mapping(n, "rule")
	if m == nil {
		return
	}
	r := &Rule{Pos: l.pos(n), Index: len(l.set.Rules)}
	info := &ruleInfo{}
	ctx := &ruleCtx{info: info}
	if v := m.get("id"); v != nil {
		r.Pos = l.pos(m.keys["id"])
		if id, ok := l.str(v, "id"); ok {
			switch {
			case strings.TrimSpace(id) == "":
				l.errorf(l.pos(v), "rule `id` is empty")
			default:
				if first, dup := l.ruleIDs[id]; dup {
					l.errorf(l.pos(v), "rule id `%s` is used twice (first at %s)", id, first)
				} else {
					l.ruleIDs[id] = l.pos(v)
				}
			}
			r.ID = id
		}
	}
	if v := m.get("fallback"); v != nil {
		r.Fallback, _ = l.boolean(v, "fallback")
	}
	if v := m.get("when"); v != nil {
		if r.Fallback {
			l.errorf(l.pos(m.keys["when"]), "a fallback rule cannot have `when`: fallbacks answer, in order, only when no other rule matched")
		}
		l.when(v, &r.When, ctx)
	}
	info.badWhen = l.nErrors > errs
	if v := m.get("reply"); v != nil {
		r.Reply = l.reply(v, ctx)
	}
	if v := m.get("set"); v != nil {
		r.Set = l.assignments(v, ctx)
	}
	if v := m.get("goto"); v != nil {
		if s, ok := l.str(v, "goto"); ok {
			l.noTemplate(v, "goto")
			r.Goto = &s
			info.gotoPos = l.pos(v)
		}
	}
	if v := m.get("reset"); v != nil {
		r.Reset, _ = l.boolean(v, "reset")
	}
	if v := m.get("handoff"); v != nil {
		r.Handoff, _ = l.duration(v, "handoff")
	}
	if !m.has("reply") && !m.has("set") && !m.has("goto") && !m.has("reset") && !m.has("handoff") {
		name := "this rule"
		if r.ID != "" {
			name = "rule `" + r.ID + "`"
		}
		l.errorf(r.Pos, "%s does nothing: give it a `reply` or an action (`set`, `goto`, `reset`, `handoff`)", name)
	}
	// The hash only tells changed rules apart on reload: FNV is plenty.
	l.hashBuf = appendNode(l.hashBuf[:0], n, 0)
	h := fnv.New64a()
	h.Write(l.hashBuf)
	r.Hash = hex.EncodeToString(h.Sum(nil))
	l.set.Rules = append(l.set.Rules, r)
	l.infos = append(l.infos, info)
}

// appendNode appends a YAML tree's content (not its positions) to b, for
// hashing.
func appendNode(b []byte, n *yaml.Node, depth int) []byte {
	if n == nil || depth > 100 {
		return b
	}
	// An alias is hashed by its name, not followed: following aliases can
	// blow up exponentially.
	b = append(b, byte(n.Kind))
	b = append(b, n.Tag...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(len(n.Value)), 10)
	b = append(b, 0)
	b = append(b, n.Value...)
	for _, c := range n.Content {
		b = appendNode(b, c, depth+1)
	}
	return append(b, 0xff)
}

var fromGlobRe = regexp.MustCompile(fromGlob)

func (l *loader) when(n *yaml.Node, w *When, ctx *ruleCtx) {
	m := l.mapping(n, "when")
	if m == nil {
		return
	}
	kpos := func(k string) Pos { return l.pos(m.keys[k]) }
	for _, key := range []string{"keywords", "exact"} {
		v := m.get(key)
		if v == nil {
			continue
		}
		var out []string
		for _, it := range l.strings(v, key) {
			s := Normalize(it.Value)
			if s == "" {
				l.errorf(l.pos(it), "%s `%s` has no letters or digits, so it can never match; match emoji and symbols with `regex` instead, e.g. regex: '%s'", strings.TrimSuffix(key, "s"), it.Value, regexp.QuoteMeta(strings.TrimSpace(it.Value)))
				continue
			}
			out = append(out, s)
			if key == "keywords" {
				ctx.info.keywordPos = append(ctx.info.keywordPos, l.pos(it))
			}
		}
		if key == "keywords" {
			w.Keywords, w.KeywordsPos = out, kpos(key)
		} else {
			w.Exact, w.ExactPos = out, kpos(key)
		}
	}
	if v := m.get("regex"); v != nil {
		if s, ok := l.str(v, "regex"); ok {
			re, err := regexp.Compile(s)
			if err != nil {
				msg := err.Error()
				l.errorf(l.pos(v), "invalid regex: %s", strings.TrimPrefix(msg, "error parsing regexp: "))
			} else {
				w.Regex, w.RegexPos = re, kpos("regex")
				ctx.hasRegex = true
				ctx.groups = map[string]bool{}
				for _, g := range re.SubexpNames() {
					if g != "" {
						ctx.groups[g] = true
					}
				}
			}
		}
	}
	globs := func(key string, max int) ([]Glob, Pos) {
		v := m.get(key)
		if v == nil {
			return nil, Pos{}
		}
		var out []Glob
		for _, it := range l.strings(v, key) {
			switch {
			case l.noTemplate(it, key):
			case it.Value == "":
				l.errorf(l.pos(it), "`%s` id is empty", key)
			case !strings.Contains(it.Value, "*") && utf8.RuneCountInString(it.Value) > max:
				l.errorf(l.pos(it), "`%s` id is %d characters; WhatsApp ids are at most %d, so it can never match", key, utf8.RuneCountInString(it.Value), max)
			default:
				out = append(out, Glob{Pattern: it.Value})
			}
		}
		return out, kpos(key)
	}
	w.Buttons, w.ButtonsPos = globs("button", maxButtonID)
	w.Lists, w.ListsPos = globs("list", maxRowID)
	if v := m.get("type"); v != nil {
		for _, it := range l.strings(v, "type") {
			if !contains(messageTypes, it.Value) {
				if s := suggest(it.Value, messageTypes); s != "" {
					l.errorf(l.pos(it), "unknown message type `%s`; did you mean `%s`?", it.Value, s)
				} else {
					l.errorf(l.pos(it), "unknown message type `%s`; known types: %s", it.Value, strings.Join(messageTypes, ", "))
				}
				continue
			}
			w.Types = append(w.Types, it.Value)
		}
		w.TypesPos = kpos("type")
	}
	if v := m.get("state"); v != nil {
		w.States = []string{}
		for _, it := range l.strings(v, "state") {
			l.noTemplate(it, "state")
			w.States = append(w.States, it.Value)
		}
		w.StatesPos = kpos("state")
	}
	if v := m.get("from"); v != nil {
		for _, it := range l.strings(v, "from") {
			if !fromGlobRe.MatchString(it.Value) {
				digits := strings.TrimPrefix(it.Value, "+")
				if local, ok := strings.CutPrefix(digits, "0"); ok && fromGlobRe.MatchString("62"+local) {
					// 0812… is how Indonesians write 62812…; WhatsApp never sends it.
					l.errorf(l.pos(it), "`from` `%s`: numbers in webhooks start with the country code, never 0; write `62%s` for an Indonesian %s…", it.Value, local, strings.TrimSuffix(digits, "*"))
				} else if digits != it.Value {
					l.errorf(l.pos(it), "`from` `%s`: numbers in webhooks have no `+`; write `%s`", it.Value, digits)
				} else {
					l.errorf(l.pos(it), "`from` `%s` may hold only digits and `*` (e.g. 62812*)", it.Value)
				}
				continue
			}
			w.From = append(w.From, Glob{Pattern: it.Value})
		}
		w.FromPos = kpos("from")
	}
	if v := m.get("expr"); v != nil {
		if s, ok := l.str(v, "expr"); ok {
			p := l.pos(v)
			ce := l.comp.compile(s, true)
			if ce.err != nil {
				l.errorf(p, "in `expr`: %s", ce.err)
			} else {
				l.checkRefs(ce, p, ctx, "`expr`")
				w.Expr, w.ExprPos = &Expr{Source: s, Pos: p, program: ce.prog}, kpos("expr")
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkRefs checks the vars.NAME and match.NAME an expression uses.
func (l *loader) checkRefs(ce *compiled, p Pos, ctx *ruleCtx, where string) {
	for _, v := range ce.vars {
		l.varRefs = append(l.varRefs, varRef{name: v, pos: p})
	}
	for _, g := range ce.match {
		switch {
		case ctx == nil || !ctx.hasRegex:
			l.errorf(p, "`match.%s` in %s: `match` is only set in rules with a `regex`", g, where)
		case !ctx.groups[g]:
			names := make([]string, 0, len(ctx.groups))
			for n := range ctx.groups {
				names = append(names, n)
			}
			sort.Strings(names)
			if s := suggest(g, names); s != "" {
				l.errorf(p, "`match.%s` in %s: the regex has no group named `%s`; did you mean `%s`?", g, where, g, s)
			} else {
				l.errorf(p, "`match.%s` in %s: the regex has no group named `%s` (name one with (?P<%s>…))", g, where, g, g)
			}
		}
	}
}

// template compiles a string value. f gives the key name and the limit;
// label names the value in messages. It returns nil after an error.
func (l *loader) template(n *yaml.Node, label string, max int, ctx *ruleCtx) *Template {
	n = deref(n)
	if l.unquotedTemplate(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(l.pos(n), "`%s` must be a string, got %s", label, describe(n))
		return nil
	}
	src := n.Value
	base := l.pos(n)
	t := &Template{Source: src, Pos: base}
	if !strings.Contains(src, "{{") {
		if src != "" {
			t.parts = []templatePart{{lit: src}}
		}
	} else {
		raw, terr := splitTemplate(src)
		if terr != nil {
			l.errorf(l.posIn(n, base, terr.off), "in `%s`: %s", label, terr.msg)
			return nil
		}
		ok := true
		for _, r := range raw {
			if !r.isExpr {
				t.parts = append(t.parts, templatePart{lit: r.text})
				continue
			}
			p := l.posIn(n, base, r.off)
			ce := l.comp.compile(r.text, false)
			if ce.err != nil {
				l.errorf(p, "in `%s`: {{%s}}: %s", label, r.text, ce.err)
				ok = false
				continue
			}
			l.checkRefs(ce, p, ctx, "`"+label+"`")
			t.parts = append(t.parts, templatePart{prog: ce.prog})
		}
		if !ok {
			return nil
		}
	}
	if max > 0 {
		if n := t.literalLen(); n > max {
			if t.Static() {
				l.errorf(base, "`%s` is %d characters; WhatsApp allows at most %d", label, n, max)
			} else {
				l.errorf(base, "`%s` is at least %d characters (not counting {{ }}); WhatsApp allows at most %d", label, n, max)
			}
		}
	}
	return t
}

// yamlEscapes are YAML's one-character escapes and what they stand for.
var yamlEscapes = map[rune]rune{'\\': '\\', '"': '"', '/': '/', ' ': ' ', 'n': '\n', 't': '\t', '\t': '\t', 'r': '\r', '0': 0,
	'a': 7, 'b': 8, 'e': 0x1b, 'f': 0xc, 'v': 0xb, 'N': 0x85, '_': 0xa0, 'L': 0x2028, 'P': 0x2029}

// unescape reads the rest of a double-quoted scalar's escape (after its
// backslash) with next and gives the character it stands for; ok is false
// for one it does not know.
func unescape(src *[]byte, next func() rune) (rune, bool) {
	if len(*src) == 0 {
		return 0, false
	}
	c := next()
	if r, ok := yamlEscapes[c]; ok {
		return r, true
	}
	digits := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
	if digits == 0 || len(*src) < digits {
		return 0, false
	}
	v, err := strconv.ParseUint(string((*src)[:digits]), 16, 32)
	if err != nil {
		return 0, false
	}
	for range digits {
		next()
	}
	return rune(v), true
}

// posIn is the position of byte offset off of a scalar's value. It reads
// the value's text in the file up to that offset, following folded lines of
// plain, quoted and block scalars, escapes, and ” in single-quoted ones;
// where the text is written otherwise (a block with an indentation
// indicator, a line break a folded block keeps) it gives the scalar's own
// position rather than a wrong one.
func (l *loader) posIn(n *yaml.Node, base Pos, off int) Pos {
	if off < 0 || off > len(n.Value) {
		return base
	}
	quote := rune(0)
	block := false
	switch n.Style {
	case 0, yaml.FlowStyle:
	case yaml.SingleQuotedStyle:
		quote = '\''
	case yaml.DoubleQuotedStyle:
		quote = '"'
	case yaml.LiteralStyle, yaml.FoldedStyle:
		block = true
	default:
		return base
	}
	src := l.src
	// Find the scalar's start in the file: its line, then its column.
	for line := 1; line < base.Line; line++ {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			return base
		}
		src = src[i+1:]
	}
	for col := 1; col < base.Col; col++ {
		_, size := utf8.DecodeRune(src)
		if size == 0 {
			return base
		}
		src = src[size:]
	}
	p := base
	next := func() rune { // takes one character of the file
		r, size := utf8.DecodeRune(src)
		src = src[size:]
		if r == '\n' {
			p.Line, p.Col = p.Line+1, 1
		} else {
			p.Col++
		}
		return r
	}
	if quote != 0 {
		if r, _ := utf8.DecodeRune(src); r != quote {
			return base
		}
		next()
	}
	// A block's text starts on the line after its header (| or > with its
	// chomping indicator and a comment), indented as its first line that is
	// not blank.
	indent := 0
	skipIndent := func() {
		for i := 0; i < indent && len(src) > 0 && src[0] == ' '; i++ {
			next()
		}
	}
	if block {
		nl := bytes.IndexByte(src, '\n')
		if nl < 0 || bytes.ContainsAny(src[:nl], "123456789") {
			return base // an indentation indicator: left to the scalar's position
		}
		for range utf8.RuneCount(src[:nl+1]) {
			next()
		}
		for rest := src; len(rest) > 0; {
			line, after, _ := bytes.Cut(rest, []byte("\n"))
			if text := bytes.TrimLeft(line, " "); len(bytes.TrimSpace(text)) > 0 {
				indent = len(line) - len(text)
				break
			}
			rest = after
		}
		if indent == 0 {
			return base
		}
		skipIndent()
	}
	for _, want := range n.Value[:off] {
		r, _ := utf8.DecodeRune(src)
		switch {
		case len(src) == 0:
			return base
		case block && want == '\n' && r == '\n':
			next() // a line break kept in a block: the text goes on indented
			skipIndent()
		case quote == '\'' && want == '\'' && r == '\'':
			next() // '' is one '
			if r, _ := utf8.DecodeRune(src); r != '\'' {
				return base
			}
			next()
		case quote == '"' && r == '\\':
			next()
			if got, ok := unescape(&src, next); !ok || got != want {
				return base
			}
		case r == want && r != '\n':
			next()
		case want == ' ' && (r == '\n' || r == '\r'):
			// A line break folded into a space: the text goes on after
			// the next line's indentation.
			for len(src) > 0 {
				if r, _ := utf8.DecodeRune(src); r != '\n' && r != '\r' && r != ' ' && r != '\t' {
					break
				}
				next()
			}
		default:
			return base // written otherwise: an escape, a kept line break
		}
	}
	return p
}

var sessionKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *loader) assignments(n *yaml.Node, ctx *ruleCtx) []*Assignment {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(l.pos(n), "`set` must be a mapping of session keys to values, got %s", describe(n))
		return nil
	}
	var out []*Assignment
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := deref(n.Content[i]), deref(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode || !sessionKeyRe.MatchString(kn.Value) {
			l.errorf(l.pos(kn), "session key %s must be a name (letters, digits, _)", quoteNode(kn))
			continue
		}
		if first, dup := seen[kn.Value]; dup {
			l.errorf(l.pos(kn), "key `%s` is given twice (first at line %d)", kn.Value, first)
			continue
		}
		seen[kn.Value] = kn.Line
		if l.unquotedTemplate(vn) {
			continue
		}
		if vn.Kind != yaml.ScalarNode {
			l.errorf(l.pos(vn), "`set.%s` must be a string (templates allowed), got %s", kn.Value, describe(vn))
			continue
		}
		var t *Template
		if vn.Tag == "!!null" {
			t = &Template{Pos: l.pos(vn)}
		} else if t = l.template(vn, "set."+kn.Value, 0, ctx); t == nil {
			continue
		}
		out = append(out, &Assignment{Key: kn.Value, Value: t, Pos: l.pos(kn)})
	}
	return out
}

// suggest returns the candidate closest to s by edit distance, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), c)
		if d < bestD && d < len(c) {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// finish checks what needs the whole set, applies defaults and runs lints.
func (l *loader) finish() {
	for _, r := range l.varRefs {
		if _, ok := l.set.Vars[r.name]; ok {
			continue
		}
		if _, ok := l.varsSeen[r.name]; ok {
			continue
		}
		names := make([]string, 0, len(l.varsSeen))
		for n := range l.varsSeen {
			names = append(names, n)
		}
		sort.Strings(names)
		if s := suggest(r.name, names); s != "" {
			l.errorf(r.pos, "`vars.%s` is not declared under `vars`; did you mean `%s`?", r.name, s)
		} else {
			l.errorf(r.pos, "`vars.%s` is not declared under `vars`", r.name)
		}
	}
	st := Settings{SessionTTL: 30 * time.Minute, MarkRead: true, Location: time.UTC}
	if l.ttl != nil {
		st.SessionTTL = *l.ttl
	}
	if l.markRead != nil {
		st.MarkRead = *l.markRead
	}
	if l.typing != nil {
		st.Typing = *l.typing
	}
	if l.tz != nil {
		st.Location = l.tz
	}
	l.set.Settings = st
	l.lint()
}
