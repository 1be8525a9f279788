package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/store"
)

const benchSecret = "balas-bench-secret"

type benchOptions struct {
	mode            string
	n               int
	conns           int
	senders         int
	rate            float64
	baseline        bool
	rules           string
	text            string
	dir             string
	replyWait       time.Duration
	sendConcurrency int // balas serve's --send-concurrency
	stdout, log     io.Writer
}

func runBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := benchOptions{stdout: stdout, log: io.Discard}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "e2e", "ingest: webhook intake only (verify, store, 200); e2e: the whole pipeline to a local fake Graph API")
	fs.IntVar(&o.n, "n", 20000, "messages to post")
	fs.IntVar(&o.conns, "c", 64, "concurrent keep-alive connections")
	fs.IntVar(&o.senders, "senders", 1000, "distinct customers the messages come from (e2e)")
	fs.Float64Var(&o.rate, "rate", 0, "offered load in messages/s (0: as fast as the connections allow)")
	fs.BoolVar(&o.baseline, "baseline", true, "also measure a bare Gin handler that answers 200 without reading the body, in the same run, and print the ratio (-baseline=false to skip)")
	fs.StringVar(&o.rules, "rules", "", "rules to answer with (default: the built-in example shop)")
	fs.StringVar(&o.text, "text", "halo", "the customer's message (e2e; pick one that gets exactly one reply)")
	fs.DurationVar(&o.replyWait, "reply-timeout", 60*time.Second, "how long to wait for every reply (e2e)")
	fs.IntVar(&o.sendConcurrency, "send-concurrency", defaultSendConcurrency, "Graph API calls in flight at once, as balas serve's flag (e2e)")
	verbose := fs.Bool("v", false, "show the server's logs")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the run to this file")
	traceFile := fs.String("trace", "", "write an execution trace of the run to this file (go tool trace)")
	count := fs.Int("count", 1, "measure this many rounds, each in a new balas process on a new database, and print the medians (the figures of a shared machine drift from run to run)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: balas bench [flags]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Starts balas in this process on loopback with a temporary database and posts")
		fmt.Fprintln(fs.Output(), "signed webhook deliveries to it, then prints throughput and latency.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if o.n <= 0 || o.conns <= 0 || o.senders <= 0 || *count <= 0 {
		fmt.Fprintln(stderr, "balas bench: -n, -c, -senders and -count must be positive")
		return 2
	}
	if o.mode != "ingest" && o.mode != "e2e" {
		fmt.Fprintf(stderr, "balas bench: -mode %q: want ingest or e2e\n", o.mode)
		return 2
	}
	if o.sendConcurrency < 1 || o.sendConcurrency > maxSendConcurrency {
		fmt.Fprintf(stderr, "balas bench: -send-concurrency must be from 1 to %d\n", maxSendConcurrency)
		return 2
	}
	if *count > 1 && (*cpuProfile != "" || *memProfile != "" || *traceFile != "") {
		fmt.Fprintln(stderr, "balas bench: -cpuprofile, -memprofile and -trace record one round: use them with -count 1")
		return 2
	}
	if *verbose {
		o.log = stderr
	}
	if *count > 1 {
		return benchRounds(ctx, args, *count, *asJSON, o, stdout, stderr)
	}
	dir, err := os.MkdirTemp("", "balas-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "balas bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	o.dir = dir
	for _, r := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{
		{*cpuProfile, pprof.StartCPUProfile, pprof.StopCPUProfile},
		{*traceFile, trace.Start, trace.Stop},
	} {
		if r.path == "" {
			continue
		}
		stop, err := record(r.path, r.start, r.stop)
		if err != nil {
			fmt.Fprintf(stderr, "balas bench: %v\n", err)
			return 1
		}
		defer stop()
	}
	if *memProfile != "" {
		defer func() {
			if err := writeHeapProfile(*memProfile); err != nil {
				fmt.Fprintf(stderr, "balas bench: %v\n", err)
			}
		}()
	}
	res, err := measure(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "balas bench: %v\n", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, stderr, res.figures())
	}
	res.figures().print(stdout, o)
	return 0
}

