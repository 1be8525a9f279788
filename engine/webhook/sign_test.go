package webhook

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var testSecret = []byte("balas-test-app-secret")

// signatures parses testdata/SIGNATURES.txt: file name → header value, and
// the re-serialised text_unicode value from the last comment line.
func signatures(t *testing.T) (map[string]string, string) {
	t.Helper()
	sigs := map[string]string{}
	var reserialised string
	sc := bufio.NewScanner(bytes.NewReader(readFixture(t, "SIGNATURES.txt")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			if strings.Contains(line, "re-serialized") {
				_, reserialised, _ = strings.Cut(line, ": ")
			}
			continue
		}
		if f := strings.Fields(line); len(f) == 2 {
			sigs[f[0]] = f[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reserialised, "sha256=") {
		t.Fatalf("no re-serialised signature found in SIGNATURES.txt")
	}
	return sigs, reserialised
}

func TestFixtureSignatures(t *testing.T) {
	sigs, _ := signatures(t)
	names := fixtureNames(t)
	if len(sigs) != len(names) {
		t.Errorf("SIGNATURES.txt has %d entries, testdata has %d fixtures", len(sigs), len(names))
	}
	for _, name := range names {
		want, ok := sigs[name]
		if !ok {
			t.Errorf("%s: no signature", name)
			continue
		}
		body := readFixture(t, name)
		if got := Sign(testSecret, body); got != want {
			t.Errorf("%s: Sign = %s, want %s", name, got, want)
		}
		if !VerifySignature(testSecret, body, want) {
			t.Errorf("%s: VerifySignature(fixture signature) = false", name)
		}
		if VerifySignature([]byte("another-secret"), body, want) {
			t.Errorf("%s: verified under the wrong secret", name)
		}
		tampered := bytes.Replace(body, []byte("104857600123456"), []byte("104857600123457"), 1)
		if VerifySignature(testSecret, tampered, want) {
			t.Errorf("%s: tampered body verified", name)
		}
	}
}

func TestReserialisedDoesNotVerify(t *testing.T) {
	_, reserialised := signatures(t)
	raw := readFixture(t, "text_unicode.json")
	if VerifySignature(testSecret, raw, reserialised) {
		t.Fatal("the re-serialised signature verifies against the raw body")
	}
	// Parsing and re-serialising changes the bytes (UTF-8 instead of \u
	// escapes, "/" instead of "\/"), so the raw signature no longer verifies.
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	sigs, _ := signatures(t)
	if VerifySignature(testSecret, again, sigs["text_unicode.json"]) {
		t.Error("raw signature verifies a re-serialised body")
	}
}

func TestVerifySignatureMalformed(t *testing.T) {
	body := readFixture(t, "text.json")
	good := Sign(testSecret, body)
	hexSum := strings.TrimPrefix(good, "sha256=")
	cases := map[string]string{
		"missing":         "",
		"prefix only":     "sha256=",
		"no prefix":       hexSum,
		"sha1 prefix":     "sha1=" + hexSum,
		"upper prefix":    "SHA256=" + hexSum,
		"space":           "sha256= " + hexSum,
		"trailing space":  good + " ",
		"short":           good[:len(good)-2],
		"long":            good + "00",
		"odd":             good[:len(good)-1],
		"not hex":         "sha256=" + strings.Repeat("zz", 32),
		"flipped digit":   good[:len(good)-1] + flip(good[len(good)-1]),
		"double prefix":   "sha256=" + good,
		"other body hash": Sign(testSecret, []byte("{}")),
	}
	for name, h := range cases {
		if VerifySignature(testSecret, body, h) {
			t.Errorf("%s: %q verified", name, h)
		}
	}
	if !VerifySignature(testSecret, body, good) {
		t.Error("good signature rejected")
	}
	if !VerifySignature(testSecret, body, "sha256="+strings.ToUpper(hexSum)) {
		t.Error("uppercase hex digest rejected")
	}
	if VerifySignature(nil, body, Sign(nil, body)) {
		t.Error("empty secret verified")
	}
	if s := Sign(testSecret, nil); len(s) != len("sha256=")+64 || s != strings.ToLower(s) {
		t.Errorf("Sign = %q", s)
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// TestVerifierReusesStates verifies many bodies with one Verifier, from
// several goroutines, interleaving good and bad signatures: a kept HMAC state
// that carried anything over from its last use would reject a good one or
// accept a bad one.
func TestVerifierReusesStates(t *testing.T) {
	v := NewVerifier(testSecret)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				body := []byte(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))
				good := Sign(testSecret, body)
				if !v.Verify(body, good) {
					errs <- fmt.Sprintf("good signature %d/%d rejected", g, i)
					return
				}
				if v.Verify(body, Sign(testSecret, append(body, ' '))) {
					errs <- fmt.Sprintf("another body's signature %d/%d verified", g, i)
					return
				}
				if v.Verify(body, good[:len(good)-1]+"g") {
					errs <- fmt.Sprintf("non-hex signature %d/%d verified", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if NewVerifier(nil).Verify([]byte("{}"), Sign(nil, []byte("{}"))) {
		t.Error("a Verifier without a secret verified")
	}
}

// BenchmarkVerify compares checking a text delivery's signature with a
// new HMAC per call (VerifySignature) and with a Verifier's kept states.
func BenchmarkVerify(b *testing.B) {
	body := Fake{From: "6281234567890", Name: "Budi", Text: "halo", WamID: "wamid.bench"}.Body()
	sig := Sign(testSecret, body)
	b.Run("VerifySignature", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !VerifySignature(testSecret, body, sig) {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("Verifier", func(b *testing.B) {
		v := NewVerifier(testSecret)
		b.ReportAllocs()
		for b.Loop() {
			if !v.Verify(body, sig) {
				b.Fatal("rejected")
			}
		}
	})
}

// FuzzVerify holds Verifier.Verify, which decodes the header's hex digits
// itself, equal to the plain reading: cut "sha256=", hex-decode 64 digits,
// compare with the HMAC-SHA256 of the body. Headers are what anyone on the
// internet can send.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"object":"whatsapp_business_account"}`)
	good := Sign(testSecret, body)
	f.Add(body, good)
	f.Add(body, strings.ToUpper(good))
	f.Add(body, "sha256="+strings.ToUpper(good[7:]))
	f.Add(body, good[:len(good)-1]+"G")
	f.Add(body, "sha256=")
	f.Add([]byte{}, Sign(testSecret, nil))
	v := NewVerifier(testSecret)
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		want := false
		if hexSum, ok := strings.CutPrefix(header, "sha256="); ok && len(hexSum) == 64 {
			if got, err := hex.DecodeString(hexSum); err == nil {
				mac := hmac.New(sha256.New, testSecret)
				mac.Write(body)
				want = hmac.Equal(mac.Sum(nil), got)
			}
		}
		if got := v.Verify(body, header); got != want {
			t.Fatalf("Verify(%q, %q) = %v, want %v", body, header, got, want)
		}
		// The body's own signature verifies.
		if !v.Verify(body, Sign(testSecret, body)) {
			t.Fatalf("own signature of %q rejected", body)
		}
	})
}
