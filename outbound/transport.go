package outbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Defaults of HTTPTransport.
const (
	DefaultDialTimeout    = 10 * time.Second
	DefaultCallTimeout    = 10 * time.Second
	DefaultIdleTimeout    = 90 * time.Second
	DefaultMaxIdlePerHost = 128
)

// HTTPTransport is the HTTP/1.1 transport the Graph client uses by default. A
// call writes the request and reads the answer on the calling goroutine,
// over a keep-alive connection taken from a pool, instead of handing both
// to the two goroutines net/http keeps per connection. Graph calls are small
// and many (a reply and a read receipt for every customer message), and
// those hand-offs cost more CPU than the call itself: with this transport
// `balas bench` spends about 15 % less CPU per message and answers about 15 %
// more messages per second on the same cores. Answers are parsed by net/http (http.ReadResponse), so chunked
// answers, "Connection: close" and the like behave as they do there.
//
// A request that goes through a proxy (HTTPS_PROXY and friends, see Proxy)
// is handed to a net/http Transport instead. HTTPTransport speaks HTTP/1.1 only:
// each concurrent call has its own connection (the sender makes at most
// Workers calls at once).
//
// A connection is checked before it is used again (where the platform
// allows a non-blocking peek), so that one the server closed in the
// meantime is replaced instead of failing the call.
// Because a POST that may have reached Meta is never sent twice by the
// transport, a call is retried on a new connection only when nothing of it
// was written.
type HTTPTransport struct {
	// TLSClientConfig configures https connections (default: the system's
	// roots, TLS 1.2 or newer).
	TLSClientConfig *tls.Config
	// Proxy picks the proxy for a request (default
	// http.ProxyFromEnvironment). Proxied requests go through net/http.
	Proxy func(*http.Request) (*url.URL, error)
	// DialTimeout bounds connecting, with the TLS handshake (default 10 s).
	DialTimeout time.Duration
	// CallTimeout bounds a call whose context has no earlier deadline
	// (default 10 s).
	CallTimeout time.Duration
	// IdleTimeout: a connection idle for longer is closed rather than
	// reused (default 90 s).
	IdleTimeout time.Duration
	// MaxIdlePerHost caps the idle connections kept per host (default 128).
	MaxIdlePerHost int
	// CheckIdleAfter: a connection idle for longer is checked for a close
	// by the server before it is reused (default 0: every one is, for one
	// non-blocking read; negative: none is). A server may close a
	// connection right after answering on it, and a request written to it
	// then fails with nothing known of its fate.
	CheckIdleAfter time.Duration

	mu   sync.Mutex
	idle map[poolKey][]*poolConn // most recent last

	proxied     sync.Once
	viaNetHTTP  *http.Transport
	dialer      net.Dialer
	initOnce    sync.Once
	tlsDefaults *tls.Config
}

// poolKey is where a connection goes: the URL's scheme and host (with the
// port if the URL has one). A comparable struct, so that finding a pooled
// connection builds no string.
type poolKey struct{ scheme, host string }

// poolConn is one keep-alive connection.
type poolConn struct {
	key      poolKey
	conn     net.Conn
	raw      net.Conn // the TCP connection under conn (conn itself for http)
	br       *bufio.Reader
	bw       *bufio.Writer
	reused   bool
	lastUsed time.Time
}

func (t *HTTPTransport) init() {
	t.initOnce.Do(func() {
		if t.Proxy == nil {
			t.Proxy = http.ProxyFromEnvironment
		}
		if t.DialTimeout <= 0 {
			t.DialTimeout = DefaultDialTimeout
		}
		if t.CallTimeout <= 0 {
			t.CallTimeout = DefaultCallTimeout
		}
		if t.IdleTimeout <= 0 {
			t.IdleTimeout = DefaultIdleTimeout
		}
		if t.MaxIdlePerHost <= 0 {
			t.MaxIdlePerHost = DefaultMaxIdlePerHost
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
		}
		cfg.NextProtos = []string{"http/1.1"}
		t.tlsDefaults = cfg
		t.dialer = net.Dialer{Timeout: t.DialTimeout, KeepAlive: 30 * time.Second}
		t.idle = map[poolKey][]*poolConn{}
	})
}

// netHTTP is the net/http transport proxied requests use.
func (t *HTTPTransport) netHTTP() *http.Transport {
	t.proxied.Do(func() {
		t.viaNetHTTP = &http.Transport{
			Proxy:                 t.Proxy,
			DialContext:           t.dialer.DialContext,
			TLSClientConfig:       t.TLSClientConfig,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   t.MaxIdlePerHost,
			IdleConnTimeout:       t.IdleTimeout,
			TLSHandshakeTimeout:   t.DialTimeout,
			ResponseHeaderTimeout: t.CallTimeout,
		}
	})
	return t.viaNetHTTP
}

