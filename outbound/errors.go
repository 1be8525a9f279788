package outbound

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is an error answer of the Graph API: Meta's {"error":{…}} object, or
// (for a body that is not Meta's JSON, e.g. a proxy's HTML page) just the HTTP
// status with Code 0.
type Error struct {
	HTTPStatus int
	Code       int
	Subcode    int
	Type       string
	Message    string
	Details    string // error_data.details
	FBTraceID  string
	RetryAfter time.Duration // from the Retry-After header, 0 when absent

	meta bool // the body was Meta's error object
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph api: ")
	if e.meta {
		msg := e.Message
		if msg == "" {
			msg = "error"
		}
		fmt.Fprintf(&b, "%s (code %d", msg, e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, ", subcode %d", e.Subcode)
		}
		fmt.Fprintf(&b, ", HTTP %d", e.HTTPStatus)
		if e.FBTraceID != "" {
			fmt.Fprintf(&b, ", fbtrace_id %s", e.FBTraceID)
		}
		b.WriteString(")")
		if e.Details != "" {
			b.WriteString(": ")
			b.WriteString(e.Details)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "HTTP %d %s", e.HTTPStatus, http.StatusText(e.HTTPStatus))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// IsMeta reports whether the answer carried Meta's error object (so Code is
// Meta's code rather than a placeholder 0).
func (e *Error) IsMeta() bool { return e.meta }

// parseError builds an *Error from a non-2xx answer.
func parseError(status int, header http.Header, body []byte) *Error {
	e := &Error{HTTPStatus: status, RetryAfter: parseRetryAfter(header.Get("Retry-After"))}
	// Fields other than the code are decoded one by one: one of an
	// unexpected type (error_data as a string) must not lose the code.
	var env struct {
		Error *struct {
			Message   json.RawMessage `json:"message"`
			Type      json.RawMessage `json:"type"`
			Code      *int            `json:"code"`
			Subcode   json.RawMessage `json:"error_subcode"`
			FBTraceID json.RawMessage `json:"fbtrace_id"`
			ErrorData json.RawMessage `json:"error_data"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		m := env.Error
		json.Unmarshal(m.Message, &e.Message)
		json.Unmarshal(m.Type, &e.Type)
		json.Unmarshal(m.Subcode, &e.Subcode)
		json.Unmarshal(m.FBTraceID, &e.FBTraceID)
		var data struct {
			Details string `json:"details"`
		}
		if json.Unmarshal(m.ErrorData, &data) == nil {
			e.Details = data.Details
		} else {
			json.Unmarshal(m.ErrorData, &e.Details) // error_data given as a string
		}
		if m.Code != nil {
			// Meta's code decides (0 is Meta's AuthException). Without
			// one, the HTTP status does, as for an answer from a proxy.
			e.meta, e.Code = true, *m.Code
			return e
		}
		if e.Message != "" {
			return e
		}
	}
	// Not Meta's JSON: keep a short, single-line excerpt for the log.
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	e.Message = s
	return e
}

func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// Class says what to do with a failed send.
type Class int

const (
	// Retry: transient (network, timeout, 5xx, rate limits): back off and retry.
	Retry Class = iota
	// PairLimit: 131056, too many messages to this one customer: retry that
	// customer alone after 4^X seconds.
	PairLimit
	// Permanent: the request cannot succeed as it is; record and do not retry.
	Permanent
	// Auth: the access token is invalid or expired (codes 190 and 0);
	// no call succeeds until the operator sets a new token, so the sender
	// logs it loudly and keeps the reply queued (retried with backoff).
	Auth
)

func (c Class) String() string {
	switch c {
	case Retry:
		return "retry"
	case PairLimit:
		return "pair_limit"
	case Permanent:
		return "permanent"
	case Auth:
		return "auth"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Classify sorts a Send error (see cloud-api-facts §7): network errors,
// timeouts and HTTP 5xx are retried; otherwise Meta's error code decides
// when present, and without one 429 and 408 are retried, 401 is Auth, and
// every other status is permanent. (Meta's auth and pair-limit codes keep
// their class at any status; 5xx and 429 are retried whatever the code.)
func Classify(err error) Class {
	if err == nil {
		return Permanent
	}
	var ge *Error
	if !errors.As(err, &ge) {
		var be *BuildError
		switch {
		case errors.As(err, &be):
			return Permanent
		case errors.Is(err, ErrUnsendableToken):
			return Auth
		}
		return Retry // network error, timeout, unreadable answer
	}
	if ge.meta {
		switch ge.Code {
		case 0, 190:
			return Auth
		case 131056:
			return PairLimit
		case 1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131057:
			return Retry // temporary errors and Graph's throttling codes
		}
		if ge.HTTPStatus >= 500 || ge.HTTPStatus == http.StatusTooManyRequests {
			return Retry // a server error or "slow down" is retried whatever its code says
		}
		return Permanent
	}
	switch {
	case ge.HTTPStatus >= 500, ge.HTTPStatus == http.StatusTooManyRequests, ge.HTTPStatus == http.StatusRequestTimeout:
		return Retry
	case ge.HTTPStatus == http.StatusUnauthorized:
		return Auth
	}
	return Permanent
}

// authCode reports whether an outbox row's error code (see ErrorCode) is
// one Classify takes for Auth: a refused access token.
func authCode(code string) bool {
	switch code {
	case "0", "190", "http_401", "invalid_token":
		return true
	}
	return false
}

// ErrorCode is the metric/outbox label of an error: Meta's code in decimal,
// else "http_NNN", else "network".
func ErrorCode(err error) string {
	var ge *Error
	if errors.As(err, &ge) {
		if ge.meta {
			return strconv.Itoa(ge.Code)
		}
		return "http_" + strconv.Itoa(ge.HTTPStatus)
	}
	var be *BuildError
	if errors.As(err, &be) {
		return "invalid_reply"
	}
	if errors.Is(err, ErrUnsendableToken) {
		return "invalid_token"
	}
	return "network"
}

// ErrUnsendableToken is the transport's refusal of a request whose headers
// hold a control character: the access token (a trailing newline from a
// secrets file, say), the only header value that comes from outside. No
// call can succeed with it, so it is classified Auth.
var ErrUnsendableToken = errors.New("graph api transport: the access token holds a control character (a newline?); set BALAS_ACCESS_TOKEN again")

// BuildError is a reply that cannot be turned into a Graph request body.
type BuildError struct{ Reason string }

func (e *BuildError) Error() string { return "invalid reply: " + e.Reason }

func buildErr(format string, args ...any) error {
	return &BuildError{Reason: fmt.Sprintf(format, args...)}
}
