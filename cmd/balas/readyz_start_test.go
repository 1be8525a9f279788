package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// While balas handles the deliveries stored before its last stop (long,
// after a crash), the rules it loaded at start are in use: /readyz says
// when they loaded, and balas_rules_last_reload_successful is 1, so that
// an alert on a broken rules edit does not fire at every restart.
func TestRulesLoadedAtStartShowWhileStarting(t *testing.T) {
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	release := make(chan struct{})
	defer close(release)
	a.recoverStored = func(ctx context.Context) (int, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return 0, nil
	}
	base, _ := runApp(t, a)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "starting" {
		t.Fatalf("/readyz %+v, want starting", r)
	}
	if _, err := time.Parse(time.RFC3339, r.LastReloadAt); err != nil || r.LastReloadError != "" || r.RulesCount == 0 {
		t.Errorf("/readyz while starting: last_reload_at %q (%v), last_reload_error %q, rules_count %d; want the load at start",
			r.LastReloadAt, err, r.LastReloadError, r.RulesCount)
	}
	if v := metricValue(t, a.metrics, "balas_rules_last_reload_successful", "", ""); v != 1 {
		t.Errorf("balas_rules_last_reload_successful = %v while starting with good rules, want 1", v)
	}
	if v := metricValue(t, a.metrics, "balas_rules_last_reload_timestamp_seconds", "", ""); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("balas_rules_last_reload_timestamp_seconds = %v while starting, want the load at start", v)
	}
}
