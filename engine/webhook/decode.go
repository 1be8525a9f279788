package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"
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
// unknown fields. A message or status object with a member of another JSON
// type than the Cloud API defines is kept, with that member read leniently
// or left zero (see salvage; Raw holds it as received), so that it does not
// cost the rest of the delivery. Decode fails only when body is not a JSON
// object or when an entry, change or messages value (or one of its messages
// or statuses) does not have the JSON type the Cloud API defines; the error
// names the path, e.g. "entry[0].changes[1].value: ...".
func Decode(body []byte) (*Delivery, error) {
	if !isObject(body) {
		return nil, errNotObject
	}
	if d, ok := decodeCommon(body); ok {
		return d, nil
	}
	if d, ok := decodeFast(body); ok {
		return d, nil
	}
	return decodeLayered(body)
}

var errNotObject = errors.New("webhook: body is not a JSON object")

// IsJSONObject reports whether body is one valid JSON object. A body that
// Decode accepts always is one.
func IsJSONObject(body []byte) bool {
	return isObject(body) && validJSON(body)
}

// isObject reports whether body starts (after white space) like a JSON object.
func isObject(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// decodeLayered is the reference decoder: one json.Unmarshal per level
// (body, entry, change, value, message), each of which may fail with the
// path of the failing piece. decodeFast gives the same result in one pass
// when the body is well-formed; decodeLayered is used for everything else,
// so that every error (and every unusual body) is handled exactly as here.
func decodeLayered(body []byte) (*Delivery, error) {
	if !isObject(body) {
		return nil, errNotObject
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
	if fv, ok := decodeMessagesValueFast(b); ok {
		*v = fv
		return nil
	}
	return v.unmarshalLayered(b)
}

// unmarshalLayered is UnmarshalJSON without the fast path: the reference
// the fast path must agree with, and the fallback that gives every error.
func (v *MessagesValue) unmarshalLayered(b []byte) error {
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
		// A member of another JSON type (a numeric phone_number_id or
		// wa_id, ...) is read leniently, as in a message; but messages and
		// statuses that are not lists are never dropped silently.
		var lists struct {
			Messages []json.RawMessage `json:"messages"`
			Statuses []json.RawMessage `json:"statuses"`
		}
		if json.Unmarshal(b, &lists) != nil || !salvage(b, reflect.ValueOf(&raw).Elem()) {
			return nil, "", err
		}
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
		if err := json.Unmarshal(rm, &m); err != nil && !salvage(rm, reflect.ValueOf(&m).Elem()) {
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
		if err := json.Unmarshal(rs, &s); err != nil && !salvage(rs, reflect.ValueOf(&s).Elem()) {
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

// The fast path.
//
// decodeLayered validates and scans every byte of a message about ten
// times: json.Unmarshal validates its whole input before decoding it, and
// every json.RawMessage level (entry, change, value, message) is scanned
// again to be skipped, copied, validated and decoded by the next level.
// decodeFast instead decodes the whole body with a single json.Unmarshal
// into typed structs (fastPayload), then walks the now validated body once
// with a small structural scanner (rawWalker) to find the byte ranges that
// must be kept exactly as received: each change's value and each message
// and status object.
//
// decodeFast only ever returns a result that decodeLayered would return
// too. Whenever the two could differ it gives up (ok == false) and Decode
// falls back to decodeLayered, which also produces every error:
//   - any json.Unmarshal error, including type errors inside the value of
//     a change that is not a "messages" change (decodeLayered keeps those
//     raw; decodeFast decodes every value as a messages value);
//   - a second "entry", "changes", "value", "messages" or "statuses" key
//     in one object (decodeLayered keeps the last one raw; one
//     json.Unmarshal would merge them into the first), or any key of the
//     body, entry, change or messages value objects that is not plain
//     ASCII without escapes (encoding/json matches keys ignoring case with
//     Unicode folding; the walker only folds ASCII);
//   - a number of entries, changes, messages or statuses that differs
//     from what json.Unmarshal decoded, or anything else the walker does
//     not expect, which should not happen on a body json.Unmarshal
//     accepted.

// fastPayload is Payload with every value decoded as a messages value.
type fastPayload struct {
	Object string      `json:"object"`
	Entry  []fastEntry `json:"entry"`
}

type fastEntry struct {
	ID      string       `json:"id"`
	Time    entryTime    `json:"time"`
	Changes []fastChange `json:"changes"`
}

type fastChange struct {
	Field string    `json:"field"`
	Value fastValue `json:"value"`
}

// fastValue is MessagesValue without its UnmarshalJSON method: Raw is
// filled by fillRaws, and null messages and statuses are left as zero
// elements with a nil Raw (a non-null element's Raw is never empty).
type fastValue MessagesValue

// entryTime decodes entry.time as parseEntryTime does; it never fails.
type entryTime int64

// UnmarshalJSON implements json.Unmarshaler.
func (t *entryTime) UnmarshalJSON(b []byte) error {
	*t = entryTime(parseEntryTime(b))
	return nil
}

func decodeFast(body []byte) (*Delivery, bool) {
	var p fastPayload
	if json.Unmarshal(body, &p) != nil {
		return nil, false
	}
	w := rawWalker{b: body}
	d := &Delivery{Object: p.Object}
	end := w.arrayMember(w.ws(0), "entry", len(p.Entry), func(i, at int) int {
		return d.entryFast(&w, &p.Entry[i], at)
	})
	if end < 0 {
		return nil, false
	}
	return d, true
}

// entryFast walks the entry object at w.b[at], whose decoded form is e,
// adding its changes to d. It returns the end of the object, or -1.
func (d *Delivery) entryFast(w *rawWalker, e *fastEntry, at int) int {
	return w.arrayMember(at, "changes", len(e.Changes), func(j, at int) int {
		return d.changeFast(w, e, &e.Changes[j], at)
	})
}

// changeFast walks the change object at w.b[at], whose decoded form is c,
// and adds it to d as decodeLayered does. It returns the end of the
// object, or -1.
func (d *Delivery) changeFast(w *rawWalker, e *fastEntry, c *fastChange, at int) int {
	messages := c.Field == FieldMessages
	vStart, vEnd := -1, -1
	end := w.members(at, func(key []byte, plain bool, at int) int {
		if !plain {
			return -1
		}
		if !keyIs(key, "value") {
			return w.skip(at)
		}
		if vStart >= 0 {
			return -1
		}
		vStart = at
		if messages && !w.isNull(at) {
			vEnd = fillRaws(w, at, &c.Value)
		} else {
			vEnd = w.skip(at)
		}
		return vEnd
	})
	if end < 0 {
		return -1
	}
	if !messages {
		var raw json.RawMessage
		if vStart >= 0 {
			raw = clone(w.b[vStart:vEnd])
		}
		d.Events = append(d.Events, Event{EntryID: e.ID, Time: int64(e.Time), Field: c.Field, Value: raw})
		return end
	}
	if vStart < 0 || w.isNull(vStart) {
		return end
	}
	v := &c.Value
	for k := range v.Messages {
		m := &v.Messages[k]
		if m.Raw == nil {
			continue // null
		}
		d.Messages = append(d.Messages, InboundMessage{
			Message:  *m,
			Metadata: v.Metadata,
			Contact:  matchContact(v.Contacts, m),
			EntryID:  e.ID,
		})
	}
	for k := range v.Statuses {
		s := &v.Statuses[k]
		if s.Raw == nil {
			continue // null
		}
		d.Statuses = append(d.Statuses, StatusUpdate{Status: *s, Metadata: v.Metadata, EntryID: e.ID})
	}
	if len(v.Errors) > 0 {
		d.Events = append(d.Events, Event{
			EntryID:  e.ID,
			Time:     int64(e.Time),
			Field:    c.Field,
			Value:    clone(w.b[vStart:vEnd]),
			Metadata: v.Metadata,
			Errors:   v.Errors,
		})
	}
	return end
}

// decodeMessagesValueFast is decodeMessagesValue in one json.Unmarshal;
// ok is false when decodeMessagesValue must decide (see decodeFast).
func decodeMessagesValueFast(b []byte) (v MessagesValue, ok bool) {
	var fv fastValue
	if json.Unmarshal(b, &fv) != nil {
		return MessagesValue{}, false
	}
	w := rawWalker{b: b}
	if fillRaws(&w, w.ws(0), &fv) < 0 {
		return MessagesValue{}, false
	}
	fv.Messages = dropNull(fv.Messages, func(m *Message) bool { return m.Raw == nil })
	fv.Statuses = dropNull(fv.Statuses, func(s *Status) bool { return s.Raw == nil })
	return MessagesValue(fv), true
}

// dropNull removes the elements decoded from null, keeping a non-nil
// (possibly empty) slice when s had elements and nil otherwise, as
// decodeMessagesValue does.
func dropNull[T any](s []T, null func(*T) bool) []T {
	if len(s) == 0 {
		return nil
	}
	out := s[:0]
	for i := range s {
		if !null(&s[i]) {
			out = append(out, s[i])
		}
	}
	return out
}

// fillRaws walks the messages value object at w.b[at], whose decoded form
// is v, and sets the Raw of every message and status that is not null. It
// returns the end of the object, or -1.
func fillRaws(w *rawWalker, at int, v *fastValue) int {
	seenMessages, seenStatuses := false, false
	end := w.members(at, func(key []byte, plain bool, at int) int {
		if !plain {
			return -1
		}
		switch {
		case keyIs(key, "messages"):
			if seenMessages {
				return -1
			}
			seenMessages = true
			return w.array(at, len(v.Messages), func(k, at int) int {
				return w.object(at, &v.Messages[k].Raw)
			})
		case keyIs(key, "statuses"):
			if seenStatuses {
				return -1
			}
			seenStatuses = true
			return w.array(at, len(v.Statuses), func(k, at int) int {
				return w.object(at, &v.Statuses[k].Raw)
			})
		}
		return w.skip(at)
	})
	if end < 0 || !seenMessages && len(v.Messages) > 0 || !seenStatuses && len(v.Statuses) > 0 {
		return -1
	}
	return end
}

// arrayMember walks the object at w.b[at], handing each element of its
// key name (an array, or null, whose decoded form has n elements) that is
// not null to each, and skipping the other keys. It returns the end of the
// object, or -1 when a key is not plain, name repeats, or the array and
// its decoded form disagree.
func (w *rawWalker) arrayMember(at int, name string, n int, each func(i, at int) int) int {
	seen := false
	end := w.members(at, func(key []byte, plain bool, at int) int {
		if !plain {
			return -1
		}
		if !keyIs(key, name) {
			return w.skip(at)
		}
		if seen {
			return -1
		}
		seen = true
		return w.array(at, n, each)
	})
	if end < 0 || !seen && n > 0 {
		return -1
	}
	return end
}

// array walks the array (or null) at w.b[at] whose decoded form has n
// elements, handing each element that is not null to each. It returns the
// end of the array, or -1 when the two disagree.
func (w *rawWalker) array(at, n int, each func(i, at int) int) int {
	if w.isNull(at) {
		if n > 0 {
			return -1
		}
		return w.skip(at)
	}
	seen := 0
	end := w.elements(at, func(i, at int) int {
		if i >= n {
			return -1
		}
		seen++
		if w.isNull(at) {
			return w.skip(at)
		}
		return each(i, at)
	})
	if end < 0 || seen != n {
		return -1
	}
	return end
}

// object copies the JSON object at w.b[at] into raw and returns its end,
// or -1 when it is not an object.
func (w *rawWalker) object(at int, raw *json.RawMessage) int {
	end := w.skip(at)
	if end <= at || w.b[at] != '{' {
		return -1
	}
	*raw = clone(w.b[at:end])
	return end
}

func clone(b []byte) json.RawMessage {
	return append(json.RawMessage(nil), b...)
}

// keyIs reports whether the plain (ASCII, unescaped) object key matches the
// lowercase field name the way encoding/json matches it: exactly or
// ignoring ASCII case.
func keyIs(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range len(key) {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// rawWalker finds the structure of JSON that json.Unmarshal has already
// accepted. It does not validate; it checks its bounds and every structural
// byte it relies on, and reports anything unexpected as -1 (never panics).
// Positions are byte offsets into b; a value "ends" just after its last
// byte.
type rawWalker struct {
	b []byte
}

// at returns b[i], or 0 when i is out of range.
func (w *rawWalker) at(i int) byte {
	if i < 0 || i >= len(w.b) {
		return 0
	}
	return w.b[i]
}

// ws returns the index of the first non-whitespace byte at or after i.
func (w *rawWalker) ws(i int) int {
	for i >= 0 && i < len(w.b) {
		switch w.b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// isNull reports whether the value at i is null (the only JSON value that
// starts with 'n').
func (w *rawWalker) isNull(i int) bool { return w.at(i) == 'n' }

// str returns the end of the string starting at b[i] == '"'.
func (w *rawWalker) str(i int) int {
	if w.at(i) != '"' {
		return -1
	}
	for j := i + 1; j < len(w.b); j++ {
		q := bytes.IndexByte(w.b[j:], '"')
		if q < 0 {
			return -1
		}
		j += q
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		n := 0
		for k := j - 1; k > i && w.b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
	}
	return -1
}

// isPlain reports whether a string's contents are ASCII without escapes.
func isPlain(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// skip returns the end of the value starting at b[i].
func (w *rawWalker) skip(i int) int {
	switch w.at(i) {
	case 0:
		return -1
	case '"':
		return w.str(i)
	case '{', '[':
		depth := 0
		for j := i; j < len(w.b); j++ {
			switch w.b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			case '"':
				end := w.str(j)
				if end < 0 {
					return -1
				}
				j = end - 1
			}
		}
		return -1
	case ',', ':', '}', ']', ' ', '\t', '\r', '\n':
		return -1
	}
	// A number, true, false or null.
	j := i + 1
	for j < len(w.b) {
		switch w.b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
		j++
	}
	return j
}

// members walks the object starting at b[i] == '{'. For each member it
// calls f with the key (the bytes between the quotes), whether the key is
// plain (isPlain) and the start of the value; f returns the end of the
// value, or -1 to stop. members returns the end of the object, or -1.
func (w *rawWalker) members(i int, f func(key []byte, plain bool, at int) int) int {
	if w.at(i) != '{' {
		return -1
	}
	i = w.ws(i + 1)
	if w.at(i) == '}' {
		return i + 1
	}
	for {
		kEnd := w.str(i)
		if kEnd < 0 {
			return -1
		}
		key := w.b[i+1 : kEnd-1]
		plain := isPlain(key)
		i = w.ws(kEnd)
		if w.at(i) != ':' {
			return -1
		}
		if i = f(key, plain, w.ws(i+1)); i < 0 {
			return -1
		}
		i = w.ws(i)
		switch w.at(i) {
		case ',':
			i = w.ws(i + 1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// elements walks the array starting at b[i] == '['. For each element it
// calls f with its index and start; f returns the end of the element, or
// -1 to stop. elements returns the end of the array, or -1.
func (w *rawWalker) elements(i int, f func(k, at int) int) int {
	if w.at(i) != '[' {
		return -1
	}
	i = w.ws(i + 1)
	if w.at(i) == ']' {
		return i + 1
	}
	for k := 0; ; k++ {
		if i = f(k, i); i < 0 {
			return -1
		}
		i = w.ws(i)
		switch w.at(i) {
		case ',':
			i = w.ws(i + 1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}
