package bench

// The bench harness's own HTTP/1.1 over raw TCP: the load generator that
// stands in for Meta's webhook deliveries and the fake Graph API that stands
// in for Meta's servers receiving balas's replies. In a real deployment
// neither runs on balas's machine, so both are kept as lean as possible (no
// net/http client or server machinery: one goroutine per connection, one
// Write per request or answer, no per-request allocations to speak of) and
// the cores go to balas, the thing being measured.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// requestTimeout bounds each request of the load generator (write and
// answer), so a stuck server cannot hang the bench.
const requestTimeout = 30 * time.Second

// maxWireBody caps a request body the fake Graph API accepts; balas's
// messages are a few hundred bytes.
const maxWireBody = 1 << 20

// errMalformed marks a message the harness cannot parse as HTTP/1.1.
var errMalformed = errors.New("malformed HTTP message")

// postAll posts the deliveries bs to target ("http://host:port/path") over
// o.Conns keep-alive connections, each a worker that takes the next message
// index from a shared counter, paced to o.Rate messages/s when o.Rate > 0.
// sigs, when non-nil, are the X-Hub-Signature-256 values. onStart is called
// with each message index just before its request. Transport errors and
// non-200 answers count as errors. The result holds one latency per message,
// sorted (0 for a message whose request failed in transport).
func postAll(ctx context.Context, target string, o Options, bs [][]byte, sigs []string, onStart func(i int)) (load, error) {
	return postWire(ctx, target, o, bs, sigs, onStart, requestTimeout)
}

// postWire is postAll with the per-request timeout as a parameter.
func postWire(ctx context.Context, target string, o Options, bs [][]byte, sigs []string, onStart func(i int), timeout time.Duration) (load, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return load{}, fmt.Errorf("load generator: %q is not an http://host:port/path URL", target)
	}
	if sigs != nil && len(sigs) != len(bs) {
		return load{}, fmt.Errorf("load generator: %d signatures for %d bodies", len(sigs), len(bs))
	}
	g := &wireGen{addr: u.Host, path: u.RequestURI(), timeout: timeout, conns: map[net.Conn]struct{}{}}
	// A cancelled context closes the live connections, so that no request
	// waits out its timeout.
	defer context.AfterFunc(ctx, g.closeAll)()
	lat := make([]time.Duration, len(bs))
	var next, errs atomic.Int64
	var interval time.Duration
	if o.Rate > 0 {
		interval = time.Duration(float64(time.Second) / o.Rate)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.Conns; w++ {
		wg.Go(func() {
			var c *genConn
			defer func() { g.drop(c) }()
			var req []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bs) || ctx.Err() != nil {
					return
				}
				if interval > 0 {
					if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
						time.Sleep(d)
					}
				}
				if onStart != nil {
					onStart(i)
				}
				sig, signed := "", sigs != nil
				if signed {
					sig = sigs[i]
				}
				req = appendRequest(req[:0], u.Host, g.path, bs[i], sig, signed)
				t0 := time.Now()
				if c == nil {
					var err error
					if c, err = g.dial(ctx); err != nil {
						errs.Add(1)
						continue
					}
				}
				status, keep, err := c.roundTrip(req, t0.Add(g.timeout))
				if err != nil {
					errs.Add(1)
					g.drop(c)
					c = nil
					continue
				}
				if status != 200 {
					errs.Add(1)
				}
				lat[i] = time.Since(t0)
				if !keep {
					g.drop(c)
					c = nil
				}
			}
		})
	}
	wg.Wait()
	l := load{n: len(bs), errors: int(errs.Load()), elapsed: time.Since(start), latencies: lat}
	slices.Sort(l.latencies)
	return l, ctx.Err()
}

// wireGen is the load generator's shared state: where to post, and the live
// connections so that a cancelled run can close them.
type wireGen struct {
	addr, path string
	timeout    time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// genConn is one keep-alive connection of the load generator.
type genConn struct {
	c net.Conn
	r *bufio.Reader
}

// dial opens a connection and registers it with g.
func (g *wireGen) dial(ctx context.Context) (*genConn, error) {
	d := net.Dialer{Timeout: g.timeout}
	c, err := d.DialContext(ctx, "tcp", g.addr)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		c.Close()
		return nil, context.Canceled
	}
	g.conns[c] = struct{}{}
	return &genConn{c: c, r: bufio.NewReaderSize(c, 4<<10)}, nil
}

