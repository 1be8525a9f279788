package webhook

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The common path.
//
// Nearly every delivery balas receives is one customer message of a few
// kinds (text, a tapped reply button or list row, a template button) or a
// status of a reply (sent, delivered, read: three for every reply). For
// those, decodeCommon reads the body with a small hand-written parser
// instead of json.Unmarshal's reflection, which cost more than storing the
// message. It handles only that shape and gives up (ok == false) on
// anything else, leaving the body to decodeFast and decodeLayered:
//   - a body json.Valid rejects (validJSON, which agrees with it; so a body
//     it accepts is valid JSON);
//   - a change whose field is not "messages" or whose value is missing or
//     null; errors in a value, a message or a status;
//   - a message with any field other than from, from_user_id, id,
//     timestamp, type, text, interactive (button_reply, list_reply),
//     button and context (from, id);
//   - null where it expects a value, a value of another JSON type, a key
//     of the fields it knows given twice, a key that is not plain ASCII
//     without escapes, or a key that matches a known field only ignoring
//     case (encoding/json would take it for that field).
//
// Keys the structs do not know are skipped, as encoding/json skips them.
// FuzzDecodeMatchesReference holds the result equal to decodeLayered's.

// The keys encoding/json would match to a field of each struct. A key that
// is one of these ignoring case but not exactly is given up on.
var (
	commonTopKeys         = []string{"object", "entry"}
	commonEntryKeys       = []string{"id", "changes", "time"}
	commonChangeKeys      = []string{"field", "value"}
	commonValueKeys       = []string{"messaging_product", "metadata", "contacts", "messages", "statuses", "errors"}
	commonMetadataKeys    = []string{"display_phone_number", "phone_number_id"}
	commonContactKeys     = []string{"profile", "wa_id", "user_id", "parent_user_id", "identity_key_hash"}
	commonProfileKeys     = []string{"name", "username"}
	commonMessageKeys     = []string{"from", "from_user_id", "id", "timestamp", "type", "text", "interactive", "button", "context", "referral", "identity", "errors", "image", "video", "audio", "document", "sticker", "location", "contacts", "reaction", "order", "system", "unsupported"}
	commonTextKeys        = []string{"body"}
	commonInteractiveKeys = []string{"type", "button_reply", "list_reply", "nfm_reply"}
	commonReplyKeys       = []string{"id", "title", "description"}
	commonButtonKeys      = []string{"payload", "text"}
	commonContextKeys     = []string{"from", "id", "forwarded", "frequently_forwarded", "referred_product"}
	commonStatusKeys      = []string{"id", "status", "timestamp", "recipient_id", "recipient_user_id", "recipient_type", "recipient_participant_id", "biz_opaque_callback_data", "conversation", "pricing", "errors"}
	commonConvKeys        = []string{"id", "expiration_timestamp", "origin"}
	commonOriginKeys      = []string{"type"}
	commonPricingKeys     = []string{"billable", "pricing_model", "type", "category"}
)

// commonParser reads valid JSON (validJSON accepted it).
type commonParser struct {
	rawWalker
}

func decodeCommon(body []byte) (*Delivery, bool) {
	if !validJSON(body) {
		return nil, false
	}
	p := &commonParser{rawWalker{b: body}}
	d := &Delivery{}
	end := p.fields(p.ws(0), commonTopKeys, func(k, at int) int {
		switch k {
		case 0: // object
			return p.str(at, &d.Object)
		default: // entry
			return p.list(at, func(at int) int { return p.entry(at, d) })
		}
	})
	if end < 0 || p.ws(end) != len(body) {
		return nil, false
	}
	return d, true
}

// fields walks the object at at. For a member whose key is keys[k] it calls
// f(k, start of the value), which returns the value's end or -1; other keys
// are skipped. It returns the end of the object, or -1 to give up.
func (p *commonParser) fields(at int, keys []string, f func(k, at int) int) int {
	if p.at(at) != '{' {
		return -1
	}
	var seen uint64
	return p.members(at, func(key []byte, plain bool, at int) int {
		if !plain {
			return -1
		}
		k := -1
		for i, name := range keys {
			if string(key) == name {
				k = i
				break
			}
			if keyIs(key, name) {
				return -1 // encoding/json would match it ignoring case
			}
		}
		if k < 0 {
			return p.skip(at)
		}
		if seen&(1<<k) != 0 || p.isNull(at) {
			return -1
		}
		seen |= 1 << k
		return f(k, at)
	})
}

