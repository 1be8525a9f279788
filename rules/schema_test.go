package rules

import (
	"bytes"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The committed rules.schema.json must be what `balas schema` prints. To
// update it: go run ./cmd/balas schema > rules.schema.json
func TestSchemaCommitted(t *testing.T) {
	committed, err := os.ReadFile("../rules.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, Schema()) {
		t.Fatal("rules.schema.json is out of date: run `go run ./cmd/balas schema > rules.schema.json`")
	}
}

// Every object of the schema has exactly the keys the loader accepts.
func TestSchemaKeysMatchLoader(t *testing.T) {
	var s struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties           map[string]any `json:"properties"`
			AdditionalProperties *bool          `json:"additionalProperties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	schemaKeys := map[string][]string{"file": sortedKeys(s.Properties)}
	for name, d := range s.Defs {
		if name == "reply" {
			continue
		}
		if d.AdditionalProperties == nil || *d.AdditionalProperties {
			t.Errorf("%s: additionalProperties is not false", name)
		}
		schemaKeys[name] = sortedKeys(d.Properties)
	}
	if len(schemaKeys) != len(objects) {
		t.Errorf("schema has %d objects, loader %d", len(schemaKeys), len(objects))
	}
	for obj := range objects {
		// Ask the loader which keys it accepts: every key of the schema
		// plus one it must reject.
		keys := schemaKeys[obj]
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range append(append([]string(nil), keys...), "bogus_key") {
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: 1, Column: 1},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: 1, Column: 1})
		}
		l := &loader{file: "x.yaml"}
		m := l.mapping(n, obj)
		var unknown []string
		for _, d := range l.diags {
			if strings.HasPrefix(d.Message, "unknown key") {
				unknown = append(unknown, d.Message)
			}
		}
		if len(unknown) != 1 || !strings.Contains(unknown[0], "`bogus_key`") {
			t.Errorf("%s: loader rejected %v", obj, unknown)
		}
		if got := sortedKeys(m.vals); strings.Join(got, ",") != strings.Join(keys, ",") {
			t.Errorf("%s: loader accepted %v, schema has %v", obj, got, keys)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
