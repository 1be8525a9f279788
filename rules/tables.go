package rules

import "slices"

// The tables below describe every mapping of the rules language: its keys,
// their types and WhatsApp's limits. The loader checks keys and limits from
// them and Schema builds the JSON Schema from them, so the two cannot drift.

type fieldKind int

const (
	kString   fieldKind = iota // a plain string (ids, names)
	kTemplate                  // a string that may hold {{ expr }}
	kBool                      // true/false
	kVersion                   // the integer 1
	kDuration                  // "30m", "2h", "1d"
	kStrings                   // a string or a list of strings
	kObject                    // a mapping described by ref
	kList                      // a list of mappings described by ref
	kStringOr                  // a string (the object's body) or a mapping described by ref
	kVars                      // a mapping of names to any value
	kSet                       // a mapping of session keys to templates
	kReply                     // a reply: string, message or list of those
	kAny                       // anything (template components)
)

type field struct {
	name     string
	kind     fieldKind
	ref      string   // object name for kObject, kList, kStringOr
	max      int      // strings: code points; lists: items (0: no limit)
	min      int      // lists: items
	required bool     // the key must be given
	enum     []string // allowed values (kStrings)
	desc     string
	// What the loader checks beyond the kind, for the schema: the loader
	// checks these in code (load.go), the schema repeats them so that an
	// editor flags the same values.
	plain    bool   // a name, not a template: `{{` is refused (goto, state, button, list)
	pattern  string // each value (of kString, kStrings) must match this regexp
	nonBlank bool   // the value must hold more than spaces (kString)
}

// messageTypes are the inbound message types `when.type` accepts.
var messageTypes = []string{
	"text", "image", "audio", "video", "document", "sticker", "location", "contacts",
	"interactive", "button", "reaction", "order", "system", "unsupported", "unknown",
}

// MessageTypes lists the inbound message types `when.type` accepts.
func MessageTypes() []string { return slices.Clone(messageTypes) }

// Meta's limits, in Unicode code points.
const (
	maxText        = 4096
	maxBody        = 1024
	maxHeader      = 60
	maxFooter      = 60
	maxButtonTitle = 20
	maxButtonID    = 256
	maxButtons     = 3
	maxListButton  = 20
	maxSections    = 10
	maxRows        = 10
	maxSectionT    = 24
	maxRowTitle    = 24
	maxRowDesc     = 72
	maxRowID       = 200
	maxCaption     = 1024
	maxDisplayText = 20
)

// letterOrDigit is what a keyword or exact text needs to match anything:
// Normalize keeps only letters and digits.
const letterOrDigit = `[\p{L}\p{N}]`

// fromGlob is what a `from` glob may be: digits and `*`, the country code
// first (a number in a webhook never starts with 0).
const fromGlob = `^[1-9*][0-9*]*$`

// mediaKinds are the message kinds sent by link or media id.
var mediaKinds = []string{"image", "video", "audio", "document", "sticker"}

// messageKinds are the kind keys of a reply message, in the contract's order.
var messageKinds = []string{
	"text", "buttons", "list", "image", "video", "audio", "document", "sticker",
	"cta_url", "location_request", "react", "template",
}

