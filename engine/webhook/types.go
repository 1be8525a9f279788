// Package webhook decodes and signs the WhatsApp Cloud API webhook deliveries that Meta posts to balas.
//
// The raw envelope types (Payload, Entry, Change, MessagesValue, Message,
// Status, ...) mirror Meta's JSON field for field. Decode flattens a body into
// a Delivery: every inbound message and every status of every entry and
// change, in order, plus every non-message change as an Event.
//
// Always verify the X-Hub-Signature-256 header (VerifySignature) against the
// raw request bytes before decoding: re-serialised JSON does not verify.
package webhook

import (
	"encoding/json"
	"strconv"
	"time"
)

// ObjectWhatsAppBusinessAccount is the value of Payload.Object for every
// WhatsApp Business webhook.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// FieldMessages is the Change.Field of inbound messages and statuses.
const FieldMessages = "messages"

// Message types (Message.Type) documented by Meta. Any other value must be
// treated as unknown; the message is still decoded and kept in Message.Raw.
const (
	TypeText        = "text"
	TypeImage       = "image"
	TypeAudio       = "audio"
	TypeVideo       = "video"
	TypeDocument    = "document"
	TypeSticker     = "sticker"
	TypeLocation    = "location"
	TypeContacts    = "contacts"
	TypeInteractive = "interactive"
	TypeButton      = "button"
	TypeReaction    = "reaction"
	TypeOrder       = "order"
	TypeSystem      = "system"
	TypeUnsupported = "unsupported"
	TypeUnknown     = "unknown"
)

// Payload is the top-level webhook body.
type Payload struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is one element of Payload.Entry. ID is the WABA id.
type Entry struct {
	ID string `json:"id"`
	// Time is the integer entry.time of account-level webhooks; 0 when absent
	// (messages webhooks usually carry none).
	Time    int64    `json:"time,omitempty"`
	Changes []Change `json:"changes"`
}

// Change is one element of Entry.Changes. Value is kept raw: its shape
// depends on Field. For Field == "messages" decode it into MessagesValue.
type Change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// MessagesValue is the value of a "messages" change. Decoding it with
// json.Unmarshal also fills Message.Raw and Status.Raw.
type MessagesValue struct {
	MessagingProduct string    `json:"messaging_product"`
	Metadata         Metadata  `json:"metadata"`
	Contacts         []Contact `json:"contacts,omitempty"`
	Messages         []Message `json:"messages,omitempty"`
	Statuses         []Status  `json:"statuses,omitempty"`
	Errors           []Error   `json:"errors,omitempty"`
}

// Metadata identifies the business phone number that received the message
// (PhoneNumberID is the id to reply from).
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is one element of value.contacts: the sender's profile.
// WaID is absent for username users; UserID (the business-scoped user id,
// BSUID) is always present in current webhooks.
type Contact struct {
	Profile         Profile `json:"profile"`
	WaID            string  `json:"wa_id,omitempty"`
	UserID          string  `json:"user_id,omitempty"`
	ParentUserID    string  `json:"parent_user_id,omitempty"`
	IdentityKeyHash string  `json:"identity_key_hash,omitempty"`
}

