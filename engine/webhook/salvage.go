package webhook

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// salvage decodes the JSON value raw into v (settable) as json.Unmarshal
// does, except that a member without the JSON type the Cloud API documents
// does not fail the whole: a number where a string is expected keeps its
// text, a numeric string where a number is expected is parsed, and any other
// member that does not fit is left zero (the raw message keeps it). It is
// used for a message or status that json.Unmarshal refused, so that one odd
// message does not cost the other messages of its delivery their answers.
// It reports false when raw is not even of v's kind (a message that is not
// an object).
func salvage(raw []byte, v reflect.Value) bool {
	if json.Unmarshal(raw, v.Addr().Interface()) == nil {
		return true
	}
	v.SetZero() // what the failed json.Unmarshal left half done
	raw = bytes.TrimSpace(raw)
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		if !salvage(raw, e.Elem()) {
			return false
		}
		v.Set(e)
		return true
	case reflect.Struct:
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &members) != nil {
			return false
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			if part, ok := member(members, name); ok {
				salvage(part, v.Field(i)) // a member that cannot be salvaged stays zero
			}
		}
		return true
	case reflect.Slice:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return false
		}
		s := reflect.MakeSlice(v.Type(), 0, len(elems))
		for _, e := range elems {
			ev := reflect.New(v.Type().Elem()).Elem()
			if salvage(e, ev) {
				s = reflect.Append(s, ev)
			}
		}
		v.Set(s)
		return true
	case reflect.String:
		if len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
			v.SetString(string(raw)) // a JSON number: its text
			return true
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && !v.OverflowInt(n) {
				v.SetInt(n)
				return true
			}
		}
	case reflect.Float32, reflect.Float64:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				v.SetFloat(f)
				return true
			}
		}
	}
	return false
}

// member finds the member of an object for a field name as encoding/json
// does: exactly, else ignoring case.
func member(members map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if part, ok := members[name]; ok {
		return part, true
	}
	found := ""
	for k := range members {
		if strings.EqualFold(k, name) && (found == "" || k < found) {
			found = k // the same one every time
		}
	}
	part, ok := members[found]
	return part, ok && found != ""
}
