package webhook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func decodeFake(t *testing.T, f Fake) (*InboundMessage, []byte) {
	t.Helper()
	body := f.Body()
	if !json.Valid(body) {
		t.Fatalf("invalid JSON: %s", body)
	}
	for _, c := range body {
		if c >= 0x80 || c == '\n' {
			t.Fatalf("body is not compact ASCII like Meta's: %s", body)
		}
	}
	d, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Object != ObjectWhatsAppBusinessAccount || len(d.Messages) != 1 || len(d.Statuses) != 0 || len(d.Events) != 0 {
		t.Fatalf("Delivery = %+v", d)
	}
	if !VerifySignature(testSecret, body, Sign(testSecret, body)) {
		t.Fatal("fake body does not verify")
	}
	return &d.Messages[0], body
}

func TestFakeText(t *testing.T) {
	ts := time.Unix(1789365600, 0)
	text := "Halo kak 👋 ada batik <tulis> & cap? https://x.id/a — café"
	m, body := decodeFake(t, Fake{From: budi, UserID: budiUID, Name: "Budi Santoso 🌸", Text: text, Timestamp: ts, WamID: "wamid.TEST"})
	if m.Type != TypeText || m.TypedText() != text || m.From != budi || m.FromUserID != budiUID || m.ID != "wamid.TEST" || !m.Time().Equal(ts) {
		t.Errorf("message = %+v", m.Message)
	}
	if m.Metadata != (Metadata{DisplayPhoneNumber: FakeDisplayPhoneNumber, PhoneNumberID: FakePhoneNumberID}) || m.EntryID != FakeWABAID {
		t.Errorf("Metadata = %+v, EntryID = %q", m.Metadata, m.EntryID)
	}
	if m.Contact == nil || m.Contact.Profile.Name != "Budi Santoso 🌸" || m.Contact.WaID != budi || m.Contact.UserID != budiUID {
		t.Errorf("Contact = %+v", m.Contact)
	}
	for _, want := range []string{`https:\/\/x.id\/a`, `\ud83d\udc4b`, `\u2014`, `caf\u00e9`, `<tulis> & cap`, `"timestamp":"1789365600"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body lacks Meta-style %s: %s", want, body)
		}
	}
	// Same key order and shape as the wire-exact fixture.
	wantPrefix := `{"object":"whatsapp_business_account","entry":[{"id":"104857600123456","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"6281188880000","phone_number_id":"113355779900246"},"contacts":[{"profile":{"name":"Budi Santoso \ud83c\udf38"},"wa_id":"6281234567890","user_id":"ID.7719384456021937"}],"messages":[{"from":"6281234567890","from_user_id":"ID.7719384456021937","id":"wamid.TEST","timestamp":"1789365600","type":"text","text":{"body":`
	if !bytes.HasPrefix(body, []byte(wantPrefix)) || !bytes.HasSuffix(body, []byte(`"}}]},"field":"messages"}]}]}`)) {
		t.Errorf("body = %s", body)
	}
}

func TestFakeDefaults(t *testing.T) {
	before := time.Now().Add(-time.Second)
	m, _ := decodeFake(t, Fake{Text: "hi"})
	if m.From != FakeFrom || m.CustomerKey() != FakeFrom || m.Contact == nil {
		t.Errorf("From = %q, Contact = %+v", m.From, m.Contact)
	}
	if m.Time().Before(before) || m.Time().After(time.Now().Add(time.Second)) {
		t.Errorf("Time() = %v", m.Time())
	}
	if !strings.HasPrefix(m.ID, "wamid.HBgN") {
		t.Errorf("ID = %q", m.ID)
	}
	m2, _ := decodeFake(t, Fake{Text: "hi"})
	if m2.ID == m.ID {
		t.Errorf("wamids repeat: %q", m.ID)
	}
	m3, _ := decodeFake(t, Fake{Text: "x", PhoneNumberID: "120033445566778", DisplayPhoneNumber: "6282177770000", WABAID: "198765432109876", From: putu})
	if m3.Metadata.PhoneNumberID != "120033445566778" || m3.Metadata.DisplayPhoneNumber != "6282177770000" || m3.EntryID != "198765432109876" || m3.From != putu {
		t.Errorf("message = %+v", m3)
	}
}

func TestFakeButton(t *testing.T) {
	m, _ := decodeFake(t, Fake{From: siti, ButtonID: "btn_order", ButtonTitle: "Order Sekarang", Text: "ignored"})
	if m.Type != TypeInteractive || m.TypedText() != "" {
		t.Errorf("message = %+v", m.Message)
	}
	checkReply(t, m, ReplyButton, "btn_order", "Order Sekarang", "")
	if !m.IsReply() || m.Context.From != FakeDisplayPhoneNumber || !strings.HasPrefix(m.Context.ID, "wamid.") {
		t.Errorf("Context = %+v", m.Context)
	}
}

func TestFakeList(t *testing.T) {
	m, _ := decodeFake(t, Fake{From: siti, ListID: "kirim_jne_reg", ListTitle: "JNE REG"})
	if m.Type != TypeInteractive || m.Interactive.Type != InteractiveListReply {
		t.Errorf("message = %+v", m.Message)
	}
	checkReply(t, m, ReplyList, "kirim_jne_reg", "JNE REG", "")
}

func TestFakeImage(t *testing.T) {
	m, _ := decodeFake(t, Fake{From: dewi, Image: true, Text: "motif ini ya"})
	if m.Type != TypeImage || m.Image == nil || m.TypedText() != "motif ini ya" || m.Image.MimeType != "image/jpeg" ||
		m.Image.ID == "" || m.Image.SHA256 == "" || !strings.HasPrefix(m.Image.URL, "https://lookaside.fbsbx.com/") {
		t.Errorf("message = %+v, image %+v", m.Message, m.Image)
	}
	m, _ = decodeFake(t, Fake{From: dewi, Image: true})
	if m.Image == nil || m.Image.Caption != "" {
		t.Errorf("image = %+v", m.Image)
	}
}

func TestFakeUsernameUser(t *testing.T) {
	m, body := decodeFake(t, Fake{UserID: "ID.1234567890", Name: "Anon", Text: "halo"})
	if m.From != "" || m.FromUserID != "ID.1234567890" || m.CustomerKey() != "ID.1234567890" {
		t.Errorf("From = %q, FromUserID = %q, CustomerKey = %q", m.From, m.FromUserID, m.CustomerKey())
	}
	if m.Contact == nil || m.Contact.UserID != "ID.1234567890" || m.Contact.WaID != "" {
		t.Errorf("Contact = %+v", m.Contact)
	}
	if bytes.Contains(body, []byte(`"from"`)) || bytes.Contains(body, []byte(`"wa_id"`)) {
		t.Errorf("body has from/wa_id: %s", body)
	}
}

func TestMetaEscape(t *testing.T) {
	in := `{"a":"/é€😀\u2028x"}`
	want := `{"a":"\/\u00e9\u20ac\ud83d\ude00\u2028x"}`
	if got := string(metaEscape([]byte(in))); got != want {
		t.Errorf("metaEscape = %s, want %s", got, want)
	}
}
