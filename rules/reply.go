package rules

// Reply is one rendered message that the bot sends: plain data, no templates left.
// It is what the engine produces, what the outbox stores (as JSON) and what the
// outbound package turns into a Graph API request body.
type Reply struct {
	// Kind is one of: text, buttons, list, image, video, audio, document,
	// sticker, cta_url, location_request, react, template.
	Kind string `json:"kind"`
	// Quote sends the message as a reply to the customer's message (context.message_id).
	Quote bool `json:"quote,omitempty"`

	// Text is the body of a text message, the body of an interactive message
	// (buttons, list, cta_url, location_request) or the caption of media.
	Text       string `json:"text,omitempty"`
	PreviewURL bool   `json:"preview_url,omitempty"`
	Header     string `json:"header,omitempty"` // interactive header text
	Footer     string `json:"footer,omitempty"` // interactive footer text

	Buttons    []Button  `json:"buttons,omitempty"`     // kind buttons: 1–3 reply buttons
	ListButton string    `json:"list_button,omitempty"` // kind list: the button that opens the list
	Sections   []Section `json:"sections,omitempty"`    // kind list

	Media *Media `json:"media,omitempty"` // image, video, audio, document, sticker
	CTA   *CTA   `json:"cta,omitempty"`   // cta_url

	Emoji string `json:"emoji,omitempty"` // react: the emoji put on the customer's message

	Template *TemplateMessage `json:"template,omitempty"` // template
}

// Button is a reply button.
type Button struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Section is one titled group of list rows.
type Section struct {
	Title string `json:"title,omitempty"`
	Rows  []Row  `json:"rows"`
}

// Row is one pickable row of a list message.
type Row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Media is a media message sent by public link or by uploaded media id.
type Media struct {
	Link     string `json:"link,omitempty"`
	ID       string `json:"id,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"` // documents only
}

// CTA is a call-to-action URL button.
type CTA struct {
	DisplayText string `json:"display_text"`
	URL         string `json:"url"`
}

// TemplateMessage is an approved message template.
type TemplateMessage struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	// Components is passed to the Graph API as written in the rules
	// (after template rendering of its strings).
	Components []any `json:"components,omitempty"`
}
