package rules

import (
	"strings"
	"testing"
)

// `timezone: Local` depends on the machine: refused.
func TestTimezoneLocalRefused(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		// Local is the machine's zone: `balas test` on a laptop in WIB and
		// the server in UTC would answer differently.
		{"timezone Local", "version: 1\nsettings: {timezone: Local}\nrules: []\n",
			[]string{"r.yaml:2:22: time zone `Local` is the zone of the machine balas runs on, which differs between your computer and the server; write an IANA name like Asia/Jakarta"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _ := loadDiags(t, writeRules(t, map[string]string{"r.yaml": tt.yaml}))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
