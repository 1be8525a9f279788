package convtest

import (
	"testing"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

// A customer's reaction carries its emoji; one without is a reaction taken
// back. A test can send either, so that a rule answering only real
// reactions (`message.reaction.emoji != ""`, as the README advises) is
// tested as the server runs it.
func TestReactionCarriesItsEmoji(t *testing.T) {
	set, diags, err := rules.Parse("r.yaml", []byte(`
version: 1
rules:
  - id: suka
    when: {type: reaction, expr: 'message.reaction.emoji != ""'}
    reply: "Terima kasih {{ message.reaction.emoji }}"
`))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	s, err := Parse("r_test.yaml", []byte(`
tests:
  - name: a reaction
    steps:
      - send: {type: reaction, emoji: "❤️"}
        expect: {rule: suka, reply: "Terima kasih ❤️"}
  - name: a reaction taken back
    steps:
      - send: {type: reaction}
        expect: {no_reply: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Run(engine.New(set), s) {
		if !r.Passed() {
			t.Errorf("%s: %s", r.Name, r.Failure)
		}
	}
	if _, err := Parse("r_test.yaml", []byte("tests:\n  - name: r\n    steps:\n      - send: {text: halo, emoji: \"👍\"}\n")); err == nil {
		t.Error("an emoji on a text parsed")
	}
}