// benchRounds measures n rounds, each by running this program's bench
// with the same flags in a new process: a round starts from nothing (no heap
// grown, no memory SQLite kept from the round before), and its peak RSS is
// its own.
func benchRounds(ctx context.Context, args []string, n int, asJSON bool, o benchOptions, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "balas bench: -count: find this program to run its rounds: %v\n", err)
		return 1
	}
	rounds := make([]figures, 0, n)
	for i := range n {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, self, append(append([]string{"bench"}, args...), "-count=1", "-json")...)
		cmd.Stdout, cmd.Stderr = &out, stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stderr, "balas bench: round %d: %v\n", i+1, err)
			return 1
		}
		var f figures
		if err := json.Unmarshal(out.Bytes(), &f); err != nil {
			fmt.Fprintf(stderr, "balas bench: round %d printed no figures (%v): %q\n", i+1, err, out.String())
			return 1
		}
		if !asJSON {
			f.printRound(stdout, o, i+1, n)
		}
		rounds = append(rounds, f)
	}
	m := medianOf(rounds)
	if asJSON {
		return printJSON(stdout, stderr, m)
	}
	m.print(stdout, o)
	return 0
}

func printJSON(stdout, stderr io.Writer, f figures) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		fmt.Fprintf(stderr, "balas bench: %v\n", err)
		return 1
	}
	return 0
}

// measure runs the benchmark of o.mode once, on a new database in o.dir,
// then the bare Gin baseline when asked.
func measure(ctx context.Context, o benchOptions) (benchResult, error) {
	var res benchResult
	var err error
	cpu0, wall0 := cpuTime(), time.Now()
	if o.mode == "ingest" {
		res, err = benchIngest(ctx, o)
	} else {
		res, err = benchE2E(ctx, o)
	}
	if err != nil {
		return res, err
	}
	if used := cpuTime() - cpu0; used > 0 {
		res.cpu = used.Seconds() / time.Since(wall0).Seconds()
	}
	if o.baseline {
		base, err := benchBaseline(ctx, o)
		if err != nil {
			return res, fmt.Errorf("baseline: %w", err)
		}
		res.baseline = &base
	}
	return res, nil
}

// load is the outcome of posting deliveries.
type load struct {
	n, errors int
	elapsed   time.Duration
	latencies []time.Duration // per request, sorted
}

func (l load) rps() float64 { return float64(l.n) / l.elapsed.Seconds() }

