package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/webhook"
)

// maxWebhookBody is Meta's documented maximum webhook payload (3 MB).
const maxWebhookBody = 3 << 20

// maxPooledBody is the largest body buffer kept for reuse, and the most a
// request's announced Content-Length reserves before its bytes arrive.
const maxPooledBody = 64 << 10

// maxLargeBodies is how many bodies over maxPooledBody are read at once
// (at most 3 MiB each); Meta's deliveries are nearly all a few KiB.
const maxLargeBodies = 16

// intake durably stores a webhook body; nil means it survives a crash. A
// body that is not a JSON object is refused with engine.ErrNotJSONObject.
type intake interface {
	Accept(ctx context.Context, body []byte) error
}

// readiness is the body of GET /readyz.
type readiness struct {
	Status          string   `json:"status"`
	RulesVersion    string   `json:"rules_version"`
	RulesCount      int      `json:"rules_count"`
	RulesFiles      []string `json:"rules_files"`
	LastReloadAt    string   `json:"last_reload_at"`
	LastReloadError string   `json:"last_reload_error"`
	OutboxPending   int64    `json:"outbox_pending"`
	Database        string   `json:"database"`
}

// server is the HTTP side of balas: Meta's webhook, health and metrics.
type server struct {
	appSecret   []byte
	verifyToken []byte
	dev         bool
	intake      intake
	ready       func(ctx context.Context) (readiness, bool)
	metrics     *metrics
	log         *slog.Logger

	// starting is true while serve handles the deliveries stored before
	// the last stop: webhooks get 503, so that a new message is never
	// decided before an older one of its conversation.
	starting       atomic.Bool
	warnedUnsigned atomic.Bool
	bufs           sync.Pool
	largeBodies    chan struct{}     // slots for bodies over maxPooledBody being read; made by handler
	signatures     *webhook.Verifier // for appSecret; made by handler
}

func (s *server) handler() http.Handler {
	s.signatures = webhook.NewVerifier(s.appSecret)
	s.largeBodies = make(chan struct{}, maxLargeBodies)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true // 405 with Allow, not 404, for a method a path does not serve
	r.Use(s.countWebhook, s.recover)
	// Also with a trailing slash, as a callback URL may be entered: webhook
	// senders do not follow the redirect Gin would answer.
	for _, path := range []string{"/webhook", "/webhook/"} {
		r.GET(path, s.verify)
		r.POST(path, s.receive)
	}
	healthz := func(c *gin.Context) { c.String(http.StatusOK, "ok\n") }
	r.GET("/healthz", healthz)
	r.HEAD("/healthz", healthz) // probes often use HEAD
	r.GET("/readyz", s.readyz)
	r.HEAD("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	return r
}

// countWebhook counts every request to /webhook by the status it got, and
// times the POSTs: also those answered before the handler runs (405 for a
// method it does not serve) or instead of it (500 after a panic).
func (s *server) countWebhook(c *gin.Context) {
	if p := c.Request.URL.Path; p != "/webhook" && p != "/webhook/" {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()
	s.metrics.webhook.WithLabelValues(strconv.Itoa(c.Writer.Status())).Inc()
	if c.Request.Method == http.MethodPost {
		s.metrics.webhookTime.Observe(time.Since(start).Seconds())
	}
}

// recover turns a panic in a handler into a 500 and a log line, never a crash.
func (s *server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("http handler panicked", "path", c.Request.URL.Path, "panic", r)
			c.AbortWithStatus(http.StatusInternalServerError)
		}
	}()
	c.Next()
}

// verify answers Meta's subscription handshake.
func (s *server) verify(c *gin.Context) {
	q := c.Request.URL.Query()
	token := []byte(q.Get("hub.verify_token"))
	ok := q.Get("hub.mode") == "subscribe" && len(s.verifyToken) > 0 &&
		subtle.ConstantTimeCompare(token, s.verifyToken) == 1
	if !ok {
		s.log.Warn("webhook verification refused", "mode", q.Get("hub.mode"), "token_configured", len(s.verifyToken) > 0)
		c.String(http.StatusForbidden, "verification failed: hub.mode must be subscribe and hub.verify_token must equal BALAS_VERIFY_TOKEN\n")
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(q.Get("hub.challenge")))
}

// receive handles a webhook delivery: raw body under the size limit,
// signature over those exact bytes, a JSON object, durably stored, then 200.
func (s *server) receive(c *gin.Context) {
	code, msg := s.receiveBody(c.Request.Context(), c.Writer, c.Request)
	if code == http.StatusOK {
		c.Data(code, "text/plain; charset=utf-8", okBody)
	} else {
		c.String(code, msg+"\n")
	}
}

var okBody = []byte("OK")

func (s *server) receiveBody(ctx context.Context, w http.ResponseWriter, r *http.Request) (int, string) {
	if s.starting.Load() {
		return http.StatusServiceUnavailable, "balas is starting (handling the deliveries stored before its last stop); retry shortly"
	}
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	buf.Reset()
	if r.ContentLength > maxWebhookBody {
		return http.StatusRequestEntityTooLarge, "payload larger than 3 MiB"
	}
	// The announced length sizes the buffer only up to what a pooled buffer
	// holds: the signature is checked after the body is read, so anyone can
	// announce 3 MiB and send nothing; memory must follow the bytes received.
	if n := r.ContentLength; n > 0 {
		buf.Grow(int(min(n, maxPooledBody)))
	}
	bodyReader := http.MaxBytesReader(w, r.Body, maxWebhookBody)
	readErr := func(err error) (int, string) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, "payload larger than 3 MiB"
		}
		return http.StatusBadRequest, "could not read the request body"
	}
	// Nearly every delivery fits a pooled buffer. A larger one takes one of
	// a few slots first: its signature can be checked only once it is read,
	// so without them anyone could hold 3 MiB per connection.
	n, err := io.CopyN(buf, bodyReader, maxPooledBody+1)
	if err != nil && err != io.EOF {
		return readErr(err)
	}
	if n > maxPooledBody {
		select {
		case s.largeBodies <- struct{}{}:
			defer func() { <-s.largeBodies }()
		default:
			return http.StatusServiceUnavailable, "too many large deliveries being read at once; retry later"
		}
		if _, err := buf.ReadFrom(bodyReader); err != nil {
			return readErr(err)
		}
	}
	body := buf.Bytes()

	sig := r.Header.Get(webhook.SignatureHeader)
	switch {
	case len(s.appSecret) > 0 && (sig != "" || !s.dev):
		if !s.signatures.Verify(body, sig) {
			return http.StatusUnauthorized, "missing or wrong X-Hub-Signature-256"
		}
	case !s.dev:
		return http.StatusUnauthorized, "no app secret configured"
	default:
		if s.warnedUnsigned.CompareAndSwap(false, true) {
			s.log.Warn("DEV MODE: accepting webhooks WITHOUT checking their signature; never expose this server to the internet like this")
		}
	}

	if err := s.intake.Accept(ctx, body); err != nil {
		if errors.Is(err, engine.ErrNotJSONObject) {
			return http.StatusBadRequest, "body is not a JSON object"
		}
		s.log.Error("webhook delivery could not be stored; Meta will retry it", "err", err)
		return http.StatusServiceUnavailable, "could not store the delivery; retry later"
	}
	return http.StatusOK, ""
}

func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	body, ok := s.ready(ctx)
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(code, body)
}
