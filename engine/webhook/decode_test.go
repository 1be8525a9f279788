package webhook

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	budi      = "6281234567890"
	budiUID   = "ID.7719384456021937"
	siti      = "6285712345678"
	dewi      = "6287798765432"
	agus      = "6281398765401"
	rina      = "6289612340987"
	putu      = "6281337001122"
	yanti     = "6281577001234"
	ourPhone  = "113355779900246"
	ourWABA   = "104857600123456"
	ourNumber = "6281188880000"
)

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(names) == 0 {
		tb.Fatal("no fixtures in testdata")
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// single asserts that d holds exactly one inbound message from the fixture
// business, sent by from with the given profile name, and returns it.
func single(t *testing.T, d *Delivery, typ, from, name string) *InboundMessage {
	t.Helper()
	if len(d.Messages) != 1 || len(d.Statuses) != 0 || len(d.Events) != 0 {
		t.Fatalf("got %d messages, %d statuses, %d events; want 1, 0, 0", len(d.Messages), len(d.Statuses), len(d.Events))
	}
	m := &d.Messages[0]
	if m.Type != typ {
		t.Errorf("Type = %q, want %q", m.Type, typ)
	}
	if m.From != from {
		t.Errorf("From = %q, want %q", m.From, from)
	}
	if m.Metadata.PhoneNumberID != ourPhone || m.Metadata.DisplayPhoneNumber != ourNumber {
		t.Errorf("Metadata = %+v", m.Metadata)
	}
	if m.EntryID != ourWABA {
		t.Errorf("EntryID = %q", m.EntryID)
	}
	if !strings.HasPrefix(m.ID, "wamid.") {
		t.Errorf("ID = %q", m.ID)
	}
	if m.Time().IsZero() || m.Time().Unix() < 1789365600 || m.Time().Unix() > 1789466000 {
		t.Errorf("Time() = %v (timestamp %q)", m.Time(), m.Timestamp)
	}
	if name == "" {
		if m.Contact != nil {
			t.Errorf("Contact = %+v, want nil", m.Contact)
		}
	} else {
		if m.Contact == nil {
			t.Fatalf("Contact = nil, want %q", name)
		}
		if m.Contact.Profile.Name != name || m.Contact.WaID != from {
			t.Errorf("Contact = %+v, want %q/%q", m.Contact, name, from)
		}
	}
	return m
}

func singleStatus(t *testing.T, d *Delivery, status, recipient string) *StatusUpdate {
	t.Helper()
	if len(d.Messages) != 0 || len(d.Statuses) != 1 || len(d.Events) != 0 {
		t.Fatalf("got %d messages, %d statuses, %d events; want 0, 1, 0", len(d.Messages), len(d.Statuses), len(d.Events))
	}
	s := &d.Statuses[0]
	if s.Status.Status != status || s.RecipientID != recipient {
		t.Errorf("status %q to %q, want %q to %q", s.Status.Status, s.RecipientID, status, recipient)
	}
	if s.Metadata.PhoneNumberID != ourPhone || s.EntryID != ourWABA {
		t.Errorf("Metadata = %+v, EntryID = %q", s.Metadata, s.EntryID)
	}
	if s.Time().IsZero() {
		t.Errorf("Time() is zero for %q", s.Timestamp)
	}
	if len(s.Raw) == 0 || !json.Valid(s.Raw) {
		t.Errorf("Raw = %q", s.Raw)
	}
	return s
}

func checkFreePricing(t *testing.T, s *StatusUpdate) {
	t.Helper()
	p := s.Pricing
	if p == nil || p.Billable == nil || *p.Billable || p.PricingModel != "PMP" || p.Type != "free_customer_service" || p.Category != "service" {
		t.Errorf("Pricing = %+v", p)
	}
}

func checkReply(t *testing.T, m *InboundMessage, kind, id, title, desc string) {
	t.Helper()
	k, i, ti, de := m.ReplyRef()
	if k != kind || i != id || ti != title || de != desc {
		t.Errorf("ReplyRef() = %q, %q, %q, %q; want %q, %q, %q, %q", k, i, ti, de, kind, id, title, desc)
	}
}

var fixtureChecks = map[string]func(t *testing.T, d *Delivery){
	"text.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeText, budi, "Budi Santoso")
		if m.Text == nil || m.TypedText() != "Halo kak, batik tulis motif parang yang warna sogan masih ready?" {
			t.Errorf("Text = %+v", m.Text)
		}
		if m.FromUserID != budiUID || m.CustomerKey() != budiUID || m.Contact.UserID != budiUID {
			t.Errorf("FromUserID = %q, CustomerKey = %q", m.FromUserID, m.CustomerKey())
		}
		if want := time.Date(2026, 9, 14, 6, 0, 0, 0, time.UTC); !m.Time().Equal(want) {
			t.Errorf("Time() = %v, want %v", m.Time(), want)
		}
		if m.Context != nil || m.IsReply() {
			t.Errorf("Context = %+v", m.Context)
		}
		checkReply(t, m, "", "", "", "")
	},
	"text_unicode.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeText, siti, "Siti Rahmawati 🌸")
		want := "Halo kak 👋 mau pesan 2 kemeja batik — ukuran L & XL. Katalognya di https://tokobatiklaras.id/katalog ya? Terima kasih 🙏☕ (café à côté über 日本)"
		if got := m.TypedText(); got != want {
			t.Errorf("body = %q\nwant   %q", got, want)
		}
	},
	"image.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeImage, dewi, "Dewi Lestari")
		im := m.Image
		if im == nil || im.ID != "7406229051043011" || im.MimeType != "image/jpeg" ||
			im.SHA256 != "FFE0zcfabmvW6qFvaosw1XvKZA1o+MCF0WGJy1slyzE=" || !strings.HasPrefix(im.URL, "https://lookaside.fbsbx.com/") {
			t.Errorf("Image = %+v", im)
		}
		if m.TypedText() != "Kak, saya mau yang motifnya seperti ini" || m.Media() != im {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
	},
	"video.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeVideo, rina, "Rina Wulandari")
		if v := m.Video; v == nil || v.ID != "6471732832417198" || v.MimeType != "video/mp4" {
			t.Errorf("Video = %+v", v)
		}
		if m.TypedText() != "Ini video unboxing pesanan kemarin" {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
		if m.Context == nil || !m.Context.Forwarded || m.Context.FrequentlyForwarded || m.IsReply() {
			t.Errorf("Context = %+v", m.Context)
		}
	},
	"audio.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeAudio, agus, "Agus Prasetyo")
		if a := m.Audio; a == nil || a.ID != "7874555582226760" || !a.Voice || a.MimeType != "audio/ogg; codecs=opus" {
			t.Errorf("Audio = %+v", a)
		}
		if m.TypedText() != "" || m.Media() != m.Audio {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
	},
	"document.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeDocument, budi, "Budi Santoso")
		if doc := m.Document; doc == nil || doc.ID != "6587557481860502" || doc.Filename != "bukti_transfer_INV-2026-0914.pdf" || doc.MimeType != "application/pdf" {
			t.Errorf("Document = %+v", doc)
		}
		if m.TypedText() != "Bukti transfer BCA untuk INV-2026-0914" {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
	},
	"sticker.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeSticker, siti, "Siti Rahmawati")
		if s := m.Sticker; s == nil || s.ID != "6935975659059581" || s.Animated || s.MimeType != "image/webp" {
			t.Errorf("Sticker = %+v", s)
		}
		if m.TypedText() != "" {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
	},
	"location.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeLocation, dewi, "Dewi Lestari")
		l := m.Location
		if l == nil || l.Latitude != -7.798722 || l.Longitude != 110.365267 || l.Name != "Pasar Beringharjo" ||
			!strings.HasPrefix(l.Address, "Jl. Margo Mulyo No. 16") {
			t.Errorf("Location = %+v", l)
		}
	},
	"contacts.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeContacts, agus, "Agus Prasetyo")
		if len(m.Contacts) != 1 {
			t.Fatalf("Contacts = %+v", m.Contacts)
		}
		c := m.Contacts[0]
		if c.Name.FormattedName != "Wahyu Hidayat" || c.Name.FirstName != "Wahyu" || c.Name.LastName != "Hidayat" {
			t.Errorf("Name = %+v", c.Name)
		}
		if c.Org == nil || c.Org.Company != "CV Maju Jaya Konveksi" {
			t.Errorf("Org = %+v", c.Org)
		}
		if len(c.Phones) != 1 || c.Phones[0] != (ContactPhone{Phone: "+62 812-7788-9900", WaID: "6281277889900", Type: "CELL"}) {
			t.Errorf("Phones = %+v", c.Phones)
		}
		if len(c.Emails) != 1 || c.Emails[0] != (ContactEmail{Email: "wahyu@majujaya.co.id", Type: "WORK"}) {
			t.Errorf("Emails = %+v", c.Emails)
		}
	},
	"button_reply.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeInteractive, budi, "Budi Santoso")
		if m.Interactive == nil || m.Interactive.Type != InteractiveButtonReply {
			t.Errorf("Interactive = %+v", m.Interactive)
		}
		checkReply(t, m, ReplyButton, "btn_order", "Order Sekarang", "")
		if !m.IsReply() || m.Context.From != ourNumber || m.Context.ID != "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEkRFQjBCOTY5MUI1QTczM0I4RgA=" {
			t.Errorf("Context = %+v", m.Context)
		}
	},
	"list_reply.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeInteractive, siti, "Siti Rahmawati")
		checkReply(t, m, ReplyList, "kirim_jne_reg", "JNE REG", "Estimasi 2-3 hari, Rp 18.000")
		if !m.IsReply() {
			t.Errorf("Context = %+v", m.Context)
		}
	},
	"template_button.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeButton, rina, "Rina Wulandari")
		if m.Button == nil || m.Button.Payload != "KONFIRMASI:INV-2026-0914" || m.Button.Text != "Ya, konfirmasi" {
			t.Errorf("Button = %+v", m.Button)
		}
		checkReply(t, m, ReplyButton, "KONFIRMASI:INV-2026-0914", "Ya, konfirmasi", "")
		if !m.IsReply() || m.Context.ID != "wamid.HBgNNjI4OTYxMjM0MDk4NxUCABEYEkZBRTlCMjhGMzEwQzIwOEY4QgA=" {
			t.Errorf("Context = %+v", m.Context)
		}
	},
	"reaction.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeReaction, dewi, "Dewi Lestari")
		r := m.Reaction
		if r == nil || r.Emoji != "❤️" || r.Removed() || r.MessageID != "wamid.HBgNNjI4Nzc5ODc2NTQzMhUCABEYEjNFQTNCMDIzREQzRTQ2RUEyNAA=" {
			t.Errorf("Reaction = %+v", r)
		}
	},
	"order.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeOrder, putu, "Putu Ayu Lestari")
		o := m.Order
		if o == nil || o.CatalogID != "771204995538821" || o.Text != "Tolong dikirim sebelum Jumat ya kak" || len(o.ProductItems) != 2 {
			t.Fatalf("Order = %+v", o)
		}
		want := []ProductItem{
			{ProductRetailerID: "BTK-PRG-SOGAN-L", Quantity: 2, ItemPrice: 350000, Currency: "IDR"},
			{ProductRetailerID: "SELENDANG-MEGA-01", Quantity: 1, ItemPrice: 125000, Currency: "IDR"},
		}
		for i := range want {
			if o.ProductItems[i] != want[i] {
				t.Errorf("ProductItems[%d] = %+v, want %+v", i, o.ProductItems[i], want[i])
			}
		}
	},
	"system.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeSystem, agus, "")
		s := m.System
		if s == nil || s.Type != "user_changed_number" || s.WaID != "6281399887766" || !strings.Contains(s.Body, "changed from") {
			t.Errorf("System = %+v", s)
		}
		if m.FromUserID != "" || m.CustomerKey() != agus {
			t.Errorf("CustomerKey() = %q", m.CustomerKey())
		}
	},
	"unsupported.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeUnsupported, yanti, "Yanti Kusuma")
		if m.Unsupported == nil || m.Unsupported.Type != "poll_creation" {
			t.Errorf("Unsupported = %+v", m.Unsupported)
		}
		if len(m.Errors) != 1 || m.Errors[0].Code != 131051 || m.Errors[0].Title != "Message type unknown" ||
			m.Errors[0].ErrorData.Details != "Message type is currently not supported." {
			t.Errorf("Errors = %+v", m.Errors)
		}
	},
	"referral.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeText, yanti, "Yanti Kusuma")
		r := m.Referral
		if r == nil || r.SourceType != "ad" || r.SourceID != "120231448800112233" || r.SourceURL != "https://fb.me/8kPqT2vLx" ||
			r.MediaType != "image" || r.Headline != "Chat dengan Toko Batik Laras" || !strings.HasPrefix(r.CtwaClid, "4LVCITcxnJEu") ||
			!strings.HasSuffix(r.ImageURL, ".jpg") || r.WelcomeMessage == nil || r.WelcomeMessage.Text != "Halo! Ada yang bisa kami bantu hari ini?" {
			t.Errorf("Referral = %+v", r)
		}
		if m.TypedText() != "Halo, saya lihat iklan diskon batik 20%. Masih berlaku?" {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
	},
	"reply_context.json": func(t *testing.T, d *Delivery) {
		m := single(t, d, TypeText, budi, "Budi Santoso")
		if !m.IsReply() || m.Context.From != ourNumber || m.Context.ID != "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjg0QjQxQjc4RERBQUZGOEM0NAA=" {
			t.Errorf("Context = %+v", m.Context)
		}
		if m.TypedText() != "Yang ini kak, ukuran L ada?" {
			t.Errorf("TypedText() = %q", m.TypedText())
		}
		checkReply(t, m, "", "", "", "")
	},
	"status_sent.json": func(t *testing.T, d *Delivery) {
		s := singleStatus(t, d, StatusSent, agus)
		checkFreePricing(t, s)
		if s.RecipientUserID != "ID.2285560011934476" || s.Conversation != nil || len(s.Errors) != 0 {
			t.Errorf("Status = %+v", s.Status)
		}
	},
	"status_delivered.json": func(t *testing.T, d *Delivery) {
		checkFreePricing(t, singleStatus(t, d, StatusDelivered, agus))
	},
	"status_read.json": func(t *testing.T, d *Delivery) {
		s := singleStatus(t, d, StatusRead, agus)
		if s.Pricing != nil || s.ID != "wamid.HBgNNjI4MTM5ODc2NTQwMRUCABEYEjc4MUFGNjY0MDk5ODJGRThDRAA=" {
			t.Errorf("Status = %+v", s.Status)
		}
	},
	"status_failed.json": func(t *testing.T, d *Delivery) {
		s := singleStatus(t, d, StatusFailed, rina)
		if len(s.Errors) != 1 || s.Errors[0].Code != 131047 || s.Errors[0].Title != "Re-engagement message" ||
			!strings.HasPrefix(s.Errors[0].ErrorData.Details, "More than 24 hours") || s.Errors[0].Href == "" {
			t.Errorf("Errors = %+v", s.Errors)
		}
		if s.RecipientUserID != "" {
			t.Errorf("RecipientUserID = %q", s.RecipientUserID)
		}
	},
	"batch_multi.json": func(t *testing.T, d *Delivery) {
		if len(d.Messages) != 3 || len(d.Statuses) != 2 || len(d.Events) != 0 {
			t.Fatalf("got %d messages, %d statuses, %d events; want 3, 2, 0", len(d.Messages), len(d.Statuses), len(d.Events))
		}
		msgs := []struct{ from, name, phoneID, entry, typ, text string }{
			{budi, "Budi Santoso", ourPhone, ourWABA, TypeText, "menu"},
			{siti, "Siti Rahmawati", ourPhone, ourWABA, TypeInteractive, ""},
			{putu, "Putu Ayu Lestari", "120033445566778", "198765432109876", TypeText, "Kopi susu gula aren 1, es nya sedikit ya"},
		}
		for i, w := range msgs {
			m := &d.Messages[i]
			if m.From != w.from || m.Type != w.typ || m.TypedText() != w.text || m.Metadata.PhoneNumberID != w.phoneID || m.EntryID != w.entry {
				t.Errorf("message %d: from %q type %q text %q phone %q entry %q; want %+v", i, m.From, m.Type, m.TypedText(), m.Metadata.PhoneNumberID, m.EntryID, w)
			}
			if m.Contact == nil || m.Contact.WaID != w.from || m.Contact.Profile.Name != w.name {
				t.Errorf("message %d: Contact = %+v, want %q", i, m.Contact, w.name)
			}
		}
		if d.Messages[2].Metadata.DisplayPhoneNumber != "6282177770000" {
			t.Errorf("message 2 display number = %q", d.Messages[2].Metadata.DisplayPhoneNumber)
		}
		checkReply(t, &d.Messages[1], ReplyButton, "btn_cancel", "Batal", "")
		sts := []struct{ status, recipient string }{{StatusDelivered, agus}, {StatusRead, rina}}
		for i, w := range sts {
			s := &d.Statuses[i]
			if s.Status.Status != w.status || s.RecipientID != w.recipient || s.Metadata.PhoneNumberID != ourPhone || s.EntryID != ourWABA {
				t.Errorf("status %d = %+v (%+v), want %+v", i, s.Status, s.Metadata, w)
			}
		}
	},
	"account_update.json": func(t *testing.T, d *Delivery) {
		e := singleEvent(t, d, "account_update", 1789369200)
		var v struct {
			Event           string `json:"event"`
			RestrictionInfo []struct {
				RestrictionType string `json:"restriction_type"`
				Expiration      int64  `json:"expiration"`
			} `json:"restriction_info"`
		}
		if err := json.Unmarshal(e.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.Event != "ACCOUNT_RESTRICTION" || len(v.RestrictionInfo) != 1 || v.RestrictionInfo[0].RestrictionType != "RESTRICTED_BIZ_INITIATED_MESSAGING" {
			t.Errorf("Value = %s", e.Value)
		}
	},
	"template_status.json": func(t *testing.T, d *Delivery) {
		e := singleEvent(t, d, "message_template_status_update", 1789372800)
		var v struct {
			Event string `json:"event"`
			ID    int64  `json:"message_template_id"`
			Name  string `json:"message_template_name"`
		}
		if err := json.Unmarshal(e.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.Event != "APPROVED" || v.ID != 1790012345678901 || v.Name != "konfirmasi_pesanan" {
			t.Errorf("Value = %s", e.Value)
		}
	},
}

func singleEvent(t *testing.T, d *Delivery, field string, time int64) *Event {
	t.Helper()
	if len(d.Messages) != 0 || len(d.Statuses) != 0 || len(d.Events) != 1 {
		t.Fatalf("got %d messages, %d statuses, %d events; want 0, 0, 1", len(d.Messages), len(d.Statuses), len(d.Events))
	}
	e := &d.Events[0]
	if e.Field != field || e.EntryID != ourWABA || e.Time != time || !json.Valid(e.Value) {
		t.Errorf("Event = %+v", e)
	}
	return e
}

func TestDecodeFixtures(t *testing.T) {
	names := fixtureNames(t)
	seen := map[string]bool{}
	for _, name := range names {
		seen[name] = true
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			check, ok := fixtureChecks[name]
			if !ok {
				t.Fatalf("no check for fixture %s: add one to fixtureChecks", name)
			}
			body := readFixture(t, name)
			d, err := Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			if d.Object != ObjectWhatsAppBusinessAccount {
				t.Errorf("Object = %q", d.Object)
			}
			for i, m := range d.Messages {
				if len(m.Raw) == 0 || !json.Valid(m.Raw) || !bytes.Contains(body, m.Raw) {
					t.Errorf("message %d: Raw is not the received object: %q", i, m.Raw)
				}
			}
			for i, s := range d.Statuses {
				if !bytes.Contains(body, s.Raw) {
					t.Errorf("status %d: Raw is not the received object: %q", i, s.Raw)
				}
			}
			check(t, d)
		})
	}
	for name := range fixtureChecks {
		if !seen[name] {
			t.Errorf("fixture %s is missing from testdata", name)
		}
	}
}