type benchResult struct {
	load
	baseline    *load
	replies     int
	replyTime   time.Duration
	e2e         []time.Duration // inbound post start → reply at the fake Graph API, sorted
	graphCalls  int64
	maxRSSBytes int64
	cpu         float64 // cores busy on average during the run
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

func millis(d time.Duration) float64 { return float64(d) / 1e6 }

// figures are the numbers a run prints; for several rounds, the medians of
// the rounds' figures, with the lowest and highest of the throughputs.
type figures struct {
	Rounds           int     `json:"rounds"`
	Messages         int     `json:"messages"`
	Errors           int     `json:"errors"`
	WebhookRPS       float64 `json:"webhook_rps"`
	AckP50           float64 `json:"ack_p50_ms"`
	AckP99           float64 `json:"ack_p99_ms"`
	Replies          int     `json:"replies,omitempty"`
	ReplySeconds     float64 `json:"reply_seconds,omitempty"`
	RepliesPerSec    float64 `json:"replies_per_second,omitempty"`
	GraphCalls       int64   `json:"graph_calls,omitempty"`
	InboundToSendP50 float64 `json:"inbound_to_send_p50_ms,omitempty"`
	InboundToSendP99 float64 `json:"inbound_to_send_p99_ms,omitempty"`
	Baseline         bool    `json:"baseline"`
	BaselineRPS      float64 `json:"baseline_rps,omitempty"`
	BaselineP50      float64 `json:"baseline_p50_ms,omitempty"`
	BaselineP99      float64 `json:"baseline_p99_ms,omitempty"`
	Ratio            float64 `json:"ratio,omitempty"` // webhook req/s ÷ bare Gin req/s
	PeakRSSMB        float64 `json:"peak_rss_mb,omitempty"`
	CoresBusy        float64 `json:"cores_busy,omitempty"`
	// the rounds' lowest and highest webhook req/s, replies/s, bare Gin
	// req/s and ratio
	Lowest  *[4]float64 `json:"lowest,omitempty"`
	Highest *[4]float64 `json:"highest,omitempty"`
}

func (r benchResult) figures() figures {
	f := figures{Rounds: 1, Messages: r.n, Errors: r.errors, WebhookRPS: r.rps(),
		AckP50: millis(pct(r.latencies, .5)), AckP99: millis(pct(r.latencies, .99)),
		Replies: r.replies, ReplySeconds: r.replyTime.Seconds(), GraphCalls: r.graphCalls,
		InboundToSendP50: millis(pct(r.e2e, .5)), InboundToSendP99: millis(pct(r.e2e, .99)),
		PeakRSSMB: float64(r.maxRSSBytes) / 1e6, CoresBusy: r.cpu}
	if r.replyTime > 0 {
		f.RepliesPerSec = float64(r.replies) / r.replyTime.Seconds()
	}
	if r.baseline != nil {
		f.Baseline = true
		f.BaselineRPS = r.baseline.rps()
		f.BaselineP50, f.BaselineP99 = millis(pct(r.baseline.latencies, .5)), millis(pct(r.baseline.latencies, .99))
		f.Ratio = f.WebhookRPS / f.BaselineRPS
	}
	return f
}

// medianOf sums up rounds: the median of each figure, with the lowest and
// highest throughputs; errors added up, the highest peak RSS.
func medianOf(rounds []figures) figures {
	m := rounds[0]
	m.Rounds = len(rounds)
	v := make([]float64, len(rounds))
	for _, field := range []func(f *figures) *float64{
		func(f *figures) *float64 { return &f.WebhookRPS },
		func(f *figures) *float64 { return &f.AckP50 },
		func(f *figures) *float64 { return &f.AckP99 },
		func(f *figures) *float64 { return &f.ReplySeconds },
		func(f *figures) *float64 { return &f.RepliesPerSec },
		func(f *figures) *float64 { return &f.InboundToSendP50 },
		func(f *figures) *float64 { return &f.InboundToSendP99 },
		func(f *figures) *float64 { return &f.BaselineRPS },
		func(f *figures) *float64 { return &f.BaselineP50 },
		func(f *figures) *float64 { return &f.BaselineP99 },
		func(f *figures) *float64 { return &f.Ratio },
		func(f *figures) *float64 { return &f.CoresBusy },
	} {
		for i := range rounds {
			v[i] = *field(&rounds[i])
		}
		slices.Sort(v)
		med := v[len(v)/2]
		if n := len(v); n%2 == 0 {
			med = (v[n/2-1] + v[n/2]) / 2
		}
		*field(&m) = med
	}
	var lo, hi [4]float64
	m.Errors = 0
	for i, f := range rounds {
		m.Errors += f.Errors
		m.PeakRSSMB = max(m.PeakRSSMB, f.PeakRSSMB)
		for k, v := range [4]float64{f.WebhookRPS, f.RepliesPerSec, f.BaselineRPS, f.Ratio} {
			if i == 0 || v < lo[k] {
				lo[k] = v
			}
			if i == 0 || v > hi[k] {
				hi[k] = v
			}
		}
	}
	m.Lowest, m.Highest = &lo, &hi
	return m
}

// printRound prints the line of one round of several.
func (f figures) printRound(w io.Writer, o benchOptions, i, n int) {
	fmt.Fprintf(w, "round %d/%d: webhook %.0f req/s", i, n, f.WebhookRPS)
	if o.mode == "e2e" {
		fmt.Fprintf(w, ", %.0f replies/s, inbound→send p99 %.2f ms", f.RepliesPerSec, f.InboundToSendP99)
	}
	if f.Baseline {
		fmt.Fprintf(w, ", bare Gin %.0f req/s (ratio %.2f)", f.BaselineRPS, f.Ratio)
	}
	if f.PeakRSSMB > 0 {
		fmt.Fprintf(w, ", peak RSS %.1f MB", f.PeakRSSMB)
	}
	fmt.Fprintln(w)
}

func (f figures) print(w io.Writer, o benchOptions) {
	spread := func(k int, format string) string {
		if f.Lowest == nil || f.Highest == nil {
			return ""
		}
		return " (" + fmt.Sprintf(format, f.Lowest[k]) + "–" + fmt.Sprintf(format, f.Highest[k]) + ")"
	}
	fmt.Fprintf(w, "mode %s: %d messages, %d connections", o.mode, f.Messages, o.conns)
	if o.mode == "e2e" {
		fmt.Fprintf(w, ", %d customers, %d Graph API calls at once", o.senders, o.sendConcurrency)
	}
	if o.rate > 0 {
		fmt.Fprintf(w, ", offered %.0f msg/s", o.rate)
	}
	if f.Rounds > 1 {
		fmt.Fprintf(w, "; medians of %d rounds (lowest–highest)", f.Rounds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "webhook:   %.0f req/s%s, ack p50 %.2f ms, p99 %.2f ms, errors %d\n", f.WebhookRPS, spread(0, "%.0f"), f.AckP50, f.AckP99, f.Errors)
	if o.mode == "e2e" {
		if f.Rounds == 1 {
			fmt.Fprintf(w, "replies:   %d in %.2fs = %.0f replies/s (graph calls incl. read receipts: %d)\n",
				f.Replies, f.ReplySeconds, f.RepliesPerSec, f.GraphCalls)
		} else {
			fmt.Fprintf(w, "replies:   %.0f replies/s%s (each round %d replies; graph calls incl. read receipts: %d)\n",
				f.RepliesPerSec, spread(1, "%.0f"), f.Replies, f.GraphCalls)
		}
		fmt.Fprintf(w, "inbound→send: p50 %.2f ms, p99 %.2f ms\n", f.InboundToSendP50, f.InboundToSendP99)
	}
	if f.Baseline {
		fmt.Fprintf(w, "baseline:  bare Gin handler %.0f req/s%s, p50 %.2f ms, p99 %.2f ms\n", f.BaselineRPS, spread(2, "%.0f"), f.BaselineP50, f.BaselineP99)
		what := "balas webhook"
		if o.mode == "e2e" {
			what = "balas webhook with the whole pipeline behind it"
		}
		fmt.Fprintf(w, "ratio:     %s = %.2f × bare Gin%s\n", what, f.Ratio, spread(3, "%.2f"))
	}
	if f.PeakRSSMB > 0 {
		what := ""
		if f.Rounds > 1 {
			what = " (the highest round's)"
		}
		fmt.Fprintf(w, "memory:    peak RSS %.1f MB%s\n", f.PeakRSSMB, what)
	}
	if f.CoresBusy > 0 {
		fmt.Fprintf(w, "cpu:       %.2f of %d cores busy (generator, balas and the fake Graph API together)\n", f.CoresBusy, runtime.NumCPU())
	}
}

// record starts a recorder of the run (the CPU profile, the execution
// trace) writing to a new file at path; the returned func stops it and
// closes the file.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
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
		sigs = append(sigs, webhook.Sign([]byte(benchSecret), b))
		from = append(from, num)
	}
	block := offHeap(size)
	for i, b := range bs {
		n := copy(block, b)
		bs[i], block = block[:n:n], block[n:]
	}
	return bs, sigs, from
}