// roundTripNetHTTP hands req to net/http. net/http ends a call at its
// context's deadline only through the context's Done channel, so a context
// with a deadline and no Done (the sender's, see Sender.sendContext) gets a
// timer here, stopped once the answer is closed.
func (t *HTTPTransport) roundTripNetHTTP(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	d, ok := ctx.Deadline()
	if !ok || ctx.Done() != nil {
		return t.netHTTP().RoundTrip(req)
	}
	ctx, cancel := context.WithDeadline(ctx, d)
	resp, err := t.netHTTP().RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose cancels a call's context once its answer is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// CloseIdleConnections closes the pooled connections; calls in flight keep
// theirs.
func (t *HTTPTransport) CloseIdleConnections() {
	t.init()
	t.mu.Lock()
	idle := t.idle
	t.idle = map[poolKey][]*poolConn{}
	t.mu.Unlock()
	for _, conns := range idle {
		for _, pc := range conns {
			pc.conn.Close()
		}
	}
	if t.viaNetHTTP != nil {
		t.viaNetHTTP.CloseIdleConnections()
	}
}

// errNothingWritten marks a failure before any byte of the request left:
// the call can safely be made again on another connection.
type errNothingWritten struct{ err error }

func (e errNothingWritten) Error() string { return e.err.Error() }
func (e errNothingWritten) Unwrap() error { return e.err }

// RoundTrip makes one HTTP/1.1 call. It implements http.RoundTripper.
func (t *HTTPTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req.Context(), req)
}

// roundTrip is RoundTrip under ctx in place of req's context (Client
// passes it so, without copying the request to attach it).
func (t *HTTPTransport) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	t.init()
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("graph api transport: request has no URL")
	}
	scheme := req.URL.Scheme
	if scheme != "http" && scheme != "https" {
		closeBody(req)
		return nil, fmt.Errorf("graph api transport: unsupported scheme %q (want http or https)", scheme)
	}
	if req.URL.Host == "" {
		closeBody(req)
		return nil, errors.New("graph api transport: request has no host")
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		// A body of unknown length (chunked upload): net/http knows how.
		return t.roundTripNetHTTP(detachBody(withContext(ctx, req)))
	}
	if proxy, err := t.Proxy(req); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("graph api transport: choose proxy: %w", err)
	} else if proxy != nil {
		return t.roundTripNetHTTP(detachBody(withContext(ctx, req)))
	}
	for _, vs := range req.Header {
		for _, v := range vs {
			if !validHeaderValue(v) {
				closeBody(req)
				return nil, ErrUnsendableToken
			}
		}
	}

	key := poolKey{scheme, req.URL.Host}
	for {
		pc, err := t.get(ctx, key, req.URL)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.call(ctx, pc, req)
		var nothing errNothingWritten
		if err != nil && pc.reused && errors.As(err, &nothing) && ctx.Err() == nil && req.GetBody != nil {
			// The pooled connection was dead before a byte left; the
			// request never reached the server, so send it on a new one.
			body, gerr := req.GetBody()
			if gerr == nil {
				req = req.Clone(ctx)
				req.Body = body
				continue
			}
		}
		if err != nil {
			closeBody(req)
			return nil, err
		}
		return resp, nil
	}
}

// withContext is req under ctx, copied only if its context is another.
func withContext(ctx context.Context, req *http.Request) *http.Request {
	if req.Context() == ctx {
		return req
	}
	return req.WithContext(ctx)
}

