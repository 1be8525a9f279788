package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/balas-bot/balas/rules"
	"github.com/balas-bot/balas/store"
)

// BenchmarkSender measures sends/s through the real Sender, SQLite (enqueue
// excluded, every outcome recorded) and a local fake Graph API, with the
// rate and pair limits lifted. 200 conversations share the load.
func BenchmarkSender(b *testing.B) {
	db := openDB(b, "")
	fake := newFakeGraph(b, nil)
	cl := NewClient(ClientOptions{BaseURL: fake.srv.URL, AccessToken: "t"}) // the default HTTPTransport
	const convs = 200
	ids := make([]int64, convs)
	for i := range ids {
		ids[i] = conversation(b, db, fmt.Sprintf("6281%08d", i))
	}
	reply, _ := json.Marshal(rules.Reply{Kind: "text", Text: "Terima kasih, pesanan kamu kami proses."})
	const chunk = 500
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			for i := range n {
				c := (done + i) % convs
				if _, err := tx.EnqueueOutbox(store.OutboxItem{ConversationID: ids[c], PhoneNumberID: phoneID,
					ToNumber: fmt.Sprintf("6281%08d", c), Kind: "message", Reply: reply, WindowStart: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	opts := SenderOptions{Rate: -1, PairInterval: -1, PollInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.ResetTimer()
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewSender(db, cl, opts).Run(ctx) }()
	for {
		n, err := db.OutboxPending(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if got := len(fake.requests()); got != b.N {
		b.Fatalf("%d requests for %d rows", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
}
