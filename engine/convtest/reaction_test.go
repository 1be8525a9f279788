package convtest

import (
	"testing"
)

// A customer's reaction carries its emoji; one without is a reaction taken
// back. A test can send either, so that a rule answering only real
// reactions (`message.reaction.emoji != ""`, as the README advises) is
// tested as the server runs it.
func TestReactionCarriesItsEmoji(t *testing.T) {
	mustPass(t, `
version: 1
rules:
  - id: suka
    when: {type: reaction, expr: 'message.reaction.emoji != ""'}
    reply: "Terima kasih {{ message.reaction.emoji }}"
`, `
tests:
  - name: a reaction
    steps:
      - send: {type: reaction, emoji: "❤️"}
        expect: {rule: suka, reply: "Terima kasih ❤️"}
  - name: a reaction taken back
    steps:
      - send: {type: reaction}
        expect: {no_reply: true}
`)
	if _, err := Parse("r_test.yaml", []byte("tests:\n  - name: r\n    steps:\n      - send: {text: halo, emoji: \"👍\"}\n")); err == nil {
		t.Error("an emoji on a text parsed")
	}
}
