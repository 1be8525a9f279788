package rules

import (
	"encoding/json"
	"regexp"
	"testing"
)

// The schema's patterns accept what the loader accepts and refuse what it
// refuses, so that an editor flags the values `balas check` refuses and
// no other. Checked with Go's regexp, whose syntax the patterns keep to the
// part shared with the ECMAScript regexps editors use.
func TestSchemaPatternsMatchLoader(t *testing.T) {
	var s struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	type str struct {
		Pattern string `json:"pattern"`
		Not     struct {
			Pattern string `json:"pattern"`
		} `json:"not"`
		AnyOf []struct {
			Pattern string `json:"pattern"`
		} `json:"anyOf"`
	}
	prop := func(obj, key string) str {
		t.Helper()
		var p str
		if err := json.Unmarshal(s.Defs[obj].Properties[key], &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	item := func(obj, key string) str {
		t.Helper()
		var p struct {
			AnyOf []str `json:"anyOf"`
		}
		if err := json.Unmarshal(s.Defs[obj].Properties[key], &p); err != nil || len(p.AnyOf) != 2 {
			t.Fatalf("%s.%s: %s", obj, key, s.Defs[obj].Properties[key])
		}
		return p.AnyOf[0]
	}
	match := func(pattern, v string) bool {
		t.Helper()
		if pattern == "" {
			return false
		}
		return regexp.MustCompile(pattern).MatchString(v)
	}

	ttl := prop("settings", "session_ttl")
	for _, v := range []string{"30m", "2h", "1d", "1d12h", "1h30m", "1.5h", ".5h", "1.h", "+30m", " 30m ", "100µs", "100μs", "90s",
		"", " ", "0", "0s", "0d", "0.0h", "0d0s", "30", "-1h", "1d-1h", "h", "d", "1h1d", "1 h", "1e3h", "+d"} {
		d, err := ParseDuration(v)
		loader := err == nil && d > 0
		schema := match(ttl.Pattern, v) && !match(ttl.Not.Pattern, v)
		if loader != schema {
			t.Errorf("duration %q: loader accepts it %v, schema %v", v, loader, schema)
		}
	}

	from := item("when", "from")
	for _, v := range []string{"62812*", "*", "6281234567890", "", "+62812*", "62 812", "abc", "62812?", "0812*", "0", "*0812*", "*0"} {
		if loader, schema := fromGlobRe.MatchString(v), match(from.Pattern, v); loader != schema {
			t.Errorf("from %q: loader accepts it %v, schema %v", v, loader, schema)
		}
	}

	kw := item("when", "keywords")
	for _, v := range []string{"halo", "Hálo!!", "selamat pagi", "1", "١", "你好", "", " ", "!!", "😀", "👋", "'", "\u0301"} {
		if loader, schema := Normalize(v) != "", match(kw.Pattern, v); loader != schema {
			t.Errorf("keyword %q: loader accepts it %v, schema %v", v, loader, schema)
		}
	}

	for _, obj := range []string{"image", "cta_url"} {
		key := "link"
		if obj == "cta_url" {
			key = "url"
		}
		p := prop(obj, key)
		if len(p.AnyOf) != 2 {
			t.Fatalf("%s.%s: %+v", obj, key, p)
		}
		for _, v := range []string{"https://example.com/a.jpg", "http://x", "HTTPS://X/y", "ftp://x/y", "x.jpg", "", "https://", "https:///a", "//x/y"} {
			if loader, schema := isHTTPURL(v), match(p.AnyOf[0].Pattern, v); loader != schema {
				t.Errorf("%s.%s %q: loader accepts it %v, schema %v", obj, key, v, loader, schema)
			}
		}
	}
}
