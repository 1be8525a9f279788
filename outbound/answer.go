package outbound

import (
	"encoding/json"
	"unicode/utf8"
)

// messageID is the id Meta gave an accepted message: messages[0].id of the
// Graph API's answer
//
//	{"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid.…"}]}
//
// and "" when the answer has none (a read receipt's {"success":true}). It
// is what json.Unmarshal into struct{Messages []struct{ID string}} gives,
// "" when that fails. Every reply's answer is read, and a scan of the
// answer's usual shape costs a fraction of the reflection; anything outside
// that shape (escapes in keys or ids, keys that match only when case is
// ignored, repeated keys, ids that are not strings) is left to
// json.Unmarshal. FuzzMessageID holds the two equal.
func messageID(answer []byte) string {
	if id, ok := scanMessageID(answer); ok {
		return id
	}
	return unmarshalMessageID(answer)
}

// unmarshalMessageID is messageID through json.Unmarshal.
func unmarshalMessageID(answer []byte) string {
	var v struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if json.Unmarshal(answer, &v) == nil && len(v.Messages) > 0 {
		return v.Messages[0].ID
	}
	return ""
}

// scanMessageID is messageID for answers of the usual shape; ok is false
// when the answer is not one (and json.Unmarshal must decide).
func scanMessageID(b []byte) (id string, ok bool) {
	if !json.Valid(b) {
		return "", false
	}
	s := answerScan{b: b}
	s.space()
	ok = s.object("messages", func() bool {
		id, ok = s.messages()
		return ok
	})
	return id, ok
}

// answerScan walks JSON that json.Valid accepted: it never has to report
// a syntax error, only whether a part is of the usual shape.
type answerScan struct {
	b []byte
	i int
}

func (s *answerScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *answerScan) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key reads a string; plain is false if it holds an escape or is not
// valid UTF-8 (json.Unmarshal would change it in decoding).
func (s *answerScan) key() (v []byte, plain bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			v = s.b[start:s.i]
			s.i++
			return v, utf8.Valid(v)
		case '\\':
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// skip passes over one value.
func (s *answerScan) skip() {
	if s.i >= len(s.b) {
		return
	}
	switch s.b[s.i] {
	case '"':
		s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
	default: // a number, true, false or null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

// str passes over a string.
func (s *answerScan) str() {
	s.i++ // the opening quote
	for s.i < len(s.b) && s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	s.i++
}

// messages reads the value of "messages": null, or an array of objects
// whose "id", where present, is a plain string. id is the first one's.
func (s *answerScan) messages() (id string, ok bool) {
	if s.i+4 <= len(s.b) && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return "", true
	}
	if !s.eat('[') {
		return "", false
	}
	s.space()
	if s.eat(']') {
		return "", true
	}
	for n := 0; ; n++ {
		s.space()
		v, ok := s.message()
		if !ok {
			return "", false
		}
		if n == 0 {
			id = v
		}
		s.space()
		if s.eat(']') {
			return id, true
		}
		s.eat(',')
	}
}

// message reads one element of "messages": an object, its "id" a plain
// string (or absent).
func (s *answerScan) message() (id string, ok bool) {
	ok = s.object("id", func() bool {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		v, plain := s.key()
		id = string(v)
		return plain
	})
	return id, ok
}

// object reads an object, calling read at the value of the key name (which
// reads it and reports whether it is of the usual shape) and skipping the
// other values. ok is false when the value is not an object, or the key is
// repeated, escaped, or matches name only when case is ignored: where
// json.Unmarshal may take another value than the first exact one.
func (s *answerScan) object(name string, read func() bool) (ok bool) {
	if !s.eat('{') {
		return false
	}
	seen := false
	for first := true; ; first = false {
		s.space()
		if first && s.eat('}') {
			return true
		}
		key, plain := s.key()
		if !plain {
			return false
		}
		s.space()
		s.eat(':')
		s.space()
		switch {
		case string(key) == name:
			if seen || !read() {
				return false
			}
			seen = true
		case equalFoldASCII(key, name):
			return false
		default:
			s.skip()
		}
		s.space()
		if s.eat('}') {
			return true
		}
		s.eat(',')
	}
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case, or
// a holds a byte outside ASCII (encoding/json also folds some of those,
// such as the Kelvin sign for k: such a key is left to it).
func equalFoldASCII(a []byte, b string) bool {
	if len(a) != len(b) {
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x80 {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(a); i++ {
		c, d := a[i], b[i]
		if c >= 0x80 {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
