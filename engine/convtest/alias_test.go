package convtest

import (
	"strings"
	"testing"
)

// A step's expect and a test's contact given by a YAML alias are read as if
// written out: an aliased expect is checked, not passed unread.
func TestAliasesAreRead(t *testing.T) {
	s, err := Parse("shop_test.yaml", []byte(`
tests:
  - name: aliased expect
    contact: &budi {name: Budi, wa_id: "628123456789"}
    steps:
      - send: menu
        expect: &want {rule: menu}
      - send: halo
        expect: *want
  - name: aliased contact
    contact: *budi
    steps:
      - send: halo
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Tests[1].Contact; got.Name != "Budi" || got.WaID != "628123456789" {
		t.Errorf("the second test's contact is %+v, want Budi", got)
	}
	if res := Run(bot(t), s); res[0].Passed() {
		t.Errorf("passed although step 2 was answered by %v, not menu: the aliased expect was not read", res[0].Rules)
	}
}

// balas test answers what the server answers: a reaction only by a rule
// with `type: reaction`, a system message never; and it refuses text on a
// message that carries none on WhatsApp.
func TestReactionsAndSystemMessagesAsOnTheServer(t *testing.T) {
	mustPass(t, `
version: 1
rules:
  - id: sapa
    when: {keywords: [halo]}
    reply: hai
  - id: suka
    when: {type: reaction}
    reply: Terima kasih!
  - id: bantuan
    fallback: true
    reply: Maaf, aku belum paham.
`, `
tests:
  - name: a reaction is answered by the reaction rule
    steps:
      - send: {type: reaction}
        expect: {rule: suka}
  - name: a system message gets no reply
    steps:
      - send: {type: system}
        expect: {no_reply: true}
`)
	// The fallback never answers a reaction.
	mustPass(t, "version: 1\nrules:\n  - id: bantuan\n    fallback: true\n    reply: Maaf\n",
		"tests:\n  - name: r\n    steps:\n      - send: {type: reaction}\n        expect: {no_reply: true}\n")
	if _, err := Parse("r_test.yaml", []byte("tests:\n  - name: s\n    steps:\n      - send: {type: sticker, text: halo}\n")); err == nil ||
		!strings.Contains(err.Error(), "a sticker carries no text on WhatsApp") {
		t.Errorf("text on a sticker: %v", err)
	}
}
