package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/balas-bot/balas/rules"
	"github.com/balas-bot/balas/store"
)

// BenchmarkSenderAtGraphLatency sends a burst of answered messages (a read
// receipt and a reply each, 240 per number) from customers of one or two
// business numbers through the sender at serve's default --send-rate (80
// messages/s per number) to a fake Graph API that answers in 200–500 ms, as
// Meta does, with serve's default --send-concurrency (64) and with 128. It
// reports the replies per second each number reached and how long the first
// and the median reply waited.
func BenchmarkSenderAtGraphLatency(b *testing.B) {
	for _, bc := range []struct {
		numbers, workers int
	}{{1, 64}, {2, 64}, {2, 128}} {
		b.Run(fmt.Sprintf("numbers=%d/concurrency=%d", bc.numbers, bc.workers), func(b *testing.B) {
			benchmarkSenderAtGraphLatency(b, bc.numbers, bc.workers)
		})
	}
}

func benchmarkSenderAtGraphLatency(b *testing.B, count, workers int) {
	const perNumber = 240
	numbers := []string{"113355779900246", "224466880011357"}[:count]
	for range b.N {
		db := openDB(b, "")
		fake := newFakeGraph(b, func(fakeReq) answer {
			return answer{delay: 200*time.Millisecond + rand.N(300*time.Millisecond)}
		})
		cl := NewClient(ClientOptions{BaseURL: fake.srv.URL, AccessToken: "t"})
		opts := SenderOptions{Workers: workers, PollInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s := NewSender(db, cl, opts)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		reply, _ := json.Marshal(rules.Reply{Kind: "text", Text: "Terima kasih!"})
		type cust struct {
			conv  int64
			phone string
			to    string
		}
		var custs []cust
		for i := range perNumber {
			for _, p := range numbers {
				to := fmt.Sprintf("628%s%05d", p[:4], i)
				custs = append(custs, cust{conversation(b, db, to), p, to})
			}
		}
		start := time.Now()
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			for _, c := range custs {
				w := "wamid.in." + c.to
				if err := tx.QueueReceipt(store.OutboxItem{ConversationID: c.conv, PhoneNumberID: c.phone, ToNumber: c.to,
					Kind: store.OutboxRead, ContextWamid: w, WindowStart: time.Now()}); err != nil {
					return err
				}
				if _, err := tx.EnqueueOutbox(store.OutboxItem{ConversationID: c.conv, PhoneNumberID: c.phone, ToNumber: c.to,
					Kind: store.OutboxMessage, Reply: reply, ContextWamid: w, Receipt: store.OutboxRead, WindowStart: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := db.OutboxPending(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		cancel()
		<-done
		var replyAt []time.Duration
		for _, r := range fake.requests() {
			if bytes.Contains(r.body, []byte(`"status":"read"`)) {
				continue
			}
			replyAt = append(replyAt, r.at.Sub(start))
		}
		sort.Slice(replyAt, func(i, j int) bool { return replyAt[i] < replyAt[j] })
		// From the burst's commit to the last reply's request: at 80 calls/s,
		// 240 receipts and their 240 replies take 6 s, plus the Graph answer
		// to the first call.
		b.ReportMetric(float64(len(replyAt))/float64(len(numbers))/replyAt[len(replyAt)-1].Seconds(), "replies/s/number")
		b.ReportMetric(replyAt[0].Seconds(), "first-reply-s")
		b.ReportMetric(replyAt[len(replyAt)/2].Seconds(), "median-reply-s")
		b.ReportMetric(elapsed.Seconds(), "total-s")
	}
}
