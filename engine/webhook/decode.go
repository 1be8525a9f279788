package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Delivery is the flattened form of one webhook body.
type Delivery struct {
	// Object is Payload.Object, normally "whatsapp_business_account".
	Object string
	// Messages holds every inbound message of every entry and change, in
	// order of appearance.
	Messages []InboundMessage
	// Statuses holds every status of every entry and change, in order.
	Statuses []StatusUpdate
	// Events holds every change whose field is not "messages"
	// (account_update, message_template_status_update, unknown fields, ...)
	// and, for "messages" changes that carry value.errors, one event with
	// Field "messages", the whole value and the decoded Errors. In order.
	Events []Event
}

// InboundMessage is a Message with the context it arrived in.
type InboundMessage struct {
	Message
	// Metadata is the receiving business number (reply from
	// Metadata.PhoneNumberID).
	Metadata Metadata
	// Contact is the sender's entry of value.contacts, matched by
	// wa_id == from, else user_id == from_user_id (never by index); nil if
	// none matches (system messages carry no contacts).
	Contact *Contact
	// EntryID is the WABA id (entry[].id).
	EntryID string
}

// CustomerKey identifies the customer within a business number: the
// business-scoped user id (FromUserID) when present, else From. Together
// with Metadata.PhoneNumberID it keys a conversation.
func (m *InboundMessage) CustomerKey() string {
	if m.FromUserID != "" {
		return m.FromUserID
	}
	return m.From
}

// StatusUpdate is a Status with the context it arrived in.
type StatusUpdate struct {
	Status
	Metadata Metadata
	EntryID  string
}

// Event is a change that is not an inbound message or status.
type Event struct {
	EntryID string
	// Time is entry[].time (Unix seconds) when present, else 0.
	Time  int64
	Field string
	// Value is the change's value exactly as received (nil when absent).
	Value json.RawMessage
	// Metadata and Errors are set for the value.errors of a "messages"
	// change; they are empty for other fields.
	Metadata Metadata
	Errors   []Error
}

// Decode parses a webhook body into a Delivery. It accepts messages without
// "from", messages whose type object is missing, unknown message types and
// unknown fields. It fails only when body is not a JSON object or when an
// entry, change or messages value does not have the JSON types the Cloud API
// defines; the error names the path, e.g. "entry[0].changes[1].value: ...".
func Decode(body []byte) (*Delivery, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("webhook: body is not a JSON object")
	}
	var top struct {
		Object string            `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("webhook: body: %w", err)
	}
	d := &Delivery{Object: top.Object}
	for i, rawEntry := range top.Entry {
		if isNull(rawEntry) {
			continue
		}
		var e struct {
			ID      string            `json:"id"`
			Time    json.RawMessage   `json:"time"`
			Changes []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(rawEntry, &e); err != nil {
			return nil, fmt.Errorf("webhook: entry[%d]: %w", i, err)
		}
		entryTime := parseEntryTime(e.Time)
		for j, rawChange := range e.Changes {
			if isNull(rawChange) {
				continue
			}
			var c Change
			if err := json.Unmarshal(rawChange, &c); err != nil {
				return nil, fmt.Errorf("webhook: entry[%d].changes[%d]: %w", i, j, err)
			}
			if c.Field != FieldMessages {
				d.Events = append(d.Events, Event{EntryID: e.ID, Time: entryTime, Field: c.Field, Value: c.Value})
				continue
			}
			if len(c.Value) == 0 || isNull(c.Value) {
				continue
			}
			v, sub, err := decodeMessagesValue(c.Value)
			if err != nil {
				return nil, fmt.Errorf("webhook: entry[%d].changes[%d].value%s: %w", i, j, sub, err)
			}
			d.add(e.ID, entryTime, c, v)
		}
	}
	return d, nil
}

// add appends the messages, statuses and errors of one "messages" change.
func (d *Delivery) add(entryID string, entryTime int64, c Change, v *MessagesValue) {
	for k := range v.Messages {
		m := &v.Messages[k]
		d.Messages = append(d.Messages, InboundMessage{
			Message:  *m,
			Metadata: v.Metadata,
			Contact:  matchContact(v.Contacts, m),
			EntryID:  entryID,
		})
	}
	for _, s := range v.Statuses {
		d.Statuses = append(d.Statuses, StatusUpdate{Status: s, Metadata: v.Metadata, EntryID: entryID})
	}
	if len(v.Errors) > 0 {
		d.Events = append(d.Events, Event{
			EntryID:  entryID,
			Time:     entryTime,
			Field:    c.Field,
			Value:    c.Value,
			Metadata: v.Metadata,
			Errors:   v.Errors,
		})
	}
}

// matchContact finds the sender's contact: first by wa_id == from, then by
// user_id == from_user_id.
func matchContact(contacts []Contact, m *Message) *Contact {
	if m.From != "" {
		for i := range contacts {
			if contacts[i].WaID == m.From {
				return &contacts[i]
			}
		}
	}
	if m.FromUserID != "" {
		for i := range contacts {
			if contacts[i].UserID == m.FromUserID {
				return &contacts[i]
			}
		}
	}
	return nil
}

// UnmarshalJSON decodes a "messages" change value and sets Raw on every
// message and status.
func (v *MessagesValue) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	dv, sub, err := decodeMessagesValue(b)
	if err != nil {
		if sub != "" {
			return fmt.Errorf("%s: %w", sub[1:], err)
		}
		return err
	}
	*v = *dv
	return nil
}

// decodeMessagesValue decodes a messages value; on error sub is the path
// below the value (".messages[2]") that failed, or "".
func decodeMessagesValue(b []byte) (v *MessagesValue, sub string, err error) {
	var raw struct {
		MessagingProduct string            `json:"messaging_product"`
		Metadata         Metadata          `json:"metadata"`
		Contacts         []Contact         `json:"contacts"`
		Messages         []json.RawMessage `json:"messages"`
		Statuses         []json.RawMessage `json:"statuses"`
		Errors           []Error           `json:"errors"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, "", err
	}
	v = &MessagesValue{
		MessagingProduct: raw.MessagingProduct,
		Metadata:         raw.Metadata,
		Contacts:         raw.Contacts,
		Errors:           raw.Errors,
	}
	if len(raw.Messages) > 0 {
		v.Messages = make([]Message, 0, len(raw.Messages))
	}
	for k, rm := range raw.Messages {
		if isNull(rm) {
			continue
		}
		var m Message
		if err := json.Unmarshal(rm, &m); err != nil {
			return nil, ".messages[" + strconv.Itoa(k) + "]", err
		}
		m.Raw = rm
		v.Messages = append(v.Messages, m)
	}
	if len(raw.Statuses) > 0 {
		v.Statuses = make([]Status, 0, len(raw.Statuses))
	}
	for k, rs := range raw.Statuses {
		if isNull(rs) {
			continue
		}
		var s Status
		if err := json.Unmarshal(rs, &s); err != nil {
			return nil, ".statuses[" + strconv.Itoa(k) + "]", err
		}
		s.Raw = rs
		v.Statuses = append(v.Statuses, s)
	}
	return v, "", nil
}

// parseEntryTime reads entry.time leniently: an integer (or a number or
// numeric string) gives Unix seconds; anything else gives 0.
func parseEntryTime(b json.RawMessage) int64 {
	var t FlexInt
	if len(b) == 0 || json.Unmarshal(b, &t) != nil {
		return 0
	}
	return int64(t)
}

func isNull(b []byte) bool {
	return string(bytes.TrimSpace(b)) == "null"
}