// drop closes c (nil is fine) and forgets it.
func (g *wireGen) drop(c *genConn) {
	if c == nil {
		return
	}
	g.mu.Lock()
	delete(g.conns, c.c)
	g.mu.Unlock()
	c.c.Close()
}

// closeAll closes every live connection and refuses new ones.
func (g *wireGen) closeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for c := range g.conns {
		c.Close()
	}
}

// roundTrip writes the serialised request req in one Write and reads the
// answer, all before deadline. keep reports whether the connection may carry
// another request.
func (c *genConn) roundTrip(req []byte, deadline time.Time) (status int, keep bool, err error) {
	if err := c.c.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	return readResponse(c.r)
}

// appendRequest appends a POST of body to path on host, with the signature
// header when signed.
func appendRequest(dst []byte, host, path string, body []byte, sig string, signed bool) []byte {
	dst = append(dst, "POST "...)
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	if signed {
		dst = append(dst, "\r\nX-Hub-Signature-256: "...)
		dst = append(dst, sig...)
	}
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// readResponse reads one HTTP/1.x response from r and discards its body
// (Content-Length, chunked, or up to the end of the connection). Interim 1xx
// answers are skipped. keep is false when the server closes the connection
// after this response (Connection: close, HTTP/1.0 without keep-alive, or a
// body delimited by the end of the connection).
func readResponse(r *bufio.Reader) (status int, keep bool, err error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return 0, false, err
		}
		// HTTP/1.x SP 3DIGIT [SP reason]
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
			return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
		}
		status, ok := atoi3(line[9:12])
		if !ok {
			return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
		}
		keep = line[7] != '0'
		h, err := readHeaders(r, &keep)
		if err != nil {
			return 0, false, err
		}
		switch {
		case status == 101:
			return 0, false, fmt.Errorf("%w: unexpected 101 Switching Protocols", errMalformed)
		case status < 200:
			continue // interim answer; the real one follows
		case status == 204 || status == 304:
			return status, keep, nil
		case h.chunked:
			_, err = readChunked(r, nil, false, -1)
		case h.te:
			err = discardToEOF(r)
			keep = false
		case h.contentLength >= 0:
			_, err = r.Discard(int(h.contentLength))
		default:
			err = discardToEOF(r)
			keep = false
		}
		if err != nil {
			return 0, false, err
		}
		return status, keep, nil
	}
}

// discardToEOF reads r to the end of the connection (a close-delimited body).
func discardToEOF(r *bufio.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// wireHeaders is what the harness needs from a header block.
type wireHeaders struct {
	contentLength  int64 // -1: none
	te             bool  // a Transfer-Encoding header is present
	chunked        bool  // its last coding is chunked
	expectContinue bool
}

// readHeaders reads header lines up to the blank line. Names are matched
// case-insensitively. keep is updated from the Connection header.
func readHeaders(r *bufio.Reader, keep *bool) (wireHeaders, error) {
	h := wireHeaders{contentLength: -1}
	for {
		line, err := readLine(r)
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			return h, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			return h, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := atoi(val)
			if !ok || (h.contentLength >= 0 && n != h.contentLength) {
				return h, fmt.Errorf("%w: Content-Length %q", errMalformed, val)
			}
			h.contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.te = true
			last := val
			if i := bytes.LastIndexByte(val, ','); i >= 0 {
				last = bytes.TrimSpace(val[i+1:])
			}
			h.chunked = bytes.EqualFold(last, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			for tok := range bytes.SplitSeq(val, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if bytes.EqualFold(tok, []byte("close")) {
					*keep = false
				} else if bytes.EqualFold(tok, []byte("keep-alive")) {
					*keep = true
				}
			}
		case bytes.EqualFold(name, []byte("Expect")):
			h.expectContinue = bytes.EqualFold(val, []byte("100-continue"))
		}
	}
}

// readChunked reads a chunked body from r, including its trailers. With keep
// it appends the data to dst and fails beyond limit bytes; otherwise it
// discards the data.
func readChunked(r *bufio.Reader, dst []byte, keep bool, limit int) ([]byte, error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return dst, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		size, ok := parseHex(bytes.TrimSpace(line))
		if !ok {
			return dst, fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			for { // trailers, up to the blank line
				line, err := readLine(r)
				if err != nil {
					return dst, err
				}
				if len(line) == 0 {
					return dst, nil
				}
			}
		}
		if keep {
			if limit >= 0 && int64(len(dst))+size > int64(limit) {
				return dst, errTooLarge
			}
			n := len(dst)
			dst = slices.Grow(dst, int(size))[:n+int(size)]
			if _, err := io.ReadFull(r, dst[n:]); err != nil {
				return dst, err
			}
		} else if _, err := r.Discard(int(size)); err != nil {
			return dst, err
		}
		if line, err := readLine(r); err != nil {
			return dst, err
		} else if len(line) != 0 {
			return dst, fmt.Errorf("%w: chunk data not followed by CRLF", errMalformed)
		}
	}
}

