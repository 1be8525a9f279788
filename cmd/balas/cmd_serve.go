package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/balas-bot/balas/engine"
	examplerules "github.com/balas-bot/balas/examples/rules"
	"github.com/balas-bot/balas/outbound"
	"github.com/balas-bot/balas/rules"
	"github.com/balas-bot/balas/store"
)

func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var usage bytes.Buffer // --help on stdout, as every command; a flag error on stderr
	cfg, err := parseServeConfig(args, os.Getenv, &usage)
	if errors.Is(err, flag.ErrHelp) {
		stdout.Write(usage.Bytes())
		return 0
	}
	stderr.Write(usage.Bytes())
	if err != nil {
		fmt.Fprintf(stderr, "balas serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogFormat, stderr)
	if err := serve(ctx, cfg, log, nil); err != nil {
		fmt.Fprintf(stderr, "balas serve: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: durationText}))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// durationText writes durations as the text logs do ("10s", "250ms"):
// slog's JSON handler writes them as nanoseconds, which a reader takes for
// seconds or milliseconds.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// app is a running balas: store, rules, pipeline, sender and HTTP handler.
type app struct {
	cfg      *config
	log      *slog.Logger
	db       *store.DB
	watcher  *rules.Watcher
	pipeline *engine.Pipeline
	sender   *outbound.Sender
	graph    outbound.Transport // the sender's; its idle connections are closed with the app
	metrics  *metrics
	handler  http.Handler
	srv      *server // behind handler
	// started is closed once run has handled the deliveries stored before
	// the last stop and takes webhooks.
	started chan struct{}
	tempDir string   // the unpacked built-in rules, removed on close
	dbLock  *os.File // held while the app uses the database (lockDatabase)
	// hup delivers SIGHUP; nil: run registers for it itself. serve
	// registers before it opens anything, so that a SIGHUP while balas
	// starts (handling stored deliveries can take a while) reloads the
	// rules once they are watched instead of ending the process.
	hup chan os.Signal
	// recoverStored handles the deliveries stored before the last stop
	// (the pipeline's Recover); recoverWait is the first wait before it is
	// tried again after a failure.
	recoverStored func(context.Context) (int, error)
	recoverWait   time.Duration
}

// newApp opens the database, loads the rules and wires the pipeline. The
// caller runs it with app.run and closes it.
func newApp(ctx context.Context, cfg *config, log *slog.Logger, transport outbound.Transport) (*app, error) {
	rulesPath, tempDir, err := resolveRules(cfg, log)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok && tempDir != "" {
			os.RemoveAll(tempDir)
		}
	}()
	set, diags, err := rules.Load(rulesPath)
	loadedAt := time.Now()
	if err != nil {
		var b strings.Builder
		for _, d := range diags {
			if d.Severity == rules.Error {
				b.WriteString("\n  " + d.String())
			}
		}
		return nil, fmt.Errorf("the rules in %s do not load (run 'balas check %s'):%s", rulesPath, rulesPath, b.String())
	}
	// Warnings are logged by the watcher when it starts.
	if st, err := os.Stat(cfg.DB); err == nil && st.IsDir() {
		// SQLite would say it cannot open the file, which reads as a
		// missing or read-only folder; and the lock would be made beside it.
		return nil, fmt.Errorf("database %s is a folder: --db / BALAS_DB must name a database file, such as %s",
			cfg.DB, filepath.Join(cfg.DB, "balas.db"))
	}
	if dir := filepath.Dir(cfg.DB); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("database folder %s: %w (create it, or point --db / BALAS_DB elsewhere)", dir, err)
		}
	}
	lock, err := lockDatabase(ctx, cfg.DB, cmp.Or(cfg.LockWait, defaultLockWait), log)
	if err != nil && ctx.Err() != nil {
		return nil, err // stopped while waiting: nothing to check
	}
	if err != nil {
		return nil, fmt.Errorf("%w (check --db / BALAS_DB)", err)
	}
	db, err := store.Open(ctx, cfg.DB, store.Options{})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w (check --db / BALAS_DB)", err)
	}
	m := newMetrics()
	a := &app{cfg: cfg, log: log, db: db, dbLock: lock, metrics: m, tempDir: tempDir}
	a.watcher = rules.NewWatcher(rulesPath, rules.WatcherOptions{Logger: log, Registerer: m.reg, Loaded: set, LoadedAt: loadedAt})

	if cfg.Dev && cfg.AccessToken != "" {
		// Unsigned webhooks are accepted and their replies really sent:
		// anyone who reaches the port can make the business number write
		// to any customer, from any number the token may send for.
		log.Warn("DEV MODE with BALAS_ACCESS_TOKEN set: replies to UNSIGNED webhooks are SENT through the Graph API; "+
			"anyone who can reach this server can make your business number message customers. "+
			"Listen on loopback only (--addr 127.0.0.1:8080) or unset BALAS_ACCESS_TOKEN to log replies instead", "addr", cfg.Addr)
	}
	if transport == nil {
		if cfg.AccessToken == "" {
			log.Warn("DEV MODE: no BALAS_ACCESS_TOKEN; replies are logged and stored, not sent")
			transport = outbound.NewDryRun(log)
		} else {
			transport = outbound.NewClient(outbound.ClientOptions{BaseURL: cfg.GraphURL, Version: cfg.GraphVersion, AccessToken: cfg.AccessToken,
				IdleConns: max(cfg.SendConcurrency, outbound.DefaultMaxIdlePerHost)})
		}
	}
	a.graph = transport
	pairInterval := cfg.PairInterval
	if pairInterval == 0 {
		pairInterval = -1 // --pair-interval 0 turns pair pacing off
	}
	a.sender = outbound.NewSender(db, transport, outbound.SenderOptions{
		Rate:         cfg.SendRate,
		Workers:      cfg.SendConcurrency,
		PairBurst:    cfg.PairBurst,
		PairInterval: pairInterval,
		Logger:       log,
		Registerer:   m.reg,
		Messages:     m.messages,
	})
	a.pipeline = engine.NewPipeline(db, engine.New(set), engine.PipelineOptions{Logger: log, Observer: m})
	m.rulesInUse(set)

	srv := &server{
		appSecret:   []byte(cfg.AppSecret),
		verifyToken: []byte(cfg.VerifyToken),
		dev:         cfg.Dev,
		intake:      a.pipeline,
		ready:       a.readiness,
		metrics:     m,
		log:         log,
	}
	a.handler = srv.handler()
	a.srv = srv
	a.started = make(chan struct{})
	a.recoverStored, a.recoverWait = a.pipeline.Recover, time.Second
	ok = true
	return a, nil
}

