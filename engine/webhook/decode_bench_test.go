package webhook

import (
	"strings"
	"testing"
	"time"
)

// benchFakeBody is a one-text-message delivery built by Fake, compact and
// escaped like Meta's wire format (what `balas bench` posts).
func benchFakeBody() []byte {
	return Fake{
		From:      budi,
		UserID:    budiUID,
		Name:      "Budi Santoso",
		Text:      "halo",
		WamID:     "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDI5QzJCNjIxNUJCODU3MTlEMDE4AA==",
		Timestamp: time.Unix(1789365600, 0),
	}.Body()
}

// BenchmarkDecodeFake decodes benchFakeBody. BenchmarkDecode in
// decode_test.go covers the text (pretty-printed, ~1 KB) and batch
// fixtures.
func BenchmarkDecodeFake(b *testing.B) {
	benchDecode(b, Decode, benchFakeBody())
}

// BenchmarkReferenceDecode runs the layered decoder alone (decodeLayered,
// what Decode was before the fast path) on the same bodies as BenchmarkDecodeFake and
// BenchmarkDecode, for a comparison within one run:
//
//	go test ./engine/webhook/ -run '^$' -bench 'Decode' -benchmem -count 5
func BenchmarkReferenceDecode(b *testing.B) {
	b.Run("fake", func(b *testing.B) { benchDecode(b, decodeLayered, benchFakeBody()) })
	for _, name := range []string{"text.json", "batch_multi.json"} {
		body := readFixture(b, name)
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) { benchDecode(b, decodeLayered, body) })
	}
}

func benchDecode(b *testing.B, decode func([]byte) (*Delivery, error), body []byte) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