func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func benchIngest(ctx context.Context, o benchOptions) (benchResult, error) {
	db, err := store.Open(ctx, filepath.Join(o.dir, "bench.db"), store.Options{})
	if err != nil {
		return benchResult{}, err
	}
	defer db.Close()
	s := &server{appSecret: []byte(benchSecret), intake: storeOnly{db}, metrics: newMetrics(),
		log:   slog.New(slog.NewTextHandler(o.log, nil)),
		ready: func(context.Context) (readiness, bool) { return readiness{}, true }}
	ln, err := listen()
	if err != nil {
		return benchResult{}, err
	}
	srv := &http.Server{Handler: s.handler()}
	go srv.Serve(ln)
	defer srv.Close()
	bs, sigs, _ := bodies(o.n, o.senders, "halo")
	l, err := postAll(ctx, "http://"+ln.Addr().String()+"/webhook", o, bs, sigs, nil)
	if err != nil {
		return benchResult{}, err
	}
	if n, _ := db.CountDeliveries(ctx); int(n) != o.n-l.errors {
		return benchResult{}, fmt.Errorf("%d deliveries stored, want %d", n, o.n-l.errors)
	}
	return benchResult{load: l, maxRSSBytes: peakRSS()}, nil
}

// storeOnly is the intake without the pipeline: store the raw delivery.
type storeOnly struct{ db *store.DB }

