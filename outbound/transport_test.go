package outbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// graphStub is a Graph API stand-in that counts the connections it accepted.
type graphStub struct {
	srv   *httptest.Server
	conns atomic.Int64
}

func newGraphStub(t *testing.T, tls bool, h http.HandlerFunc) *graphStub {
	t.Helper()
	g := &graphStub{}
	g.srv = httptest.NewUnstartedServer(h)
	g.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			g.conns.Add(1)
		}
	}
	if tls {
		g.srv.StartTLS()
	} else {
		g.srv.Start()
	}
	t.Cleanup(g.srv.Close)
	return g
}

const sentAnswer = `{"messaging_product":"whatsapp","contacts":[{"input":"+62812","wa_id":"62812"}],"messages":[{"id":"wamid.OK"}]}`

func okHandler(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, sentAnswer)
}

// client returns a Client on tr that sends to g.
func (g *graphStub) client(tr *HTTPTransport) *Client {
	c := NewClient(ClientOptions{BaseURL: g.srv.URL, AccessToken: "tok"})
	c.rt = tr
	return c
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

func TestHTTPTransportSendsWhatNetHTTPReads(t *testing.T) {
	type seen struct {
		method, path, host, auth, ctype, accept, ua string
		length                                      int64
		body                                        []byte
	}
	got := make(chan seen, 1)
	g := newGraphStub(t, false, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Host, r.Header.Get("Authorization"), r.Header.Get("Content-Type"),
			r.Header.Get("Accept"), r.Header.Get("User-Agent"), r.ContentLength, b}
		io.WriteString(w, sentAnswer)
	})
	c := g.client(&HTTPTransport{Proxy: noProxy})
	body := []byte(`{"messaging_product":"whatsapp","to":"+62812","type":"text","text":{"body":"Halo 👋"}}`)
	wamid, err := c.Send(context.Background(), "1133", body)
	if err != nil || wamid != "wamid.OK" {
		t.Fatalf("send: %q %v", wamid, err)
	}
	s := <-got
	u, _ := url.Parse(g.srv.URL)
	want := seen{"POST", "/v25.0/1133/messages", u.Host, "Bearer tok", "application/json", "application/json", "balas",
		int64(len(body)), body}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("server saw\n%v\nwant\n%v", s, want)
	}
}

func TestHTTPTransportKeepsConnectionsAlive(t *testing.T) {
	g := newGraphStub(t, false, okHandler)
	c := g.client(&HTTPTransport{Proxy: noProxy})
	for i := range 50 {
		if _, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := g.conns.Load(); n != 1 {
		t.Fatalf("50 calls in a row used %d connections, want 1", n)
	}

	// Concurrent calls: each has its own connection, and they are reused.
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if w, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil || w != "wamid.OK" {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of 800 concurrent calls failed", failures.Load())
	}
	if n := g.conns.Load(); n > 9 {
		t.Fatalf("8 callers used %d connections, want at most 9", n)
	}
}

func TestHTTPTransportReplacesConnectionServerClosed(t *testing.T) {
	g := newGraphStub(t, false, okHandler)
	c := g.client(&HTTPTransport{Proxy: noProxy}) // the default checks every reused connection
	if _, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// The server drops its idle keep-alive connection, as Meta's do after
	// a while (or at once, after answering); the pooled one must not fail
	// the next call, however soon it comes.
	g.srv.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	for i := range 3 {
		if _, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil {
			t.Fatalf("call %d after the server closed the idle connection: %v", i, err)
		}
	}
	if n := g.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the closed one replaced once)", n)
	}
}

func TestStillOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server := <-accepted
	c.SetDeadline(time.Now().Add(-time.Second)) // as a finished call leaves it
	if !stillOpen(c) {
		t.Fatal("an open idle connection looks closed")
	}
	server.Close()
	deadline := time.Now().Add(2 * time.Second)
	for stillOpen(c) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the server closed still looks open")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHTTPTransportAnswers(t *testing.T) {
	cases := []struct {
		name      string
		handler   http.HandlerFunc
		wantConns int64 // after three calls
	}{
		{"content length", okHandler, 1},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sentAnswer[:10])
			w.(http.Flusher).Flush()
			io.WriteString(w, sentAnswer[10:])
		}, 1},
		{"connection close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, sentAnswer)
		}, 3},
		{"empty body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraphStub(t, false, tc.handler)
			c := g.client(&HTTPTransport{Proxy: noProxy})
			for i := range 3 {
				if _, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if n := g.conns.Load(); n != tc.wantConns {
				t.Fatalf("%d connections, want %d", n, tc.wantConns)
			}
		})
	}
}

