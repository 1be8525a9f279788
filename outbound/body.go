package outbound

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/balas-bot/balas/rules"
)

// Recipient is who a message goes to: "+"+Number, or the business-scoped
// user id (recipient) when Number is empty.
type Recipient struct {
	Number string
	UserID string
}

type envelope struct {
	MessagingProduct string        `json:"messaging_product"`
	RecipientType    string        `json:"recipient_type"`
	To               string        `json:"to,omitempty"`
	Recipient        string        `json:"recipient,omitempty"`
	Context          *contextRef   `json:"context,omitempty"`
	Type             string        `json:"type"`
	Text             *textBody     `json:"text,omitempty"`
	Interactive      *interactive  `json:"interactive,omitempty"`
	Image            *mediaBody    `json:"image,omitempty"`
	Video            *mediaBody    `json:"video,omitempty"`
	Audio            *mediaBody    `json:"audio,omitempty"`
	Document         *mediaBody    `json:"document,omitempty"`
	Sticker          *mediaBody    `json:"sticker,omitempty"`
	Reaction         *reactionBody `json:"reaction,omitempty"`
	Template         *templateBody `json:"template,omitempty"`
}

type contextRef struct {
	MessageID string `json:"message_id"`
}

type textBody struct {
	PreviewURL bool   `json:"preview_url,omitempty"`
	Body       string `json:"body"`
}

type textObj struct {
	Type string `json:"type,omitempty"`
	Text string `json:"text"`
}

type interactive struct {
	Type   string   `json:"type"`
	Header *textObj `json:"header,omitempty"`
	Body   textObj  `json:"body"`
	Footer *textObj `json:"footer,omitempty"`
	Action action   `json:"action"`
}

type action struct {
	Name       string         `json:"name,omitempty"`
	Button     string         `json:"button,omitempty"`
	Buttons    []replyButton  `json:"buttons,omitempty"`
	Sections   []section      `json:"sections,omitempty"`
	Parameters *ctaParameters `json:"parameters,omitempty"`
}

type replyButton struct {
	Type  string       `json:"type"`
	Reply rules.Button `json:"reply"`
}

type section struct {
	Title string      `json:"title,omitempty"`
	Rows  []rules.Row `json:"rows"`
}

type ctaParameters struct {
	DisplayText string `json:"display_text"`
	URL         string `json:"url"`
}

type mediaBody struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type reactionBody struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type templateBody struct {
	Name       string       `json:"name"`
	Language   templateLang `json:"language"`
	Components []any        `json:"components,omitempty"`
}

