package rules

import (
	"strings"
	"testing"
)

// A phone number or an account number written without quotes under `vars`
// is read by YAML as a number and loses what makes it one: `0812345`
// rendered "812345", `+62812…` lost its +, a 22-digit account number came
// out as 1.2345678901234568e+21. balas check said nothing.
func TestVarsNumbersThatChangeWarned(t *testing.T) {
	tests := []struct {
		name, vars string
		want       []string
	}{
		{"leading zero", "nomor: 0812345", []string{"r.yaml:2:15: warning: `vars.nomor` is read as the number 812345, not 0812345 as written; quote it (\"0812345\") to keep it as written"}},
		{"plus sign", "hp: +6281234567890", []string{"r.yaml:2:12: warning: `vars.hp` is read as the number 6281234567890, not +6281234567890 as written; quote it (\"+6281234567890\") to keep it as written"}},
		{"long account number", "rek: 1234567890123456789012", []string{"r.yaml:2:13: warning: `vars.rek` is read as the number 1234567890123456800000, not 1234567890123456789012 as written; quote it (\"1234567890123456789012\") to keep it as written"}},
		{"plain numbers are fine", "harga: 15000\n  diskon: 0.1\n  besar: 1500000000", nil},
		{"quoted is fine", "nomor: \"0812345\"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "version: 1\nvars: {x: 1}\nrules: []\n"
			src = strings.Replace(src, "vars: {x: 1}", "vars:\n  "+tt.vars, 1)
			src = strings.Replace(src, "vars:\n  ", "vars: {", 1)
			src = strings.Replace(src, "\nrules:", "}\nrules:", 1)
			src = strings.ReplaceAll(src, "\n  ", ", ")
			got, _, err := loadDiags(t, writeRules(t, map[string]string{"r.yaml": src}))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("%s\ngot:\n%s\nwant:\n%s", src, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