// resolveRules picks the rules path: the one configured, or, with --dev,
// when none was configured and ./rules does not exist or holds no rules
// files (in a clone of balas, ./rules is the Go package of that name), the
// built-in example shop, unpacked into tempDir. Without --dev that is an
// error.
func resolveRules(cfg *config, log *slog.Logger) (path, tempDir string, err error) {
	why := "no ./rules folder"
	if _, err := os.Stat(cfg.Rules); err == nil {
		if cfg.RulesGiven || holdsRules(cfg.Rules) {
			return cfg.Rules, "", nil
		}
		why = cfg.Rules + " holds no rules files (*.yaml, *.yml)"
	} else if cfg.RulesGiven {
		return "", "", fmt.Errorf("rules path %s: %w (set --rules or BALAS_RULES to a rules file or folder)", cfg.Rules, err)
	}
	if !cfg.Dev {
		// Answering real customers with the example shop's products and
		// prices (a service started in another working directory, say)
		// must not happen silently.
		return "", "", fmt.Errorf("%s: set --rules or BALAS_RULES to your rules file or folder (the built-in example shop answers only with --dev)", why)
	}
	dir, err := os.MkdirTemp("", "balas-example-rules-")
	if err != nil {
		return "", "", fmt.Errorf("%s, and the built-in example rules could not be unpacked: %w", why, err)
	}
	if err := unpackExampleRules(dir); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	log.Warn(why+": answering with the built-in example shop rules (examples/rules/toko); put your rules in ./rules or pass --rules to use your own", "unpacked_to", dir)
	return dir, dir, nil
}