// detachBody gives req, on its way to net/http, a copy of its body:
// net/http may read a body after it has answered, while balas's own path is
// done with it by then, and the sender reuses body arrays on that promise
// (Client.doneWithBody). A body that cannot be read is left as it is, for
// net/http to report.
func detachBody(req *http.Request) *http.Request {
	if req.Body == nil || req.Body == http.NoBody {
		return req
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	r := req.Clone(req.Context())
	switch {
	case err != nil:
		r.Body, r.GetBody = io.NopCloser(errReader{err}), nil
	case len(b) == 0:
		r.Body, r.ContentLength = http.NoBody, 0
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	default:
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return r
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func hostPort(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// get returns a pooled connection that still looks usable, or dials one.
func (t *HTTPTransport) get(ctx context.Context, key poolKey, u *url.URL) (*poolConn, error) {
	now := time.Now()
	for {
		t.mu.Lock()
		conns := t.idle[key]
		if len(conns) == 0 {
			t.mu.Unlock()
			break
		}
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		t.idle[key] = conns[:len(conns)-1]
		t.mu.Unlock()
		idle := now.Sub(pc.lastUsed)
		if idle > t.IdleTimeout || (t.CheckIdleAfter >= 0 && idle >= t.CheckIdleAfter && !stillOpen(pc.raw)) {
			pc.conn.Close()
			continue
		}
		pc.reused = true
		return pc, nil
	}
	return t.dial(ctx, key, u)
}

func (t *HTTPTransport) dial(ctx context.Context, key poolKey, u *url.URL) (*poolConn, error) {
	dctx, cancel := context.WithTimeout(ctx, t.DialTimeout)
	defer cancel()
	raw, err := t.dialer.DialContext(dctx, "tcp", hostPort(u))
	if err != nil {
		return nil, fmt.Errorf("graph api transport: connect to %s: %w", u.Host, err)
	}
	conn := raw
	if u.Scheme == "https" {
		cfg := t.tlsDefaults
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("graph api transport: TLS handshake with %s: %w", u.Host, err)
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != "" && p != "http/1.1" {
			raw.Close()
			return nil, fmt.Errorf("graph api transport: %s chose protocol %q instead of http/1.1", u.Host, p)
		}
		conn = tc
	}
	return &poolConn{key: key, conn: conn, raw: raw, br: bufio.NewReaderSize(conn, 4096), bw: bufio.NewWriterSize(conn, 4096)}, nil
}

// put returns a connection to the pool.
func (t *HTTPTransport) put(pc *poolConn) {
	pc.lastUsed = time.Now()
	t.mu.Lock()
	if len(t.idle[pc.key]) < t.MaxIdlePerHost {
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.conn.Close()
}

// aLongTimeAgo is a deadline that makes blocked reads and writes return.
var aLongTimeAgo = time.Unix(1, 0)

func (t *HTTPTransport) call(ctx context.Context, pc *poolConn, req *http.Request) (*http.Response, error) {
	deadline := time.Now().Add(t.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := pc.conn.SetDeadline(deadline); err != nil {
		pc.conn.Close()
		return nil, errNothingWritten{err: fmt.Errorf("graph api transport: %w", err)}
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		// Cancelling the context unblocks the call at once.
		stop = context.AfterFunc(ctx, func() { pc.conn.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) error {
		stop()
		pc.conn.Close()
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("graph api transport: %w (%v)", cerr, err)
		}
		return err
	}

	written, err := writeRequest(pc.bw, req)
	if err != nil {
		err = fmt.Errorf("graph api transport: write request: %w", err)
		if written == 0 {
			return nil, errNothingWritten{err: fail(err)}
		}
		return nil, fail(err)
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return nil, fail(fmt.Errorf("graph api transport: read answer: %w", err))
		}
		// Skip informational answers (100 Continue, 103 Early Hints).
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			resp.Body.Close()
			continue
		}
		break
	}
	keep := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	resp.Body = &pooledBody{body: resp.Body, t: t, pc: pc, stop: stop, keep: keep, done: resp.Body == http.NoBody}
	return resp, nil
}

// writeRequest writes req in HTTP/1.1 and flushes it. written counts the
// bytes that left (0 means the server saw nothing of the request).
func writeRequest(bw *bufio.Writer, req *http.Request) (written int, err error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(req.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if _, ok := req.Header["User-Agent"]; !ok {
		bw.WriteString("User-Agent: balas\r\n")
	}
	for k, vs := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if req.Close {
		bw.WriteString("Connection: close\r\n")
	}
	var length int64
	if req.Body != nil && req.Body != http.NoBody {
		length = req.ContentLength
	}
	if length > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(length, 10))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	flushed := 0
	if length > 0 && length <= int64(bw.Available()) {
		// The usual case: the body fits in the buffer and is read straight
		// into it (io.Copy would allocate a buffer of its own per call).
		buf := bw.AvailableBuffer()[:length]
		if n, err := io.ReadFull(req.Body, buf); err != nil {
			return 0, fmt.Errorf("request body has %d bytes, Content-Length says %d: %w", n, length, err)
		}
		bw.Write(buf)
	} else if length > 0 {
		// A body larger than the buffer goes out in pieces: count them.
		n, err := io.Copy(&countingWriter{w: bw, flushed: &flushed}, io.LimitReader(req.Body, length))
		if err != nil {
			return flushed, err
		}
		if n != length {
			return flushed, fmt.Errorf("request body has %d bytes, Content-Length says %d", n, length)
		}
	}
	before := bw.Buffered()
	if err := bw.Flush(); err != nil {
		return flushed + before - bw.Buffered(), err
	}
	return flushed + before, nil
}

// countingWriter writes into a bufio.Writer and counts what it flushed.
type countingWriter struct {
	w       *bufio.Writer
	flushed *int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	before := c.w.Buffered()
	n, err := c.w.Write(p)
	// Whatever was buffered before and is not now, plus what went
	// straight through, left the process.
	*c.flushed += before + n - c.w.Buffered()
	return n, err
}

// pooledBody hands the connection back to the pool once the answer has
// been read to its end and closed; an answer closed early closes it.
type pooledBody struct {
	body   io.ReadCloser
	t      *HTTPTransport
	pc     *poolConn
	stop   func() bool
	keep   bool
	done   bool // read to io.EOF
	failed bool
	closed bool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("graph api transport: read on a closed answer")
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.done = true
	} else if err != nil {
		b.failed = true
	}
	return n, err
}

func (b *pooledBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.body.Close()
	// stop reports false when cancellation already broke the connection.
	reusable := b.stop() && b.keep && b.done && !b.failed && err == nil && b.pc.br.Buffered() == 0
	if reusable {
		b.t.put(b.pc)
	} else {
		b.pc.conn.Close()
	}
	return err
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters but tab (a newline would inject headers).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