// Profile is Contact.Profile.
type Profile struct {
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Message is one inbound message (value.messages[]). Exactly one of the
// type-specific pointers is normally set, the one named by Type; it may be
// nil even then (Meta sends e.g. type "interactive" without an interactive
// object together with value.errors). Raw always holds the message object
// exactly as received, so unknown types and fields are never lost.
type Message struct {
	// From is the sender's phone number (digits, no "+"). It is empty for
	// users with a username who have not been in contact recently.
	From string `json:"from,omitempty"`
	// FromUserID is the sender's business-scoped user id (BSUID).
	FromUserID string `json:"from_user_id,omitempty"`
	// ID is the wamid of the message.
	ID string `json:"id"`
	// Timestamp is Unix seconds as a decimal string; see Time.
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`

	Context  *Context  `json:"context,omitempty"`
	Referral *Referral `json:"referral,omitempty"`
	Identity *Identity `json:"identity,omitempty"`
	Errors   []Error   `json:"errors,omitempty"`

	Text        *Text           `json:"text,omitempty"`
	Image       *Media          `json:"image,omitempty"`
	Video       *Media          `json:"video,omitempty"`
	Audio       *Media          `json:"audio,omitempty"`
	Document    *Media          `json:"document,omitempty"`
	Sticker     *Media          `json:"sticker,omitempty"`
	Location    *Location       `json:"location,omitempty"`
	Contacts    []SharedContact `json:"contacts,omitempty"`
	Interactive *Interactive    `json:"interactive,omitempty"`
	Button      *TemplateButton `json:"button,omitempty"`
	Reaction    *Reaction       `json:"reaction,omitempty"`
	Order       *Order          `json:"order,omitempty"`
	System      *System         `json:"system,omitempty"`
	Unsupported *Unsupported    `json:"unsupported,omitempty"`

	// Raw is the message object exactly as received.
	Raw json.RawMessage `json:"-"`
}

// Context is Message.Context: a reply to a message (From and ID, the quoted
// wamid), a forwarded marker, or the product a "Message business" button
// was pressed on.
type Context struct {
	From                string           `json:"from,omitempty"`
	ID                  string           `json:"id,omitempty"`
	Forwarded           bool             `json:"forwarded,omitempty"`
	FrequentlyForwarded bool             `json:"frequently_forwarded,omitempty"`
	ReferredProduct     *ReferredProduct `json:"referred_product,omitempty"`
}

// ReferredProduct is Context.ReferredProduct.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id"`
	ProductRetailerID string `json:"product_retailer_id"`
}

// Referral is Message.Referral: the message came from a Click-to-WhatsApp ad
// or post.
type Referral struct {
	SourceURL      string          `json:"source_url,omitempty"`
	SourceID       string          `json:"source_id,omitempty"`
	SourceType     string          `json:"source_type,omitempty"`
	Body           string          `json:"body,omitempty"`
	Headline       string          `json:"headline,omitempty"`
	MediaType      string          `json:"media_type,omitempty"`
	ImageURL       string          `json:"image_url,omitempty"`
	VideoURL       string          `json:"video_url,omitempty"`
	ThumbnailURL   string          `json:"thumbnail_url,omitempty"`
	CtwaClid       string          `json:"ctwa_clid,omitempty"`
	WelcomeMessage *WelcomeMessage `json:"welcome_message,omitempty"`
}

// WelcomeMessage is Referral.WelcomeMessage.
type WelcomeMessage struct {
	Text string `json:"text,omitempty"`
}

// Identity is the message-level identity object of older
// customer_identity_changed system messages.
type Identity struct {
	Acknowledged     bool   `json:"acknowledged,omitempty"`
	CreatedTimestamp string `json:"created_timestamp,omitempty"`
	Hash             string `json:"hash,omitempty"`
}

// Text is Message.Text.
type Text struct {
	Body string `json:"body"`
}

// Media is the object of image, video, audio, document and sticker
// messages. SHA256 is base64. URL needs the bearer token and expires fast.
type Media struct {
	ID       string `json:"id,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	URL      string `json:"url,omitempty"`
	// Voice is set on audio recorded in the WhatsApp client.
	Voice bool `json:"voice,omitempty"`
	// Animated is set on animated stickers.
	Animated bool `json:"animated,omitempty"`
}

// Location is Message.Location. Name, Address and URL are optional.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// SharedContact is one contact card of a "contacts" message (not to be
// confused with Contact, the sender's profile).
type SharedContact struct {
	Name      ContactName      `json:"name"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	Org       *ContactOrg      `json:"org,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
	Addresses []ContactAddress `json:"addresses,omitempty"`
	Birthday  string           `json:"birthday,omitempty"`
	Vcard     string           `json:"vcard,omitempty"`
	Origin    string           `json:"origin,omitempty"`
}

// ContactName is SharedContact.Name.
type ContactName struct {
	FormattedName string `json:"formatted_name,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// ContactPhone is one of SharedContact.Phones.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactEmail is one of SharedContact.Emails.
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactOrg is SharedContact.Org.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// ContactURL is one of SharedContact.URLs.
type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// ContactAddress is one of SharedContact.Addresses.
type ContactAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

// Interactive types (Interactive.Type).
const (
	InteractiveButtonReply = "button_reply"
	InteractiveListReply   = "list_reply"
	InteractiveNFMReply    = "nfm_reply"
)

// Interactive is Message.Interactive: the user tapped a reply button,
// picked a list row, or completed a Flow.
type Interactive struct {
	Type        string       `json:"type"`
	ButtonReply *ButtonReply `json:"button_reply,omitempty"`
	ListReply   *ListReply   `json:"list_reply,omitempty"`
	NFMReply    *NFMReply    `json:"nfm_reply,omitempty"`
}

// ButtonReply is Interactive.ButtonReply; ID is the id we gave the button.
type ButtonReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ListReply is Interactive.ListReply; ID is the id we gave the row.
type ListReply struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// NFMReply is Interactive.NFMReply (Flow completion). ResponseJSON is a
// JSON document encoded as a string.
type NFMReply struct {
	ResponseJSON string `json:"response_json"`
	Body         string `json:"body,omitempty"`
	Name         string `json:"name,omitempty"`
}

// TemplateButton is Message.Button: a tap on a template quick-reply button.
type TemplateButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// Reaction is Message.Reaction. Emoji is empty when the user removed the
// reaction (Meta omits the field).
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji,omitempty"`
}

// Removed reports whether the reaction was removed (no emoji).
func (r *Reaction) Removed() bool { return r == nil || r.Emoji == "" }

// Order is Message.Order (a catalog cart).
type Order struct {
	CatalogID    string        `json:"catalog_id"`
	Text         string        `json:"text,omitempty"`
	ProductItems []ProductItem `json:"product_items"`
}

// ProductItem is one of Order.ProductItems. Quantity and ItemPrice accept
// JSON numbers and numeric strings.
type ProductItem struct {
	ProductRetailerID string    `json:"product_retailer_id"`
	Quantity          FlexInt   `json:"quantity"`
	ItemPrice         FlexFloat `json:"item_price"`
	Currency          string    `json:"currency"`
}

// System is Message.System, for example type "user_changed_number" with the
// new WaID. Identity, NewWaID and Customer appear in older payloads.
type System struct {
	Body     string `json:"body,omitempty"`
	WaID     string `json:"wa_id,omitempty"`
	Type     string `json:"type,omitempty"`
	Identity string `json:"identity,omitempty"`
	NewWaID  string `json:"new_wa_id,omitempty"`
	Customer string `json:"customer,omitempty"`
	UserID   string `json:"user_id,omitempty"`
}

// Unsupported is Message.Unsupported; Type says what the user sent (e.g.
// "poll_creation"). The message's Errors explain it.
type Unsupported struct {
	Type string `json:"type"`
}

// Status values (Status.Status).
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
	StatusPlayed    = "played"
)

