package outbound

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/balas-bot/balas/rules"
)

const (
	budi        = "6281234567890"
	quotedWamid = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDJFNUQwNkMxQTFDN0YyNDYzNjhEAA=="
	inWamid     = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDI5QzJCNjIxNUJCODU3MTlEMDE4AA=="
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON compares two JSON documents field by field.
func sameJSON(t testing.TB, got, want []byte) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body differs from fixture\n got: %s\nwant: %s", got, want)
	}
}

// fixtureReplies are the replies (and recipients) that yield each send fixture.
var fixtureReplies = []struct {
	fixture string
	to      Recipient
	reply   rules.Reply
	context string
}{
	{"text", Recipient{Number: budi}, rules.Reply{Kind: "text", PreviewURL: true,
		Text: "Halo kak Budi! Batik tulis parang sogan masih ready. Lihat katalog: https://tokobatiklaras.id/katalog"}, inWamid},
	{"reply_text", Recipient{Number: budi, UserID: "ID.7719384456021937"},
		rules.Reply{Kind: "text", Quote: true, Text: "Ukuran L masih ada 3 pcs kak 😊"}, quotedWamid},
	{"text_to_bsuid", Recipient{UserID: "ID.5581902276634410"},
		rules.Reply{Kind: "text", Text: "Halo kak Yanti, diskon 20% masih berlaku sampai Minggu."}, ""},
	{"buttons", Recipient{Number: "+" + budi}, rules.Reply{Kind: "buttons", Header: "Batik Parang Sogan",
		Text: "Kamu memilih Batik Parang Sogan (Rp 350.000). Lanjut order?", Footer: "Toko Batik Laras - Yogyakarta",
		Buttons: []rules.Button{{ID: "btn_order", Title: "Order Sekarang"}, {ID: "btn_katalog", Title: "Lihat Katalog"},
			{ID: "btn_cancel", Title: "Batal"}}}, inWamid},
	{"list", Recipient{Number: "6285712345678"}, rules.Reply{Kind: "list", Header: "Pilih pengiriman",
		Text: "Mau dikirim pakai kurir apa kak?", Footer: "Ongkir dihitung dari Yogyakarta", ListButton: "Pilih kurir",
		Sections: []rules.Section{
			{Title: "Reguler", Rows: []rules.Row{
				{ID: "kirim_jne_reg", Title: "JNE REG", Description: "Estimasi 2-3 hari, Rp 18.000"},
				{ID: "kirim_jnt_ez", Title: "J&T EZ", Description: "Estimasi 2-4 hari, Rp 17.000"}}},
			{Title: "Cepat", Rows: []rules.Row{
				{ID: "kirim_jne_yes", Title: "JNE YES", Description: "Besok sampai, Rp 35.000"},
				{ID: "kirim_gosend", Title: "GoSend Same Day", Description: "Khusus area Yogyakarta"}}},
		}}, ""},
	{"cta_url", Recipient{Number: budi}, rules.Reply{Kind: "cta_url", Header: "Katalog September",
		Text: "Semua motif terbaru ada di katalog online kami.", Footer: "Toko Batik Laras",
		CTA: &rules.CTA{DisplayText: "Buka Katalog", URL: "https://tokobatiklaras.id/katalog?utm_source=whatsapp"}}, ""},
	{"location_request", Recipient{Number: budi}, rules.Reply{Kind: "location_request",
		Text: "Kirim lokasi pengiriman kamu ya kak, biar ongkirnya kami hitung."}, inWamid},
	{"image_link", Recipient{Number: budi}, rules.Reply{Kind: "image", Text: "Batik Parang Sogan - Rp 350.000",
		Media: &rules.Media{Link: "https://tokobatiklaras.id/img/parang-sogan.jpg", Caption: "Batik Parang Sogan - Rp 350.000"}}, ""},
	{"document_id", Recipient{Number: budi}, rules.Reply{Kind: "document",
		Media: &rules.Media{ID: "1203948576601234", Filename: "INV-2026-0914.pdf", Caption: "Invoice pesanan kamu"}}, ""},
	// quote is ignored for reactions: a reaction cannot be a contextual reply.
	{"reaction", Recipient{Number: budi}, rules.Reply{Kind: "react", Emoji: "👍", Quote: true}, inWamid},
	{"template", Recipient{Number: "6289612340987"}, rules.Reply{Kind: "template", Template: &rules.TemplateMessage{
		Name: "konfirmasi_pesanan", Language: "id", Components: []any{
			map[string]any{"type": "body", "parameters": []any{
				map[string]any{"type": "text", "text": "Rina"},
				map[string]any{"type": "text", "text": "INV-2026-0914"}}},
			map[string]any{"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": []any{
				map[string]any{"type": "payload", "payload": "KONFIRMASI:INV-2026-0914"}}},
		}}}, ""},
}

func TestBuildMessageMatchesFixtures(t *testing.T) {
	for _, c := range fixtureReplies {
		t.Run(c.fixture, func(t *testing.T) {
			got, err := BuildMessage(c.to, c.reply, c.context)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, got, readFixture(t, "send/"+c.fixture+".json"))
		})
	}
}

