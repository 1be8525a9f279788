package outbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/balas-bot/balas/rules"
)

func TestClientSend(t *testing.T) {
	var gotPath, gotAuth, gotType string
	var gotBody []byte
	answer := readFixture(t, "graph/send_ok.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth, gotType = r.Method+" "+r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		gotBody, _ = io.ReadAll(r.Body)
		w.Write(answer)
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{BaseURL: srv.URL + "/", Version: "v23.0", AccessToken: "s3cret"})
	body := BuildRead(inWamid, false)
	wamid, err := c.Send(context.Background(), "113355779900246", body)
	if err != nil {
		t.Fatal(err)
	}
	if wamid != "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEkUyQzZEMTI3MURCODNFMjIwNwA=" {
		t.Errorf("wamid %q", wamid)
	}
	if gotPath != "POST /v23.0/113355779900246/messages" || gotAuth != "Bearer s3cret" || gotType != "application/json" {
		t.Errorf("request: %q %q %q", gotPath, gotAuth, gotType)
	}
	if !bytes.Equal(gotBody, body) {
		t.Errorf("body %s", gotBody)
	}

	answer = readFixture(t, "graph/success.json")
	if wamid, err := c.Send(context.Background(), "113355779900246", body); err != nil || wamid != "" {
		t.Errorf("mark read: %q %v", wamid, err)
	}

	// Default base URL and version.
	d := NewClient(ClientOptions{})
	if d.base != "https://graph.facebook.com/v25.0/" {
		t.Errorf("default base %q", d.base)
	}
	if _, ok := d.http.Transport.(*HTTPTransport); !ok {
		t.Errorf("default transport %T", d.http.Transport)
	}
}

func TestClientErrors(t *testing.T) {
	cases := []struct {
		fixture string
		status  int
		code    int
		class   Class
	}{
		{"error_rate_limit", 429, 130429, Retry},
		{"error_rate_limit", 400, 130429, Retry},
		{"error_pair_rate_limit", 400, 131056, PairLimit},
		{"error_24h", 400, 131047, Permanent},
		{"error_invalid_param", 400, 131009, Permanent},
		{"error_token", 401, 190, Auth},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			body := readFixture(t, "graph/"+c.fixture+".json")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(c.status)
				w.Write(body)
			}))
			defer srv.Close()
			cl := NewClient(ClientOptions{BaseURL: srv.URL, AccessToken: "s3cret-token"})
			_, err := cl.Send(context.Background(), "1", []byte(`{}`))
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %v (%T), want *Error", err, err)
			}
			if ge.Code != c.code || ge.HTTPStatus != c.status || ge.Type != "OAuthException" || ge.FBTraceID == "" ||
				ge.RetryAfter != 7*time.Second || !ge.IsMeta() {
				t.Errorf("parsed %+v", ge)
			}
			if Classify(err) != c.class {
				t.Errorf("class %v, want %v", Classify(err), c.class)
			}
			if got := ErrorCode(err); got != strconvItoa(c.code) {
				t.Errorf("ErrorCode %q", got)
			}
			if strings.Contains(err.Error(), "s3cret-token") {
				t.Error("token in the error text")
			}
			if c.code == 131047 && (!strings.Contains(err.Error(), "Re-engagement message") || !strings.Contains(ge.Details, "24 hours")) {
				t.Errorf("error text %q details %q", err, ge.Details)
			}
			if c.code == 130429 && ge.Subcode != 2494055 {
				t.Errorf("subcode %d", ge.Subcode)
			}
		})
	}
}

func strconvItoa(n int) string { return ErrorCode(&Error{Code: n, meta: true}) }

