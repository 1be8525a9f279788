package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine"
)

// A reply Meta accepted and then reports as failed (the customer cannot
// be reached, the 24 h window closed, …) never reached the customer: the
// log says so, with the reply's wamid and Meta's code and title, once, so
// that an operator looking into a customer's complaint finds it. Other
// statuses are not logged.
func TestPipelineLogsAFailedDeliveryStatus(t *testing.T) {
	r := newRig(t)
	var logs bytes.Buffer
	p := engine.NewPipeline(r.db, r.p.Bot(), engine.PipelineOptions{Now: r.now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, f := range []string{"status_delivered.json", "status_failed.json", "status_failed.json"} {
		if err := p.Accept(context.Background(), readFile(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, `reply_wamid="wamid.HBgNNjI4OTYxMjM0MDk4NxUCABEYEjFCQUI2RjNGQjZDM0RERkIxNwA="`) ||
		!strings.Contains(out, "error_code=131047") || !strings.Contains(out, `error_title="Re-engagement message"`) {
		t.Fatalf("log after a delivered status and a failed one delivered twice:\n%s\nwant one warning naming the reply and Meta's code and title", out)
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("%d log lines, want only the failed status's:\n%s", n, out)
	}
}
