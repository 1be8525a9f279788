package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Differential tests: Decode and MessagesValue.UnmarshalJSON must behave
// exactly like the layered implementation alone (decodeLayered,
// MessagesValue.unmarshalLayered), which is what they were before the fast
// path and what they fall back to: same result, same error text.

// diffSeeds are bodies that exercise the fast path's fall-back conditions
// and the corners of the layered decoder.
var diffSeeds = []string{
	``, ` `, `null`, `[]`, `"x"`, `{`, `{}`, ` {} `, `{}x`, "\t\r\n{\"entry\":null}\n",
	`{"entry":[]}`, `{"entry":{}}`, `{"object":1}`, `{"entry":[1]}`, `{"entry":[{"changes":{}}]}`,
	`{"entry":[null,{"id":"7","time":"12","changes":[null,{"field":"smb_message_echoes","value":{"a":1}},{"field":"messages","value":null},{"field":"messages"},{"field":"messages","value":{"messages":[null],"statuses":[null]}}]}]}`,
	// Duplicate keys at every level the layered decoder keeps raw.
	`{"entry":[{"id":"a","changes":[{"field":"x","value":1}]}],"entry":[{"changes":[{"field":"y"}]}]}`,
	`{"entry":[{"id":"a","changes":[{"field":"x","value":1}],"changes":[{"field":"y"}]}]}`,
	`{"entry":[{"changes":[{"field":"x","value":{"a":1},"value":{"b":2}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"}},"value":{"messages":[{"id":"m"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a","from":"x"}],"messages":[{"id":"b"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"a","status":"sent"}],"Statuses":[{"id":"b"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a"}],"messages":null}}]}]}`,
	`{"entry":[{"time":5,"time":null,"changes":[{"field":"x"}]}]}`,
	`{"entry":[{"time":{"a":1},"changes":[{"field":"x"}]},{"time":[1],"changes":[{"field":"y"}]},{"time":"1e3","changes":[{"field":"z"}]},{"time":1.5,"changes":[{"field":"w"}]}]}`,
	`{"object":"a","object":null,"entry":[{"id":"1","id":null,"changes":[{"field":"f","field":null}]}]}`,
	// Case-insensitive, escaped and Unicode-folded keys.
	`{"ENTRY":[{"Changes":[{"FIELD":"messages","Value":{"MESSAGES":[{"ID":"a","Text":{"Body":"x"}}]}}]}]}`,
	`{"\u0065ntry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"meſſages":[{"id":"a"}],"ſtatuses":[{"id":"s"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a"}],"meſſages":[{"id":"b"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a"}],"\u006dessages":[{"id":"b"}]}}]}]}`,
	`{"entry":[{"changes":[{"fiel\u0064":"messages","valu\u0065":{"messages":[{"id":"a"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a"}]},"välue":1}]}]}`,
	// Non-messages values that are not messages-shaped.
	`{"entry":[{"changes":[{"field":"x","value":"str"},{"field":"y","value":[1,2]},{"field":"z","value":3},{"field":"w","value":{"messages":"no","errors":{"e":1}}},{"field":"v","value":null}]}]}`,
	`{"entry":[{"changes":[{"field":"Messages","value":{"messages":7}},{"value":{"statuses":[1]}}]}]}`,
	// Messages values: errors, nulls, whitespace, wrong types.
	`{"entry":[{"changes":[{"field":"messages","value":"x"}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":[]}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"contacts":{}}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{},{"text":"hi"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"statuses":[7]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"order":{"product_items":[{"quantity":"two"}]}}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"order":{"product_items":[{"quantity":"1e3","item_price":" 2.5 "}]}}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"interactive"}],"errors":[{"code":1}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[],"statuses":[],"errors":[],"contacts":[]}}]}]}`,
	" {\n \"entry\" : [ null , {\n\"changes\" :[ {\"value\" : { \"messages\" : [ null , { \"id\" : \"a\\\"}\" , \"text\":{\"body\":\"\\\\\"}} ] , \"errors\" : [ {\"code\":2} ] } , \"field\" : \"messages\" } ] } ] } \n",
	`{"entry":[{"changes":[{"field":"messages","value":{"contacts":[{"wa_id":"1","user_id":"u"},{"wa_id":"2"}],"messages":[{"from":"2","id":"a"},{"from_user_id":"u","id":"b"},{"from":"3","id":"c"}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"a","Raw":"x","-":1}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"\ud83d\ude00\u00e9\/","text":{"body":"\u0000"}}]}}]}]}`,
	"{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"messages\":[{\"id\":\"\xff\xfe\"}]}}]}]}",
	`{"entry":[[]]}`, `{"entry":[{"changes":[[]]}]}`, `{"entry":[{"changes":[{"field":"messages","value":{"messages":[[]]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[true]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"s","pricing":{"billable":null}}]}}]}]}`,
}