// Status is one element of value.statuses: the fate of a message we sent.
// Raw holds the status object exactly as received.
type Status struct {
	ID                     string        `json:"id"`
	Status                 string        `json:"status"`
	Timestamp              string        `json:"timestamp"`
	RecipientID            string        `json:"recipient_id,omitempty"`
	RecipientUserID        string        `json:"recipient_user_id,omitempty"`
	RecipientType          string        `json:"recipient_type,omitempty"`
	RecipientParticipantID string        `json:"recipient_participant_id,omitempty"`
	BizOpaqueCallbackData  string        `json:"biz_opaque_callback_data,omitempty"`
	Conversation           *Conversation `json:"conversation,omitempty"`
	Pricing                *Pricing      `json:"pricing,omitempty"`
	Errors                 []Error       `json:"errors,omitempty"`

	// Raw is the status object exactly as received.
	Raw json.RawMessage `json:"-"`
}

// Conversation is Status.Conversation (absent from v24.0 on, except for
// free entry point windows).
type Conversation struct {
	ID                  string             `json:"id,omitempty"`
	ExpirationTimestamp string             `json:"expiration_timestamp,omitempty"`
	Origin              ConversationOrigin `json:"origin"`
}

// ConversationOrigin is Conversation.Origin.
type ConversationOrigin struct {
	Type string `json:"type,omitempty"`
}

