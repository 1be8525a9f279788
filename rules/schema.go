package rules

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
)

// SchemaID is the $id of the JSON Schema Schema returns.
const SchemaID = "https://github.com/balas-bot/balas/rules.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of a rules file, built from
// the same tables the loader checks keys and limits with. `balas schema`
// prints it; rules.schema.json at the repository root is a copy.
func Schema() []byte {
	defs := map[string]any{}
	for name := range objects {
		if name == "file" {
			continue
		}
		defs[name] = objectSchema(name)
	}
	// A message has exactly one kind key.
	msg := defs["message"].(map[string]any)
	var one []any
	for _, k := range messageKinds {
		one = append(one, map[string]any{"required": []string{k}})
	}
	msg["oneOf"] = one
	msg["description"] = "one message: a mapping with one kind key (and optionally quote: true)"
	for _, k := range mediaKinds {
		defs[k].(map[string]any)["oneOf"] = []any{
			map[string]any{"required": []string{"link"}},
			map[string]any{"required": []string{"id"}},
		}
	}
	defs["reply"] = map[string]any{
		"description": "a string (a text message), one message, or a list of messages sent in order",
		"anyOf": []any{
			textString(maxText, true),
			map[string]any{"$ref": "#/$defs/message"},
			map[string]any{
				"type":     "array",
				"minItems": 1,
				"items": map[string]any{"anyOf": []any{
					textString(maxText, true),
					map[string]any{"$ref": "#/$defs/message"},
				}},
			},
		},
	}
	// A rule does something: it replies or acts.
	rule := defs["rule"].(map[string]any)
	var acts []any
	for _, k := range []string{"reply", "set", "goto", "reset", "handoff"} {
		acts = append(acts, map[string]any{"required": []string{k}})
	}
	rule["anyOf"] = acts
	// A fallback answers when no other rule matched: it has no `when`.
	rule["if"] = map[string]any{"required": []string{"fallback"}, "properties": map[string]any{"fallback": map[string]any{"const": true}}}
	rule["then"] = map[string]any{"not": map[string]any{"required": []string{"when"}}}
	// With more than one section, each section has a title.
	defs["list"].(map[string]any)["if"] = map[string]any{
		"required": []string{"sections"}, "properties": map[string]any{"sections": map[string]any{"minItems": 2}},
	}
	defs["list"].(map[string]any)["then"] = map[string]any{
		"properties": map[string]any{"sections": map[string]any{"items": map[string]any{"required": []string{"title"}}}},
	}
	root := objectSchema("file")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "balas rules file"
	root["$defs"] = defs
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic(err) // the schema is built from static tables
	}
	return b.Bytes()
}

func objectSchema(name string) map[string]any {
	props := map[string]any{}
	var req []string
	for _, f := range objects[name] {
		s := fieldSchema(name, f)
		if f.desc != "" {
			s["description"] = f.desc
		}
		props[f.name] = s
		if f.required {
			req = append(req, f.name)
		}
	}
	o := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(req) > 0 {
		sort.Strings(req)
		o["required"] = req
	}
	return o
}

// scalarTypes are the YAML values the loader reads as text where it wants a
// string: `id: 1` and `exact: [1, 2]` are the texts "1" and "2".
var scalarTypes = []string{"string", "number", "boolean"}

// limitedString is a string of at most max code points, unless it holds a
// {{ template }} (whose rendered length is only known at run time).
func limitedString(max int) map[string]any {
	if max == 0 {
		return map[string]any{"type": scalarTypes}
	}
	return map[string]any{
		"type": scalarTypes,
		"anyOf": []any{
			map[string]any{"maxLength": max},
			map[string]any{"pattern": `\{\{`},
		},
	}
}

// textString is limitedString that, when required, holds more than spaces:
// WhatsApp refuses a message without its text, a button without its title.
func textString(max int, required bool) map[string]any {
	s := limitedString(max)
	if required {
		s["pattern"] = nonBlankPattern
	}
	return s
}

const (
	// nonBlankPattern is a value with more than spaces in it.
	nonBlankPattern = `\S`
	// templatePattern is a value with a {{ template }} in it.
	templatePattern = `\{\{`
	// urlPattern is an http:// or https:// URL with a host.
	urlPattern = `^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]`
)

// durationUnit and durationNumber are the parts of a Go duration
// (time.ParseDuration): "1.5h", ".5h", "1.h", "100µs" (or μs).
const (
	durationUnit   = `(ns|us|µs|μs|ms|s|m|h)`
	durationNumber = `([0-9]+(\.[0-9]*)?|\.[0-9]+)`
)

