package rules

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Glob matches ids and numbers with `*` standing for any run of characters.
type Glob struct {
	Pattern string
}

// Match reports whether s matches the glob.
func (g Glob) Match(s string) bool { return globMatch(g.Pattern, s) }

func globMatch(p, s string) bool {
	star := strings.IndexByte(p, '*')
	if star < 0 {
		return p == s
	}
	if !strings.HasPrefix(s, p[:star]) {
		return false
	}
	s = s[star:]
	p = p[star+1:]
	for {
		if globMatch(p, s) {
			return true
		}
		if s == "" {
			return false
		}
		s = s[1:]
	}
}

// Expr is a compiled boolean expression (`when.expr`).
type Expr struct {
	Source  string
	Pos     Pos
	program *vm.Program
}

// CompileExpr compiles and type-checks a boolean expression against Env.
func CompileExpr(src string, pos Pos) (*Expr, error) {
	p, err := expr.Compile(src, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		return nil, err
	}
	return &Expr{Source: src, Pos: pos, program: p}, nil
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

// Static reports whether the template has no expression.
func (t *Template) Static() bool {
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
	if len(t.parts) == 1 && t.parts[0].prog == nil {
		return t.parts[0].lit, nil
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
		if v != nil {
			fmt.Fprint(&b, v)
		}
	}
	return b.String(), nil
}