// Pricing is Status.Pricing.
type Pricing struct {
	Billable     *bool  `json:"billable,omitempty"`
	PricingModel string `json:"pricing_model,omitempty"`
	Type         string `json:"type,omitempty"`
	Category     string `json:"category,omitempty"`
}

// Error is a Cloud API error as found in value.errors, messages[].errors
// and statuses[].errors. Build logic on Code only.
type Error struct {
	Code      int       `json:"code"`
	Title     string    `json:"title,omitempty"`
	Message   string    `json:"message,omitempty"`
	ErrorData ErrorData `json:"error_data"`
	Href      string    `json:"href,omitempty"`
}

// ErrorData is Error.ErrorData.
type ErrorData struct {
	Details string `json:"details,omitempty"`
}

// Time returns the message timestamp, or the zero time when it is missing
// or not a decimal number.
func (m *Message) Time() time.Time { return unixTime(m.Timestamp) }

// Time returns the status timestamp, or the zero time when it is missing
// or not a decimal number.
func (s *Status) Time() time.Time { return unixTime(s.Timestamp) }

func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// TypedText returns what the user typed: the text body, or the caption of
// an image, video or document message; "" otherwise.
func (m *Message) TypedText() string {
	switch m.Type {
	case TypeText:
		if m.Text != nil {
			return m.Text.Body
		}
	case TypeImage:
		return m.Image.caption()
	case TypeVideo:
		return m.Video.caption()
	case TypeDocument:
		return m.Document.caption()
	}
	return ""
}

func (md *Media) caption() string {
	if md == nil {
		return ""
	}
	return md.Caption
}

// Media returns the media object of an image, video, audio, document or
// sticker message, nil otherwise (or when the object is missing).
func (m *Message) Media() *Media {
	switch m.Type {
	case TypeImage:
		return m.Image
	case TypeVideo:
		return m.Video
	case TypeAudio:
		return m.Audio
	case TypeDocument:
		return m.Document
	case TypeSticker:
		return m.Sticker
	}
	return nil
}

// Reply kinds returned by ReplyRef.
const (
	ReplyButton = "button"
	ReplyList   = "list"
)

// ReplyRef describes a tap on something we sent:
//   - interactive button_reply: ("button", id, title, "")
//   - interactive list_reply: ("list", id, title, description)
//   - template quick reply (type "button"): ("button", payload, text, "")
//
// Everything else (including Flow replies) gives ("", "", "", "").
func (m *Message) ReplyRef() (kind, id, title, description string) {
	switch m.Type {
	case TypeInteractive:
		in := m.Interactive
		if in == nil {
			return "", "", "", ""
		}
		switch {
		case in.Type == InteractiveButtonReply && in.ButtonReply != nil:
			return ReplyButton, in.ButtonReply.ID, in.ButtonReply.Title, ""
		case in.Type == InteractiveListReply && in.ListReply != nil:
			return ReplyList, in.ListReply.ID, in.ListReply.Title, in.ListReply.Description
		}
	case TypeButton:
		if m.Button != nil {
			return ReplyButton, m.Button.Payload, m.Button.Text, ""
		}
	}
	return "", "", "", ""
}

// IsReply reports whether the message quotes an earlier message
// (Context.ID is set), e.g. a swipe reply or a button tap.
func (m *Message) IsReply() bool { return m.Context != nil && m.Context.ID != "" }