func TestClassifyWithoutMetaBody(t *testing.T) {
	cases := []struct {
		status int
		body   string
		class  Class
		code   string
	}{
		{502, "<html>Bad Gateway</html>", Retry, "http_502"},
		{500, "", Retry, "http_500"},
		{503, `{"oops":1}`, Retry, "http_503"},
		{429, "slow down", Retry, "http_429"},
		{401, "nope", Auth, "http_401"},
		{404, "not found", Permanent, "http_404"},
		{400, `{"error":{"message":"Invalid OAuth access token","code":0}}`, Auth, "0"},
		{500, `{"error":{"message":"(#131000) Something went wrong","code":131000}}`, Retry, "131000"},
		{400, `{"error":{"message":"(#1) An unknown error occurred","code":1}}`, Retry, "1"},
		{400, `{"error":{"message":"(#131057) maintenance","code":131057}}`, Retry, "131057"},
		{400, `{"error":{"message":"(#100) Invalid parameter","code":100}}`, Permanent, "100"},
		{400, `{"error":{"message":"(#131026) Message undeliverable","code":131026}}`, Permanent, "131026"},
		// A server error is retried whatever its code (contract: 5xx retried).
		{500, `{"error":{"message":"(#100) An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":100}}`, Retry, "100"},
		// Meta's shape without a code (a gateway in front of Graph): the
		// status decides, not "code 0 = expired token".
		{503, `{"error":{"message":"Service temporarily unavailable"}}`, Retry, "http_503"},
		{400, `{"error":{"message":"Bad request"}}`, Permanent, "http_400"},
		// A field of an unexpected type does not lose the code.
		{400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":"Cloud API message throughput has been reached.","fbtrace_id":"A"}}`, Retry, "130429"},
		{400, `{"error":{"message":"x","code":131047,"error_subcode":"2494010","error_data":{"details":"re-engage"}}}`, Permanent, "131047"},
		// Graph's throttling codes, and any answer "429 Too Many Requests":
		// a reply dropped for good because Meta asked to slow down would
		// never reach the customer.
		{400, `{"error":{"message":"(#17) User request limit reached","code":17}}`, Retry, "17"},
		{400, `{"error":{"message":"(#32) Page request limit reached","code":32}}`, Retry, "32"},
		{400, `{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","code":613}}`, Retry, "613"},
		{429, `{"error":{"message":"(#99999) Too many calls","code":99999}}`, Retry, "99999"},
	}
	for _, c := range cases {
		err := parseError(c.status, http.Header{}, []byte(c.body))
		if Classify(err) != c.class || ErrorCode(err) != c.code {
			t.Errorf("%d %s: class %v code %s, want %v %s", c.status, c.body, Classify(err), ErrorCode(err), c.class, c.code)
		}
		if err.HTTPStatus != c.status {
			t.Errorf("status %d", err.HTTPStatus)
		}
	}
	if err := parseError(400, http.Header{}, []byte(`{"error":{"message":"m","code":130429,"error_data":"throughput reached"}}`)); err.Details != "throughput reached" || err.Message != "m" {
		t.Errorf("error_data as a string: details %q, message %q", err.Details, err.Message)
	}
	netErr := errors.New("dial tcp: connection refused")
	if Classify(netErr) != Retry || ErrorCode(netErr) != "network" {
		t.Error("network error not retried")
	}
	if Classify(context.DeadlineExceeded) != Retry {
		t.Error("timeout not retried")
	}
	if d := parseRetryAfter(time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)); d < 80*time.Second || d > 91*time.Second {
		t.Errorf("Retry-After date: %v", d)
	}
}

