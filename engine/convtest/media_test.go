package convtest

import (
	"testing"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

// WhatsApp gives every media message an id and a MIME type: a rule that
// sends the customer's file back by its id answers in a test as it does on
// the server, instead of a reply dropped for an empty id.
func TestMediaMessagesCarryAnIdAndMimeType(t *testing.T) {
	set, diags, err := rules.Parse("r.yaml", []byte(`
version: 1
rules:
  - id: balik
    when: {type: [image, video, audio, document, sticker]}
    reply:
      - "{{ message.media.mime_type != '' }}"
      - {document: {id: "{{ message.media.id }}"}}
`))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	s, err := Parse("r_test.yaml", []byte(`
tests:
  - name: media
    steps:
      - send: {type: image, text: bukti}
        expect: {rule: balik, reply: "true"}
      - send: {type: video}
        expect: {rule: balik, reply: "true"}
      - send: {type: audio}
        expect: {rule: balik, reply: "true"}
      - send: {type: document}
        expect: {rule: balik, reply: "true"}
      - send: {type: sticker}
        expect: {rule: balik, reply: "true"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := Run(engine.New(set), s)[0]; !r.Passed() {
		t.Error(r.Failure)
	}
}
