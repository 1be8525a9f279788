// Package outbound sends balas's replies through the WhatsApp Cloud API
// (Graph API): request bodies for every reply kind, a small HTTP client,
// error classification, and the Sender that drains the durable outbox with
// per-number rate limiting, per-customer pair pacing, retries and strict
// per-conversation order.
package outbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Defaults of ClientOptions.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v25.0"
)

// maxAnswer caps how much of a Graph answer is read.
const maxAnswer = 1 << 20

// ClientOptions configure NewClient.
type ClientOptions struct {
	BaseURL     string // default https://graph.facebook.com
	Version     string // default v25.0
	AccessToken string
	// HTTPClient, when set, makes the calls. By default they go through an
	// HTTPTransport with its defaults (10 s per call, keep-alive).
	HTTPClient *http.Client
	// IdleConns is how many keep-alive connections the default transport
	// keeps open for reuse (default DefaultMaxIdlePerHost). Give it at
	// least the number of calls made at once (SenderOptions.Workers):
	// otherwise connections are closed after use and dialled again.
	IdleConns int
}

// Client calls the Graph API's messages endpoint. It is safe for concurrent use.
type Client struct {
	base    string
	baseURL *url.URL // base parsed, when it parses; nil otherwise
	http    *http.Client
	rt      *HTTPTransport // the default transport, called directly; nil with ClientOptions.HTTPClient
	answers sync.Pool      // *bytes.Buffer for reading answers, which are parsed and dropped
	header  http.Header    // the same for every request; never modified
	token   string         // the access token, kept out of errors (see redact)
}

// NewClient makes a Client.
func NewClient(opts ClientOptions) *Client {
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	version := strings.Trim(opts.Version, "/")
	if version == "" {
		version = DefaultVersion
	}
	hc := opts.HTTPClient
	var rt *HTTPTransport
	if hc == nil {
		rt = &HTTPTransport{MaxIdlePerHost: opts.IdleConns} // it bounds each call
		hc = &http.Client{Transport: rt}
	}
	c := &Client{base: base + "/" + version + "/", http: hc, rt: rt, token: opts.AccessToken, header: http.Header{
		"Authorization": {"Bearer " + opts.AccessToken},
		"Content-Type":  {"application/json"},
		"Accept":        {"application/json"},
	}}
	if u, err := url.Parse(c.base); err == nil && u.RawPath == "" && u.Host != "" && u.RawQuery == "" && u.Fragment == "" {
		c.baseURL = u
	}
	return c
}

// newRequest is http.NewRequest for the messages endpoint of phoneNumberID.
// A plain id (digits, as Meta's are) extends the parsed base URL instead of
// parsing the whole URL again on every call. The call's context is given to
// do, so that the default transport gets it without a copy of the request.
func (c *Client) newRequest(phoneNumberID string, body []byte) (*http.Request, error) {
	if c.baseURL == nil || !plainPathSegment(phoneNumberID) {
		return http.NewRequest(http.MethodPost, c.base+phoneNumberID+"/messages", bytes.NewReader(body))
	}
	u := *c.baseURL
	u.Path += phoneNumberID + "/messages"
	req := &http.Request{
		Method:        http.MethodPost,
		URL:           &u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        c.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		GetBody: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(body)), nil
		},
		Host: u.Host,
	}
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	return req, nil
}

// do sends req under ctx. The default transport is called directly:
// http.Client's Do would copy the headers of every request in case of a
// redirect (Graph API POSTs are never redirected; a 3xx is an error like any
// non-2xx) and adds nothing else balas uses. Errors are wrapped as Do wraps
// them.
func (c *Client) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if c.rt == nil {
		return c.http.Do(req.WithContext(ctx))
	}
	resp, err := c.rt.roundTrip(ctx, req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.Redacted(), Err: err} // as net/http: no password
	}
	return resp, nil
}

// boundsCalls reports whether every call ends by its context's deadline
// without the context being cancelled: true for the default HTTPTransport,
// which sets the deadline on the connection (see Sender.sendContext).
func (c *Client) boundsCalls() bool { return c.rt != nil }

// doneWithBody reports whether Send is done with the request body when it
// returns: true for the default HTTPTransport, which writes the whole body
// before it reads the answer, retries within the call, and gives requests it
// hands to net/http (proxies) a copy of the body (net/http may still read a
// body after answering).
func (c *Client) doneWithBody() bool { return c.rt != nil }

// CloseIdleConnections closes the keep-alive connections no call is using;
// call it once the client is no longer needed. Calls in flight keep theirs.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// redactedToken stands in an error for the access token.
const redactedToken = "[access token]"

// redactBytes is answer without the access token. Graph echoes a token it
// cannot parse in its error ("Malformed access token EAAG…", code 190), and
// error texts are logged and stored in the outbox; a proxy's error page may
// echo the request's headers. The answer is only parsed afterwards, so the
// excerpt kept of a body that is not Meta's never holds part of the token.
func (c *Client) redactBytes(answer []byte) []byte {
	if len(c.token) < 4 || !bytes.Contains(answer, []byte(c.token)) {
		return answer
	}
	return bytes.ReplaceAll(answer, []byte(c.token), []byte(redactedToken))
}

// redact removes the access token from e's texts (also where the answer
// wrote it with JSON escapes).
func (c *Client) redact(e *Error) *Error {
	if len(c.token) < 4 {
		return e
	}
	for _, s := range []*string{&e.Message, &e.Details, &e.Type} {
		*s = strings.ReplaceAll(*s, c.token, redactedToken)
	}
	return e
}

// plainPathSegment reports whether s is a non-empty path segment that needs
// no escaping.
func plainPathSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return s != "" && s != "." && s != ".."
}

// Send POSTs body to /{version}/{phoneNumberID}/messages. It returns Meta's
// message id (messages[0].id); mark-read and typing answer {"success":true}
// and give "". A non-2xx answer is an *Error. The access token never appears
// in errors.
func (c *Client) Send(ctx context.Context, phoneNumberID string, body []byte) (string, error) {
	if phoneNumberID == "" || strings.ContainsAny(phoneNumberID, "/?#") {
		return "", &BuildError{Reason: fmt.Sprintf("invalid phone number id %q", phoneNumberID)}
	}
	req, err := c.newRequest(phoneNumberID, body)
	if err != nil {
		return "", err
	}
	req.Header = c.header // read-only for net/http (a RoundTripper must not change the request)
	resp, err := c.do(ctx, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	buf, _ := c.answers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 64<<10 { // an unusually large answer is not kept
			c.answers.Put(buf) // nothing below keeps a reference to the bytes
		}
	}()
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	answer := buf.Bytes()
	if err != nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return "", fmt.Errorf("graph api: HTTP %d, reading the answer: %w", resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", c.redact(parseError(resp.StatusCode, resp.Header, c.redactBytes(answer)))
	}
	// Accepted. Never turn a 2xx into an error: a retry would send twice.
	if !bytes.Contains(answer, []byte(`"messages"`)) {
		return "", nil // {"success":true}: a receipt or typing indicator
	}
	return messageID(answer), nil
}