// A token no request can carry (a control character in it) fails the call
// as a token error, without a retry: every retry would fail alike.
func TestClientUnsendableToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"messages":[{"id":"wamid.x"}]}`))
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{BaseURL: srv.URL, AccessToken: "EAAG-token\n"})
	_, err := c.Send(context.Background(), "1", []byte(`{}`))
	if !errors.Is(err, ErrUnsendableToken) || Classify(err) != Auth || ErrorCode(err) != "invalid_token" {
		t.Fatalf("token with a newline: %v, class %v, code %q; want ErrUnsendableToken, auth, invalid_token", err, Classify(err), ErrorCode(err))
	}
	if strings.Contains(err.Error(), "EAAG") {
		t.Fatalf("the error shows the token: %v", err)
	}
}

func TestClientTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := NewClient(ClientOptions{BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	_, err := c.Send(context.Background(), "1", []byte(`{}`))
	if err == nil || Classify(err) != Retry || ErrorCode(err) != "network" {
		t.Fatalf("timeout: %v class %v", err, Classify(err))
	}
}

func TestDryRun(t *testing.T) {
	var buf bytes.Buffer
	d := NewDryRun(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	text, _ := BuildMessage(Recipient{Number: "6281234567890"}, rules.Reply{Kind: "text", Text: "Halo kak"}, "")
	buttons, _ := BuildMessage(Recipient{Number: "6281234567890"}, rules.Reply{Kind: "buttons", Text: "Lanjut?",
		Buttons: []rules.Button{{ID: "a", Title: "Order"}, {ID: "b", Title: "Batal"}}}, "")
	w1, err1 := d.Send(context.Background(), "113355779900246", text)
	w2, _ := d.Send(context.Background(), "113355779900246", buttons)
	d.Send(context.Background(), "113355779900246", BuildRead("wamid.X", false))
	d.Send(context.Background(), "113355779900246", BuildRead("wamid.Y", true))
	if err1 != nil || w1 != "wamid.dryrun.1" || w2 != "wamid.dryrun.2" {
		t.Fatalf("%q %q %v", w1, w2, err1)
	}
	out := buf.String()
	for _, want := range []string{
		`level=INFO msg="dry run: not sent (no access token)" phone_number_id=113355779900246 to=+6281234567890 type=text text="Halo kak"`,
		`type="interactive button" text="Lanjut? [1] Order [2] Batal"`,
		`phone_number_id=113355779900246 type="read receipt" wamid=wamid.X`,
		`type="read receipt and typing indicator" wamid=wamid.Y`,
		`level=DEBUG msg="dry run body"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %s:\n%s", want, out)
		}
	}
}