func TestBuildReadMatchesFixtures(t *testing.T) {
	sameJSON(t, BuildRead(inWamid, false), readFixture(t, "send/mark_read.json"))
	sameJSON(t, BuildRead(inWamid, true), readFixture(t, "send/typing_indicator.json"))
}

func TestBuildMessageOtherKinds(t *testing.T) {
	to := Recipient{Number: budi}
	cases := []struct {
		reply rules.Reply
		want  string
	}{
		{rules.Reply{Kind: "video", Media: &rules.Media{Link: "https://x/v.mp4", Caption: "cap"}, Quote: true},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","context":{"message_id":"wamid.in"},"type":"video","video":{"link":"https://x/v.mp4","caption":"cap"}}`},
		{rules.Reply{Kind: "audio", Text: "ignored", Media: &rules.Media{ID: "55"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"audio","audio":{"id":"55"}}`},
		{rules.Reply{Kind: "sticker", Media: &rules.Media{ID: "77", Link: "https://x/s.webp"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"sticker","sticker":{"id":"77"}}`},
		{rules.Reply{Kind: "image", Text: "from text", Media: &rules.Media{Link: "https://x/i.jpg"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"image","image":{"link":"https://x/i.jpg","caption":"from text"}}`},
		{rules.Reply{Kind: "buttons", Text: "b", Buttons: []rules.Button{{ID: "a", Title: "A"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"interactive","interactive":{"type":"button","body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`},
		{rules.Reply{Kind: "template", Template: &rules.TemplateMessage{Name: "hello_world", Language: "en_US"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`},
	}
	for _, c := range cases {
		got, err := BuildMessage(to, c.reply, "wamid.in")
		if err != nil {
			t.Fatalf("%s: %v", c.reply.Kind, err)
		}
		sameJSON(t, got, []byte(c.want))
	}

	bad := []rules.Reply{
		{Kind: "text"},
		{Kind: "buttons", Text: "x"},
		{Kind: "list", Text: "x"},
		{Kind: "cta_url", Text: "x"},
		{Kind: "image"},
		{Kind: "document", Media: &rules.Media{}},
		{Kind: "react", Emoji: "👍"}, // no message to react to
		{Kind: "template"},
		{Kind: "carousel"},
	}
	for _, r := range bad {
		_, err := BuildMessage(to, r, "")
		var be *BuildError
		if err == nil || !strings.Contains(err.Error(), "invalid reply") || Classify(err) != Permanent {
			t.Errorf("%+v: err %v, want a permanent BuildError", r, err)
		} else if !asBuildError(err, &be) {
			t.Errorf("%+v: not a *BuildError", r)
		}
	}
	if _, err := BuildMessage(Recipient{}, rules.Reply{Kind: "text", Text: "x"}, ""); err == nil {
		t.Error("no recipient accepted")
	}
}

func asBuildError(err error, target **BuildError) bool {
	be, ok := err.(*BuildError)
	*target = be
	return ok
}

// BuildRead writes its body by hand; it must be what encoding/json writes.
func TestBuildReadEscapesLikeEncodingJSON(t *testing.T) {
	for _, wamid := range []string{inWamid, "", `a"b\c`, "tab\there\nnl\r\x01\x1f", "ünïcødé ❤️", "bad \xff utf8", "sep \u2028\u2029", "<html>&"} {
		for _, typing := range []bool{false, true} {
			want := readBody{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid}
			if typing {
				want.TypingIndicator = &typeObj{Type: "text"}
			}
			wantJSON, _ := marshal(want)
			if got := BuildRead(wamid, typing); !bytes.Equal(got, wantJSON) {
				t.Errorf("BuildRead(%q, %v)\n got %s\nwant %s", wamid, typing, got, wantJSON)
			}
		}
	}
}

// readBody is the read receipt as encoding/json would write it.
type readBody struct {
	MessagingProduct string   `json:"messaging_product"`
	Status           string   `json:"status"`
	MessageID        string   `json:"message_id"`
	TypingIndicator  *typeObj `json:"typing_indicator,omitempty"`
}

type typeObj struct {
	Type string `json:"type"`
}

func FuzzBuildRead(f *testing.F) {
	f.Add(inWamid)
	f.Add("a\"\\\x00\u2028\xff")
	f.Fuzz(func(t *testing.T, wamid string) {
		want, _ := marshal(readBody{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid})
		if got := BuildRead(wamid, false); !bytes.Equal(got, want) {
			t.Fatalf("BuildRead(%q) = %s, want %s", wamid, got, want)
		}
	})
}

// envelopeCases are envelopes whose JSON must be what encoding/json writes:
// every reply kind, empty and escaped strings, nil and empty slices.
func envelopeCases(t testing.TB) []envelope {
	var out []envelope
	for _, c := range fixtureReplies {
		out = append(out, builtEnvelope(t, c.to, c.reply, c.context))
	}
	odd := `"quote" \back\slash <html>&amp; tab	nl
 ctl` + "\x01\x1f bad\xff sep\u2028\u2029 ❤️"
	base := envelope{MessagingProduct: "whatsapp", RecipientType: "individual"}
	add := func(f func(e *envelope)) {
		e := base
		f(&e)
		out = append(out, e)
	}
	add(func(e *envelope) {})
	add(func(e *envelope) { e.To, e.Recipient, e.Type = odd, odd, odd })
	add(func(e *envelope) { e.Context = &contextRef{}; e.Text = &textBody{} })
	add(func(e *envelope) { e.Text = &textBody{PreviewURL: true, Body: odd} })
	add(func(e *envelope) { e.Interactive = &interactive{} })
	add(func(e *envelope) {
		e.Interactive = &interactive{Type: odd, Header: &textObj{}, Footer: &textObj{Type: odd, Text: odd},
			Action: action{Name: odd, Button: odd, Buttons: []replyButton{{}, {Type: odd, Reply: rules.Button{ID: odd, Title: odd}}},
				Sections:   []section{{}, {Title: odd, Rows: []rules.Row{}}, {Rows: []rules.Row{{}, {ID: odd, Title: odd, Description: odd}}}},
				Parameters: &ctaParameters{}}}
	})
	add(func(e *envelope) {
		e.Interactive = &interactive{Action: action{Buttons: []replyButton{}, Sections: []section{}}}
	})
	add(func(e *envelope) {
		e.Image, e.Video, e.Audio, e.Document, e.Sticker = &mediaBody{}, &mediaBody{ID: odd}, &mediaBody{Link: odd},
			&mediaBody{ID: "1", Link: "2", Caption: odd, Filename: odd}, &mediaBody{Caption: "c"}
	})
	add(func(e *envelope) { e.Reaction = &reactionBody{}; e.Template = &templateBody{} })
	add(func(e *envelope) {
		e.Template = &templateBody{Name: odd, Language: templateLang{Code: odd},
			Components: []any{map[string]any{"text": odd, "n": 1.5, "list": []any{nil, true}}}}
	})
	return out
}

func builtEnvelope(t testing.TB, to Recipient, r rules.Reply, context string) envelope {
	t.Helper()
	b, err := BuildMessage(to, r, context)
	if err != nil {
		t.Fatal(err)
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// BuildMessage writes its bodies by hand; they must be byte for byte what
// encoding/json writes for the same envelope.
func TestEnvelopeJSONMatchesEncodingJSON(t *testing.T) {
	for i, e := range envelopeCases(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkEnvelopeJSON(t, e) })
	}
	bad := envelope{Template: &templateBody{Components: []any{func() {}}}}
	if _, err := bad.appendJSON(nil); err == nil {
		t.Error("a template component encoding/json cannot write was accepted")
	}
}

func FuzzEnvelopeJSON(f *testing.F) {
	f.Add("Halo kak", "btn_order", "", true, uint8(0))
	f.Add("a\"\\\x00\u2028\xff", "", "<&>", false, uint8(255))
	f.Fuzz(func(t *testing.T, text, id, title string, flag bool, shape uint8) {
		opt := func(bit uint8, s string) string {
			if shape&bit != 0 {
				return s
			}
			return ""
		}
		e := envelope{MessagingProduct: "whatsapp", RecipientType: "individual", To: opt(1, text), Recipient: opt(2, id), Type: title}
		if shape&4 != 0 {
			e.Context = &contextRef{MessageID: id}
		}
		if shape&8 != 0 {
			e.Text = &textBody{PreviewURL: flag, Body: text}
		}
		if shape&16 != 0 {
			in := &interactive{Type: id, Body: textObj{Type: opt(32, title), Text: text}}
			if flag {
				in.Header = &textObj{Type: "text", Text: title}
				in.Footer = &textObj{Text: opt(64, id)}
			}
			in.Action = action{Name: opt(128, id), Button: opt(64, title),
				Buttons:  []replyButton{{Type: "reply", Reply: rules.Button{ID: id, Title: title}}}[:int(shape>>7)],
				Sections: []section{{Title: opt(32, title), Rows: []rules.Row{{ID: id, Title: text, Description: opt(2, title)}}}}[:int(shape>>6)&1]}
			if shape&32 != 0 {
				in.Action.Parameters = &ctaParameters{DisplayText: title, URL: text}
			}
			e.Interactive = in
		}
		if shape&32 != 0 {
			e.Document = &mediaBody{ID: opt(1, id), Link: opt(2, text), Caption: opt(4, title), Filename: opt(8, text)}
		}
		if shape&64 != 0 {
			e.Reaction = &reactionBody{MessageID: id, Emoji: title}
		}
		if shape&128 != 0 {
			e.Template = &templateBody{Name: text, Language: templateLang{Code: id}, Components: []any{map[string]any{"t": title}}}
		}
		checkEnvelopeJSON(t, e)
	})
}

// checkEnvelopeJSON fails t when e.appendJSON differs from encoding/json.
func checkEnvelopeJSON(t *testing.T, e envelope) {
	t.Helper()
	want, err := marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.appendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
