package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the configuration of `balas serve`: flags win over environment
// variables; secrets come from the environment only.
type config struct {
	Addr            string
	Rules           string
	RulesGiven      bool // --rules or BALAS_RULES was set
	DB              string
	GraphURL        string
	GraphVersion    string
	SendRate        float64
	SendConcurrency int // Graph API calls in flight at once (0: the sender's default)
	PairBurst       int
	PairInterval    time.Duration
	LogFormat       string
	Dev             bool
	Shutdown        time.Duration
	Retention       time.Duration // 0: keep everything
	// LockWait is how long serve waits for another balas serve to let go
	// of the database (0: defaultLockWait). Not a flag.
	LockWait time.Duration

	AppSecret   string
	VerifyToken string
	AccessToken string
}

// Bounds of --send-concurrency. The sender makes at most that many calls at
// once, so it reaches that many calls per Graph answer time: 64 keep up
// with Meta's default 80 messages/s for one number (read receipts count in
// it: 40 answered messages/s) while Graph answers within 800 ms. An
// upgraded number, or several numbers, need more.
const (
	defaultSendConcurrency = 64
	maxSendConcurrency     = 4096
)

// getenv is os.Getenv, replaceable in tests.
type getenv func(string) string

func parseServeConfig(args []string, env getenv, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envOr := func(name, def string) string {
		if v := env(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", envOr("BALAS_ADDR", ":8080"), "listen address (BALAS_ADDR)")
	fs.StringVar(&c.Rules, "rules", envOr("BALAS_RULES", "rules"), "a rules file or a folder of them (BALAS_RULES)")
	fs.StringVar(&c.DB, "db", envOr("BALAS_DB", "balas.db"), "SQLite file, created and migrated on start (BALAS_DB)")
	fs.StringVar(&c.GraphURL, "graph-url", envOr("BALAS_GRAPH_URL", "https://graph.facebook.com"), "Graph API base URL (BALAS_GRAPH_URL)")
	fs.StringVar(&c.GraphVersion, "graph-version", envOr("BALAS_GRAPH_VERSION", "v25.0"), "Graph API version path segment (BALAS_GRAPH_VERSION)")
	rate := fs.String("send-rate", envOr("BALAS_SEND_RATE", "80"), "messages per second per business number (BALAS_SEND_RATE)")
	sendConcurrency := fs.String("send-concurrency", envOr("BALAS_SEND_CONCURRENCY", strconv.Itoa(defaultSendConcurrency)), "Graph API calls in flight at once, over all numbers; each holds a connection (BALAS_SEND_CONCURRENCY)")
	pairBurst := fs.String("pair-burst", envOr("BALAS_PAIR_BURST", "20"), "messages sent at once to one customer before pacing (BALAS_PAIR_BURST)")
	pairInterval := fs.String("pair-interval", envOr("BALAS_PAIR_INTERVAL", "6s"), "then one message per this interval to that customer; 0 turns pacing off (BALAS_PAIR_INTERVAL)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("BALAS_LOG_FORMAT", "text"), "text or json (BALAS_LOG_FORMAT)")
	devDefault, devErr := envBool(env("BALAS_DEV")) // refused below unless --dev wins over it
	fs.BoolVar(&c.Dev, "dev", devDefault, "local development: unsigned webhooks accepted, replies logged instead of sent without an access token (BALAS_DEV=1)")
	shutdown := fs.String("shutdown-timeout", envOr("BALAS_SHUTDOWN_TIMEOUT", "15s"), "how long a shutdown may take to finish in-flight work (BALAS_SHUTDOWN_TIMEOUT)")
	retention := fs.String("retention", envOr("BALAS_RETENTION", "0"), "delete messages, handled deliveries, sent and failed outbox rows, statuses and events older than this, e.g. 90d (at least 7d); 0 keeps everything (BALAS_RETENTION)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: balas serve [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Runs the webhook server and the pipeline. Flags win over environment variables.")
		fmt.Fprintln(w, "Secrets come from the environment: BALAS_APP_SECRET, BALAS_VERIFY_TOKEN, BALAS_ACCESS_TOKEN.")
		fmt.Fprintln(w)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; see balas serve --help)", fs.Arg(0))
	}
	if devErr != nil && !flagGiven(fs, "dev") {
		return nil, fmt.Errorf("BALAS_DEV: %w", devErr)
	}
	c.RulesGiven = flagGiven(fs, "rules") || env("BALAS_RULES") != ""
	var err error
	// name is the flag, or the variable when the value came from there.
	name := func(flagName, variable string) string {
		if !flagGiven(fs, flagName) && env(variable) != "" {
			return variable
		}
		return "--" + flagName
	}
	if c.SendRate, err = strconv.ParseFloat(*rate, 64); err != nil || !(c.SendRate > 0) || math.IsInf(c.SendRate, 0) {
		return nil, fmt.Errorf("%s %q: want a positive number of messages per second, e.g. 80", name("send-rate", "BALAS_SEND_RATE"), *rate)
	}
	if c.SendConcurrency, err = strconv.Atoi(*sendConcurrency); err != nil || c.SendConcurrency < 1 || c.SendConcurrency > maxSendConcurrency {
		return nil, fmt.Errorf("%s %q: want a whole number from 1 to %d, e.g. %d", name("send-concurrency", "BALAS_SEND_CONCURRENCY"), *sendConcurrency, maxSendConcurrency, defaultSendConcurrency)
	}
	if c.PairBurst, err = strconv.Atoi(*pairBurst); err != nil || c.PairBurst < 1 {
		return nil, fmt.Errorf("%s %q: want a whole number ≥ 1, e.g. 20", name("pair-burst", "BALAS_PAIR_BURST"), *pairBurst)
	}
	if c.PairInterval, err = time.ParseDuration(*pairInterval); err != nil || c.PairInterval < 0 {
		return nil, fmt.Errorf("%s %q: want a duration such as 6s (0 turns pacing off)", name("pair-interval", "BALAS_PAIR_INTERVAL"), *pairInterval)
	}
	if c.Shutdown, err = time.ParseDuration(*shutdown); err != nil || c.Shutdown <= 0 {
		return nil, fmt.Errorf("%s %q: want a duration such as 15s", name("shutdown-timeout", "BALAS_SHUTDOWN_TIMEOUT"), *shutdown)
	}
	if c.Retention, err = parseRetention(*retention); err != nil {
		return nil, fmt.Errorf("%s %q: %w", name("retention", "BALAS_RETENTION"), *retention, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("%s %q: want text or json", name("log-format", "BALAS_LOG_FORMAT"), c.LogFormat)
	}
	c.GraphURL = strings.TrimRight(c.GraphURL, "/")
	if u, err := url.Parse(c.GraphURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want a URL such as https://graph.facebook.com", name("graph-url", "BALAS_GRAPH_URL"), c.GraphURL)
	}
	// Secrets pasted or mounted from files often end in a newline, which
	// no Meta secret or token has.
	c.AppSecret = strings.TrimSpace(env("BALAS_APP_SECRET"))
	c.VerifyToken = strings.TrimSpace(env("BALAS_VERIFY_TOKEN"))
	c.AccessToken = strings.TrimSpace(env("BALAS_ACCESS_TOKEN"))
	if !c.Dev {
		var missing []string
		if c.AppSecret == "" {
			missing = append(missing, "BALAS_APP_SECRET is not set: balas needs your Meta app secret to check that webhooks come from Meta "+
				"(App Dashboard > App settings > Basic > App secret), e.g. export BALAS_APP_SECRET=…; or run with --dev for local testing")
		}
		if c.AccessToken == "" {
			missing = append(missing, "BALAS_ACCESS_TOKEN is not set: balas needs a Graph API token to send replies "+
				"(a system user token with whatsapp_business_messaging), e.g. export BALAS_ACCESS_TOKEN=…; or run with --dev to log replies instead")
		}
		if len(missing) > 0 {
			return nil, errors.New(strings.Join(missing, "\n"))
		}
	}
	return c, nil
}

// minRetention is the shortest --retention: Meta redelivers a webhook for
// up to 7 days, and a message whose row was pruned is no longer recognised
// as a copy, so it would be answered again.
const minRetention = 7 * 24 * time.Hour

// parseRetention reads --retention: a number of days ("90d") or a Go
// duration ("2160h"); 0 keeps everything.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errors.New("want a number of days such as 90d, or 0 to keep everything")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, errors.New("want a number of days such as 90d, or 0 to keep everything")
		}
	}
	if d == 0 {
		return 0, nil
	}
	if d < minRetention {
		return 0, errors.New("want at least 7d: Meta redelivers a webhook for up to 7 days, and a message pruned before then would be answered again")
	}
	return d, nil
}

// flagGiven reports whether the command line set the flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func envBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("%q is not a yes/no value; use 1 or 0", v)
}
