package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/balas-bot/balas/bench"
)

func TestBenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs balas")
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-n", "300", "-c", "8", "-senders", "30"}, // one run prints every figure
			[]string{"mode e2e: 300 messages, 8 connections, 30 customers, 64 Graph API calls at once", "errors 0", "replies:   300 in", "inbound→send: p50",
				"baseline:  bare Gin handler", "ratio:"}},
		{[]string{"-n", "200", "-c", "8", "-senders", "20", "-baseline=false", "-send-concurrency", "3"},
			[]string{"20 customers, 3 Graph API calls at once", "errors 0", "replies:   200 in"}},
		{[]string{"-mode", "ingest", "-n", "300", "-c", "8"},
			[]string{"mode ingest: 300 messages", "errors 0", "baseline:  bare Gin handler", "ratio:"}},
		{[]string{"-mode", "ingest", "-baseline=false", "-n", "300", "-c", "8"},
			[]string{"mode ingest: 300 messages", "errors 0"}},
		{[]string{"-n", "200", "-c", "8", "-senders", "20", "-baseline=false", "-json"},
			[]string{`"rounds": 1`, `"messages": 200`, `"errors": 0`, `"replies": 200`, `"replies_per_second": `, `"baseline": false`, `"peak_rss_mb": `}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runBench(context.Background(), tc.args, nil, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestBenchRefusesBadFlags checks that a bench that cannot measure what it
// is asked says why and exits 2, before posting anything.
func TestBenchRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-count", "0"}, "-count must be positive"},
		{[]string{"-count", "2", "-trace", "t.out"}, "record one round: use them with -count 1"},
		{[]string{"-n", "-5"}, "-n, -c, -senders and -count must be positive"},
		{[]string{"-mode", "soak"}, `-mode "soak": want ingest or e2e`},
		{[]string{"-send-concurrency", "0"}, "-send-concurrency must be from 1 to 4096"},
	} {
		var out, errb bytes.Buffer
		if code := runBench(context.Background(), tc.args, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("bench %v: exit %d, %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
		if out.Len() > 0 {
			t.Errorf("bench %v printed %q", tc.args, out.String())
		}
	}
}

// TestBenchCount runs the built binary with -count: each round in a new
// process, a line per round, then the medians.
func TestBenchCount(t *testing.T) {
	if testing.Short() {
		t.Skip("runs balas")
	}
	bin := rulesToolsBinary(t)
	out, err := exec.Command(bin, "bench", "-n", "200", "-c", "8", "-senders", "20", "-count", "3").CombinedOutput()
	if err != nil {
		t.Fatalf("bench -count 3: %v\n%s", err, out)
	}
	for _, w := range []string{"round 1/3: webhook ", "round 3/3: webhook ", " replies/s, inbound→send p99 ", "bare Gin ", ", peak RSS ",
		"200 messages, 8 connections, 20 customers, 64 Graph API calls at once; medians of 3 rounds (lowest–highest)",
		"errors 0", "replies/s (", "each round 200 replies", "× bare Gin (", "(the highest round's)"} {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	out, err = exec.Command(bin, "bench", "-n", "100", "-c", "4", "-senders", "10", "-baseline=false", "-count", "2", "-json").Output()
	if err != nil {
		t.Fatalf("bench -count 2 -json: %v", err)
	}
	var m bench.Figures
	if err := json.Unmarshal(out, &m); err != nil || m.Rounds != 2 || m.Replies != 100 || m.Lowest == nil || m.Lowest[1] <= 0 {
		t.Fatalf("bench -count 2 -json: %+v (%v) from %s", m, err, out)
	}
}

// TestBenchRecords checks that -cpuprofile, -memprofile and -trace each
// leave a file of their format behind: gzipped profiles, a Go execution
// trace.
func TestBenchRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("runs balas")
	}
	dir := t.TempDir()
	cpu, mem, tr := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof"), filepath.Join(dir, "trace.out")
	var out, errb bytes.Buffer
	args := []string{"-n", "200", "-c", "4", "-senders", "20", "-baseline=false", "-cpuprofile", cpu, "-memprofile", mem, "-trace", tr}
	if code := runBench(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	for path, magic := range map[string]string{cpu: "\x1f\x8b", mem: "\x1f\x8b", tr: "go 1."} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s starts with %q, want %q", filepath.Base(path), b[:min(len(b), 8)], magic)
		}
	}
	var errb2 bytes.Buffer
	if code := runBench(context.Background(), []string{"-n", "10", "-trace", filepath.Join(dir, "no", "such", "dir")}, nil, &out, &errb2); code == 0 ||
		!strings.Contains(errb2.String(), "no such file") {
		t.Errorf("trace to a missing folder: exit %d, %q", code, errb2.String())
	}
}