func TestHTTPTransportAnswerUntilEOF(t *testing.T) {
	// An HTTP/1.0-style answer: no length, the body ends when the server
	// closes the connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"+sentAnswer)
			}()
		}
	}()
	c := NewClient(ClientOptions{BaseURL: "http://" + ln.Addr().String()})
	c.rt = &HTTPTransport{Proxy: noProxy}
	for i := range 2 {
		if w, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil || w != "wamid.OK" {
			t.Fatalf("call %d: %q %v", i, w, err)
		}
	}
}

func TestHTTPTransportUnreadAnswerClosesConnection(t *testing.T) {
	g := newGraphStub(t, false, okHandler)
	tr := &HTTPTransport{Proxy: noProxy}
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/x", strings.NewReader(`{}`))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // without reading: the rest would be read by the next call
	}
	if n := g.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestHTTPTransportTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	g := newGraphStub(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)

	c := g.client(&HTTPTransport{Proxy: noProxy, CallTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := c.Send(context.Background(), "1", []byte(`{}`))
	if err == nil || Classify(err) != Retry || ErrorCode(err) != "network" {
		t.Fatalf("timeout: %v (class %v)", err, Classify(err))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed out after %v, want about 50 ms", d)
	}

	c = g.client(&HTTPTransport{Proxy: noProxy})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	_, err = c.Send(ctx, "1", []byte(`{}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

func TestHTTPTransportTLS(t *testing.T) {
	g := newGraphStub(t, true, okHandler)
	roots := x509.NewCertPool()
	roots.AddCert(g.srv.Certificate())
	c := g.client(&HTTPTransport{Proxy: noProxy, TLSClientConfig: &tls.Config{RootCAs: roots}})
	for i := range 5 {
		if w, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil || w != "wamid.OK" {
			t.Fatalf("call %d: %q %v", i, w, err)
		}
	}
	if n := g.conns.Load(); n != 1 {
		t.Fatalf("%d TLS connections, want 1", n)
	}

	// A certificate that does not verify is refused.
	bad := g.client(&HTTPTransport{Proxy: noProxy})
	if _, err := bad.Send(context.Background(), "1", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("unverified certificate: %v", err)
	}
}

func TestHTTPTransportProxyGoesThroughNetHTTP(t *testing.T) {
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy gets the absolute URL.
		if r.URL.IsAbs() {
			proxied.Add(1)
		}
		okHandler(w, r)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	c := NewClient(ClientOptions{BaseURL: "http://graph.example.invalid"})
	c.rt = &HTTPTransport{Proxy: http.ProxyURL(pu)}
	if w, err := c.Send(context.Background(), "1", []byte(`{}`)); err != nil || w != "wamid.OK" {
		t.Fatalf("through the proxy: %q %v", w, err)
	}
	if proxied.Load() != 1 {
		t.Fatalf("the proxy saw %d requests", proxied.Load())
	}

	// The sender's deadline-only context still ends a hung call that goes
	// through net/http.
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release) // before Close, which waits for the handler
	hu, _ := url.Parse(hung.URL)
	c.rt = &HTTPTransport{Proxy: http.ProxyURL(hu)}
	ctx := deadlineOnly{context.Background(), time.Now().Add(100 * time.Millisecond)}
	start := time.Now()
	if _, err := c.Send(ctx, "1", []byte(`{}`)); err == nil {
		t.Fatal("a hung proxied call succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a hung proxied call ended after %v, want about 100 ms", d)
	}
}

func TestHTTPTransportRefusesHeaderInjection(t *testing.T) {
	g := newGraphStub(t, false, okHandler)
	c := NewClient(ClientOptions{BaseURL: g.srv.URL, AccessToken: "tok\r\nX-Evil: 1"})
	c.rt = &HTTPTransport{Proxy: noProxy}
	if _, err := c.Send(context.Background(), "1", []byte(`{}`)); err == nil || strings.Contains(err.Error(), "Evil") {
		t.Fatalf("token with a newline: %v", err)
	}
	if g.conns.Load() != 0 {
		t.Fatal("a request with a broken header was sent")
	}
}

func TestWriteRequestCountsWhatLeft(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 10000) // larger than the 4 KiB buffer
	req, _ := http.NewRequest(http.MethodPost, "http://graph.example/v25.0/1/messages", bytes.NewReader(body))
	var out bytes.Buffer
	n, err := writeRequest(bufio.NewWriterSize(&out, 4096), req)
	if err != nil || n != out.Len() {
		t.Fatalf("wrote %d, counted %d, %v", out.Len(), n, err)
	}
	parsed, err := http.ReadRequest(bufio.NewReader(&out))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(parsed.Body)
	if !bytes.Equal(got, body) || parsed.Host != "graph.example" {
		t.Fatalf("net/http read %d bytes for host %q", len(got), parsed.Host)
	}

	// Nothing leaves when the connection is already broken.
	req, _ = http.NewRequest(http.MethodPost, "http://graph.example/", bytes.NewReader([]byte(`{}`)))
	n, err = writeRequest(bufio.NewWriter(failingWriter{}), req)
	if err == nil || n != 0 {
		t.Fatalf("broken connection: counted %d, %v", n, err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// BenchmarkGraphCall compares one Graph call through net/http's transport
// and through HTTPTransport, against the same local server (whose own cost
// is in both figures).
func BenchmarkGraphCall(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(okHandler))
	defer srv.Close()
	body := BuildRead("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEkUyQzZEMTI3MURCODNFMjIwNwA=", false)
	for _, tc := range []struct {
		name string
		c    *Client
	}{
		{"net-http", NewClient(ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 128}}})},
		{"HTTPTransport", NewClient(ClientOptions{BaseURL: srv.URL})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := tc.c.Send(context.Background(), "1", body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// A body that fits in the connection's buffer is read straight into it;
// a larger one is copied in pieces; one shorter than its Content-Length is
// refused before anything is sent.
func TestHTTPTransportBodies(t *testing.T) {
	bodies := make(chan []byte, 4)
	g := newGraphStub(t, false, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
		io.WriteString(w, sentAnswer)
	})
	tr := &HTTPTransport{Proxy: noProxy}
	c := g.client(tr)
	for _, n := range []int{1, 300, 4000, 70000} {
		body := bytes.Repeat([]byte("x"), n)
		if _, err := c.Send(context.Background(), "1", body); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got := <-bodies; !bytes.Equal(got, body) {
			t.Fatalf("%d bytes sent, the server got %d", n, len(got))
		}
	}

	req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/v25.0/1/messages", strings.NewReader("short"))
	req.ContentLength = 10
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "Content-Length says 10") {
		t.Fatalf("a body shorter than its Content-Length: %v", err)
	}
	select {
	case b := <-bodies:
		t.Fatalf("the server got %q from a refused request", b)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestDetachBody checks the copy a request gets on its way to net/http
// (proxies, bodies of unknown length): it reads as the original did even
// after the caller reuses the original's array, and so does GetBody.
func TestDetachBody(t *testing.T) {
	orig := []byte(`{"messaging_product":"whatsapp"}`)
	req, err := http.NewRequest(http.MethodPost, "http://graph.example/v1/1/messages", bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	want := string(orig)
	r := detachBody(req)
	copy(orig, bytes.Repeat([]byte("x"), len(orig))) // the sender reuses the array
	for i, rc := range []func() (io.ReadCloser, error){func() (io.ReadCloser, error) { return r.Body, nil }, r.GetBody} {
		body, err := rc()
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(body); string(b) != want {
			t.Errorf("read %d: %q, want %q", i, b, want)
		}
	}
	if r.ContentLength != int64(len(want)) || r == req {
		t.Errorf("ContentLength %d (want %d), same request %v", r.ContentLength, len(want), r == req)
	}
	empty, _ := http.NewRequest(http.MethodPost, "http://graph.example/", nil)
	empty.Body, empty.ContentLength = io.NopCloser(strings.NewReader("")), -1 // of unknown length, and empty
	if r := detachBody(empty); r.Body != http.NoBody || r.ContentLength != 0 {
		t.Errorf("empty body: %T, length %d", r.Body, r.ContentLength)
	}
}
