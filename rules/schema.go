package rules

import (
	"bytes"
	"encoding/json"
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
			limitedString(maxText),
			map[string]any{"$ref": "#/$defs/message"},
			map[string]any{
				"type":     "array",
				"minItems": 1,
				"items": map[string]any{"anyOf": []any{
					limitedString(maxText),
					map[string]any{"$ref": "#/$defs/message"},
				}},
			},
		},
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
		s := fieldSchema(f)
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

// limitedString is a string of at most max code points, unless it holds a
// {{ template }} (whose rendered length is only known at run time).
func limitedString(max int) map[string]any {
	if max == 0 {
		return map[string]any{"type": "string"}
	}
	return map[string]any{
		"type": "string",
		"anyOf": []any{
			map[string]any{"maxLength": max},
			map[string]any{"pattern": `\{\{`},
		},
	}
}

const durationPattern = `^([0-9]+d)?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))*$`

func fieldSchema(f field) map[string]any {
	switch f.kind {
	case kString:
		return map[string]any{"type": "string"}
	case kTemplate:
		return limitedString(f.max)
	case kBool:
		return map[string]any{"type": "boolean"}
	case kVersion:
		return map[string]any{"const": 1}
	case kDuration:
		return map[string]any{"type": "string", "pattern": durationPattern}
	case kStrings:
		item := map[string]any{"type": "string"}
		if f.enum != nil {
			item["enum"] = f.enum
		}
		list := map[string]any{"type": "array", "minItems": 1, "items": item}
		return map[string]any{"anyOf": []any{item, list}}
	case kObject:
		return map[string]any{"$ref": "#/$defs/" + f.ref}
	case kList:
		s := map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/" + f.ref}}
		if f.min > 0 {
			s["minItems"] = f.min
		}
		if f.max > 0 {
			s["maxItems"] = f.max
		}
		return s
	case kStringOr:
		return map[string]any{"anyOf": []any{limitedString(f.max), map[string]any{"$ref": "#/$defs/" + f.ref}}}
	case kVars:
		return map[string]any{"type": "object"}
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
		return map[string]any{"type": "array"}
	}
	return map[string]any{}
}
