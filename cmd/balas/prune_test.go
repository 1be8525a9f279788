package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/outbound"
	"github.com/balas-bot/balas/store"
)

// serve --retention prunes at start: a database kept for months loses
// what is older than the retention, keeps the rest, and says so in
// metrics.
func TestServeRetentionPrunesAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	now := time.Now()
	seed := func(at time.Time, field string) {
		db, err := store.Open(context.Background(), path, store.Options{Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			id, err := tx.InsertDelivery([]byte(`{"object":"whatsapp_business_account"}`), true)
			if err != nil {
				return err
			}
			return tx.RecordEvent(engine.EventRecord{InboxID: id, Field: field})
		}); err != nil {
			t.Fatal(err)
		}
	}
	seed(now.AddDate(0, 0, -100), "account_update") // older than 90 days
	seed(now.AddDate(0, 0, -10), "message_template_status_update")

	cfg := &config{Rules: writeFiles(t, map[string]string{"r.yaml": opsRules}), RulesGiven: true, DB: path,
		SendRate: 80, SendConcurrency: 4, PairBurst: 20, AppSecret: testSecret, AccessToken: "tok", Shutdown: 2 * time.Second,
		Retention: 90 * 24 * time.Hour}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(context.Background(), cfg, log, outbound.NewDryRun(log))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	runApp(t, a)

	metric := func() string {
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Contains(metric(), "balas_prune_last_success_timestamp_seconds 0\n") {
		if time.Now().After(deadline) {
			t.Fatal("no pass of --retention finished within 5 s of the start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var fields []string
	rows, err := a.db.Reader().Query(`SELECT field FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f string
		rows.Scan(&f)
		fields = append(fields, f)
	}
	rows.Close()
	if len(fields) != 1 || fields[0] != "message_template_status_update" {
		t.Errorf("events left: %v, want only the one from 10 days ago", fields)
	}
	m := metric()
	for _, want := range []string{`balas_pruned_rows_total{table="inbox"} 1`, `balas_pruned_rows_total{table="events"} 1`, `balas_pruned_rows_total{table="messages"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