// durationPattern is a duration ParseDuration reads: whole days ("1d"),
// then a Go duration ("1d12h", "30m", "+1h30m"), with spaces around.
const durationPattern = `^\s*(\+?[0-9]+d(` + durationNumber + durationUnit + `)*|\+?(` + durationNumber + durationUnit + `)+)\s*$`

// zeroDurationPattern is a duration of 0 ("0s", "0d", "0.0h"): the loader
// wants durations longer than 0.
const zeroDurationPattern = `^\s*\+?(0+d)?([0.]+` + durationUnit + `)*\s*$`

// notTemplate refuses a name written with {{ }}, which is not filled in.
var notTemplate = map[string]any{"type": "string", "pattern": templatePattern}

func fieldSchema(obj string, f field) map[string]any {
	switch f.kind {
	case kString:
		s := map[string]any{"type": scalarTypes}
		if f.nonBlank {
			s["pattern"] = nonBlankPattern
		}
		if f.plain {
			s["not"] = notTemplate
		}
		return s
	case kTemplate:
		// As the loader's tmplField: a required text holds more than
		// spaces, an id is not empty, a link or url is http(s).
		switch {
		case f.name == "id" && f.required:
			s := limitedString(f.max)
			s["minLength"] = 1
			return s
		case f.name == "link" || f.name == "url":
			s := limitedString(f.max)
			s["anyOf"] = []any{map[string]any{"pattern": urlPattern}, map[string]any{"pattern": templatePattern}}
			return s
		case obj == "message" && f.name == "react", f.nonBlank:
			return textString(f.max, true)
		}
		return textString(f.max, f.required)
	case kBool:
		return map[string]any{"type": "boolean"}
	case kVersion:
		return map[string]any{"const": 1}
	case kDuration:
		return map[string]any{"type": "string", "pattern": durationPattern, "not": map[string]any{"pattern": zeroDurationPattern}}
	case kStrings:
		item := map[string]any{"type": scalarTypes}
		if f.enum != nil {
			item = map[string]any{"type": "string", "enum": f.enum}
		}
		if f.pattern != "" {
			item["pattern"] = f.pattern
		}
		if f.plain {
			item["not"] = notTemplate
		}
		if f.max > 0 {
			// An id: not empty, and no longer than WhatsApp's ids unless
			// it globs with `*`.
			item["minLength"] = 1
			item["anyOf"] = []any{map[string]any{"maxLength": f.max}, map[string]any{"pattern": `\*`}}
		}
		list := map[string]any{"type": "array", "minItems": 1, "items": item}
		return map[string]any{"anyOf": []any{item, list}}
	case kObject:
		if !hasRequired(f.ref) && !slices.Contains(mediaKinds, f.ref) {
			// Written empty (`when:`), it is an empty mapping.
			return map[string]any{"anyOf": []any{map[string]any{"$ref": "#/$defs/" + f.ref}, map[string]any{"type": "null"}}}
		}
		return map[string]any{"$ref": "#/$defs/" + f.ref}
	case kList:
		s := map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/" + f.ref}}
		if f.min == 0 {
			s["type"] = []string{"array", "null"} // `rules:` written empty
		}
		if f.min > 0 {
			s["minItems"] = f.min
		}
		if f.max > 0 {
			s["maxItems"] = f.max
		}
		return s
	case kStringOr:
		return map[string]any{"anyOf": []any{textString(f.max, true), map[string]any{"$ref": "#/$defs/" + f.ref}}}
	case kVars:
		return map[string]any{"type": []string{"object", "null"}, "propertyNames": map[string]any{"minLength": 1}}
	case kSet:
		return map[string]any{
			"type":          "object",
			"propertyNames": map[string]any{"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
			"additionalProperties": map[string]any{
				"type": []string{"string", "number", "boolean", "null"},
			},
		}
	case kReply:
		return map[string]any{"$ref": "#/$defs/reply"}
	case kAny:
		return map[string]any{"type": []string{"array", "null"}}
	}
	return map[string]any{}
}

// hasRequired reports whether object obj has a required key (written
// empty, it is then refused for the missing key; so is a media message,
// which needs link or id).
func hasRequired(obj string) bool {
	for _, f := range objects[obj] {
		if f.required {
			return true
		}
	}
	return false
}