// unpackExampleRules writes the built-in example shop's rules files into dir.
func unpackExampleRules(dir string) error {
	files, _ := fs.Glob(examplerules.Toko, "toko/*.yaml")
	for _, f := range files {
		b, _ := examplerules.Toko.ReadFile(f)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return fmt.Errorf("unpack the built-in example rules: %w", err)
		}
	}
	return nil
}

// holdsRules reports whether path is a rules file or a folder with at least
// one rules file in it.
func holdsRules(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		return true
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return true // let the loader report why it cannot be read
	}
	for _, e := range entries {
		if !e.IsDir() && rules.IsRulesFile(e.Name()) {
			return true
		}
	}
	return false
}

// writeCheckTimeout bounds how long /readyz waits for its write to commit.
const writeCheckTimeout = 2 * time.Second

// readiness reports whether the database answers and a rule set is loaded.
func (a *app) readiness(ctx context.Context) (readiness, bool) {
	r := readiness{Status: "ready", Database: "ok", RulesFiles: []string{}}
	ok := true
	if err := a.db.Ping(ctx); err != nil {
		r.Database, ok = err.Error(), false
	} else if err := a.db.CheckWrite(ctx, writeCheckTimeout); err != nil {
		r.Database, ok = err.Error(), false
	}
	st := a.watcher.Status()
	set := st.Set
	if set == nil {
		set = a.pipeline.Bot().Set()
	}
	if set == nil {
		ok = false
	} else {
		r.RulesVersion, r.RulesCount = set.Version, len(set.Rules)
		r.RulesFiles = append(r.RulesFiles, set.Files...)
	}
	if !st.LastReloadAt.IsZero() {
		r.LastReloadAt = st.LastReloadAt.UTC().Format(time.RFC3339)
	}
	r.LastReloadError = st.LastError
	if n, err := a.db.OutboxPending(ctx); err == nil {
		r.OutboxPending = n
	}
	switch {
	case a.srv.starting.Load():
		r.Status, ok = "starting", false // handling the deliveries stored before the last stop
	case !ok:
		r.Status = "not ready"
	}
	return r, ok
}

// run serves on ln until ctx ends, then shuts down within cfg.Shutdown:
// stop accepting, finish in-flight requests and sends, and log that balas
// stopped. The database stays open: close closes it.
func (a *app) run(ctx context.Context, ln net.Listener) error {
	// Listen first: /healthz answers while the deliveries stored before the
	// last stop are handled, which can take a while after a crash. Until
	// then /readyz says "starting" and webhooks get 503 (Meta retries
	// them), so that no new message is decided before older ones.
	httpSrv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	serveErr := make(chan error, 1)
	a.srv.starting.Store(true)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	a.log.Info("balas is listening", "addr", ln.Addr().String(), "dev", a.cfg.Dev)

	n, err := a.recoverUntilDone(ctx)
	if err != nil {
		httpSrv.Close()
		// Stopped while starting, as asked: each delivery handled is
		// committed, the rest are handled at the next start.
		a.log.Info("stopped while handling deliveries stored before the last stop; the rest are handled at the next start",
			"handled", n)
		return nil
	}
	if n > 0 {
		a.log.Info("handled deliveries stored before the last stop", "deliveries", n)
	}
	a.srv.starting.Store(false)
	close(a.started)

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := a.sender.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("outbound sender stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		err := a.watcher.Run(bg, func(s *rules.Set) {
			a.pipeline.SetBot(engine.New(s))
			a.metrics.rulesInUse(s)
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("rules watcher stopped", "err", err)
		}
	}()
	if a.cfg.Retention > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.pruneLoop(bg)
		}()
	}
	hup := a.hup
	if hup == nil {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	go func() {
		for {
			select {
			case <-hup:
				a.log.Info("SIGHUP: reloading rules")
				a.watcher.Reload()
			case <-bg.Done():
				return
			}
		}
	}()

	var stopping time.Time
	select {
	case <-ctx.Done():
		stopping = time.Now()
		a.log.Info("shutting down", "timeout", a.cfg.Shutdown)
	case err := <-serveErr:
		stopBG()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Shutdown)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		a.log.Warn("http shutdown did not finish in time", "err", err)
	}
	stopBG()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		a.log.Warn("sender did not stop in time; unsent replies stay in the outbox for the next start, " +
			"and a reply whose Graph API call was still unanswered is sent again then (raise --shutdown-timeout to avoid it)")
	}
	pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
	defer pcancel()
	if n, err := a.db.OutboxPending(pctx); err == nil {
		a.log.Info("stopped", "took", time.Since(stopping).Round(time.Millisecond), "outbox_pending", n)
	} else {
		a.log.Info("stopped", "took", time.Since(stopping).Round(time.Millisecond))
	}
	return nil
}

