package rules

import "time"

// Env is what expressions (`when.expr`) and `{{ … }}` templates see. The rules
// package type-checks every expression against this type at load time; the
// engine fills one per inbound message.
type Env struct {
	Message  MessageEnv        `expr:"message"`
	Contact  ContactEnv        `expr:"contact"`
	Business BusinessEnv       `expr:"business"`
	State    string            `expr:"state"`
	Session  map[string]any    `expr:"session"`
	Vars     map[string]any    `expr:"vars"`
	Match    map[string]string `expr:"match"`
	Now      time.Time         `expr:"now"`
}

// MessageEnv describes the customer's message.
type MessageEnv struct {
	ID        string      `expr:"id"`
	From      string      `expr:"from"`
	Type      string      `expr:"type"`
	Text      string      `expr:"text"` // body, caption, or the tapped reply's title
	Timestamp time.Time   `expr:"timestamp"`
	Reply     ReplyEnv    `expr:"reply"`
	Media     MediaEnv    `expr:"media"`
	Location  LocationEnv `expr:"location"`
	Context   ContextEnv  `expr:"context"`
	Reaction  ReactionEnv `expr:"reaction"`
}

// ReplyEnv is the button or list row the customer tapped.
type ReplyEnv struct {
	ID          string `expr:"id"`
	Title       string `expr:"title"`
	Description string `expr:"description"`
}

// MediaEnv describes received media.
type MediaEnv struct {
	ID       string `expr:"id"`
	MimeType string `expr:"mime_type"`
	Caption  string `expr:"caption"`
	Filename string `expr:"filename"`
}

// LocationEnv is a shared location.
type LocationEnv struct {
	Latitude  float64 `expr:"latitude"`
	Longitude float64 `expr:"longitude"`
	Name      string  `expr:"name"`
	Address   string  `expr:"address"`
}

// ContextEnv names the message the customer replied to.
type ContextEnv struct {
	ID string `expr:"id"`
}

// ReactionEnv is a reaction's emoji ("" when the customer took the
// reaction back) and the message it is on.
type ReactionEnv struct {
	Emoji     string `expr:"emoji"`
	MessageID string `expr:"message_id"`
}

// ContactEnv is the customer.
type ContactEnv struct {
	Name string `expr:"name"`
	WaID string `expr:"wa_id"`
}

// BusinessEnv is the business number that received the message.
type BusinessEnv struct {
	PhoneNumberID      string `expr:"phone_number_id"`
	DisplayPhoneNumber string `expr:"display_phone_number"`
}