// errTooLarge is a request body beyond maxWireBody.
var errTooLarge = errors.New("request body too large")

// readLine reads one line without its CRLF (or bare LF). The slice is only
// valid until the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: line longer than %d bytes", errMalformed, r.Size())
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// atoi parses a non-negative decimal of at most 18 digits.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// atoi3 parses a three-digit status code.
func atoi3(b []byte) (int, bool) {
	n, ok := atoi(b)
	return int(n), ok && len(b) == 3
}

// parseHex parses a chunk size of at most 15 hex digits.
func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}

// wireServer is a minimal HTTP/1.1 server for the fake Graph API: a
// goroutine per connection reads requests (Content-Length or chunked bodies,
// keep-alive) and answers each 200 with the JSON that answer appends. It
// serves Go's net/http client, which is what balas's outbound client uses.
type wireServer struct {
	ln     net.Listener
	answer func(dst, body []byte) []byte

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// serveWire starts serving on ln; answer appends the JSON answer to a
// request body to dst. It must be safe for concurrent use.
func serveWire(ln net.Listener, answer func(dst, body []byte) []byte) *wireServer {
	s := &wireServer{ln: ln, answer: answer, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.acceptLoop)
	return s
}

// Close stops the server: it closes the listener and every live connection
// and waits for the connection goroutines to end.
func (s *wireServer) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *wireServer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. out of file descriptors: retry
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn answers the requests on c until the client closes it, asks to
// close it, or sends something this server cannot parse (answered with 400,
// or 413 for a body over maxWireBody, and closed).
func (s *wireServer) serveConn(c net.Conn) {
	r := bufio.NewReaderSize(c, 8<<10)
	w := bufio.NewWriterSize(c, 4<<10)
	var body, out []byte
	for {
		keep, h, err := readRequestHead(r)
		if err == nil && h.te && !h.chunked {
			err = fmt.Errorf("%w: unsupported Transfer-Encoding", errMalformed)
		}
		if err == nil && h.te && h.contentLength >= 0 {
			err = fmt.Errorf("%w: both Transfer-Encoding and Content-Length", errMalformed)
		}
		if err == nil && h.contentLength > maxWireBody {
			err = errTooLarge
		}
		if err == nil && h.expectContinue {
			w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			err = w.Flush()
		}
		if err == nil {
			switch {
			case h.chunked:
				body, err = readChunked(r, body[:0], true, maxWireBody)
			case h.contentLength > 0:
				body = slices.Grow(body[:0], int(h.contentLength))[:h.contentLength]
				_, err = io.ReadFull(r, body)
			default:
				body = body[:0]
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, errTooLarge):
				writeWireError(w, "413 Content Too Large", err)
			case errors.Is(err, errMalformed):
				writeWireError(w, "400 Bad Request", err)
			}
			return
		}
		out = s.answer(out[:0], body)
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(out)), 10))
		if !keep {
			w.WriteString("\r\nConnection: close")
		}
		w.WriteString("\r\n\r\n")
		w.Write(out)
		// Flush unless another (pipelined) request is already waiting.
		if r.Buffered() == 0 || !keep {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if !keep {
			return
		}
	}
}

// readRequestHead reads a request line and its headers. Blank lines before
// the request line are skipped. keep is false when the client asks to close
// the connection after this request (or speaks HTTP/1.0 without keep-alive).
func readRequestHead(r *bufio.Reader) (keep bool, h wireHeaders, err error) {
	var line []byte
	for len(line) == 0 {
		if line, err = readLine(r); err != nil {
			return false, h, err
		}
	}
	// method SP request-target SP HTTP/1.x
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	proto := line[sp2+1:]
	if sp1 <= 0 || sp2 <= sp1+1 || len(proto) != 8 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) ||
		(proto[7] != '0' && proto[7] != '1') || bytes.IndexByte(line[sp1+1:sp2], ' ') >= 0 {
		return false, h, fmt.Errorf("%w: request line %q", errMalformed, line)
	}
	keep = proto[7] == '1'
	h, err = readHeaders(r, &keep)
	return keep, h, err
}