// TestPayloadTypes checks that the envelope types decode the fixtures with
// plain json.Unmarshal too, and that MessagesValue fills Raw.
func TestPayloadTypes(t *testing.T) {
	var p Payload
	if err := json.Unmarshal(readFixture(t, "batch_multi.json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.Object != ObjectWhatsAppBusinessAccount || len(p.Entry) != 2 || len(p.Entry[0].Changes) != 2 || p.Entry[0].Time != 0 {
		t.Fatalf("Payload = %+v", p)
	}
	var v MessagesValue
	if err := json.Unmarshal(p.Entry[0].Changes[0].Value, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) != 2 || len(v.Contacts) != 2 || v.MessagingProduct != "whatsapp" || len(v.Messages[1].Raw) == 0 {
		t.Errorf("MessagesValue = %+v", v)
	}
	if err := json.Unmarshal(p.Entry[0].Changes[1].Value, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Statuses) != 2 || len(v.Messages) != 0 || len(v.Statuses[0].Raw) == 0 {
		t.Errorf("MessagesValue = %+v", v)
	}
	var q Payload
	if err := json.Unmarshal(readFixture(t, "template_status.json"), &q); err != nil {
		t.Fatal(err)
	}
	if q.Entry[0].Time != 1789372800 {
		t.Errorf("Entry.Time = %d", q.Entry[0].Time)
	}
	err := json.Unmarshal([]byte(`{"messages":[{"id":"a"},7]}`), &v)
	if err == nil || !strings.HasPrefix(err.Error(), "messages[1]: ") {
		t.Errorf("err = %v", err)
	}
}

// envelope wraps a messages value in a minimal delivery.
func envelope(value string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":` + value + `}]}]}`)
}

func TestDecodeTolerant(t *testing.T) {
	t.Run("username user without from", func(t *testing.T) {
		d, err := Decode(envelope(`{"metadata":{"phone_number_id":"9"},
			"contacts":[{"profile":{"name":"X","username":"@x"},"wa_id":"62999","user_id":"ID.other"},{"profile":{"name":"Anon","username":"@anon"},"user_id":"ID.42"}],
			"messages":[{"from_user_id":"ID.42","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"hi"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		m := d.Messages[0]
		if m.From != "" || m.CustomerKey() != "ID.42" || m.Contact == nil || m.Contact.Profile.Username != "@anon" {
			t.Errorf("message = %+v, contact %+v", m.Message, m.Contact)
		}
	})
	t.Run("contact not matched by index", func(t *testing.T) {
		d, err := Decode(envelope(`{"contacts":[{"wa_id":"1"},{"wa_id":"2"}],"messages":[
			{"from":"2","id":"a","type":"text"},{"from":"3","id":"b","type":"text"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if c := d.Messages[0].Contact; c == nil || c.WaID != "2" {
			t.Errorf("Contact = %+v", c)
		}
		if c := d.Messages[1].Contact; c != nil {
			t.Errorf("Contact = %+v, want nil", c)
		}
	})
	t.Run("interactive without object and value errors", func(t *testing.T) {
		d, err := Decode(envelope(`{"metadata":{"phone_number_id":"9"},"messages":[{"from":"1","id":"a","timestamp":"2","type":"interactive"}],
			"errors":[{"code":131000,"title":"Something went wrong","message":"Something went wrong","error_data":{"details":"Unsupported webhook payload"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		m := d.Messages[0]
		if m.Interactive != nil || m.TypedText() != "" {
			t.Errorf("message = %+v", m.Message)
		}
		if k, _, _, _ := m.ReplyRef(); k != "" {
			t.Errorf("ReplyRef kind = %q", k)
		}
		if len(d.Events) != 1 || d.Events[0].Field != FieldMessages || len(d.Events[0].Errors) != 1 ||
			d.Events[0].Errors[0].Code != 131000 || d.Events[0].Metadata.PhoneNumberID != "9" {
			t.Errorf("Events = %+v", d.Events)
		}
	})
	t.Run("unknown type and fields kept in Raw", func(t *testing.T) {
		raw := `{"from":"1","id":"a","timestamp":"3","type":"poll","poll":{"q":"?"},"new_field":[1,2]}`
		d, err := Decode(envelope(`{"messages":[` + raw + `],"brand_new":{"x":1}}`))
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Messages[0].Raw) != raw || d.Messages[0].Type != "poll" {
			t.Errorf("Raw = %s", d.Messages[0].Raw)
		}
	})
	t.Run("removed reaction", func(t *testing.T) {
		d, err := Decode(envelope(`{"messages":[{"from":"1","id":"a","type":"reaction","reaction":{"message_id":"m"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if r := d.Messages[0].Reaction; r == nil || !r.Removed() || r.MessageID != "m" {
			t.Errorf("Reaction = %+v", r)
		}
	})
	t.Run("order numbers as strings", func(t *testing.T) {
		d, err := Decode(envelope(`{"messages":[{"from":"1","id":"a","type":"order","order":{"catalog_id":"c","product_items":[
			{"product_retailer_id":"p","quantity":"3","item_price":"12500.50","currency":"IDR"},
			{"product_retailer_id":"q","quantity":2.0,"item_price":null,"currency":"IDR"}]}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		items := d.Messages[0].Order.ProductItems
		if items[0].Quantity != 3 || items[0].ItemPrice != 12500.5 || items[1].Quantity != 2 || items[1].ItemPrice != 0 {
			t.Errorf("ProductItems = %+v", items)
		}
	})
	t.Run("unknown field and null pieces", func(t *testing.T) {
		d, err := Decode([]byte(`{"object":"whatsapp_business_account","entry":[null,{"id":"7","time":"12","changes":[null,
			{"field":"smb_message_echoes","value":{"a":1}},{"field":"messages","value":null},{"field":"messages"},
			{"field":"messages","value":{"messages":[null],"statuses":[null]}}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Messages) != 0 || len(d.Statuses) != 0 || len(d.Events) != 1 || d.Events[0].Field != "smb_message_echoes" ||
			d.Events[0].EntryID != "7" || d.Events[0].Time != 12 || string(d.Events[0].Value) != `{"a":1}` {
			t.Errorf("Delivery = %+v", d)
		}
	})
	t.Run("members of another JSON type do not sink the delivery", func(t *testing.T) {
		d, err := Decode(envelope(`{"metadata":{"phone_number_id":"9"},"messages":[
			{"from":"1","id":"a","timestamp":"5","type":"text","text":{"body":"halo"}},
			{"from":62811,"id":"b","timestamp":1789365600,"type":"text","text":{"body":5},"context":"x"},
			{"from":"3","id":"c","type":"location","location":{"latitude":"-7.80","longitude":110.36,"name":7}},
			{"from":"4","id":"d","type":"order","order":{"catalog_id":"k","product_items":[{"product_retailer_id":"p","quantity":"two"}]}},
			{"from":"5","id":"e","type":"system","identity":{"acknowledged":true,"created_timestamp":1602532300000,"hash":"h"}},
			{"from":"6","id":"f","type":"text","text":"hi"}],
			"statuses":[{"id":"s","status":"failed","timestamp":1789365600,"errors":[{"code":"131047","title":"Re-engagement"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Messages) != 6 || len(d.Statuses) != 1 {
			t.Fatalf("%d messages, %d statuses; want 6 and 1", len(d.Messages), len(d.Statuses))
		}
		if m := d.Messages[0]; m.ID != "a" || m.TypedText() != "halo" {
			t.Errorf("well-formed message = %+v", m.Message)
		}
		if m := d.Messages[1]; m.From != "62811" || m.Timestamp != "1789365600" || m.TypedText() != "5" || m.Context != nil ||
			!strings.Contains(string(m.Raw), `"context":"x"`) {
			t.Errorf("numbers for strings = %+v", m.Message)
		}
		if l := d.Messages[2].Location; l == nil || l.Latitude != -7.8 || l.Longitude != 110.36 || l.Name != "7" {
			t.Errorf("Location = %+v", l)
		}
		if o := d.Messages[3].Order; o == nil || len(o.ProductItems) != 1 || o.ProductItems[0].ProductRetailerID != "p" || o.ProductItems[0].Quantity != 0 {
			t.Errorf("Order = %+v", o)
		}
		if id := d.Messages[4].Identity; id == nil || !id.Acknowledged || id.CreatedTimestamp != "1602532300000" || id.Hash != "h" {
			t.Errorf("Identity = %+v", id)
		}
		if m := d.Messages[5]; m.ID != "f" || m.Text != nil {
			t.Errorf("text as a string = %+v", m.Message)
		}
		if s := d.Statuses[0]; s.ID != "s" || s.Timestamp != "1789365600" || len(s.Errors) != 1 || s.Errors[0].Code != 131047 || s.Errors[0].Title != "Re-engagement" {
			t.Errorf("status = %+v", s.Status)
		}
	})
	t.Run("value members of another JSON type", func(t *testing.T) {
		d, err := Decode(envelope(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":6281188880000,"phone_number_id":113355779900246},
			"contacts":[{"profile":{"name":"Budi"},"wa_id":6281234567890},{"profile":"x","wa_id":"62855"}],"errors":{"code":1},
			"messages":[{"from":"6281234567890","id":"a","timestamp":"5","type":"text","text":{"body":"halo"}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Messages) != 1 {
			t.Fatalf("%d messages, want 1", len(d.Messages))
		}
		m := d.Messages[0]
		if m.Metadata.PhoneNumberID != "113355779900246" || m.Metadata.DisplayPhoneNumber != "6281188880000" {
			t.Errorf("Metadata = %+v", m.Metadata)
		}
		if m.Contact == nil || m.Contact.Profile.Name != "Budi" {
			t.Errorf("Contact = %+v", m.Contact)
		}
	})
	t.Run("bad time and status", func(t *testing.T) {
		d, err := Decode(envelope(`{"statuses":[{"id":"s","status":"sent","timestamp":"soon"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if !d.Statuses[0].Time().IsZero() {
			t.Errorf("Time() = %v", d.Statuses[0].Time())
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{``, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`[]`, "not a JSON object"},
		{`"x"`, "not a JSON object"},
		{`{`, "body: "},
		{`{"entry":{}}`, "body: "},
		{`{"object":1}`, "body: "},
		{`{"entry":[1]}`, "entry[0]: "},
		{`{"entry":[{"changes":{}}]}`, "entry[0]: "},
		{`{"entry":[{},{"changes":[{"field":"messages","value":{}},"x"]}]}`, "entry[1].changes[1]: "},
		{`{"entry":[{"changes":[{"field":"messages","value":{}},{"field":"messages","value":"x"}]}]}`, "entry[0].changes[1].value: "},
		{`{"entry":[{"changes":[{"field":"messages","value":{"contacts":{},"messages":{}}}]}]}`, "entry[0].changes[0].value: "},
		{`{"entry":[{"changes":[{"field":"messages","value":{"metadata":7,"statuses":"x"}}]}]}`, "entry[0].changes[0].value: "},
		{`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{},"hi"]}}]}]}`, "entry[0].changes[0].value.messages[1]: "},
		{`{"entry":[{"changes":[{"field":"messages","value":{"statuses":[7]}}]}]}`, "entry[0].changes[0].value.statuses[0]: "},
		{`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a"},[{"id":"b"}]]}}]}]}`, "entry[0].changes[0].value.messages[1]: "},
	}
	for _, c := range cases {
		d, err := Decode([]byte(c.body))
		if err == nil || d != nil {
			t.Errorf("Decode(%s) = %+v, %v; want error", c.body, d, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%s) error %q does not contain %q", c.body, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(readFixture(f, name))
	}
	f.Add(envelope(`{"messages":[{"type":"interactive"}],"errors":[{"code":1}]}`))
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"order":{"product_items":[{"quantity":"1e3"}]}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Decode(body)
		if err != nil {
			if d != nil {
				t.Fatal("non-nil Delivery with error")
			}
			return
		}
		for i := range d.Messages {
			m := &d.Messages[i]
			if len(m.Raw) == 0 || !json.Valid(m.Raw) {
				t.Fatalf("message %d has Raw %q", i, m.Raw)
			}
			_ = m.TypedText()
			_, _, _, _ = m.ReplyRef()
			_ = m.CustomerKey()
			_ = m.Time()
			_ = m.Media()
			_ = m.IsReply()
		}
		for i := range d.Statuses {
			if len(d.Statuses[i].Raw) == 0 {
				t.Fatalf("status %d has no Raw", i)
			}
			_ = d.Statuses[i].Time()
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"text.json", "status_read.json", "batch_multi.json"} {
		body := readFixture(b, name)
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