// list walks the array at at, handing each element to f.
func (p *commonParser) list(at int, f func(at int) int) int {
	if p.at(at) != '[' {
		return -1
	}
	return p.elements(at, func(_, at int) int {
		if p.isNull(at) {
			return -1
		}
		return f(at)
	})
}

// str decodes the string at at into s as encoding/json does.
func (p *commonParser) str(at int, s *string) int {
	end := p.rawWalker.str(at)
	if end < 0 {
		return -1
	}
	content := p.b[at+1 : end-1]
	if bytes.IndexByte(content, '\\') < 0 && utf8.Valid(content) {
		*s = string(content)
		return end
	}
	// Escapes or invalid UTF-8: let encoding/json decide what they are.
	if json.Unmarshal(p.b[at:end], s) != nil {
		return -1
	}
	return end
}

func (p *commonParser) entry(at int, d *Delivery) int {
	var id string
	var changes []int // starts of the change objects, read once id is known
	end := p.fields(at, commonEntryKeys, func(k, at int) int {
		switch k {
		case 0:
			return p.str(at, &id)
		case 1:
			return p.list(at, func(at int) int {
				changes = append(changes, at)
				return p.skip(at)
			})
		default: // time: kept only for events, which this path gives up on
			return p.skip(at)
		}
	})
	if end < 0 {
		return -1
	}
	for _, c := range changes {
		if !p.change(c, id, d) {
			return -1
		}
	}
	return end
}

func (p *commonParser) change(at int, entryID string, d *Delivery) bool {
	var field string
	value := -1
	end := p.fields(at, commonChangeKeys, func(k, at int) int {
		if k == 0 {
			return p.str(at, &field)
		}
		value = at
		return p.skip(at)
	})
	if end < 0 || field != FieldMessages || value < 0 {
		return false
	}
	return p.value(value, entryID, d)
}

func (p *commonParser) value(at int, entryID string, d *Delivery) bool {
	var md Metadata
	var contacts []Contact
	var messages []Message
	var statuses []Status
	var product string
	end := p.fields(at, commonValueKeys, func(k, at int) int {
		switch k {
		case 0:
			return p.str(at, &product)
		case 1:
			return p.fields(at, commonMetadataKeys, func(k, at int) int {
				if k == 0 {
					return p.str(at, &md.DisplayPhoneNumber)
				}
				return p.str(at, &md.PhoneNumberID)
			})
		case 2:
			contacts = []Contact{}
			return p.list(at, func(at int) int {
				contacts = append(contacts, Contact{})
				return p.contact(at, &contacts[len(contacts)-1])
			})
		case 3:
			return p.list(at, func(at int) int {
				messages = append(messages, Message{})
				return p.message(at, &messages[len(messages)-1])
			})
		case 4:
			return p.list(at, func(at int) int {
				statuses = append(statuses, Status{})
				return p.status(at, &statuses[len(statuses)-1])
			})
		default: // errors
			return -1
		}
	})
	if end < 0 {
		return false
	}
	for i := range messages {
		m := &messages[i]
		d.Messages = append(d.Messages, InboundMessage{Message: *m, Metadata: md, Contact: matchContact(contacts, m), EntryID: entryID})
	}
	for i := range statuses {
		d.Statuses = append(d.Statuses, StatusUpdate{Status: statuses[i], Metadata: md, EntryID: entryID})
	}
	return true
}

