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

// --send-rate counts messages: the read receipt of an answered message goes
// out with its reply and does not take the number's turn from it.
func TestSenderReceiptDoesNotTakeTheRepliesTurn(t *testing.T) {
	db := openDB(t, "")
	fake := newFakeGraph(t, nil)
	opts := testOptions()
	opts.Rate = 1.0 / 60 // one message a minute: the number's first turn is the only one within the test
	s := NewSender(db, fake.client(), opts)
	runSender(t, s)
	id := queueAnswered(t, db, "6281130000001", store.OutboxTyping, "halo")
	waitDone(t, db)
	if got, want := sequence(fake), "typing wamid.in.halo|halo"; got != want {
		t.Fatalf("requests %s, want %s", got, want)
	}
	if row := readOutbox(t, db, id); row.state != "sent" {
		t.Fatalf("reply row %+v, want sent", row)
	}
}
