package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func envOf(kv ...string) getenv {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestServeConfig(t *testing.T) {
	secrets := []string{"BALAS_APP_SECRET", "s", "BALAS_ACCESS_TOKEN", "t"}
	cases := []struct {
		name    string
		args    []string
		env     []string
		check   func(*config) string
		wantErr string
	}{
		{name: "defaults", env: secrets, check: func(c *config) string {
			if c.Addr != ":8080" || c.Rules != "rules" || c.DB != "balas.db" || c.GraphURL != "https://graph.facebook.com" ||
				c.GraphVersion != "v25.0" || c.SendRate != 80 || c.LogFormat != "text" || c.Dev || c.RulesGiven ||
				c.PairBurst != 20 || c.PairInterval != 6*time.Second || c.SendConcurrency != 64 || c.Retention != 0 || c.Shutdown != 15*time.Second {
				return "unexpected defaults"
			}
			return ""
		}},
		{name: "environment", env: append(secrets, "BALAS_ADDR", ":9000", "BALAS_RULES", "r.yaml", "BALAS_DB", "x.db",
			"BALAS_SEND_RATE", "1000", "BALAS_LOG_FORMAT", "json", "BALAS_GRAPH_URL", "http://fake/", "BALAS_DEV", "1",
			"BALAS_SEND_CONCURRENCY", "800"),
			check: func(c *config) string {
				if c.Addr != ":9000" || c.Rules != "r.yaml" || !c.RulesGiven || c.DB != "x.db" || c.SendRate != 1000 || c.SendConcurrency != 800 ||
					c.LogFormat != "json" || c.GraphURL != "http://fake" || !c.Dev {
					return "environment not applied"
				}
				return ""
			}},
		{name: "flags win over environment", args: []string{"--addr", ":7000", "--send-rate", "20", "--rules", "flag-rules", "--send-concurrency", "8"},
			env: append(secrets, "BALAS_ADDR", ":9000", "BALAS_SEND_RATE", "1000", "BALAS_RULES", "env-rules", "BALAS_SEND_CONCURRENCY", "800"),
			check: func(c *config) string {
				if c.Addr != ":7000" || c.SendRate != 20 || c.Rules != "flag-rules" || c.SendConcurrency != 8 {
					return "flags did not win"
				}
				return ""
			}},
		{name: "secrets from the environment", env: append(secrets, "BALAS_VERIFY_TOKEN", "v"), check: func(c *config) string {
			if c.AppSecret != "s" || c.AccessToken != "t" || c.VerifyToken != "v" {
				return "secrets not read"
			}
			return ""
		}},
		{name: "no app secret", env: []string{"BALAS_ACCESS_TOKEN", "t"}, wantErr: "BALAS_APP_SECRET is not set"},
		{name: "no access token", env: []string{"BALAS_APP_SECRET", "s"}, wantErr: "BALAS_ACCESS_TOKEN is not set"},
		{name: "dev needs neither", args: []string{"--dev"}, check: func(c *config) string {
			if !c.Dev {
				return "dev not set"
			}
			return ""
		}},
		{name: "bad send rate", args: []string{"--send-rate", "fast"}, env: secrets, wantErr: "--send-rate"},
		{name: "zero send rate", args: []string{"--send-rate", "0"}, env: secrets, wantErr: "positive"},
		{name: "bad send concurrency", args: []string{"--send-concurrency", "many"}, env: secrets, wantErr: "--send-concurrency"},
		{name: "zero send concurrency", args: []string{"--send-concurrency", "0"}, env: secrets, wantErr: "from 1 to 4096"},
		{name: "too much send concurrency", env: append(secrets, "BALAS_SEND_CONCURRENCY", "5000"), wantErr: "from 1 to 4096"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, env: secrets, wantErr: "text or json"},
		{name: "NaN send rate", args: []string{"--send-rate", "NaN"}, env: secrets, wantErr: "positive number"},
		{name: "infinite send rate", args: []string{"--send-rate", "Inf"}, env: secrets, wantErr: "positive number"},
		{name: "graph url without a scheme", args: []string{"--graph-url", "graph.facebook.com"}, env: secrets, wantErr: "want a URL such as https://graph.facebook.com"},
		{name: "graph url host:port", args: []string{"--graph-url", "127.0.0.1:9999"}, env: secrets, wantErr: "--graph-url"},
		{name: "a bad value from the environment is named by its variable", env: append(secrets, "BALAS_SEND_RATE", "abc"), wantErr: `BALAS_SEND_RATE "abc"`},
		{name: "a bad graph url from the environment", env: append(secrets, "BALAS_GRAPH_URL", "ftp://x"), wantErr: `BALAS_GRAPH_URL "ftp://x"`},
		{name: "bad BALAS_DEV", env: append(secrets, "BALAS_DEV", "maybe"), wantErr: "BALAS_DEV"},
		{name: "secrets lose the newline of a secrets file", env: []string{"BALAS_APP_SECRET", "rahasia\n", "BALAS_ACCESS_TOKEN", " EAAG-token\r\n", "BALAS_VERIFY_TOKEN", "vt\n"},
			check: func(c *config) string {
				if c.AppSecret != "rahasia" || c.AccessToken != "EAAG-token" || c.VerifyToken != "vt" {
					return fmt.Sprintf("secrets %q %q %q", c.AppSecret, c.AccessToken, c.VerifyToken)
				}
				return ""
			}},
		{name: "--dev wins over a bad BALAS_DEV", args: []string{"--dev"}, env: []string{"BALAS_DEV", "maybe"}, check: func(c *config) string {
			if !c.Dev {
				return "dev not set"
			}
			return ""
		}},
		{name: "--dev=false wins over a bad BALAS_DEV", args: []string{"--dev=false"}, env: append(secrets, "BALAS_DEV", "maybe"), check: func(c *config) string {
			if c.Dev {
				return "dev set"
			}
			return ""
		}},
		{name: "bad pair interval", args: []string{"--pair-interval", "soon"}, env: secrets, wantErr: "--pair-interval"},
		{name: "retention in days", args: []string{"--retention", "90d"}, env: secrets, check: func(c *config) string {
			if c.Retention != 90*24*time.Hour {
				return "retention not 90 days"
			}
			return ""
		}},
		{name: "retention as a duration, from the environment", env: append(secrets, "BALAS_RETENTION", "720h"), check: func(c *config) string {
			if c.Retention != 30*24*time.Hour {
				return "retention not 720h"
			}
			return ""
		}},
		{name: "retention 0d keeps everything", args: []string{"--retention", "0d"}, env: secrets, check: func(c *config) string {
			if c.Retention != 0 {
				return "retention not off"
			}
			return ""
		}},
		{name: "retention under Meta's 7 days of redelivery", args: []string{"--retention", "3d"}, env: secrets, wantErr: "--retention \"3d\": want at least 7d"},
		{name: "retention in the environment, bad", env: append(secrets, "BALAS_RETENTION", "90 days"), wantErr: "BALAS_RETENTION \"90 days\": want a number of days"},
		{name: "negative retention", args: []string{"--retention", "-5d"}, env: secrets, wantErr: "want a number of days"},
		{name: "stray argument", args: []string{"rules"}, env: secrets, wantErr: "unexpected argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseServeConfig(c.args, envOf(c.env...), io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := c.check(cfg); msg != "" {
				t.Fatalf("%s: %+v", msg, cfg)
			}
		})
	}
	if _, err := parseServeConfig([]string{"--help"}, envOf(), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
}
