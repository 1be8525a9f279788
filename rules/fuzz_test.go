package rules

import (
	"os"
	"testing"
)

// FuzzLoad: no rules file, however broken, may panic the loader.
func FuzzLoad(f *testing.F) {
	if data, err := os.ReadFile("testdata/shop.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("version: 1\nrules:\n  - id: a\n    when: {keywords: [x], regex: '(?P<n>a)'}\n    reply: '{{ match.n }}'\n"))
	f.Add([]byte("version: 1\nrules: [{id: a, reply: {template: {name: x, language: id, components: [{a: '{{ vars.x }}'}]}}}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("version: 1\nrules:\n  - &r {id: a, reply: x}\n  - *r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, diags, err := Parse("f.yaml", data)
		if (err != nil) != hasError(diags) {
			t.Fatalf("err %v but diagnostics %v", err, diags)
		}
		if err == nil && set == nil {
			t.Fatal("nil set without error")
		}
	})
}

func hasError(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}