func (s storeOnly) Accept(ctx context.Context, body []byte) error {
	if !webhook.IsJSONObject(body) {
		return engine.ErrNotJSONObject
	}
	_, err := s.db.StoreDelivery(ctx, body)
	return err
}

func benchBaseline(ctx context.Context, o benchOptions) (load, error) {
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
	bs, sigs, _ := bodies(o.n, o.senders, "halo")
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

func benchE2E(ctx context.Context, o benchOptions) (benchResult, error) {
	fake := &fakeGraph{pending: map[string][]time.Time{}}
	gln, err := listen()
	if err != nil {
		return benchResult{}, err
	}
	gsrv := serveWire(gln, fake.answer)
	defer gsrv.Close()

	cfg := &config{Rules: o.rules, RulesGiven: o.rules != "", DB: filepath.Join(o.dir, "bench.db"),
		GraphURL: "http://" + gln.Addr().String(), GraphVersion: "v25.0", SendRate: 1e9, SendConcurrency: o.sendConcurrency, PairBurst: 1, PairInterval: 0,
		AppSecret: benchSecret, AccessToken: "bench-token", Shutdown: 10 * time.Second, LogFormat: "text"}
	if cfg.Rules == "" { // the built-in example shop
		cfg.Rules, cfg.RulesGiven = filepath.Join(o.dir, "rules"), true
		if err := os.Mkdir(cfg.Rules, 0o700); err != nil {
			return benchResult{}, err
		}
		if err := unpackExampleRules(cfg.Rules); err != nil {
			return benchResult{}, err
		}
	}
	log := slog.New(slog.NewTextHandler(o.log, nil))
	a, err := newApp(ctx, cfg, log, nil)
	if err != nil {
		return benchResult{}, err
	}
	defer a.close()
	ln, err := listen()
	if err != nil {
		return benchResult{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.run(runCtx, ln) }()
	defer func() { stop(); <-done }()
	// As Meta's retries would, wait until balas is past its start (it
	// answers webhooks 503 until then).
	select {
	case <-a.started:
	case err := <-done:
		done <- err // for the deferred wait
		return benchResult{}, fmt.Errorf("balas stopped while starting: %v", err)
	}

	bs, sigs, from := bodies(o.n, o.senders, o.text)
	start := time.Now()
	l, err := postAll(ctx, "http://"+ln.Addr().String()+"/webhook", o, bs, sigs, func(i int) {
		fake.mu.Lock()
		fake.pending[from[i]] = append(fake.pending[from[i]], time.Now())
		fake.mu.Unlock()
	})
	if err != nil {
		return benchResult{}, err
	}
	want := o.n - l.errors
	deadline := time.Now().Add(o.replyWait)
	for {
		fake.mu.Lock()
		got, last := fake.replies, fake.last
		fake.mu.Unlock()
		if got >= want {
			res := benchResult{load: l, replies: got, replyTime: last.Sub(start), graphCalls: fake.calls.Load(), maxRSSBytes: peakRSS()}
			fake.mu.Lock()
			res.e2e = slices.Clone(fake.e2e)
			fake.mu.Unlock()
			slices.Sort(res.e2e)
			return res, nil
		}
		if time.Now().After(deadline) {
			return benchResult{}, fmt.Errorf("only %d of %d replies reached the fake Graph API within %s (does %q get exactly one reply from the rules?)", got, want, o.replyWait, o.text)
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

// writeHeapProfile writes the allocation profile (every allocation since
// the start, by bytes and by count: go tool pprof -sample_index=alloc_space).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
