package outbound

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	messages *prometheus.CounterVec
}

// register registers c, or returns the collector already registered under
// the same description (a second Sender on the same registry shares it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func newMetrics(reg prometheus.Registerer, messages *prometheus.CounterVec, db Outbox, sem chan struct{}) *metrics {
	m := &metrics{
		errors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_outbound_errors_total",
			Help: "Failed Graph API send attempts by Meta's error code (or http_NNN / network).",
		}, []string{"code"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "balas_send_duration_seconds",
			Help:    "Latency of Graph API send calls by message kind.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind"})),
	}
	// At 0 from the start, so that the series exist before the first send.
	m.errors.WithLabelValues("network")
	m.duration.WithLabelValues("text")
	if messages != nil {
		m.messages = messages
	} else {
		m.messages = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_messages_total",
			Help: "Messages by direction and type.",
		}, []string{"direction", "type"}))
	}
	if reg != nil {
		// Read at scrape time, at no cost to the calls: the semaphore's
		// length is the calls in flight, its capacity their limit.
		_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "balas_send_in_flight",
			Help: "Graph API calls in flight now.",
		}, func() float64 { return float64(len(sem)) }))
		_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "balas_send_concurrency",
			Help: "The most Graph API calls in flight at once (balas serve --send-concurrency).",
		}, func() float64 { return float64(cap(sem)) }))
	}
	if reg != nil && db != nil {
		// Read at scrape time: always current, whoever enqueued or completed.
		_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "balas_outbox_pending",
			Help: "Outbox rows waiting to be sent.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := db.OutboxPending(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}
