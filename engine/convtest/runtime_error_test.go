package convtest

import (
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

// A step whose answering rule fails at run time (a reply dropped, a session
// value not set) must not pass: the server logs the error and sends less
// than the rule says, so `balas test` saying PASS hides a broken rule.
func TestRuntimeErrorsOfTheAnsweringRuleFail(t *testing.T) {
	set, diags, err := rules.Parse("r.yaml", []byte(`
version: 1
rules:
  - id: kali
    when: {keywords: [kali]}
    set: {n: "3"}
    reply: "Dua kali: {{ session.n * 2 }}"
  - id: simpan
    when: {keywords: [simpan]}
    set: {total: "{{ session.qty * 1000 }}"}
    reply: ok
  - id: dua
    when: {keywords: [dua]}
    reply: ["{{ session.x.y }}", "kedua"]
  - id: baik
    when: {keywords: [baik]}
    reply: baik
`))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	b := engine.New(set)
	tests := []struct {
		send, expect string
		want         string // "" = passes
	}{
		{"kali", "{rule: kali}", "t_test.yaml:4: step 1: rule kali: reply 1 dropped: r.yaml:7:12: invalid operation: string * int"},
		{"simpan", "{rule: simpan, reply: ok}", "t_test.yaml:4: step 1: rule simpan: set total: r.yaml:10:18: invalid operation: <nil> * int"},
		{"dua", "{contains: kedua}", "t_test.yaml:4: step 1: rule dua: reply 1 dropped: r.yaml:14:13: cannot fetch y from <nil>"},
		{"baik", "{rule: baik}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.send, func(t *testing.T) {
			s, err := Parse("t_test.yaml", []byte("tests:\n  - name: t\n    steps:\n      - send: "+tt.send+"\n        expect: "+tt.expect+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			r := Run(b, s)[0]
			switch {
			case tt.want == "" && !r.Passed():
				t.Errorf("failed: %s", r.Failure)
			case tt.want != "" && r.Passed():
				t.Errorf("passed; want a failure %q", tt.want)
			case tt.want != "" && !strings.HasPrefix(r.Failure.String(), tt.want):
				t.Errorf("got  %s\nwant %s…", r.Failure, tt.want)
			}
		})
	}
}
