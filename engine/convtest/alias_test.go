package convtest

import "testing"

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
