package webhook

// This file keeps the original, layered implementation of Decode and
// MessagesValue.UnmarshalJSON (one json.Unmarshal per level) as the
// reference the differential tests compare the fast path against. Do not
// optimise it: its behaviour is the specification.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

func refDecode(body []byte) (*Delivery, error) {
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
		if refIsNull(rawEntry) {
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
		entryTime := refParseEntryTime(e.Time)
		for j, rawChange := range e.Changes {
			if refIsNull(rawChange) {
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
			if len(c.Value) == 0 || refIsNull(c.Value) {
				continue
			}
			v, sub, err := refDecodeMessagesValue(c.Value)
			if err != nil {
				return nil, fmt.Errorf("webhook: entry[%d].changes[%d].value%s: %w", i, j, sub, err)
			}
			refAdd(d, e.ID, entryTime, c, v)
		}
	}
	return d, nil
}

func refAdd(d *Delivery, entryID string, entryTime int64, c Change, v *MessagesValue) {
	for k := range v.Messages {
		m := &v.Messages[k]
		d.Messages = append(d.Messages, InboundMessage{
			Message:  *m,
			Metadata: v.Metadata,
			Contact:  refMatchContact(v.Contacts, m),
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

func refMatchContact(contacts []Contact, m *Message) *Contact {
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

// refUnmarshalMessagesValue is the original MessagesValue.UnmarshalJSON.
func refUnmarshalMessagesValue(v *MessagesValue, b []byte) error {
	if refIsNull(b) {
		return nil
	}
	dv, sub, err := refDecodeMessagesValue(b)
	if err != nil {
		if sub != "" {
			return fmt.Errorf("%s: %w", sub[1:], err)
		}
		return err
	}
	*v = *dv
	return nil
}

func refDecodeMessagesValue(b []byte) (v *MessagesValue, sub string, err error) {
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
		if refIsNull(rm) {
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
		if refIsNull(rs) {
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

func refParseEntryTime(b json.RawMessage) int64 {
	var t FlexInt
	if len(b) == 0 || json.Unmarshal(b, &t) != nil {
		return 0
	}
	return int64(t)
}

func refIsNull(b []byte) bool {
	return string(bytes.TrimSpace(b)) == "null"
}
