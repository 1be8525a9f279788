package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/balas-bot/balas/engine/webhook"
)

// Secret is the app secret the load generator signs its deliveries with;
// the system under test must check their signatures with it.
const Secret = "balas-bench-secret"

// Options say what a run measures and how.
type Options struct {
	// Mode is "ingest" (the webhook intake only: verify, store, 200) or
	// "e2e" (the whole pipeline to the fake Graph API).
	Mode string
	// N is the number of messages to post.
	N int
	// Conns is the number of concurrent keep-alive connections.
	Conns int
	// Senders is the number of distinct customers the messages come from.
	Senders int
	// Rate is the offered load in messages/s; 0 posts as fast as the
	// connections allow.
	Rate float64
	// Baseline also measures a bare Gin handler in the same run.
	Baseline bool
	// Text is the customer's message (e2e); it must get exactly one reply.
	Text string
	// ReplyWait is how long to wait for every reply (e2e).
	ReplyWait time.Duration
	// SendConcurrency is the number of Graph API calls the system under
	// test makes at once (e2e). The caller starts the system with it; the
	// figures are printed with it.
	SendConcurrency int
}

// A System is the system under test, started on loopback for one run.
type System struct {
	// WebhookURL is where it answers webhook deliveries signed with Secret.
	WebhookURL string
	// Deliveries, when not nil, counts the deliveries it has stored: after
	// an ingest run, every delivery answered 200 must be there.
	Deliveries func(context.Context) (int64, error)
	// Stop shuts it down.
	Stop func()
}

// Start starts the system under test. graphURL is the fake Graph API it
// sends its replies to (e2e; empty for an ingest run). Start returns once
// the system answers webhook deliveries.
type Start func(ctx context.Context, graphURL string) (System, error)

// Run measures o.Mode once on the system start starts, then the bare Gin
// baseline when o.Baseline is set.
func Run(ctx context.Context, o Options, start Start) (Figures, error) {
	var res result
	var err error
	cpu0, wall0 := cpuTime(), time.Now()
	if o.Mode == "ingest" {
		res, err = ingest(ctx, o, start)
	} else {
		res, err = e2e(ctx, o, start)
	}
	if err != nil {
		return Figures{}, err
	}
	if used := cpuTime() - cpu0; used > 0 {
		res.cpu = used.Seconds() / time.Since(wall0).Seconds()
	}
	if o.Baseline {
		base, err := baseline(ctx, o)
		if err != nil {
			return Figures{}, fmt.Errorf("baseline: %w", err)
		}
		res.baseline = &base
	}
	return res.figures(), nil
}

// load is the outcome of posting deliveries.
type load struct {
	n, errors int
	elapsed   time.Duration
	latencies []time.Duration // per request, sorted
}

func (l load) rps() float64 { return float64(l.n) / l.elapsed.Seconds() }

// result is what a run measured.
type result struct {
	load
	baseline    *load
	replies     int
	replyTime   time.Duration
	e2e         []time.Duration // inbound post start → reply at the fake Graph API, sorted
	graphCalls  int64
	maxRSSBytes int64
	cpu         float64 // cores busy on average during the run
}

// bodies prepares the n signed text deliveries, from `senders` customers,
// that the generator posts. They are kept in one block of memory outside the
// Go heap (where the OS allows): in the heap they would count towards the
// collector's target, which grows with the live heap, and balas's peak RSS
// would carry twice the generator's bodies instead of once.
func bodies(n, senders int, text string) (bs [][]byte, sigs []string, from []string) {
	now := time.Now()
	size := 0
	for i := 0; i < n; i++ {
		num := fmt.Sprintf("6281%09d", i%senders)
		b := webhook.Fake{From: num, Name: "Pelanggan " + strconv.Itoa(i%senders), Text: text,
			WamID: fmt.Sprintf("wamid.bench.%d.%d", now.UnixNano(), i), Timestamp: now}.Body()
		bs = append(bs, b)
		size += len(b)
		sigs = append(sigs, webhook.Sign([]byte(Secret), b))
		from = append(from, num)
	}
	block := offHeap(size)
	for i, b := range bs {
		n := copy(block, b)
		bs[i], block = block[:n:n], block[n:]
	}
	return bs, sigs, from
}

// listen listens on a free loopback port.
func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// ingest posts the deliveries to the system and checks that it stored
// every one it answered 200.
func ingest(ctx context.Context, o Options, start Start) (result, error) {
	sys, err := start(ctx, "")
	if err != nil {
		return result{}, err
	}
	defer sys.Stop()
	bs, sigs, _ := bodies(o.N, o.Senders, "halo")
	l, err := postAll(ctx, sys.WebhookURL, o, bs, sigs, nil)
	if err != nil {
		return result{}, err
	}
	if sys.Deliveries != nil {
		if n, _ := sys.Deliveries(ctx); int(n) != o.N-l.errors {
			return result{}, fmt.Errorf("%d deliveries stored, want %d", n, o.N-l.errors)
		}
	}
	return result{load: l, maxRSSBytes: peakRSS()}, nil
}

// baseline posts the deliveries to a bare Gin handler that answers 200
// without reading the body.
func baseline(ctx context.Context, o Options) (load, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/webhook", func(c *gin.Context) { c.Status(http.StatusOK) })
	ln, err := listen()
	if err != nil {
		return load{}, err
	}
	srv := &http.Server{Handler: r}
	go srv.Serve(ln)
	defer srv.Close()
	bs, sigs, _ := bodies(o.N, o.Senders, "halo")
	return postAll(ctx, "http://"+ln.Addr().String()+"/webhook", o, bs, sigs, nil)
}

// fakeGraph is a local stand-in for the Graph API that records when each
// customer's replies arrive. Its answer method is served by serveWire.
type fakeGraph struct {
	mu      sync.Mutex
	pending map[string][]time.Time // customer → post start times, oldest first
	e2e     []time.Duration
	replies int
	last    time.Time
	calls   atomic.Int64
	seq     atomic.Int64
}

// e2e posts the deliveries to the system, whose replies go to a fake Graph
// API, and waits for every reply.
func e2e(ctx context.Context, o Options, start Start) (result, error) {
	fake := &fakeGraph{pending: map[string][]time.Time{}}
	gln, err := listen()
	if err != nil {
		return result{}, err
	}
	gsrv := serveWire(gln, fake.answer)
	defer gsrv.Close()

	sys, err := start(ctx, "http://"+gln.Addr().String())
	if err != nil {
		return result{}, err
	}
	defer sys.Stop()

	bs, sigs, from := bodies(o.N, o.Senders, o.Text)
	begin := time.Now()
	l, err := postAll(ctx, sys.WebhookURL, o, bs, sigs, func(i int) {
		fake.mu.Lock()
		fake.pending[from[i]] = append(fake.pending[from[i]], time.Now())
		fake.mu.Unlock()
	})
	if err != nil {
		return result{}, err
	}
	want := o.N - l.errors
	deadline := time.Now().Add(o.ReplyWait)
	for {
		fake.mu.Lock()
		got, last := fake.replies, fake.last
		fake.mu.Unlock()
		if got >= want {
			res := result{load: l, replies: got, replyTime: last.Sub(begin), graphCalls: fake.calls.Load(), maxRSSBytes: peakRSS()}
			fake.mu.Lock()
			res.e2e = slices.Clone(fake.e2e)
			fake.mu.Unlock()
			slices.Sort(res.e2e)
			return res, nil
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("only %d of %d replies reached the fake Graph API within %s (does %q get exactly one reply from the rules?)", got, want, o.ReplyWait, o.Text)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peakRSS is the process's peak resident set size (Linux), or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