func addDiffSeeds(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(readFixture(f, name))
	}
	// The seeds of FuzzDecode.
	f.Add(envelope(`{"messages":[{"type":"interactive"}],"errors":[{"code":1}]}`))
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"order":{"product_items":[{"quantity":"1e3"}]}}]}}]}]}`))
	for _, s := range diffSeeds {
		f.Add([]byte(s))
	}
	f.Add(Fake{From: budi, UserID: budiUID, Name: "Budi 🌸", Text: "halo / é"}.Body())
	f.Add(Fake{UserID: budiUID, ListID: "l", ListTitle: "t"}.Body())
}

func FuzzDecodeMatchesReference(f *testing.F) {
	addDiffSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecodeMatches(t, body)
		checkMessagesValueMatches(t, body)
		// Also compare the messages values of the body, when it has any.
		var p struct {
			Entry []struct {
				Changes []struct {
					Value json.RawMessage `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if json.Unmarshal(body, &p) == nil {
			for _, e := range p.Entry {
				for _, c := range e.Changes {
					checkMessagesValueMatches(t, c.Value)
				}
			}
		}
	})
}

// checkDecodeMatches compares Decode with decodeLayered (the reference) on body. Decode runs on
// a copy that is then overwritten, so a result that aliases the input
// (decodeLayered's never does) shows up as a difference.
func checkDecodeMatches(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := decodeLayered(body)
	in := bytes.Clone(body)
	got, gotErr := Decode(in)
	for i := range in {
		in[i] = '#'
	}
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("Decode(%q)\nerror %v\nwant  %v", body, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q)\n got %s\nwant %s", body, dump(got), dump(want))
	}
}

// refMessagesValue is MessagesValue decoded by the layered reference only.
type refMessagesValue MessagesValue

func (v *refMessagesValue) UnmarshalJSON(b []byte) error {
	return (*MessagesValue)(v).unmarshalLayered(b)
}

func checkMessagesValueMatches(t *testing.T, b []byte) {
	t.Helper()
	// Called directly, as a caller may do, on any bytes.
	var got, want MessagesValue
	in := bytes.Clone(b)
	gotErr := got.UnmarshalJSON(in)
	for i := range in {
		in[i] = '#'
	}
	wantErr := want.unmarshalLayered(b)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("UnmarshalJSON(%q)\nerror %v\nwant  %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UnmarshalJSON(%q)\n got %s\nwant %s", b, dump(got), dump(want))
	}
	// Through json.Unmarshal, into a value that is not empty.
	old := func() MessagesValue {
		return MessagesValue{MessagingProduct: "old", Contacts: []Contact{{WaID: "old"}}, Messages: []Message{{ID: "old"}}}
	}
	got, wantRef := old(), refMessagesValue(old())
	gotErr = json.Unmarshal(b, &got)
	wantErr = json.Unmarshal(b, &wantRef)
	want = MessagesValue(wantRef)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("json.Unmarshal(%q)\nerror %v\nwant  %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("json.Unmarshal(%q)\n got %s\nwant %s", b, dump(got), dump(want))
	}
}

// dump shows a value with the contents of its pointers and the nil-ness
// of its slices, for failure messages.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprintf("%#v\n%s", v, b)
}

