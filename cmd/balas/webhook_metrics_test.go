package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine/webhook"
)

// panickingIntake fails as a bug would, by panicking.
type panickingIntake struct{}

func (panickingIntake) Accept(context.Context, []byte) error { panic("bug") }

// Every answer balas gives on /webhook is counted in
// balas_webhook_requests_total under its status, also those given before
// the delivery handler runs (a method /webhook does not serve) or instead
// of its answer (a handler that panicked): an operator alerting on
// non-200 answers must see them all.
func TestWebhookRequestsCountedWhateverTheAnswer(t *testing.T) {
	m := newMetrics()
	s := &server{
		appSecret:   []byte(testSecret),
		verifyToken: []byte("rahasia-verifikasi"),
		intake:      panickingIntake{},
		ready:       func(context.Context) (readiness, bool) { return readiness{Status: "ready"}, true },
		metrics:     m,
		log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ts := httptest.NewServer(s.handler())
	defer ts.Close()

	req, _ := http.NewRequest(http.MethodPut, ts.URL+"/webhook", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("PUT /webhook: %d, want 405", resp.StatusCode)
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	if code, _ := post(t, ts.URL, body, webhook.Sign([]byte(testSecret), body)); code != 500 {
		t.Fatalf("POST /webhook to a panicking handler: %d, want 500", code)
	}
	resp, err = http.Get(ts.URL + "/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("handshake with a wrong token: %d, want 403", resp.StatusCode)
	}
	if code, _ := post(t, ts.URL, body, "sha256=00"); code != 401 {
		t.Fatalf("wrong signature: %d, want 401", code)
	}

	for code, want := range map[string]float64{"405": 1, "500": 1, "403": 1, "401": 1} {
		if got := metricValue(t, m, "balas_webhook_requests_total", "code", code); got != want {
			t.Errorf(`balas_webhook_requests_total{code=%q} = %v, want %v`, code, got, want)
		}
	}
	// The two POSTs are timed, whatever their answer.
	if got := histogramCount(t, m); got != 2 {
		t.Errorf("balas_webhook_duration_seconds_count = %d, want 2 (the POSTs)", got)
	}
}

func histogramCount(t *testing.T, m *metrics) uint64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "balas_webhook_duration_seconds") {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no balas_webhook_duration_seconds")
	return 0
}

// metricValue is the value of the counter or gauge name in m's registry
// whose label has value (label "": the one without labels); -1 when there
// is none.
func metricValue(t *testing.T, m *metrics, name, label, value string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			match := label == ""
			for _, l := range s.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := s.GetCounter(); c != nil {
				return c.GetValue()
			}
			return s.GetGauge().GetValue()
		}
	}
	return -1
}
