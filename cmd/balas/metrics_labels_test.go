package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine/webhook"
)

// labelDelivery is a signed-shape delivery with one message of type typ,
// one status st and one change of field field, each new (its own wamid).
func labelDelivery(i int, typ, st, field string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"2"},
 "contacts":[{"profile":{"name":"A"},"wa_id":"62811"}],
 "messages":[{"from":"62811","id":"wamid.m%d","timestamp":"1789365600","type":%q}],
 "statuses":[{"id":"wamid.s%d","status":%q,"timestamp":"1789365600","recipient_id":"62811"}]}},
{"field":%q,"value":{}}]}]}`, i, typ, i, st, field)
}

// The metric labels taken from webhook content (message type, status,
// change field) stay few and short whatever the deliveries say: each new
// label value is a series kept, and scraped, for as long as balas runs.
func TestMetricLabelsFromWebhooksAreBounded(t *testing.T) {
	a, _ := testApp(t, writeFiles(t, map[string]string{"r.yaml": opsRules}))
	ts := httptest.NewServer(a.handler)
	defer ts.Close()
	long := strings.Repeat("x", 10000)
	for i := range 300 {
		body := labelDelivery(i, fmt.Sprintf("t%d%s", i, long), fmt.Sprintf("s%d%s", i, long), fmt.Sprintf("f%d%s", i, long))
		if code, out := post(t, ts.URL, body, webhook.Sign([]byte(testSecret), body)); code != http.StatusOK {
			t.Fatalf("POST %d: %d %q", i, code, out)
		}
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	series := map[string]int{}
	longest := 0
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		for _, name := range []string{"balas_messages_total{", "balas_statuses_total{", "balas_webhook_events_total{"} {
			if strings.HasPrefix(line, name) {
				series[name]++
				longest = max(longest, len(line))
			}
		}
	}
	for name, n := range series {
		if n > 100 {
			t.Errorf("%s has %d series after 300 deliveries with new values; want the label bounded", name, n)
		}
	}
	if longest > 300 {
		t.Errorf("a series line is %d bytes long; want long label values cut", longest)
	}
	if rec.Body.Len() > 200<<10 {
		t.Errorf("/metrics is %d KiB", rec.Body.Len()>>10)
	}
}