func TestDecodeMatchesReferenceGenerated(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	loadGenPieces(t)
	if len(genMessages) == 0 || len(genStatuses) == 0 {
		t.Fatal("no messages or statuses in the fixtures")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var fast int
	for range n {
		body := genBody(r)
		checkDecodeMatches(t, body)
		if d, ok := decodeFast(body); ok && d != nil {
			fast++
		}
		for _, v := range genValues(r) {
			checkMessagesValueMatches(t, v)
		}
	}
	// Most generated bodies are well-formed: make sure the fast path, not
	// only the fallback, is what was compared.
	if fast < n/4 {
		t.Errorf("fast path taken for %d of %d generated bodies", fast, n)
	}
}

// genBody builds a random webhook-shaped body: mostly valid, with random
// key spellings, duplicates, nulls, whitespace, wrong types and pieces of
// the fixtures.
func genBody(r *rand.Rand) []byte {
	g := &gen{r: r}
	g.obj(func() {
		if g.p(0.9) {
			g.member("object", func() { g.str("whatsapp_business_account") })
		}
		g.member("entry", func() { g.arr(g.n(3), g.entry) })
		if g.p(0.05) {
			g.member("entry", func() { g.arr(g.n(2), g.entry) })
		}
	})
	return g.b.Bytes()
}

func genValues(r *rand.Rand) [][]byte {
	g := &gen{r: r}
	g.messagesValue()
	return [][]byte{g.b.Bytes()}
}

type gen struct {
	r *rand.Rand
	b bytes.Buffer
	// first is true right after an object or array opens.
	first bool
}

var genMessages, genStatuses []string

// loadGenPieces collects the message and status objects of the fixtures,
// as received.
func loadGenPieces(t *testing.T) {
	genMessages, genStatuses = nil, nil
	for _, name := range fixtureNames(t) {
		var p Payload
		if err := json.Unmarshal(readFixture(t, name), &p); err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entry {
			for _, c := range e.Changes {
				var v struct {
					Messages []json.RawMessage `json:"messages"`
					Statuses []json.RawMessage `json:"statuses"`
				}
				if err := json.Unmarshal(c.Value, &v); err != nil {
					continue // not a messages value
				}
				for _, m := range v.Messages {
					genMessages = append(genMessages, string(m))
				}
				for _, s := range v.Statuses {
					genStatuses = append(genStatuses, string(s))
				}
			}
		}
	}
}

func (g *gen) p(prob float64) bool { return g.r.Float64() < prob }
func (g *gen) n(max int) int       { return g.r.IntN(max + 1) }

func (g *gen) ws() {
	if g.p(0.2) {
		g.b.WriteString([]string{" ", "\n", "\t", "\r\n  ", "   "}[g.r.IntN(5)])
	}
}

func (g *gen) sep() {
	if !g.first {
		g.b.WriteByte(',')
	}
	g.first = false
	g.ws()
}

func (g *gen) obj(body func()) {
	g.ws()
	g.b.WriteByte('{')
	g.first = true
	g.ws()
	body()
	g.ws()
	g.b.WriteByte('}')
	g.first = false
	g.ws()
}

func (g *gen) arr(n int, elem func()) {
	g.ws()
	g.b.WriteByte('[')
	g.first = true
	for range n {
		g.sep()
		if g.p(0.08) {
			g.b.WriteString("null")
		} else {
			elem()
		}
	}
	g.ws()
	g.b.WriteByte(']')
	g.first = false
	g.ws()
}

// key writes name as an object key, sometimes respelled the ways
// encoding/json still matches (case, escapes, Unicode folding) or not.
func (g *gen) key(name string) {
	k := name
	switch {
	case g.p(0.03):
		k = strings.ToUpper(k)
	case g.p(0.03):
		k = strings.ToUpper(k[:1]) + k[1:]
	case g.p(0.02):
		k = `\u00` + fmt.Sprintf("%02x", k[0]) + k[1:]
	case g.p(0.02) && strings.Contains(k, "s"):
		k = strings.Replace(k, "s", "ſ", 1)
	case g.p(0.01):
		k += "é"
	}
	g.b.WriteString(`"` + k + `"`)
	g.ws()
	g.b.WriteByte(':')
	g.ws()
}

func (g *gen) member(name string, value func()) {
	g.sep()
	g.key(name)
	if g.p(0.03) {
		g.b.WriteString("null")
		return
	}
	if g.p(0.01) {
		g.junk()
		return
	}
	value()
}

func (g *gen) str(s string) {
	b, _ := json.Marshal(s)
	g.b.Write(b)
}

// junk writes a value of a random JSON type.
func (g *gen) junk() {
	g.b.WriteString([]string{`1`, `"x"`, `true`, `{}`, `[]`, `{"a":[1,{"b":null}]}`, `[null]`, `-0.5e3`, `"1"`}[g.r.IntN(9)])
}

func (g *gen) entry() {
	g.obj(func() {
		if g.p(0.9) {
			g.member("id", func() { g.str(fmt.Sprint(g.r.IntN(1000))) })
		}
		if g.p(0.3) {
			g.member("time", func() {
				g.b.WriteString([]string{`1789369200`, `"1789369200"`, `1.5`, `"x"`, `{}`, `null`, `1e3`, `""`}[g.r.IntN(8)])
			})
		}
		g.member("changes", func() { g.arr(g.n(3), g.change) })
		if g.p(0.03) {
			g.member("changes", func() { g.arr(g.n(2), g.change) })
		}
		if g.p(0.1) {
			g.member("extra", g.junk)
		}
	})
}

func (g *gen) change() {
	field := "messages"
	switch {
	case g.p(0.15):
		field = []string{"account_update", "message_template_status_update", "Messages", "", "smb_message_echoes"}[g.r.IntN(5)]
	}
	g.obj(func() {
		value := func() {
			if field == "messages" || g.p(0.5) {
				g.messagesValue()
			} else {
				g.junk()
			}
		}
		fieldFirst := g.p(0.3)
		if fieldFirst {
			g.member("field", func() { g.str(field) })
		}
		if g.p(0.95) {
			g.member("value", value)
		}
		if !fieldFirst && g.p(0.95) {
			g.member("field", func() { g.str(field) })
		}
		if g.p(0.03) {
			g.member("value", value)
		}
	})
}

func (g *gen) messagesValue() {
	g.obj(func() {
		g.member("messaging_product", func() { g.str("whatsapp") })
		g.member("metadata", func() {
			g.b.WriteString(`{"display_phone_number":"6281188880000","phone_number_id":"` + fmt.Sprint(g.r.IntN(3)) + `"}`)
		})
		if g.p(0.7) {
			g.member("contacts", func() {
				g.arr(g.n(3), func() {
					g.b.WriteString(fmt.Sprintf(`{"profile":{"name":"n%d"},"wa_id":"%d","user_id":"u%d"}`, g.r.IntN(3), g.r.IntN(3), g.r.IntN(3)))
				})
			})
		}
		if g.p(0.7) {
			g.member("messages", func() { g.arr(g.n(3), g.message) })
		}
		if g.p(0.4) {
			g.member("statuses", func() { g.arr(g.n(3), g.status) })
		}
		if g.p(0.1) {
			g.member("errors", func() {
				g.arr(g.n(2), func() { g.b.WriteString(`{"code":131000,"title":"Something went wrong"}`) })
			})
		}
		if g.p(0.03) {
			g.member("messages", func() { g.arr(g.n(2), g.message) })
		}
		if g.p(0.03) {
			g.member("statuses", func() { g.arr(g.n(2), g.status) })
		}
		if g.p(0.05) {
			g.member("brand_new", g.junk)
		}
	})
}

func (g *gen) message() {
	switch {
	case g.p(0.02):
		g.junk()
	case g.p(0.5):
		g.b.WriteString(genMessages[g.r.IntN(len(genMessages))])
	default:
		g.b.WriteString(fmt.Sprintf(`{"from":"%d","from_user_id":"u%d","id":"wamid.%d","timestamp":"%d","type":"text","text":{"body":"a\"}\\ \u00e9 %d"}}`,
			g.r.IntN(3), g.r.IntN(3), g.r.IntN(1000), g.r.IntN(1000), g.r.IntN(9)))
	}
}

func (g *gen) status() {
	switch {
	case g.p(0.02):
		g.junk()
	default:
		g.b.WriteString(genStatuses[g.r.IntN(len(genStatuses))])
	}
}

// decodeCommon must take the deliveries it was written for (else balas
// silently pays for the slower paths) and give up on the others; whatever
// it takes, it decodes as decodeLayered does.
func TestDecodeCommonTakesTheCommonShapes(t *testing.T) {
	common := map[string]bool{"text.json": true, "text_unicode.json": true, "button_reply.json": true,
		"list_reply.json": true, "template_button.json": true, "reply_context.json": true,
		"status_sent.json": true, "status_delivered.json": true, "status_read.json": true, "batch_multi.json": true}
	for _, name := range fixtureNames(t) {
		body := readFixture(t, name)
		d, ok := decodeCommon(body)
		if ok != common[name] {
			t.Errorf("%s: decodeCommon took it: %v, want %v", name, ok, common[name])
		}
		if ok {
			want, err := decodeLayered(body)
			if err != nil || !reflect.DeepEqual(d, want) {
				t.Errorf("%s: decodeCommon\n got %s\nwant %s (%v)", name, dump(d), dump(want), err)
			}
		}
	}
	for _, f := range []Fake{{From: budi, UserID: budiUID, Name: "Budi 🌸", Text: "halo / é \" \\ \u2028"},
		{UserID: budiUID, ListID: "l", ListTitle: "t"}, {From: budi, ButtonID: "b", ButtonTitle: "B"}} {
		if _, ok := decodeCommon(f.Body()); !ok {
			t.Errorf("decodeCommon gave up on %s", f.Body())
		}
	}
}
