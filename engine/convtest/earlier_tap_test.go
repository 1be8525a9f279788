package convtest

import (
	"testing"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

// A customer may tap a row of a list the bot sent before its last answer:
// the list is still on the screen, and WhatsApp sends the row's title and
// description with the tap. A test tapping it sees them too, not the id.
func TestTapOnAnEarlierReplyCarriesItsTitle(t *testing.T) {
	set, diags, err := rules.Parse("r.yaml", []byte(`
version: 1
rules:
  - id: menu
    when: {keywords: [menu]}
    reply:
      list:
        body: Pilih produk
        button: Lihat
        sections:
          - rows:
              - {id: product_001, title: Produk A, description: "Rp 100.000"}
  - id: pilih
    when: {list: "product_*"}
    set: {product: "{{ message.reply.title }}", price: "{{ message.reply.description }}"}
    reply: "Kamu memilih {{ message.reply.title }}"
  - id: bantuan
    fallback: true
    reply: Ketik menu
`))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.FormatDiagnostics(diags))
	}
	s, err := Parse("t_test.yaml", []byte(`
tests:
  - name: tap after another answer
    steps:
      - send: menu
        expect: {rows: [product_001]}
      - send: ada warna lain?
        expect: {rule: bantuan}
      - send: {list: product_001}
        expect: {reply: Kamu memilih Produk A, session: {product: Produk A, price: "Rp 100.000"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := Run(engine.New(set), s)[0]; !r.Passed() {
		t.Error(r.Failure)
	}
}
