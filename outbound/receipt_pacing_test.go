package outbound

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/balas-bot/balas/store"
)

// In a burst of answered messages, each reply goes out right after its own
// read receipt: it does not queue for a Graph call behind the receipts of
// every other customer of the burst.
func TestSenderSendsEachReplyRightAfterItsReceipt(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, func(fakeReq) answer { return answer{delay: 5 * time.Millisecond} })
	opts := testOptions()
	opts.Workers = 1
	s := NewSender(db, fake.client(), opts)
	const customers = 10
	for i := range customers {
		queueAnswered(t, db, fmt.Sprintf("62811200%02d", i), store.OutboxRead, fmt.Sprintf("c%02d", i))
	}
	runSender(t, s)
	waitDone(t, db)
	got := strings.Split(sequence(fake), "|")
	if len(got) != 2*customers {
		t.Fatalf("%d requests, want %d: %v", len(got), 2*customers, got)
	}
	for i := 0; i < len(got); i += 2 {
		if reply := got[i+1]; got[i] != "read wamid.in."+reply {
			t.Fatalf("requests %v: request %d is %q, want the reply whose receipt %q went just before it", got, i+1, reply, got[i])
		}
	}
}

// The receipt sent in its reply's turn still takes a turn of --send-rate
// (receipts go through the outbox's rate limits): five answered messages
// are ten Graph calls, which at 20 a second take at least 450 ms.
func TestSenderReceiptCountsInTheSendRate(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	opts := testOptions()
	opts.Rate = 20
	for i := range 5 {
		queueAnswered(t, db, fmt.Sprintf("62811300%02d", i), store.OutboxTyping, fmt.Sprintf("c%02d", i))
	}
	start := time.Now()
	runSender(t, NewSender(db, fake.client(), opts))
	waitDone(t, db)
	if d := time.Since(start); d < 430*time.Millisecond {
		t.Fatalf("5 receipts and 5 replies at 20/s took %v, want ≥ 450ms", d)
	}
	got := strings.Split(sequence(fake), "|")
	if len(got) != 10 {
		t.Fatalf("%d requests, want 10 (5 receipts and their replies): %v", len(got), got)
	}
	for i := 0; i < len(got); i += 2 {
		if got[i] != "typing wamid.in."+got[i+1] {
			t.Fatalf("requests %v: %q is not the receipt of %q", got, got[i], got[i+1])
		}
	}
}