// newRequest skips parsing the URL for plain phone number ids; the request
// must be the one http.NewRequestWithContext makes.
func TestNewRequestMatchesNetHTTP(t *testing.T) {
	for _, base := range []string{"", "http://127.0.0.1:8099", "https://graph.example/prefix/", "http://h/a%2Fb", "http://[::1]:80"} {
		c := NewClient(ClientOptions{BaseURL: base, Version: "v99.0", AccessToken: "tok"})
		for _, id := range []string{"106540352242922", "PHONE_id-1.x~", "a b", "ü", ".", "..", "x%41"} {
			for _, body := range [][]byte{[]byte(`{"a":1}`), nil} {
				got, gerr := c.newRequest(id, body)
				want, werr := http.NewRequest(http.MethodPost, c.base+id+"/messages", bytes.NewReader(body))
				if (gerr == nil) != (werr == nil) {
					t.Fatalf("%s %q: err %v, net/http %v", base, id, gerr, werr)
				}
				if gerr != nil {
					continue
				}
				if got.URL.String() != want.URL.String() || got.URL.RequestURI() != want.URL.RequestURI() || got.Host != want.Host ||
					got.Method != want.Method || got.Proto != want.Proto || got.ContentLength != want.ContentLength {
					t.Errorf("%s %q: got %s %s host %s len %d, want %s %s host %s len %d", base, id,
						got.Method, got.URL, got.Host, got.ContentLength, want.Method, want.URL, want.Host, want.ContentLength)
				}
				for _, r := range []*http.Request{got, want} {
					b, _ := io.ReadAll(r.Body)
					again, err := r.GetBody()
					if err != nil {
						t.Fatal(err)
					}
					b2, _ := io.ReadAll(again)
					if !bytes.Equal(b, body) || !bytes.Equal(b2, body) {
						t.Errorf("%s %q: body %q, again %q, want %q", base, id, b, b2, body)
					}
				}
			}
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The default transport is called without http.Client; errors must read
// the same either way, and a client the caller gives is the one used.
func TestClientCallPaths(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every call fails to connect
	var direct, viaClient error
	_, direct = NewClient(ClientOptions{BaseURL: "http://" + addr}).Send(context.Background(), "1", []byte(`{}`))
	_, viaClient = NewClient(ClientOptions{BaseURL: "http://" + addr, HTTPClient: &http.Client{}}).Send(context.Background(), "1", []byte(`{}`))
	var ue1, ue2 *url.Error
	if !errors.As(direct, &ue1) || !errors.As(viaClient, &ue2) || ue1.Op != ue2.Op || ue1.URL != ue2.URL {
		t.Fatalf("errors differ in shape:\n direct: %#v\n client: %#v", direct, viaClient)
	}
	if Classify(direct) != Classify(viaClient) {
		t.Fatalf("classified %v directly, %v through http.Client", Classify(direct), Classify(viaClient))
	}

	calls := 0
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"messages":[{"id":"wamid.X"}]}`)), Header: http.Header{}}, nil
	})}
	id, err := NewClient(ClientOptions{HTTPClient: hc}).Send(context.Background(), "1", []byte(`{}`))
	if err != nil || id != "wamid.X" || calls != 1 {
		t.Fatalf("own client: id %q, err %v, %d calls", id, err, calls)
	}
}

// ClientOptions.IdleConns is how many connections the default transport
// keeps for the next calls: with fewer than the calls made at once, the
// rest are dialled again each round.
func TestClientIdleConns(t *testing.T) {
	const calls = 5
	for _, tc := range []struct{ idle, wantConns int }{{idle: 0, wantConns: calls}, {idle: calls, wantConns: calls}, {idle: 2, wantConns: calls + calls - 2}} {
		var conns atomic.Int64
		var arrived sync.WaitGroup
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			arrived.Done()
			arrived.Wait() // all calls of a round are in flight at once, each on its own connection
			w.Write([]byte(`{"messages":[{"id":"wamid.x"}]}`))
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		c := NewClient(ClientOptions{BaseURL: srv.URL, AccessToken: "t", IdleConns: tc.idle})
		for range 2 {
			arrived.Add(calls)
			var wg sync.WaitGroup
			for range calls {
				wg.Go(func() {
					if _, err := c.Send(context.Background(), "123", []byte(`{}`)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		srv.Close()
		if got := conns.Load(); got != int64(tc.wantConns) {
			t.Errorf("IdleConns %d: %d connections for two rounds of %d calls, want %d", tc.idle, got, calls, tc.wantConns)
		}
	}
}

// Graph answers a token it cannot parse with the token itself in the message:
// {"message":"Malformed access token EAAG…","code":190}. The token must not
// reach the error text (logged, and stored in outbox.last_error).
func TestClientErrorHidesEchoedToken(t *testing.T) {
	const token = "EAAGm0PX4ZCpsBAKz4z6ZCq204miQUcFdxzAGZAuDN4BZCqea5l4Ai5"
	cases := []struct {
		name   string
		status int
		body   string
	}{
		{"message", 400, `{"error":{"message":"Malformed access token ` + token + `","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`},
		{"details", 400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_data":{"messaging_product":"whatsapp","details":"token ` + token + ` is not valid"}}}`},
		{"not meta", 502, `<html>upstream said: Authorization: Bearer ` + token + `</html>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			cl := NewClient(ClientOptions{BaseURL: srv.URL, AccessToken: token})
			_, err := cl.Send(context.Background(), "1", []byte(`{}`))
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %v (%T), want *Error", err, err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(ge.Message, token) || strings.Contains(ge.Details, token) {
				t.Fatalf("access token in the error: %v", err)
			}
			if c.name == "message" && (Classify(err) != Auth || !strings.Contains(ge.Message, "Malformed access token")) {
				t.Errorf("class %v, message %q", Classify(err), ge.Message)
			}
		})
	}
}
