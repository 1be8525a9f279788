package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/balas-bot/balas/outbound"
	"github.com/balas-bot/balas/rules"
)

// wireBodies makes n JSON bodies of varied length (up to ~5 KB) that carry
// their index, and their signatures.
func wireBodies(n int) (bs [][]byte, sigs []string) {
	for i := range n {
		bs = append(bs, fmt.Appendf(nil, `{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", (i*97)%5000)))
		sigs = append(sigs, "sha256="+strconv.Itoa(i*7919))
	}
	return bs, sigs
}

func TestWirePostAll(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, conns  int
		rate      float64
		unsigned  bool
		fail      func(i int) bool // answer 500
		chunked   bool             // answer with a chunked body
		closeConn bool             // answer with Connection: close
	}{
		{name: "one request", n: 1, conns: 1},
		{name: "one connection", n: 200, conns: 1},
		{name: "many connections", n: 1000, conns: 16},
		{name: "more connections than requests", n: 5, conns: 32},
		{name: "unsigned", n: 50, conns: 4, unsigned: true},
		{name: "server errors", n: 300, conns: 8, fail: func(i int) bool { return i%7 == 3 }},
		{name: "chunked answers", n: 300, conns: 4, chunked: true},
		{name: "connection close", n: 100, conns: 4, closeConn: true},
		{name: "chunked and close", n: 100, conns: 2, chunked: true, closeConn: true},
		{name: "paced", n: 20, conns: 4, rate: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type got struct {
				body        string
				sig         []string
				contentType string
			}
			var mu sync.Mutex
			arrived := map[int]got{}
			var newConns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("reading the body: %v", err)
				}
				var v struct{ I int }
				if err := json.Unmarshal(b, &v); err != nil {
					t.Errorf("body %q: %v", b, err)
				}
				if r.Method != http.MethodPost || r.URL.Path != "/webhook" {
					t.Errorf("got %s %s, want POST /webhook", r.Method, r.URL.Path)
				}
				mu.Lock()
				if _, dup := arrived[v.I]; dup {
					t.Errorf("message %d arrived twice", v.I)
				}
				arrived[v.I] = got{string(b), r.Header.Values("X-Hub-Signature-256"), r.Header.Get("Content-Type")}
				mu.Unlock()
				if tc.closeConn {
					w.Header().Set("Connection", "close")
				}
				if tc.fail != nil && tc.fail(v.I) {
					w.WriteHeader(http.StatusInternalServerError)
				}
				if tc.chunked {
					io.WriteString(w, `{"ok":`)
					w.(http.Flusher).Flush()
					io.WriteString(w, strings.Repeat(" ", 100)+`true}`)
					return
				}
				io.WriteString(w, `{"ok":true}`)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					newConns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()

			bs, sigs := wireBodies(tc.n)
			if tc.unsigned {
				sigs = nil
			}
			started := make([]atomic.Int32, tc.n)
			o := Options{Conns: tc.conns, Rate: tc.rate}
			l, err := postAll(context.Background(), srv.URL+"/webhook", o, bs, sigs, func(i int) { started[i].Add(1) })
			if err != nil {
				t.Fatal(err)
			}

			mu.Lock()
			defer mu.Unlock()
			wantErrs := 0
			for i := range tc.n {
				if tc.fail != nil && tc.fail(i) {
					wantErrs++
				}
				if n := started[i].Load(); n != 1 {
					t.Errorf("onStart(%d) called %d times, want once", i, n)
				}
				g, ok := arrived[i]
				switch {
				case !ok:
					t.Errorf("message %d never arrived", i)
				case g.body != string(bs[i]):
					t.Errorf("message %d: body %.40q…, want %.40q…", i, g.body, bs[i])
				case g.contentType != "application/json":
					t.Errorf("message %d: Content-Type %q", i, g.contentType)
				case sigs == nil && g.sig != nil:
					t.Errorf("message %d: unsigned, but got X-Hub-Signature-256 %q", i, g.sig)
				case sigs != nil && !slices.Equal(g.sig, []string{sigs[i]}):
					t.Errorf("message %d: X-Hub-Signature-256 %q, want %q", i, g.sig, sigs[i])
				}
			}
			if l.n != tc.n || l.errors != wantErrs {
				t.Errorf("load n=%d errors=%d, want n=%d errors=%d", l.n, l.errors, tc.n, wantErrs)
			}
			if len(l.latencies) != tc.n || !slices.IsSorted(l.latencies) || l.latencies[0] <= 0 {
				t.Errorf("latencies: %d, sorted %v, least %v; want %d, sorted, all positive",
					len(l.latencies), slices.IsSorted(l.latencies), l.latencies[0], tc.n)
			}
			nc := int(newConns.Load())
			if tc.closeConn && nc != tc.n {
				t.Errorf("%d connections for %d requests answered with Connection: close, want one each", nc, tc.n)
			}
			if !tc.closeConn && (nc < 1 || nc > tc.conns) {
				t.Errorf("%d connections, want 1 to %d (keep-alive)", nc, tc.conns)
			}
			if tc.rate > 0 {
				if min := time.Duration(float64(tc.n-1) / tc.rate * float64(time.Second)); l.elapsed < min {
					t.Errorf("paced at %.0f/s, %d requests took %v, want at least %v", tc.rate, tc.n, l.elapsed, min)
				}
			}
		})
	}
}

// rawServer serves each accepted connection with handle until the test ends.
func rawServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { defer c.Close(); handle(c) })
		}
	})
	return ln.Addr().String()
}

func TestWirePostAllRedialsAfterTransportErrors(t *testing.T) {
	// Every connection answers one request, then drops: the next request on
	// it fails, and the generator redials for the one after.
	addr := rawServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		if _, h, err := readRequestHead(r); err == nil {
			r.Discard(int(h.contentLength))
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	bs, sigs := wireBodies(10)
	l, err := postAll(context.Background(), "http://"+addr+"/webhook", Options{Conns: 1}, bs, sigs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.errors != 5 {
		t.Errorf("%d errors, want 5 (every second request meets a dropped connection)", l.errors)
	}
}

func TestWirePostAllTimeoutAndCancel(t *testing.T) {
	// A server that reads and never answers.
	addr := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	bs, sigs := wireBodies(3)
	t0 := time.Now()
	l, err := postWire(context.Background(), "http://"+addr+"/webhook", Options{Conns: 1}, bs, sigs, nil, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if l.errors != 3 {
		t.Errorf("%d errors, want 3 (every request times out)", l.errors)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("3 requests with a 100ms timeout took %v", d)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 = time.Now()
	_, err = postAll(ctx, "http://"+addr+"/webhook", Options{Conns: 2}, bs, sigs, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the context's", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("cancelled run took %v to return", d)
	}
}

func TestWirePostAllBadURL(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1:1/webhook", "127.0.0.1:1/webhook", "http:///webhook"} {
		if _, err := postAll(context.Background(), u, Options{Conns: 1}, [][]byte{{}}, nil, nil); err == nil {
			t.Errorf("postAll(%q): no error", u)
		}
	}
}

func TestWireReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		keep     bool
		rest     string // what must be left unread
		err      bool
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "header case", in: "HTTP/1.1 200 OK\r\ncontent-LENGTH: 5\r\nCONNECTION: Keep-Alive\r\n\r\nhelloNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "no reason phrase", in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nokNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\nNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "chunked case", in: "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\nNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", status: 200},
		{name: "connection close token list", in: "HTTP/1.1 200 OK\r\nConnection: foo, Close\r\nContent-Length: 2\r\n\r\nok", status: 200},
		{name: "http/1.0", in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "close-delimited", in: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end", status: 200},
		{name: "interim 100", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nNEXT", status: 200, keep: true, rest: "NEXT"},
		{name: "204", in: "HTTP/1.1 204 No Content\r\n\r\nNEXT", status: 204, keep: true, rest: "NEXT"},
		{name: "500", in: "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noopsNEXT", status: 500, keep: true, rest: "NEXT"},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n\r\n", err: true},
		{name: "http/2 status line", in: "HTTP/2 200 OK\r\n\r\n", err: true},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: true},
		{name: "bad header", in: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", err: true},
		{name: "bad content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: true},
		{name: "conflicting content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", err: true},
		{name: "short body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", err: true},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: true},
		{name: "chunk without CRLF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", err: true},
		{name: "truncated head", in: "HTTP/1.1 200 OK\r\nContent-Len", err: true},
		{name: "empty", in: "", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			status, keep, err := readResponse(r)
			if tc.err {
				if err == nil {
					t.Fatalf("no error, status %d", status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(r)
			if status != tc.status || keep != tc.keep || string(rest) != tc.rest {
				t.Errorf("status %d keep %v rest %q, want %d %v %q", status, keep, rest, tc.status, tc.keep, tc.rest)
			}
		})
	}
}

func TestFakeGraphFields(t *testing.T) {
	msg := func(to outbound.Recipient, r rules.Reply, ctx string) []byte {
		t.Helper()
		b, err := outbound.BuildMessage(to, r, ctx)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	num := outbound.Recipient{Number: "6281000000007"}
	for _, tc := range []struct {
		name       string
		body       []byte
		to, status string
	}{
		{"read receipt", outbound.BuildRead("wamid.HBgM", false), "", "read"},
		{"typing indicator", outbound.BuildRead("wamid.HBgM", true), "", "read"},
		{"text reply", msg(num, rules.Reply{Kind: "text", Text: "Halo kak"}, ""), "+6281000000007", ""},
		{"reply saying status read", msg(num, rules.Reply{Kind: "text", Text: `see "status":"read" here`}, ""), "+6281000000007", ""},
		{"reply that is a read receipt", msg(num, rules.Reply{Kind: "text", Text: `{"messaging_product":"whatsapp","status":"read"}`}, ""), "+6281000000007", ""},
		{"username recipient", msg(outbound.Recipient{UserID: "ID.1234567890"}, rules.Reply{Kind: "text", Text: "hi"}, ""), "", ""},
		{"quoted buttons", msg(num, rules.Reply{Kind: "buttons", Quote: true, Text: "pick", Footer: `"status":"read"`,
			Buttons: []rules.Button{{ID: "status", Title: "read"}}}, "wamid.X"), "+6281000000007", ""},
		{"nested status", []byte(`{"context":{"status":"read","to":"+9"},"to":"+1"}`), "+1", ""},
		{"arrays and literals", []byte(`{"a":[1,"]}",{"to":"x"},[true]],"n":-1.5e3,"b":false,"z":null,"to":"+3"}`), "+3", ""},
		{"whitespace and case", []byte(" {\n \"STATUS\" :\t\"read\" } "), "", "read"},
		{"escapes", []byte(`{"\u0073tatus":"read","to":"+6\u00322","t":"a\"b\\"}`), "+622", "read"},
		{"last wins", []byte(`{"to":"+1","to":"+2"}`), "+2", ""},
		{"not strings", []byte(`{"to":12,"status":null}`), "", ""},
		{"empty object", []byte(`{}`), "", ""},
		{"array", []byte(`["to","+1"]`), "", ""},
		{"truncated", []byte(`{"to":"+1"`), "", ""},
		{"unterminated string", []byte(`{"to":"+1}`), "", ""},
		{"empty", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to, status := graphFields(tc.body)
			if to != tc.to || status != tc.status {
				t.Errorf("graphFields(%s) = %q, %q; want %q, %q", tc.body, to, status, tc.to, tc.status)
			}
			// Where encoding/json accepts the body, it must agree.
			var v struct {
				To     string `json:"to"`
				Status string `json:"status"`
			}
			if json.Valid(tc.body) {
				json.Unmarshal(tc.body, &v)
				if v.To != to || v.Status != status {
					t.Errorf("encoding/json decodes %q, %q; graphFields %q, %q", v.To, v.Status, to, status)
				}
			}
		})
	}
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startFakeGraph serves a fresh fakeGraph with serveWire until the test ends.
func startFakeGraph(t *testing.T) (*fakeGraph, *countingListener, *wireServer) {
	t.Helper()
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	fake := &fakeGraph{pending: map[string][]time.Time{}}
	srv := serveWire(cl, fake.answer)
	t.Cleanup(func() { srv.Close() })
	return fake, cl, srv
}

func TestFakeGraphServesNetHTTPKeepAlive(t *testing.T) {
	fake, ln, _ := startFakeGraph(t)
	// balas's own client, with its default transport.
	client := outbound.NewClient(outbound.ClientOptions{BaseURL: "http://" + ln.Addr().String(), AccessToken: "bench-token"})
	ctx := context.Background()
	const n = 500
	for i := range n {
		num := fmt.Sprintf("6281%09d", i%10)
		fake.mu.Lock()
		fake.pending[num] = append(fake.pending[num], time.Now())
		fake.mu.Unlock()
		id, err := client.Send(ctx, "1234567890", outbound.BuildRead("wamid.in."+strconv.Itoa(i), i%2 == 0))
		if err != nil || id != "" {
			t.Fatalf("read receipt %d: id %q, err %v; want no id", i, id, err)
		}
		body, err := outbound.BuildMessage(outbound.Recipient{Number: num}, rules.Reply{Kind: "text", Text: `reply "status":"read" ` + strconv.Itoa(i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		id, err = client.Send(ctx, "1234567890", body)
		if want := "wamid.fake." + strconv.Itoa(i+1); err != nil || id != want {
			t.Fatalf("reply %d: id %q, err %v; want %q", i, id, err, want)
		}
	}
	if c := ln.n.Load(); c != 1 {
		t.Errorf("%d connections for %d sequential requests, want 1 (keep-alive)", c, 2*n)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.calls.Load() != 2*n || fake.replies != n || len(fake.e2e) != n {
		t.Errorf("calls %d, replies %d, e2e %d; want %d, %d, %d", fake.calls.Load(), fake.replies, len(fake.e2e), 2*n, n, n)
	}
	for num, q := range fake.pending {
		if len(q) != 0 {
			t.Errorf("%s: %d replies not matched", num, len(q))
		}
	}
}

// fakeAnswer is what the fake Graph API answers a reply.
type fakeAnswer struct {
	Success  bool `json:"success"`
	Contacts []struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

func TestFakeGraphAnswers(t *testing.T) {
	fake, ln, _ := startFakeGraph(t)
	url := "http://" + ln.Addr().String() + "/v25.0/1234567890/messages"
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	post := func(body io.Reader, chunked bool) (fakeAnswer, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
			req.TransferEncoding = []string{"chunked"}
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != int64(len(b)) {
			t.Fatalf("HTTP %d, Content-Type %q, Content-Length %d for %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, len(b))
		}
		var a fakeAnswer
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
		return a, string(b)
	}

	if a, raw := post(bytes.NewReader(outbound.BuildRead("wamid.1", true)), false); !a.Success || raw != `{"success":true}` {
		t.Errorf("read receipt answered %s", raw)
	}
	reply, _ := outbound.BuildMessage(outbound.Recipient{Number: "6281234"}, rules.Reply{Kind: "text", Text: `"status":"read"`}, "")
	if a, raw := post(bytes.NewReader(reply), false); len(a.Contacts) != 1 || a.Contacts[0].Input != "+6281234" ||
		a.Contacts[0].WaID != "6281234" || len(a.Messages) != 1 || a.Messages[0].ID != "wamid.fake.1" {
		t.Errorf("reply answered %s", raw)
	}
	user, _ := outbound.BuildMessage(outbound.Recipient{UserID: "ID.42"}, rules.Reply{Kind: "text", Text: "hi"}, "")
	if a, raw := post(bytes.NewReader(user), false); len(a.Messages) != 1 || a.Messages[0].ID != "wamid.fake.2" {
		t.Errorf("username reply answered %s", raw)
	}
	// A chunked request body, in several chunks.
	pr, pw := io.Pipe()
	go func() {
		for _, part := range [][]byte{reply[:10], reply[10:11], reply[11:]} {
			pw.Write(part)
		}
		pw.Close()
	}()
	if a, raw := post(pr, true); len(a.Contacts) != 1 || a.Contacts[0].WaID != "6281234" || a.Messages[0].ID != "wamid.fake.3" {
		t.Errorf("chunked reply answered %s", raw)
	}
	if a, raw := post(struct{ io.Reader }{bytes.NewReader(outbound.BuildRead("wamid.2", false))}, true); !a.Success {
		t.Errorf("chunked read receipt answered %s", raw)
	}
	if c, r := fake.calls.Load(), fake.replies; c != 5 || r != 3 {
		t.Errorf("calls %d, replies %d; want 5, 3", c, r)
	}
}

func TestFakeGraphRawRequests(t *testing.T) {
	_, ln, _ := startFakeGraph(t)
	read := string(outbound.BuildRead("wamid.1", false))
	reply := `{"to":"+62811","text":{"body":"x"}}`
	for _, tc := range []struct {
		name     string
		in       string
		statuses []int // answers in order
		closed   bool  // the server closes the connection after them
	}{
		{name: "pipelined", in: "POST /m HTTP/1.1\r\nContent-Length: " + strconv.Itoa(len(read)) + "\r\n\r\n" + read +
			"\r\nPOST /m HTTP/1.1\r\ncontent-length: " + strconv.Itoa(len(reply)) + "\r\n\r\n" + reply, statuses: []int{200, 200}},
		{name: "chunked with extensions and trailers", in: "POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"4;x=y\r\n" + reply[:4] + "\r\n" + strconv.FormatInt(int64(len(reply)-4), 16) + "\r\n" + reply[4:] + "\r\n0\r\nTrailer: 1\r\n\r\n", statuses: []int{200}},
		{name: "expect continue", in: "POST /m HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}", statuses: []int{200}},
		{name: "connection close", in: "POST /m HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", statuses: []int{200}, closed: true},
		{name: "http/1.0", in: "POST /m HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}", statuses: []int{200}, closed: true},
		{name: "garbage", in: "HELLO\r\n\r\n", statuses: []int{400}, closed: true},
		{name: "http/2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", statuses: []int{400}, closed: true},
		{name: "unknown transfer-encoding", in: "POST /m HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", statuses: []int{400}, closed: true},
		{name: "both lengths", in: "POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", statuses: []int{400}, closed: true},
		{name: "bad chunk", in: "POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", statuses: []int{400}, closed: true},
		{name: "too large", in: "POST /m HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", statuses: []int{413}, closed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tc.in); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			for i, want := range tc.statuses {
				status, keep, err := readResponse(r)
				if err != nil || status != want {
					t.Fatalf("answer %d: HTTP %d, err %v; want %d", i, status, err, want)
				}
				if last := i == len(tc.statuses)-1; keep == (last && tc.closed) {
					t.Errorf("answer %d: keep-alive %v", i, keep)
				}
			}
			if !tc.closed {
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			}
			_, err = r.ReadByte()
			if tc.closed && err != io.EOF {
				t.Errorf("after the answers: %v, want the connection closed", err)
			}
			if !tc.closed && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("after the answers: %v, want the connection kept open", err)
			}
		})
	}
}

func TestFakeGraphCloseEndsConnections(t *testing.T) {
	_, ln, srv := startFakeGraph(t)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /m HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
	r := bufio.NewReader(c)
	if status, keep, err := readResponse(r); status != 200 || !keep || err != nil {
		t.Fatalf("HTTP %d keep %v err %v", status, keep, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a keep-alive connection open")
	}
	if _, err := r.ReadByte(); err == nil {
		t.Error("the keep-alive connection is still open after Close")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("still accepting connections after Close")
	}
}
