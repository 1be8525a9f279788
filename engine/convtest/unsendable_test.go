package convtest

import (
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/outbound"
	"github.com/balas-bot/balas/rules"
)

// A reply whose templates leave out what WhatsApp needs (a text that
// renders empty, a media link that renders empty) is never sent: the sender
// refuses to build it. The test of a step answered so must fail, as it does
// for any reply the server drops, instead of passing on a message the
// customer never gets.
func TestRepliesTheSenderCannotBuildFailTheStep(t *testing.T) {
	set, diags, err := rules.Parse("r.yaml", []byte(`
version: 1
rules:
  - id: catatan
    when: {keywords: [catatan]}
    reply: "{{ session.note }}"
  - id: foto
    when: {keywords: [foto]}
    reply: {image: {link: "{{ session.url }}"}}
  - id: isi
    when: {keywords: [isi]}
    set: {note: ada, url: "https://example.com/a.jpg"}
    reply: ["{{ session.note }}", {image: {link: "{{ session.url }}"}}]
`))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	b := engine.New(set)
	tests := []struct {
		send string
		want string // "" = passes
	}{
		{"catatan", "t_test.yaml:4: step 1: rule catatan: reply 1 dropped: "},
		{"foto", "t_test.yaml:4: step 1: rule foto: reply 1 dropped: "},
		{"isi", ""},
	}
	for _, tt := range tests {
		t.Run(tt.send, func(t *testing.T) {
			s, err := Parse("t_test.yaml", []byte("tests:\n  - name: t\n    steps:\n      - send: "+tt.send+"\n        expect: {rule: "+tt.send+"}\n"))
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
			// Whatever the engine answers, the sender can send.
			d := b.Decide(Inbound(DefaultContact, Send{Type: "text", Text: tt.send}, nil, DefaultAt), engine.Conversation{}, DefaultAt)
			for i, rep := range d.Replies {
				if _, err := outbound.BuildMessage(outbound.Recipient{Number: DefaultContact.WaID}, rep, "wamid.x"); err != nil {
					t.Errorf("reply %d is answered but cannot be sent: %v", i+1, err)
				}
			}
		})
	}
}
