package webhook

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Defaults used by Fake for empty fields: the fixture business.
const (
	FakePhoneNumberID      = "113355779900246"
	FakeDisplayPhoneNumber = "6281188880000"
	FakeWABAID             = "104857600123456"
	// FakeFrom is used only when both Fake.From and Fake.UserID are empty.
	FakeFrom = "6281234567890"
)

// Fake builds a test webhook delivery with one inbound message, for
// `balas send`, `balas bench` and tests. The message type is chosen by the
// first set field of ButtonID (interactive button_reply), ListID
// (interactive list_reply), Image (image with caption Text); otherwise it is
// a text message with body Text.
//
// Empty PhoneNumberID, DisplayPhoneNumber and WABAID default to the fixture
// business, WamID to a random "wamid.…" id and Timestamp to now. Leave From
// empty and set UserID to simulate a username user (no "from", no
// "wa_id"); if both are empty, From defaults to FakeFrom.
type Fake struct {
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string
	From               string
	UserID             string
	Name               string
	WamID              string
	Timestamp          time.Time
	Text               string
	ButtonID           string
	ButtonTitle        string
	ListID             string
	ListTitle          string
	ListDescription    string
	Image              bool
}

// The fake* types fix the key order to Meta's.
type fakePayload struct {
	Object string      `json:"object"`
	Entry  []fakeEntry `json:"entry"`
}

type fakeEntry struct {
	ID      string       `json:"id"`
	Changes []fakeChange `json:"changes"`
}

type fakeChange struct {
	Value fakeValue `json:"value"`
	Field string    `json:"field"`
}

type fakeValue struct {
	MessagingProduct string        `json:"messaging_product"`
	Metadata         Metadata      `json:"metadata"`
	Contacts         []fakeContact `json:"contacts"`
	Messages         []fakeMessage `json:"messages"`
}

type fakeContact struct {
	Profile *fakeProfile `json:"profile,omitempty"`
	WaID    string       `json:"wa_id,omitempty"`
	UserID  string       `json:"user_id,omitempty"`
}

type fakeProfile struct {
	Name string `json:"name"`
}

type fakeMessage struct {
	From        string       `json:"from,omitempty"`
	FromUserID  string       `json:"from_user_id,omitempty"`
	ID          string       `json:"id"`
	Timestamp   string       `json:"timestamp"`
	Type        string       `json:"type"`
	Context     *fakeContext `json:"context,omitempty"`
	Text        *Text        `json:"text,omitempty"`
	Image       *fakeImage   `json:"image,omitempty"`
	Interactive *Interactive `json:"interactive,omitempty"`
}

type fakeContext struct {
	From string `json:"from"`
	ID   string `json:"id"`
}

type fakeImage struct {
	Caption  string `json:"caption,omitempty"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	ID       string `json:"id"`
	URL      string `json:"url"`
}

// Body returns the webhook body: compact JSON shaped and escaped like
// Meta's (non-ASCII as lowercase \uXXXX with surrogate pairs, "/" as "\/").
// Sign it with Sign to post it to a balas webhook endpoint.
func (f Fake) Body() []byte {
	phoneID := or(f.PhoneNumberID, FakePhoneNumberID)
	display := or(f.DisplayPhoneNumber, FakeDisplayPhoneNumber)
	from := f.From
	if from == "" && f.UserID == "" {
		from = FakeFrom
	}
	key := or(from, f.UserID)
	ts := f.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}

	c := fakeContact{WaID: from, UserID: f.UserID}
	if f.Name != "" {
		c.Profile = &fakeProfile{Name: f.Name}
	}
	m := fakeMessage{
		From:       from,
		FromUserID: f.UserID,
		ID:         or(f.WamID, newWamID(key, true)),
		Timestamp:  strconv.FormatInt(ts.Unix(), 10),
	}
	switch {
	case f.ButtonID != "":
		m.Type = TypeInteractive
		m.Context = &fakeContext{From: display, ID: newWamID(key, false)}
		m.Interactive = &Interactive{Type: InteractiveButtonReply,
			ButtonReply: &ButtonReply{ID: f.ButtonID, Title: f.ButtonTitle}}
	case f.ListID != "":
		m.Type = TypeInteractive
		m.Context = &fakeContext{From: display, ID: newWamID(key, false)}
		m.Interactive = &Interactive{Type: InteractiveListReply,
			ListReply: &ListReply{ID: f.ListID, Title: f.ListTitle, Description: f.ListDescription}}
	case f.Image:
		m.Type = TypeImage
		mediaID := randomDigits(16)
		m.Image = &fakeImage{
			Caption:  f.Text,
			MimeType: "image/jpeg",
			SHA256:   base64.StdEncoding.EncodeToString(randomBytes(32)),
			ID:       mediaID,
			URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=" + mediaID +
				"&source=webhook&ext=" + strconv.FormatInt(ts.Unix()+300, 10) +
				"&hash=" + strings.TrimRight(base64.URLEncoding.EncodeToString(randomBytes(33)), "="),
		}
	default:
		m.Type = TypeText
		m.Text = &Text{Body: f.Text}
	}

	p := fakePayload{
		Object: ObjectWhatsAppBusinessAccount,
		Entry: []fakeEntry{{
			ID: or(f.WABAID, FakeWABAID),
			Changes: []fakeChange{{
				Value: fakeValue{
					MessagingProduct: "whatsapp",
					Metadata:         Metadata{DisplayPhoneNumber: display, PhoneNumberID: phoneID},
					Contacts:         []fakeContact{c},
					Messages:         []fakeMessage{m},
				},
				Field: FieldMessages,
			}},
		}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		// Only strings and fixed structs are encoded: this cannot fail.
		panic("webhook: encoding fake body: " + err.Error())
	}
	return metaEscape(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// metaEscape rewrites compact JSON the way Meta writes it on the wire:
// every non-ASCII rune becomes lowercase \uXXXX (UTF-16 surrogate pairs
// above U+FFFF) and "/" becomes "\/". Both only occur inside strings.
func metaEscape(b []byte) []byte {
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, len(b)+len(b)/8)
	u := func(r rune) {
		out = append(out, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '/':
			out = append(out, '\\', '/')
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				u(r1)
				u(r2)
			} else {
				u(r)
			}
			i += size
		}
	}
	return out
}

// newWamID returns a random id shaped like Meta's: base64 of a small
// header, the user's number and a random uppercase hex tail. inbound picks
// the marker Meta uses for messages received (vs sent).
func newWamID(key string, inbound bool) string {
	if len(key) > 255 {
		key = key[:255]
	}
	var b []byte
	b = append(b, 0x1c, 0x18, byte(len(key)))
	b = append(b, key...)
	b = append(b, 0x15, 0x02, 0x00)
	if inbound {
		b = append(b, 0x12, 0x18, 0x14)
		b = append(b, strings.ToUpper(hex.EncodeToString(randomBytes(10)))...)
	} else {
		b = append(b, 0x11, 0x18, 0x12)
		b = append(b, strings.ToUpper(hex.EncodeToString(randomBytes(9)))...)
	}
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func randomDigits(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