// writeWireError answers a request the server will not serve and leaves the
// connection to be closed.
func writeWireError(w *bufio.Writer, status string, err error) {
	msg := "fake Graph API: " + err.Error() + "\n"
	fmt.Fprintf(w, "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, len(msg), msg)
	w.Flush()
}

// answer is the fake Graph API's reply to one request body: a read receipt
// (or typing indicator), "status":"read", gets {"success":true}; anything
// else is a reply to the customer in "to", whose latency from the post of
// their oldest pending message is recorded, and gets a message id.
func (f *fakeGraph) answer(dst, body []byte) []byte {
	to, status := graphFields(body)
	f.calls.Add(1)
	if status == "read" {
		return append(dst, `{"success":true}`...)
	}
	now := time.Now()
	to = strings.TrimPrefix(to, "+")
	f.mu.Lock()
	if q := f.pending[to]; len(q) > 0 {
		f.e2e = append(f.e2e, now.Sub(q[0]))
		f.pending[to] = q[1:]
	}
	f.replies++
	f.last = now
	f.mu.Unlock()
	dst = append(dst, `{"messaging_product":"whatsapp","contacts":[{"input":"+`...)
	dst = appendJSONText(dst, to)
	dst = append(dst, `","wa_id":"`...)
	dst = appendJSONText(dst, to)
	dst = append(dst, `"}],"messages":[{"id":"wamid.fake.`...)
	dst = strconv.AppendInt(dst, f.seq.Add(1), 10)
	return append(dst, `"}]}`...)
}

// appendJSONText appends s escaped for use inside a JSON string.
func appendJSONText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // rare: a string cannot fail
			return append(dst, q[1:len(q)-1]...)
		}
	}
	return append(dst, s...)
}

// graphFields returns the string values of the top-level keys "to" and
// "status" of the JSON object b, as encoding/json would decode them into
// fields tagged `json:"to"` and `json:"status"` (keys match case-insensitively,
// the last occurrence wins), without decoding the rest: nested objects,
// arrays and strings are skipped, so a reply whose text says "status":"read"
// is not taken for a read receipt. It is lenient inside skipped values (they
// are balas's own well-formed JSON); when b is not an object it returns "".
func graphFields(b []byte) (to, status string) {
	s := jsonScan{b: b}
	s.space()
	if !s.eat('{') {
		return "", ""
	}
	s.space()
	if s.eat('}') {
		return "", ""
	}
	for {
		key, ok := s.str()
		if !ok {
			return "", ""
		}
		s.space()
		if !s.eat(':') {
			return "", ""
		}
		s.space()
		var field *string
		switch {
		case bytes.EqualFold(key, []byte("to")):
			field = &to
		case bytes.EqualFold(key, []byte("status")):
			field = &status
		}
		if field != nil && s.peek() == '"' {
			v, ok := s.str()
			if !ok {
				return "", ""
			}
			*field = string(v)
		} else if !s.skipValue() {
			return "", ""
		}
		s.space()
		if s.eat('}') {
			return to, status
		}
		if !s.eat(',') {
			return "", ""
		}
		s.space()
	}
}

// jsonScan walks JSON text just far enough for graphFields.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScan) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// str reads a string and returns its value; escapes are decoded, which
// allocates, but balas's keys and the values of "to" and "status" have none.
func (s *jsonScan) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start, escaped := s.i, false
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !escaped {
				return raw, true
			}
			var v string
			if json.Unmarshal(s.b[start-1:s.i], &v) != nil {
				return nil, false
			}
			return []byte(v), true
		case c == '\\':
			escaped = true
			s.i += 2
		case c < 0x20:
			return nil, false
		default:
			s.i++
		}
	}
	return nil, false
}

// skipValue skips one value: a string, an object or array (to its matching
// close, skipping the strings inside), or a literal.
func (s *jsonScan) skipValue() bool {
	switch s.peek() {
	case '"':
		return s.skipStr()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipStr() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	case 0, ',', '}', ']', ':':
		return false
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return true
			}
			s.i++
		}
		return true
	}
}

// skipStr skips a string without decoding it.
func (s *jsonScan) skipStr() bool {
	if !s.eat('"') {
		return false
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.i++
			return true
		case '\\':
			s.i += 2
		default:
			s.i++
		}
	}
	return false
}