var objects = map[string][]field{
	"file": {
		{name: "version", kind: kVersion, required: true, desc: "the language version; always 1"},
		{name: "settings", kind: kObject, ref: "settings", desc: "settings for the whole rule set"},
		{name: "vars", kind: kVars, desc: "constants every expression sees as vars.NAME"},
		{name: "rules", kind: kList, ref: "rule", desc: "rules, tried in order"},
	},
	"settings": {
		{name: "session_ttl", kind: kDuration, desc: "idle time after which state and session reset (default 30m)"},
		{name: "mark_read", kind: kBool, desc: "send a read receipt for every handled message (default true)"},
		{name: "typing", kind: kBool, desc: "show typing… before answering (default false)"},
		{name: "timezone", kind: kString, nonBlank: true, desc: "IANA zone of `now` (default UTC)"},
	},
	"rule": {
		{name: "id", kind: kString, required: true, nonBlank: true, desc: "unique across all files"},
		{name: "when", kind: kObject, ref: "when", desc: "conditions; every key given must hold"},
		{name: "reply", kind: kReply, desc: "a string (text), one message, or a list of messages"},
		{name: "set", kind: kSet, desc: "values stored in the session (templates allowed)"},
		{name: "goto", kind: kString, plain: true, desc: "move to this state (\"\" leaves every state)"},
		{name: "reset", kind: kBool, desc: "clear state and session"},
		{name: "handoff", kind: kDuration, desc: "stop auto-replies for this long"},
		{name: "fallback", kind: kBool, desc: "answer only when no other rule matched"},
	},
	"when": {
		{name: "keywords", kind: kStrings, pattern: letterOrDigit, desc: "the typed text contains one of them as whole words (normalised)"},
		{name: "exact", kind: kStrings, pattern: letterOrDigit, desc: "the whole normalised typed text equals one of them"},
		{name: "regex", kind: kString, desc: "RE2 expression matched against the typed text; named groups are match.NAME"},
		{name: "button", kind: kStrings, plain: true, max: maxButtonID, desc: "button reply id or template quick-reply payload; * globs"},
		{name: "list", kind: kStrings, plain: true, max: maxRowID, desc: "list reply id; * globs"},
		{name: "type", kind: kStrings, enum: messageTypes, desc: "message type"},
		{name: "state", kind: kStrings, plain: true, desc: "conversation state (\"\" = no state)"},
		{name: "from", kind: kStrings, pattern: fromGlob, desc: "sender number globs, with the country code (62812*)"},
		{name: "expr", kind: kString, desc: "expr-lang boolean expression"},
	},
	"message": {
		{name: "text", kind: kStringOr, ref: "text", max: maxText},
		{name: "buttons", kind: kObject, ref: "buttons"},
		{name: "list", kind: kObject, ref: "list"},
		{name: "image", kind: kObject, ref: "image"},
		{name: "video", kind: kObject, ref: "video"},
		{name: "audio", kind: kObject, ref: "audio"},
		{name: "document", kind: kObject, ref: "document"},
		{name: "sticker", kind: kObject, ref: "sticker"},
		{name: "cta_url", kind: kObject, ref: "cta_url"},
		{name: "location_request", kind: kStringOr, ref: "location_request", max: maxBody},
		{name: "react", kind: kTemplate, desc: "an emoji put on the customer's message"},
		{name: "template", kind: kObject, ref: "template"},
		{name: "quote", kind: kBool, desc: "send as a reply to the customer's message"},
	},
	"text": {
		{name: "body", kind: kTemplate, max: maxText, required: true},
		{name: "preview_url", kind: kBool},
	},
	"buttons": {
		{name: "body", kind: kTemplate, max: maxBody, required: true},
		{name: "header", kind: kTemplate, max: maxHeader},
		{name: "footer", kind: kTemplate, max: maxFooter},
		{name: "buttons", kind: kList, ref: "button", min: 1, max: maxButtons, required: true},
	},
	"button": {
		{name: "id", kind: kTemplate, max: maxButtonID, required: true},
		{name: "title", kind: kTemplate, max: maxButtonTitle, required: true},
	},
	"list": {
		{name: "body", kind: kTemplate, max: maxBody, required: true},
		{name: "button", kind: kTemplate, max: maxListButton, required: true},
		{name: "header", kind: kTemplate, max: maxHeader},
		{name: "footer", kind: kTemplate, max: maxFooter},
		{name: "sections", kind: kList, ref: "section", min: 1, max: maxSections, required: true},
	},
	"section": {
		{name: "title", kind: kTemplate, max: maxSectionT},
		{name: "rows", kind: kList, ref: "row", min: 1, max: maxRows, required: true},
	},
	"row": {
		{name: "id", kind: kTemplate, max: maxRowID, required: true},
		{name: "title", kind: kTemplate, max: maxRowTitle, required: true},
		{name: "description", kind: kTemplate, max: maxRowDesc},
	},
	"image":    mediaFields(true, false),
	"video":    mediaFields(true, false),
	"audio":    mediaFields(false, false),
	"sticker":  mediaFields(false, false),
	"document": mediaFields(true, true),
	"cta_url": {
		{name: "body", kind: kTemplate, max: maxBody, required: true},
		{name: "display_text", kind: kTemplate, max: maxDisplayText, required: true},
		{name: "url", kind: kTemplate, required: true, desc: "http(s) URL"},
		{name: "header", kind: kTemplate, max: maxHeader},
		{name: "footer", kind: kTemplate, max: maxFooter},
	},
	"location_request": {
		{name: "body", kind: kTemplate, max: maxBody, required: true},
	},
	"template": {
		{name: "name", kind: kTemplate, required: true},
		{name: "language", kind: kTemplate, required: true},
		{name: "components", kind: kAny, desc: "passed to the Graph API as written (strings are templates)"},
	},
}

func mediaFields(caption, filename bool) []field {
	f := []field{
		{name: "link", kind: kTemplate, desc: "public http(s) URL (give link or id)"},
		{name: "id", kind: kTemplate, nonBlank: true, desc: "uploaded media id (give link or id)"},
	}
	if caption {
		f = append(f, field{name: "caption", kind: kTemplate, max: maxCaption})
	}
	if filename {
		f = append(f, field{name: "filename", kind: kTemplate})
	}
	return f
}

// fieldOf returns the field spec of key in object obj.
func fieldOf(obj, key string) (field, bool) {
	for _, f := range objects[obj] {
		if f.name == key {
			return f, true
		}
	}
	return field{}, false
}

func keysOf(obj string) []string {
	fs := objects[obj]
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}