type templateLang struct {
	Code string `json:"code"`
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// BuildMessage turns a rendered reply into the body of POST /{phone}/messages.
// contextWamid is the customer's message: quoted when r.Quote, the target of
// a react. Errors are *BuildError (permanent: the reply itself is wrong).
func BuildMessage(to Recipient, r rules.Reply, contextWamid string) ([]byte, error) {
	return appendMessage(make([]byte, 0, 512), to, r, contextWamid)
}

// appendMessage is BuildMessage appending the body to dst.
func appendMessage(dst []byte, to Recipient, r rules.Reply, contextWamid string) ([]byte, error) {
	e := envelope{MessagingProduct: "whatsapp", RecipientType: "individual"}
	switch {
	case to.Number != "":
		e.To = "+" + strings.TrimPrefix(to.Number, "+")
	case to.UserID != "":
		e.Recipient = to.UserID
	default:
		return nil, buildErr("no recipient (neither a number nor a user id)")
	}
	if r.Quote && r.Kind != "react" && contextWamid != "" {
		e.Context = &contextRef{MessageID: contextWamid}
	}
	ia := func(typ string) *interactive {
		in := &interactive{Type: typ, Body: textObj{Text: r.Text}}
		if r.Header != "" {
			in.Header = &textObj{Type: "text", Text: r.Header}
		}
		if r.Footer != "" {
			in.Footer = &textObj{Text: r.Footer}
		}
		return in
	}
	switch r.Kind {
	case "text", "":
		if r.Text == "" {
			return nil, buildErr("text message without text")
		}
		e.Type = "text"
		e.Text = &textBody{PreviewURL: r.PreviewURL, Body: r.Text}
	case "buttons":
		if len(r.Buttons) == 0 {
			return nil, buildErr("buttons message without buttons")
		}
		e.Type = "interactive"
		e.Interactive = ia("button")
		for _, b := range r.Buttons {
			e.Interactive.Action.Buttons = append(e.Interactive.Action.Buttons, replyButton{Type: "reply", Reply: b})
		}
	case "list":
		if len(r.Sections) == 0 {
			return nil, buildErr("list message without sections")
		}
		e.Type = "interactive"
		e.Interactive = ia("list")
		e.Interactive.Action.Button = r.ListButton
		for _, s := range r.Sections {
			e.Interactive.Action.Sections = append(e.Interactive.Action.Sections, section{Title: s.Title, Rows: s.Rows})
		}
	case "cta_url":
		if r.CTA == nil {
			return nil, buildErr("cta_url message without display_text and url")
		}
		e.Type = "interactive"
		e.Interactive = ia("cta_url")
		e.Interactive.Action.Name = "cta_url"
		e.Interactive.Action.Parameters = &ctaParameters{DisplayText: r.CTA.DisplayText, URL: r.CTA.URL}
	case "location_request":
		e.Type = "interactive"
		e.Interactive = &interactive{Type: "location_request_message", Body: textObj{Text: r.Text},
			Action: action{Name: "send_location"}}
	case "image", "video", "audio", "document", "sticker":
		if r.Media == nil || (r.Media.ID == "" && r.Media.Link == "") {
			return nil, buildErr("%s message without a media link or id", r.Kind)
		}
		m := &mediaBody{ID: r.Media.ID, Link: r.Media.Link}
		if m.ID != "" {
			m.Link = ""
		}
		if r.Kind == "image" || r.Kind == "video" || r.Kind == "document" {
			m.Caption = r.Media.Caption
			if m.Caption == "" {
				m.Caption = r.Text
			}
		}
		if r.Kind == "document" {
			m.Filename = r.Media.Filename
		}
		e.Type = r.Kind
		switch r.Kind {
		case "image":
			e.Image = m
		case "video":
			e.Video = m
		case "audio":
			e.Audio = m
		case "document":
			e.Document = m
		case "sticker":
			e.Sticker = m
		}
	case "react":
		if contextWamid == "" {
			return nil, buildErr("react without the customer's message to react to")
		}
		e.Type = "reaction"
		e.Reaction = &reactionBody{MessageID: contextWamid, Emoji: r.Emoji}
	case "template":
		if r.Template == nil || r.Template.Name == "" {
			return nil, buildErr("template message without a template name")
		}
		e.Type = "template"
		e.Template = &templateBody{Name: r.Template.Name, Language: templateLang{Code: r.Template.Language},
			Components: r.Template.Components}
	default:
		return nil, buildErr("unknown reply kind %q", r.Kind)
	}
	b, err := e.appendJSON(dst)
	if err != nil {
		return nil, buildErr("%v", err)
	}
	return b, nil
}

// appendJSON appends e as encoding/json writes it with HTML escaping off:
// the same fields in the same order, omitempty honoured. One body is built
// for every reply, and reflection cost more than the rest of building it;
// TestEnvelopeJSONMatchesEncodingJSON and FuzzEnvelopeJSON hold the two
// equal. Only template components, free-form values from the rules, go
// through encoding/json.
func (e *envelope) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"messaging_product":`...)
	b = appendJSONString(b, e.MessagingProduct)
	b = append(b, `,"recipient_type":`...)
	b = appendJSONString(b, e.RecipientType)
	b = appendStringField(b, "to", e.To, true)
	b = appendStringField(b, "recipient", e.Recipient, true)
	if e.Context != nil {
		b = append(b, `,"context":{"message_id":`...)
		b = appendJSONString(b, e.Context.MessageID)
		b = append(b, '}')
	}
	b = appendStringField(b, "type", e.Type, false)
	if t := e.Text; t != nil {
		b = append(b, `,"text":{`...)
		if t.PreviewURL {
			b = append(b, `"preview_url":true,`...)
		}
		b = append(b, `"body":`...)
		b = appendJSONString(b, t.Body)
		b = append(b, '}')
	}
	if e.Interactive != nil {
		b = append(b, `,"interactive":`...)
		b = e.Interactive.appendJSON(b)
	}
	for _, m := range []struct {
		name string
		body *mediaBody
	}{{"image", e.Image}, {"video", e.Video}, {"audio", e.Audio}, {"document", e.Document}, {"sticker", e.Sticker}} {
		if m.body != nil {
			b = append(b, ',', '"')
			b = append(b, m.name...)
			b = append(b, `":`...)
			b = m.body.appendJSON(b)
		}
	}
	if r := e.Reaction; r != nil {
		b = append(b, `,"reaction":{"message_id":`...)
		b = appendJSONString(b, r.MessageID)
		b = append(b, `,"emoji":`...)
		b = appendJSONString(b, r.Emoji)
		b = append(b, '}')
	}
	if t := e.Template; t != nil {
		b = append(b, `,"template":{"name":`...)
		b = appendJSONString(b, t.Name)
		b = append(b, `,"language":{"code":`...)
		b = appendJSONString(b, t.Language.Code)
		b = append(b, '}')
		if len(t.Components) > 0 {
			c, err := marshal(t.Components)
			if err != nil {
				return nil, err
			}
			b = append(b, `,"components":`...)
			b = append(b, c...)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func (in *interactive) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, in.Type)
	if in.Header != nil {
		b = append(b, `,"header":`...)
		b = in.Header.appendJSON(b)
	}
	b = append(b, `,"body":`...)
	b = in.Body.appendJSON(b)
	if in.Footer != nil {
		b = append(b, `,"footer":`...)
		b = in.Footer.appendJSON(b)
	}
	a := &in.Action
	b = append(b, `,"action":{`...)
	n := len(b)
	b = appendStringField(b, "name", a.Name, true)
	b = appendStringField(b, "button", a.Button, true)
	if len(a.Buttons) > 0 {
		b = append(b, `,"buttons":[`...)
		for i, btn := range a.Buttons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = appendJSONString(b, btn.Type)
			b = append(b, `,"reply":{"id":`...)
			b = appendJSONString(b, btn.Reply.ID)
			b = append(b, `,"title":`...)
			b = appendJSONString(b, btn.Reply.Title)
			b = append(b, '}', '}')
		}
		b = append(b, ']')
	}
	if len(a.Sections) > 0 {
		b = append(b, `,"sections":[`...)
		for i, s := range a.Sections {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			m := len(b)
			b = appendStringField(b, "title", s.Title, true)
			b = append(b, `,"rows":`...)
			if s.Rows == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, r := range s.Rows {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"id":`...)
					b = appendJSONString(b, r.ID)
					b = append(b, `,"title":`...)
					b = appendJSONString(b, r.Title)
					b = appendStringField(b, "description", r.Description, true)
					b = append(b, '}')
				}
				b = append(b, ']')
			}
			b = dropLeadingComma(b, m)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if p := a.Parameters; p != nil {
		b = append(b, `,"parameters":{"display_text":`...)
		b = appendJSONString(b, p.DisplayText)
		b = append(b, `,"url":`...)
		b = appendJSONString(b, p.URL)
		b = append(b, '}')
	}
	b = dropLeadingComma(b, n)
	return append(b, '}', '}')
}

func (t *textObj) appendJSON(b []byte) []byte {
	b = append(b, '{')
	n := len(b)
	b = appendStringField(b, "type", t.Type, true)
	b = appendStringField(b, "text", t.Text, false)
	b = dropLeadingComma(b, n)
	return append(b, '}')
}

func (m *mediaBody) appendJSON(b []byte) []byte {
	b = append(b, '{')
	n := len(b)
	b = appendStringField(b, "id", m.ID, true)
	b = appendStringField(b, "link", m.Link, true)
	b = appendStringField(b, "caption", m.Caption, true)
	b = appendStringField(b, "filename", m.Filename, true)
	b = dropLeadingComma(b, n)
	return append(b, '}')
}

// appendStringField appends ,"name":value (nothing when omitEmpty and value
// is empty). Objects are written with a comma before every field; the one
// after the opening brace is removed by dropLeadingComma.
func appendStringField(b []byte, name, value string, omitEmpty bool) []byte {
	if omitEmpty && value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// dropLeadingComma removes the comma at b[at], written before an object's
// first field, if there is one.
func dropLeadingComma(b []byte, at int) []byte {
	if len(b) > at && b[at] == ',' {
		return append(b[:at], b[at+1:]...)
	}
	return b
}

// BuildRead is the body that marks the customer's message wamid as read,
// with the typing indicator when typing. It is written by hand: one is sent
// for nearly every message, and the shape never changes.
func BuildRead(wamid string, typing bool) []byte {
	return appendRead(make([]byte, 0, 96+len(wamid)), wamid, typing)
}

// appendRead is BuildRead appending the body to b.
func appendRead(b []byte, wamid string, typing bool) []byte {
	b = append(b, `{"messaging_product":"whatsapp","status":"read","message_id":`...)
	b = appendJSONString(b, wamid)
	if typing {
		b = append(b, `,"typing_indicator":{"type":"text"}`...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does with HTML escaping off (invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
