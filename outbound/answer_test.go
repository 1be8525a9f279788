package outbound

import "testing"

var answerCases = []struct {
	answer string
	id     string
	scans  bool // taken by the scan, without json.Unmarshal
}{
	{`{"messaging_product":"whatsapp","contacts":[{"input":"+6281234567890","wa_id":"6281234567890"}],"messages":[{"id":"wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABEYEjQ2QzQ0RjM2NjJEQzM1RjAwAA==","message_status":"accepted"}]}`, "wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABEYEjQ2QzQ0RjM2NjJEQzM1RjAwAA==", true},
	{"{ \"messages\" : [ { \"id\" : \"a\" } , { \"id\" : \"b\" } ] }\n", "a", true},
	{`{"messages":[{"x":{"id":"nested"},"id":"top"}],"contacts":[{"messages":[{"id":"no"}]}]}`, "top", true},
	{`{"contacts":[],"messages":[{"message_status":"accepted"}]}`, "", true},
	{`{"messages":[]}`, "", true},
	{`{"messages":null}`, "", true},
	{`{"a":1.5e3,"b":true,"c":null,"d":"x\"}","messages":[{"id":"m","n":-2}]}`, "m", true},
	{`{"messages":[{"id":"a\u0062"}]}`, "ab", false},                  // an escape
	{`{"messages":[{"id":"x"}],"messages":[{"id":"y"}]}`, "y", false}, // the last one counts
	{`{"messages":[{"id":"x","id":"y"}]}`, "y", false},
	{`{"Messages":[{"ID":"x"}],"messages":[{"id":"y"}]}`, "y", false},
	{`{"messages":[{"Id":"x"}]}`, "x", false},
	{`{"messages":[{"id":5}]}`, "", false},
	{`{"messages":[null,{"id":"b"}]}`, "", false},
	{`{"messages":[{"id":null}]}`, "", false},
	{`{"messages":[{"id":"a"},7]}`, "", false},
	{`{"messages":[{"id":"a"}]`, "", false}, // not JSON
	{`{"messages":[{"id":"a"}]} x`, "", false},
	{"{\"messages\":[{\"id\":\"\xff\"}]}", "\ufffd", false},
	{`{"meſſages":[{"id":"k"}]}`, "k", false}, // ſ folds to s in encoding/json
	{`[{"messages":[{"id":"a"}]}]`, "", false},
	{`null`, "", false},
}

func TestMessageID(t *testing.T) {
	for _, tc := range answerCases {
		if got := messageID([]byte(tc.answer)); got != tc.id {
			t.Errorf("messageID(%s) = %q, want %q", tc.answer, got, tc.id)
		}
		if want := unmarshalMessageID([]byte(tc.answer)); want != tc.id {
			t.Errorf("the case is wrong: json.Unmarshal finds %q in %s", want, tc.answer)
		}
		if _, ok := scanMessageID([]byte(tc.answer)); ok != tc.scans {
			t.Errorf("scanMessageID(%s) took it: %v, want %v", tc.answer, ok, tc.scans)
		}
	}
}

// FuzzMessageID holds messageID, which scans the usual answers itself,
// equal to json.Unmarshal (unmarshalMessageID, what it falls back to) on any
// bytes.
func FuzzMessageID(f *testing.F) {
	for _, tc := range answerCases {
		f.Add([]byte(tc.answer))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		if got, want := messageID(answer), unmarshalMessageID(answer); got != want {
			t.Fatalf("messageID(%q) = %q, json.Unmarshal finds %q", answer, got, want)
		}
	})
}

func BenchmarkMessageID(b *testing.B) {
	answer := []byte(answerCases[0].answer)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			messageID(answer)
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			unmarshalMessageID(answer)
		}
	})
}
