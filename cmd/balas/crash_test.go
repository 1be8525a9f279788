package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

// TestCrashRecovery kills balas with SIGKILL in the middle of a load, starts
// it again on the same database and redelivers what was not acknowledged,
// as Meta would. Every message acknowledged with 200 (in either run) must
// be answered; a reply in flight at the crash may be sent twice, but only a
// few may.
func TestCrashRecovery(t *testing.T) {
	const (
		messages    = 400
		customers   = 50
		concurrency = 16
		killAfter   = 150 // 200s before the kill
		maxDupes    = 16
	)
	g := newE2EGraph(t)
	db := filepath.Join(t.TempDir(), "balas.db")
	p1 := startBalasServe(t, e2eTokoRules, db, g.url())

	customer := func(i int) string { return fmt.Sprintf("62877%07d", i%customers) }
	wamid := func(i int) string { return fmt.Sprintf("wamid.crash.%03d", i) }
	bodies := make([][]byte, messages)
	for i := range bodies {
		bodies[i] = webhook.Fake{From: customer(i), Name: fmt.Sprintf("Pelanggan %d", i%customers),
			WamID: wamid(i), Text: "halo"}.Body()
	}
	ok := make([]atomic.Bool, messages)

	// postAll posts the messages idx at `concurrency`, no faster than one
	// per `every` (0: as fast as they are answered); stop ends it early.
	postAll := func(p *e2eProc, idx []int, every time.Duration, stop *atomic.Bool, onOK func(n int64)) {
		var next, oks atomic.Int64
		begin := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := int(next.Add(1) - 1)
					if k >= len(idx) || (stop != nil && stop.Load()) {
						return
					}
					if d := time.Until(begin.Add(time.Duration(k) * every)); d > 0 {
						time.Sleep(d)
					}
					i := idx[k]
					code, err := p.post(bodies[i], true)
					if err == nil && code == http.StatusOK {
						ok[i].Store(true)
						if onOK != nil {
							onOK(oks.Add(1))
						}
					}
				}
			}()
		}
		wg.Wait()
	}

	all := make([]int, messages)
	for i := range all {
		all[i] = i
	}
	var killed atomic.Bool
	var killedAt time.Time
	start := time.Now()
	// About 100 messages a second: the kill then finds deliveries being
	// stored, replies queued in the outbox and replies being sent.
	postAll(p1, all, 10*time.Millisecond, &killed, func(n int64) {
		if n == killAfter && killed.CompareAndSwap(false, true) {
			killedAt = time.Now()
			p1.cmd.Process.Kill() // SIGKILL: no shutdown, no flush
		}
	})
	if !killed.Load() {
		t.Fatalf("the first run acknowledged fewer than %d messages before the load ended", killAfter)
	}
	<-p1.exited
	var firstOK []int
	for i := range ok {
		if ok[i].Load() {
			firstOK = append(firstOK, i)
		}
	}
	repliesAtKill := len(g.replies(""))
	t.Logf("first run: %d of %d messages acknowledged, %d replies sent, killed after %s",
		len(firstOK), messages, repliesAtKill, killedAt.Sub(start).Round(time.Millisecond))

	// Restart on the same database and the same fake Graph API; redeliver
	// every message that did not get a 200.
	p2 := startBalasServe(t, e2eTokoRules, db, g.url())
	var rest []int
	for i := range ok {
		if !ok[i].Load() {
			rest = append(rest, i)
		}
	}
	postAll(p2, rest, 0, nil, nil)
	for _, i := range rest {
		if !ok[i].Load() {
			t.Errorf("redelivery of %s after the restart was not acknowledged", wamid(i))
		}
	}

	// Wait until every message is answered and the reply count stops
	// growing (bounded).
	deadline := time.Now().Add(40 * time.Second)
	last, stableSince := -1, time.Now()
	for time.Now().Before(deadline) {
		n := len(g.replies(""))
		if n != last {
			last, stableSince = n, time.Now()
		} else if n >= messages && len(g.receipts()) >= messages && time.Since(stableSince) > 500*time.Millisecond {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Replies per customer against messages acknowledged per customer; the
	// read receipts name the message each was for.
	replies := map[string]int{}
	for _, c := range g.replies("") {
		replies[c.to()]++
	}
	acked := map[string]int{}
	sent := map[string]int{}
	for i := range ok {
		sent["+"+customer(i)]++
		if ok[i].Load() {
			acked["+"+customer(i)]++
		}
	}
	receipts := g.receipts()
	lost, dupes, unread := 0, 0, 0
	for to, n := range acked {
		if replies[to] < n {
			lost += n - replies[to]
			t.Errorf("customer %s: %d messages acknowledged, %d replies", to, n, replies[to])
		}
	}
	for to, n := range replies {
		if n > sent[to] {
			dupes += n - sent[to]
		}
	}
	// Read receipts are not stored, but a reply records the receipt queued
	// before it, and the restart sends it again: every acknowledged (and
	// so answered) message is marked read.
	for i := range ok {
		if ok[i].Load() && receipts[wamid(i)] == 0 {
			unread++
			t.Errorf("%s was acknowledged but never marked read", wamid(i))
		}
	}
	total := len(g.replies(""))
	msg := fmt.Sprintf("crash test: %d messages, %d lost, %d duplicate replies (%d replies in all, %d acknowledged before the kill, %d replies before the kill, %d acknowledged messages never marked read)",
		messages, lost, dupes, total, len(firstOK), repliesAtKill, unread)
	t.Log(msg)
	fmt.Println(msg)
	if dupes > maxDupes {
		t.Errorf("%d duplicate replies after the crash, want at most %d", dupes, maxDupes)
	}
	m := p2.metrics(t)
	t.Logf("second run: %d redelivered, %v of them already stored before the kill (balas_duplicates_total), %v answered by sapa",
		len(rest), m["balas_duplicates_total"], m[`balas_rule_hits_total{rule="sapa"}`])
	if got := m[`balas_rule_hits_total{rule="sapa"}`] + m["balas_duplicates_total"]; got != float64(len(rest)) {
		t.Errorf("second run: sapa hits + duplicates = %v, want the %d redelivered messages", got, len(rest))
	}
	g.checkCalls(t)
}