func (p *commonParser) status(at int, s *Status) int {
	end := p.fields(at, commonStatusKeys, func(k, at int) int {
		switch k {
		case 0:
			return p.str(at, &s.ID)
		case 1:
			return p.str(at, &s.Status)
		case 2:
			return p.str(at, &s.Timestamp)
		case 3:
			return p.str(at, &s.RecipientID)
		case 4:
			return p.str(at, &s.RecipientUserID)
		case 5:
			return p.str(at, &s.RecipientType)
		case 6:
			return p.str(at, &s.RecipientParticipantID)
		case 7:
			return p.str(at, &s.BizOpaqueCallbackData)
		case 8:
			s.Conversation = &Conversation{}
			c := s.Conversation
			return p.fields(at, commonConvKeys, func(k, at int) int {
				switch k {
				case 0:
					return p.str(at, &c.ID)
				case 1:
					return p.str(at, &c.ExpirationTimestamp)
				}
				return p.fields(at, commonOriginKeys, func(_, at int) int { return p.str(at, &c.Origin.Type) })
			})
		case 9:
			s.Pricing = &Pricing{}
			pr := s.Pricing
			return p.fields(at, commonPricingKeys, func(k, at int) int {
				switch k {
				case 0:
					return p.boolean(at, &pr.Billable)
				case 1:
					return p.str(at, &pr.PricingModel)
				case 2:
					return p.str(at, &pr.Type)
				}
				return p.str(at, &pr.Category)
			})
		}
		return -1 // errors
	})
	if end < 0 {
		return -1
	}
	s.Raw = clone(p.b[at:end])
	return end
}

// boolean decodes true or false into a new *bool.
func (p *commonParser) boolean(at int, b **bool) int {
	var v bool
	switch {
	case bytes.HasPrefix(p.b[at:], []byte("true")):
		v = true
	case bytes.HasPrefix(p.b[at:], []byte("false")):
	default:
		return -1
	}
	*b = &v
	return p.skip(at)
}

func (p *commonParser) contact(at int, c *Contact) int {
	return p.fields(at, commonContactKeys, func(k, at int) int {
		switch k {
		case 0:
			return p.fields(at, commonProfileKeys, func(k, at int) int {
				if k == 0 {
					return p.str(at, &c.Profile.Name)
				}
				return p.str(at, &c.Profile.Username)
			})
		case 1:
			return p.str(at, &c.WaID)
		case 2:
			return p.str(at, &c.UserID)
		case 3:
			return p.str(at, &c.ParentUserID)
		default:
			return p.str(at, &c.IdentityKeyHash)
		}
	})
}

func (p *commonParser) message(at int, m *Message) int {
	end := p.fields(at, commonMessageKeys, func(k, at int) int {
		switch commonMessageKeys[k] {
		case "from":
			return p.str(at, &m.From)
		case "from_user_id":
			return p.str(at, &m.FromUserID)
		case "id":
			return p.str(at, &m.ID)
		case "timestamp":
			return p.str(at, &m.Timestamp)
		case "type":
			return p.str(at, &m.Type)
		case "text":
			m.Text = &Text{}
			return p.fields(at, commonTextKeys, func(_, at int) int { return p.str(at, &m.Text.Body) })
		case "button":
			m.Button = &TemplateButton{}
			return p.fields(at, commonButtonKeys, func(k, at int) int {
				if k == 0 {
					return p.str(at, &m.Button.Payload)
				}
				return p.str(at, &m.Button.Text)
			})
		case "context":
			m.Context = &Context{}
			return p.fields(at, commonContextKeys, func(k, at int) int {
				switch k {
				case 0:
					return p.str(at, &m.Context.From)
				case 1:
					return p.str(at, &m.Context.ID)
				}
				return -1
			})
		case "interactive":
			m.Interactive = &Interactive{}
			return p.interactive(at, m.Interactive)
		}
		return -1
	})
	if end < 0 {
		return -1
	}
	m.Raw = clone(p.b[at:end])
	return end
}

func (p *commonParser) interactive(at int, in *Interactive) int {
	return p.fields(at, commonInteractiveKeys, func(k, at int) int {
		switch k {
		case 0:
			return p.str(at, &in.Type)
		case 1:
			in.ButtonReply = &ButtonReply{}
			return p.fields(at, commonReplyKeys, func(k, at int) int {
				switch k {
				case 0:
					return p.str(at, &in.ButtonReply.ID)
				case 1:
					return p.str(at, &in.ButtonReply.Title)
				}
				return p.skip(at) // ButtonReply has no description: ignored
			})
		case 2:
			in.ListReply = &ListReply{}
			return p.fields(at, commonReplyKeys, func(k, at int) int {
				switch k {
				case 0:
					return p.str(at, &in.ListReply.ID)
				case 1:
					return p.str(at, &in.ListReply.Title)
				}
				return p.str(at, &in.ListReply.Description)
			})
		}
		return -1 // nfm_reply
	})
}
