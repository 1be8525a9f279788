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
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/balas-bot/balas/bench"
	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/store"
)

func runBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o bench.Options
	var rules string
	logTo := io.Discard
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Mode, "mode", "e2e", "ingest: webhook intake only (verify, store, 200); e2e: the whole pipeline to a local fake Graph API")
	fs.IntVar(&o.N, "n", 20000, "messages to post")
	fs.IntVar(&o.Conns, "c", 64, "concurrent keep-alive connections")
	fs.IntVar(&o.Senders, "senders", 1000, "distinct customers the messages come from (e2e)")
	fs.Float64Var(&o.Rate, "rate", 0, "offered load in messages/s (0: as fast as the connections allow)")
	fs.BoolVar(&o.Baseline, "baseline", true, "also measure a bare Gin handler that answers 200 without reading the body, in the same run, and print the ratio (-baseline=false to skip)")
	fs.StringVar(&rules, "rules", "", "rules to answer with (default: the built-in example shop)")
	fs.StringVar(&o.Text, "text", "halo", "the customer's message (e2e; pick one that gets exactly one reply)")
	fs.DurationVar(&o.ReplyWait, "reply-timeout", 60*time.Second, "how long to wait for every reply (e2e)")
	fs.IntVar(&o.SendConcurrency, "send-concurrency", defaultSendConcurrency, "Graph API calls in flight at once, as balas serve's flag (e2e)")
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
	if o.N <= 0 || o.Conns <= 0 || o.Senders <= 0 || *count <= 0 {
		fmt.Fprintln(stderr, "balas bench: -n, -c, -senders and -count must be positive")
		return 2
	}
	if o.Mode != "ingest" && o.Mode != "e2e" {
		fmt.Fprintf(stderr, "balas bench: -mode %q: want ingest or e2e\n", o.Mode)
		return 2
	}
	if o.SendConcurrency < 1 || o.SendConcurrency > maxSendConcurrency {
		fmt.Fprintf(stderr, "balas bench: -send-concurrency must be from 1 to %d\n", maxSendConcurrency)
		return 2
	}
	if *count > 1 && (*cpuProfile != "" || *memProfile != "" || *traceFile != "") {
		fmt.Fprintln(stderr, "balas bench: -cpuprofile, -memprofile and -trace record one round: use them with -count 1")
		return 2
	}
	if *verbose {
		logTo = stderr
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
	start := benchApp(dir, rules, o.SendConcurrency, logTo)
	if o.Mode == "ingest" {
		start = benchIntake(dir, logTo)
	}
	f, err := bench.Run(ctx, o, start)
	if err != nil {
		fmt.Fprintf(stderr, "balas bench: %v\n", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, stderr, f)
	}
	f.Print(stdout, o)
	return 0
}

// benchRounds measures n rounds, each by running this program's bench
// with the same flags in a new process: a round starts from nothing (no heap
// grown, no memory SQLite kept from the round before), and its peak RSS is
// its own.
func benchRounds(ctx context.Context, args []string, n int, asJSON bool, o bench.Options, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "balas bench: -count: find this program to run its rounds: %v\n", err)
		return 1
	}
	rounds := make([]bench.Figures, 0, n)
	for i := range n {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, self, append(append([]string{"bench"}, args...), "-count=1", "-json")...)
		cmd.Stdout, cmd.Stderr = &out, stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stderr, "balas bench: round %d: %v\n", i+1, err)
			return 1
		}
		var f bench.Figures
		if err := json.Unmarshal(out.Bytes(), &f); err != nil {
			fmt.Fprintf(stderr, "balas bench: round %d printed no figures (%v): %q\n", i+1, err, out.String())
			return 1
		}
		if !asJSON {
			f.PrintRound(stdout, o, i+1, n)
		}
		rounds = append(rounds, f)
	}
	m := bench.Median(rounds)
	if asJSON {
		return printJSON(stdout, stderr, m)
	}
	m.Print(stdout, o)
	return 0
}

// printJSON prints f as the JSON object of -json (benchRounds reads a
// round's back from it) and returns the exit code.
func printJSON(stdout, stderr io.Writer, f bench.Figures) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		fmt.Fprintf(stderr, "balas bench: %v\n", err)
		return 1
	}
	return 0
}

// benchIntake starts the webhook intake alone on loopback for an ingest
// run: balas's server on a new database in dir, storing each delivery and
// answering 200, with no pipeline behind it.
func benchIntake(dir string, logTo io.Writer) bench.Start {
	return func(ctx context.Context, _ string) (bench.System, error) {
		db, err := store.Open(ctx, filepath.Join(dir, "bench.db"), store.Options{})
		if err != nil {
			return bench.System{}, err
		}
		s := &server{appSecret: []byte(bench.Secret), intake: storeOnly{db}, metrics: newMetrics(),
			log:   slog.New(slog.NewTextHandler(logTo, nil)),
			ready: func(context.Context) (readiness, bool) { return readiness{}, true }}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			db.Close()
			return bench.System{}, err
		}
		srv := &http.Server{Handler: s.handler()}
		go srv.Serve(ln)
		return bench.System{WebhookURL: "http://" + ln.Addr().String() + "/webhook", Deliveries: db.CountDeliveries,
			Stop: func() { srv.Close(); db.Close() }}, nil
	}
}

// storeOnly is the intake without the pipeline: store the raw delivery.
type storeOnly struct{ db *store.DB }

// Accept stores body if it is a JSON object, as the intake does before
// the pipeline handles it.
func (s storeOnly) Accept(ctx context.Context, body []byte) error {
	if !webhook.IsJSONObject(body) {
		return engine.ErrNotJSONObject
	}
	_, err := s.db.StoreDelivery(ctx, body)
	return err
}

// benchApp starts balas as serve wires it on loopback for an e2e run: on a
// new database in dir, answering with rules (the built-in example shop
// when empty), sending to the fake Graph API with sendConcurrency calls at
// once and no pacing.
func benchApp(dir, rules string, sendConcurrency int, logTo io.Writer) bench.Start {
	return func(ctx context.Context, graphURL string) (bench.System, error) {
		cfg := &config{Rules: rules, RulesGiven: rules != "", DB: filepath.Join(dir, "bench.db"),
			GraphURL: graphURL, GraphVersion: "v25.0", SendRate: 1e9, SendConcurrency: sendConcurrency, PairBurst: 1, PairInterval: 0,
			AppSecret: bench.Secret, AccessToken: "bench-token", Shutdown: 10 * time.Second, LogFormat: "text"}
		if cfg.Rules == "" { // the built-in example shop
			cfg.Rules, cfg.RulesGiven = filepath.Join(dir, "rules"), true
			if err := os.Mkdir(cfg.Rules, 0o700); err != nil {
				return bench.System{}, err
			}
			if err := unpackExampleRules(cfg.Rules); err != nil {
				return bench.System{}, err
			}
		}
		log := slog.New(slog.NewTextHandler(logTo, nil))
		a, err := newApp(ctx, cfg, log, nil)
		if err != nil {
			return bench.System{}, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			a.close()
			return bench.System{}, err
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.run(runCtx, ln) }()
		// As Meta's retries would, wait until balas is past its start (it
		// answers webhooks 503 until then).
		select {
		case <-a.started:
		case err := <-done:
			stop()
			a.close()
			return bench.System{}, fmt.Errorf("balas stopped while starting: %v", err)
		}
		return bench.System{WebhookURL: "http://" + ln.Addr().String() + "/webhook",
			Stop: func() { stop(); <-done; a.close() }}, nil
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
