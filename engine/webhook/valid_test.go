package webhook

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1e+5`, `1E-05`, `-12.50e3`,
	`true`, `tru`, `truex`, `null`, `nul`, `false `, ` [1, 2 ,3 ] `, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`,
	`{"a":1 "b":2}`, `{1:2}`, `{"a":{"b":[{"c":null}]}}`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\u12"`, `"\x"`,
	"\"tab\there\"", "\"\x7f\"", "\"\xff\xfe\"", `"unterminated`, `{"a":"b"}}`, `[]]`, `{"a":[}`,
	"\ufeff{}", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{},"field":"messages"}]}]}`,
}

func TestValidJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", c, got, want)
		}
	}
	// encoding/json allows 10,000 levels of nesting and no more.
	for _, depth := range []int{9999, 10000, 10001, 20000} {
		for _, open := range []string{"[", `{"a":`} {
			closing := "]"
			if open != "[" {
				closing = "}"
			}
			c := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closing, depth))
			if got, want := validJSON(c), json.Valid(c); got != want {
				t.Errorf("%d levels of %s: validJSON %v, json.Valid %v", depth, open, got, want)
			}
		}
	}
	for _, name := range []string{"text.json", "status_read.json", "batch_multi.json", "text_unicode.json"} {
		body := readFixture(t, name)
		if !validJSON(body) {
			t.Errorf("%s: not valid", name)
		}
	}
}

// FuzzValidJSON holds validJSON equal to json.Valid on any bytes.
func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	body := readFixture(b, "text.json")
	for _, f := range []struct {
		name  string
		valid func([]byte) bool
	}{{"validJSON", validJSON}, {"json.Valid", json.Valid}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !f.valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
