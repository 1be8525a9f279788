package main

import (
	"sync"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/rules"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics. The rules watcher and the
// outbound sender register theirs on the same registry.
type metrics struct {
	reg         *prometheus.Registry
	webhook     *prometheus.CounterVec
	webhookTime prometheus.Histogram
	messages    *prometheus.CounterVec
	duplicates  prometheus.Counter
	ruleHits    *prometheus.CounterVec
	unmatched   prometheus.Counter
	statuses    *prometheus.CounterVec
	events      *prometheus.CounterVec
	rulesLoaded prometheus.Gauge
	pruned      *prometheus.CounterVec
	prunedAt    prometheus.Gauge

	// The label values that come from webhook content, bounded.
	msgTypes, statusNames, eventFields *labelValues
}

// maxLabelLen and maxLabelValues bound the label values taken from webhook
// content (message type, status, change field): every value is a series
// kept, and scraped, for as long as balas runs, and a delivery may say
// anything there. A value that is not a short snake_case word, or one past
// the first maxLabelValues, is counted as "other".
const (
	maxLabelLen    = 64
	maxLabelValues = 64
)

// labelValues admits the values of one label up to maxLabelValues.
type labelValues struct {
	mu   sync.Mutex
	seen map[string]bool
}

func newLabelValues(known ...string) *labelValues {
	l := &labelValues{seen: map[string]bool{}}
	for _, k := range known {
		l.seen[k] = true
	}
	return l
}

// value is v when it may be a label value, else "other".
func (l *labelValues) value(v string) string {
	if len(v) == 0 || len(v) > maxLabelLen {
		return "other"
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return "other"
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[v] {
		return v
	}
	if len(l.seen) >= maxLabelValues {
		return "other"
	}
	l.seen[v] = true
	return v
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		webhook: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_webhook_requests_total", Help: "Webhook requests by HTTP status code.",
		}, []string{"code"}),
		webhookTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "balas_webhook_duration_seconds", Help: "Time to answer a webhook POST, storage included.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_messages_total", Help: "Messages handled, by direction (in, out) and type.",
		}, []string{"direction", "type"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "balas_duplicates_total", Help: "Inbound messages Meta delivered again; handled only once.",
		}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_rule_hits_total", Help: "Messages answered, by rule id.",
		}, []string{"rule"}),
		unmatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "balas_unmatched_total", Help: "Messages no rule answered.",
		}),
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_statuses_total", Help: "Delivery statuses of outbound messages, by status.",
		}, []string{"status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_webhook_events_total", Help: "Webhook changes other than messages and statuses, by field.",
		}, []string{"field"}),
		rulesLoaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "balas_rules_count", Help: "Rules in the rule set in use.",
		}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "balas_pruned_rows_total", Help: "Rows older than --retention deleted, by table.",
		}, []string{"table"}),
		prunedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "balas_prune_last_success_timestamp_seconds", Help: "When the last pass of --retention pruning finished (0: none yet, or retention off).",
		}),
	}
	m.msgTypes = newLabelValues(webhook.TypeText, webhook.TypeImage, webhook.TypeAudio, webhook.TypeVideo,
		webhook.TypeDocument, webhook.TypeSticker, webhook.TypeLocation, webhook.TypeContacts, webhook.TypeInteractive,
		webhook.TypeButton, webhook.TypeReaction, webhook.TypeOrder, webhook.TypeSystem, webhook.TypeUnsupported, webhook.TypeUnknown)
	m.statusNames = newLabelValues("sent", "delivered", "read", "played", "failed", "deleted", "warning")
	m.eventFields = newLabelValues("undecodable", "message_without_sender")
	// Series that exist from the start, at 0, so that dashboards and rate()
	// see them before their first event.
	m.webhook.WithLabelValues("200")
	m.messages.WithLabelValues("in", "text")
	for _, st := range []string{"sent", "delivered", "read", "played", "failed"} {
		m.statuses.WithLabelValues(st)
	}
	reg.MustRegister(m.webhook, m.webhookTime, m.messages, m.duplicates, m.ruleHits, m.unmatched,
		m.statuses, m.events, m.rulesLoaded, m.pruned, m.prunedAt,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// The engine.Observer methods.

func (m *metrics) Inbound(t string)    { m.messages.WithLabelValues("in", m.msgTypes.value(t)).Inc() }
func (m *metrics) Duplicate()          { m.duplicates.Inc() }
func (m *metrics) RuleHit(rule string) { m.ruleHits.WithLabelValues(rule).Inc() }
func (m *metrics) Unmatched()          { m.unmatched.Inc() }
func (m *metrics) Status(s string)     { m.statuses.WithLabelValues(m.statusNames.value(s)).Inc() }
func (m *metrics) Event(field string)  { m.events.WithLabelValues(m.eventFields.value(field)).Inc() }

// rulesInUse records the rule set in use: its size, and a hit counter at 0
// for each of its rules, so that a rule that never answers shows as 0.
func (m *metrics) rulesInUse(s *rules.Set) {
	m.rulesLoaded.Set(float64(len(s.Rules)))
	for _, r := range s.Rules {
		if r.ID != "" {
			m.ruleHits.WithLabelValues(r.ID)
		}
	}
}
