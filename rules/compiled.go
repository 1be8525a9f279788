package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Glob matches ids and numbers with `*` standing for any run of characters.
type Glob struct {
	Pattern string
}

// Match reports whether s matches the glob.
func (g Glob) Match(s string) bool { return globMatch(g.Pattern, s) }

// globMatch matches p against s; `*` matches any run of bytes. It runs in
// O(len(p)*len(s)) at worst (greedy with one backtrack point).
func globMatch(p, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			c := p[px]
			if c == '*' {
				nextPx, nextSx = px, sx+1
				px++
				continue
			}
			if sx < len(s) && s[sx] == c {
				px++
				sx++
				continue
			}
		}
		if nextPx >= 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// Expr is a compiled boolean expression (`when.expr`).
type Expr struct {
	Source  string
	Pos     Pos
	program *vm.Program
}

// CompileExpr compiles and type-checks a boolean expression against Env.
// (The loader also checks that every vars.NAME is declared; CompileExpr
// cannot, as it does not know the vars.)
func CompileExpr(src string, pos Pos) (*Expr, error) {
	c := newCompiler().compile(src, true)
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", pos, c.err)
	}
	return &Expr{Source: src, Pos: pos, program: c.prog}, nil
}

// Eval runs the expression.
func (e *Expr) Eval(env *Env) (bool, error) {
	out, err := vm.Run(e.program, env)
	if err != nil {
		return false, fmt.Errorf("%s: %w", e.Pos, err)
	}
	b, _ := out.(bool)
	return b, nil
}

// Template is a string with `{{ expression }}` parts.
type Template struct {
	Source string
	Pos    Pos
	parts  []templatePart
}

type templatePart struct {
	lit  string
	prog *vm.Program // nil for a literal
}

// CompileTemplate compiles a template string against Env. (The loader also
// checks vars.NAME and match.NAME references; CompileTemplate does not.)
func CompileTemplate(src string, pos Pos) (*Template, error) {
	raw, err := splitTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", pos, err.msg)
	}
	c := newCompiler()
	t := &Template{Source: src, Pos: pos}
	for _, r := range raw {
		if !r.isExpr {
			t.parts = append(t.parts, templatePart{lit: r.text})
			continue
		}
		ce := c.compile(r.text, false)
		if ce.err != nil {
			return nil, fmt.Errorf("%s: in {{ %s }}: %w", pos, strings.TrimSpace(r.text), ce.err)
		}
		t.parts = append(t.parts, templatePart{prog: ce.prog})
	}
	return t, nil
}

// Static reports whether the template has no expression.
func (t *Template) Static() bool {
	if t == nil {
		return true
	}
	for _, p := range t.parts {
		if p.prog != nil {
			return false
		}
	}
	return true
}

// Render fills the template. A nil value renders as "".
func (t *Template) Render(env *Env) (string, error) {
	if t == nil {
		return "", nil
	}
	switch len(t.parts) {
	case 0:
		return "", nil
	case 1:
		if t.parts[0].prog == nil {
			return t.parts[0].lit, nil
		}
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := vm.Run(p.prog, env)
		if err != nil {
			return "", fmt.Errorf("%s: %w", t.Pos, err)
		}
		switch v := v.(type) {
		case nil:
		case string: // the usual value (a name, a field); fmt would box and pool
			b.WriteString(v)
		default:
			b.WriteString(formatValue(v))
		}
	}
	return b.String(), nil
}

// formatValue is how a template renders a value: floats as digits, never
// in e-notation ("Rp 1350000", not "Rp 1.35e+06"), the rest as fmt does.
func formatValue(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// literalLen is the number of code points in the template's literal parts:
// a lower bound of any rendering's length.
func (t *Template) literalLen() int {
	n := 0
	for _, p := range t.parts {
		if p.prog == nil {
			n += utf8.RuneCountInString(p.lit)
		}
	}
	return n
}

// rawPart is a piece of a template's source.
type rawPart struct {
	text   string
	isExpr bool
	off    int // byte offset of the part ("{{" for expressions) in the source
}

type templateErr struct {
	msg string
	off int
}

// splitTemplate cuts s into literal text and {{ expression }} parts.
func splitTemplate(s string) ([]rawPart, *templateErr) {
	var parts []rawPart
	i := 0
	for {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			if i < len(s) {
				parts = append(parts, rawPart{text: s[i:], off: i})
			}
			return parts, nil
		}
		j += i
		if j > i {
			parts = append(parts, rawPart{text: s[i:j], off: i})
		}
		k := strings.Index(s[j+2:], "}}")
		if k < 0 {
			return nil, &templateErr{msg: "`{{` is not closed by `}}`", off: j}
		}
		src := s[j+2 : j+2+k]
		if strings.TrimSpace(src) == "" {
			return nil, &templateErr{msg: "empty expression `{{}}`", off: j}
		}
		parts = append(parts, rawPart{text: src, isExpr: true, off: j})
		i = j + 2 + k + 2
	}
}

// compiled is one compiled expression with the vars and match names it uses.
type compiled struct {
	prog  *vm.Program
	err   error
	vars  []string
	match []string
}

// compiler compiles expressions, each distinct source once.
type compiler struct {
	cache map[string]*compiled
}

func newCompiler() *compiler { return &compiler{cache: map[string]*compiled{}} }

func (c *compiler) compile(src string, asBool bool) *compiled {
	key := src
	if asBool {
		key = "\x00" + src
	}
	if ce, ok := c.cache[key]; ok {
		return ce
	}
	v := &refVisitor{}
	opts := []expr.Option{expr.Env(Env{}), expr.Patch(v)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	ce := &compiled{}
	prog, err := compileSafe(src, opts)
	if err != nil {
		ce.err = cleanExprErr(err)
	} else {
		ce.prog = prog
		ce.vars = v.vars
		ce.match = v.match
	}
	c.cache[key] = ce
	return ce
}

// compileSafe turns a panic inside the expression compiler into an error, so
// that no rules file can crash the server.
func compileSafe(src string, opts []expr.Option) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot compile expression: %v", r)
		}
	}()
	return expr.Compile(src, opts...)
}

// cleanExprErr drops expr's multi-line snippet and keeps the message,
// with a hint where rule authors commonly trip.
func cleanExprErr(err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	msg := explainNames(fe.Message)
	switch {
	case strings.Contains(msg, "time.Weekday"):
		msg += `; compare int(now.Weekday()) with 0 to 6 (0 is Sunday), or now.Weekday().String() with "Sunday"`
	case strings.Contains(msg, "time.Month"):
		msg += `; compare int(now.Month()) with 1 to 12, or now.Month().String() with "December"`
	}
	return errors.New(msg)
}

// refVisitor records vars.NAME and match.NAME references.
type refVisitor struct {
	vars, match []string
}

func (v *refVisitor) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch id.Value {
	case "vars":
		v.vars = appendUnique(v.vars, prop.Value)
	case "match":
		v.match = appendUnique(v.match, prop.Value)
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