// recoverUntilDone handles the deliveries stored before the last stop. A
// failure (a full disk, the database locked by another program) is logged
// and the rest tried again, up to a minute apart, while /readyz says
// "starting" and webhooks get 503: ending serve would leave the shop
// without a bot until someone restarts it. It returns an error only when
// ctx ends first.
func (a *app) recoverUntilDone(ctx context.Context) (int, error) {
	handled := 0
	for wait := a.recoverWait; ; wait = min(2*wait, time.Minute) {
		n, err := a.recoverStored(ctx)
		handled += n
		if err == nil {
			return handled, nil
		}
		if ctx.Err() != nil {
			return handled, ctx.Err()
		}
		a.log.Error("cannot handle the deliveries stored before the last stop; trying again (webhooks get 503 meanwhile, and Meta retries them)",
			"err", err, "retry_in", wait, "handled", handled)
		select {
		case <-ctx.Done():
			return handled, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// pruneEvery is how often --retention deletes what has grown old.
const pruneEvery = time.Hour

// pruneLoop deletes what is older than --retention: once at start, then
// every pruneEvery, until ctx ends. A failed pass is logged and tried
// again at the next.
func (a *app) pruneLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.prune(ctx)
		t.Reset(pruneEvery)
	}
}

// prune runs one pass of --retention.
func (a *app) prune(ctx context.Context) {
	start := time.Now()
	before := a.db.Now().Add(-a.cfg.Retention)
	n, err := a.db.Prune(ctx, before)
	for table, rows := range map[string]int64{"outbox": n.Outbox, "messages": n.Messages, "inbox": n.Inbox, "statuses": n.Statuses, "events": n.Events} {
		a.metrics.pruned.WithLabelValues(table).Add(float64(rows))
	}
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("pruning rows older than --retention failed; tried again within an hour", "err", err, "deleted", n.Total())
		}
		return
	}
	a.metrics.prunedAt.Set(float64(time.Now().Unix()))
	if n.Total() > 0 {
		a.log.Info("pruned rows older than --retention", "before", before.UTC().Format(time.RFC3339),
			"messages", n.Messages, "deliveries", n.Inbox, "outbox", n.Outbox, "statuses", n.Statuses, "events", n.Events,
			"took", time.Since(start).Round(time.Millisecond))
	}
}

// close lets go of what newApp took: the temporary folder, the database
// and then its lock, and idle connections to the Graph API.
func (a *app) close() error {
	if a.tempDir != "" {
		os.RemoveAll(a.tempDir)
	}
	err := a.db.Close()
	if c, ok := a.graph.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections() // keep-alive connections to the Graph API
	}
	if a.dbLock != nil {
		a.dbLock.Close() // after the database: the next balas may start
		a.dbLock = nil
	}
	return err
}

// serve runs balas until ctx ends.
func serve(ctx context.Context, cfg *config, log *slog.Logger, transport outbound.Transport) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if cfg.Dev {
		log.Warn("DEV MODE is on: unsigned webhooks are accepted; do not run like this in production")
	}
	if cfg.VerifyToken == "" {
		log.Warn("BALAS_VERIFY_TOKEN is not set: Meta's webhook verification (GET /webhook) will be refused; set it to the verify token you enter in the App Dashboard")
	}
	a, err := newApp(ctx, cfg, log, transport)
	if err != nil {
		return err
	}
	defer a.close()
	a.hup = hup
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another balas running? choose another --addr)", cfg.Addr, err)
	}
	return a.run(ctx, ln)
}
