package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
)

// SignatureHeader is the header that carries Meta's payload signature.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" followed by
// the lowercase hex HMAC-SHA256 of body keyed with the app secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header (the X-Hub-Signature-256 value) is
// the HMAC-SHA256 of body under secret. body must be the raw request bytes:
// re-serialised JSON does not verify. The comparison is constant time. It is
// false for an empty secret, a missing or malformed header, a prefix other
// than "sha256=", or a digest that is not 64 hex digits.
func VerifySignature(secret, body []byte, header string) bool {
	return NewVerifier(secret).Verify(body, header)
}

// Verifier is VerifySignature for one app secret, for a server that checks
// every delivery: it keeps keyed HMAC states for reuse instead of keying a
// new one (two SHA-256 blocks and seven allocations) per call. It is safe
// for concurrent use.
type Verifier struct {
	secret []byte
	states sync.Pool // *verifyState
}

type verifyState struct {
	mac       hash.Hash
	sum, want [sha256.Size]byte
}

// NewVerifier returns a Verifier for secret (copied).
func NewVerifier(secret []byte) *Verifier {
	return &Verifier{secret: append([]byte(nil), secret...)}
}

// Verify is VerifySignature(secret, body, header).
func (v *Verifier) Verify(body []byte, header string) bool {
	if len(v.secret) == 0 {
		return false
	}
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok || len(hexSum) != 2*sha256.Size {
		return false
	}
	st, _ := v.states.Get().(*verifyState)
	if st == nil {
		st = &verifyState{mac: hmac.New(sha256.New, v.secret)}
	}
	defer v.states.Put(st)
	for i := range st.want {
		hi, ok1 := fromHex(hexSum[2*i])
		lo, ok2 := fromHex(hexSum[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		st.want[i] = hi<<4 | lo
	}
	st.mac.Reset()
	st.mac.Write(body)
	return hmac.Equal(st.mac.Sum(st.sum[:0]), st.want[:])
}

// fromHex is the value of one hex digit, either case (as hex.DecodeString).
func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
