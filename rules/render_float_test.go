package rules

import "testing"

// Prices in rupiah run into millions: a computed price must render as
// digits, never in e-notation ("Rp 1.35e+06").
func TestRenderFloatsWithoutExponent(t *testing.T) {
	tests := []struct {
		src  string
		vars map[string]any
		want string
	}{
		{"Rp {{ vars.harga * 0.9 }}", map[string]any{"harga": 1500000}, "Rp 1350000"},
		{"{{ 2 * 1000000.0 }}", nil, "2000000"},
		{"{{ vars.harga }}", map[string]any{"harga": 2500000.0}, "2500000"},
		{"{{ vars.harga / 4 }}", map[string]any{"harga": 10}, "2.5"},
		{"{{ 0.000001 }}", nil, "0.000001"},
		{"{{ 12345 }}", nil, "12345"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tmpl, err := CompileTemplate(tt.src, Pos{File: "t.yaml", Line: 1, Col: 1})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(&Env{Vars: tt.vars})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
