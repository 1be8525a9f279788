package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a Diagnostic stops the rule set from loading.
type Severity int

const (
	// Error makes Load fail: the rule set is not used.
	Error Severity = iota
	// Warning points at something that is probably a mistake; the set still loads.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in the rules, at a position.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Message  string
}

// String formats d as `file:line:col: message` (errors) or
// `file:line:col: warning: message` (warnings).
func (d Diagnostic) String() string {
	where := d.Pos.String()
	if d.Pos.Line == 0 {
		where = d.Pos.File
	}
	if d.Severity == Warning {
		return where + ": warning: " + d.Message
	}
	return where + ": " + d.Message
}

// SortDiagnostics orders diagnostics errors first, then warnings, each group
// by file, line and column.
func SortDiagnostics(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
}

// LoadError is the error Load returns when the rules have errors. It holds
// every diagnostic (errors and warnings), sorted with SortDiagnostics.
type LoadError struct {
	Diagnostics []Diagnostic
}

// Errors returns the error-severity diagnostics.
func (e *LoadError) Errors() []Diagnostic {
	var out []Diagnostic
	for _, d := range e.Diagnostics {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

func (e *LoadError) Error() string {
	errs := e.Errors()
	switch len(errs) {
	case 0:
		return "rules: no errors"
	case 1:
		return "rules: 1 error: " + errs[0].String()
	}
	return fmt.Sprintf("rules: %d errors, the first: %s", len(errs), errs[0].String())
}

// FormatDiagnostics returns one line per diagnostic.
func FormatDiagnostics(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
