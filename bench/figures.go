package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

// pct is the p-th quantile (0 to 1) of the sorted durations ds; 0 for none.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

// millis is d in milliseconds, as the figures give latencies.
func millis(d time.Duration) float64 { return float64(d) / 1e6 }

// Figures are the numbers a run prints; for several rounds, the medians of
// the rounds' figures, with the lowest and highest of the throughputs.
type Figures struct {
	Rounds   int `json:"rounds"`   // how many rounds the figures sum up
	Messages int `json:"messages"` // messages posted in each round
	Errors   int `json:"errors"`   // posts that failed or got no 200, over all rounds
	// WebhookRPS is the webhook requests answered per second; AckP50 and
	// AckP99 are the percentiles of their answer time, in milliseconds.
	WebhookRPS float64 `json:"webhook_rps"`
	AckP50     float64 `json:"ack_p50_ms"`
	AckP99     float64 `json:"ack_p99_ms"`
	// Replies is how many replies reached the fake Graph API (e2e), the
	// last ReplySeconds after the first post; RepliesPerSec is their rate.
	// GraphCalls counts the fake Graph API's calls, read receipts included.
	Replies       int     `json:"replies,omitempty"`
	ReplySeconds  float64 `json:"reply_seconds,omitempty"`
	RepliesPerSec float64 `json:"replies_per_second,omitempty"`
	GraphCalls    int64   `json:"graph_calls,omitempty"`
	// InboundToSendP50 and InboundToSendP99 are the percentiles, in
	// milliseconds, of the time from a message's post to its reply at the
	// fake Graph API (e2e).
	InboundToSendP50 float64 `json:"inbound_to_send_p50_ms,omitempty"`
	InboundToSendP99 float64 `json:"inbound_to_send_p99_ms,omitempty"`
	// Baseline says the bare Gin handler was measured too: its requests
	// per second, and the percentiles of its answer time in milliseconds.
	Baseline    bool    `json:"baseline"`
	BaselineRPS float64 `json:"baseline_rps,omitempty"`
	BaselineP50 float64 `json:"baseline_p50_ms,omitempty"`
	BaselineP99 float64 `json:"baseline_p99_ms,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`       // webhook req/s ÷ bare Gin req/s
	PeakRSSMB   float64 `json:"peak_rss_mb,omitempty"` // the process's peak resident set, in MB; 0 where unknown
	CoresBusy   float64 `json:"cores_busy,omitempty"`  // cores busy on average during the run
	// Lowest and Highest are the rounds' lowest and highest webhook req/s,
	// replies/s, bare Gin req/s and ratio, in that order.
	Lowest  *[4]float64 `json:"lowest,omitempty"`
	Highest *[4]float64 `json:"highest,omitempty"`
}

// figures are the figures of one round.
func (r result) figures() Figures {
	f := Figures{Rounds: 1, Messages: r.n, Errors: r.errors, WebhookRPS: r.rps(),
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

// Median sums up rounds: the median of each figure, with the lowest and
// highest throughputs; errors added up, the highest peak RSS.
func Median(rounds []Figures) Figures {
	m := rounds[0]
	m.Rounds = len(rounds)
	v := make([]float64, len(rounds))
	for _, field := range []func(f *Figures) *float64{
		func(f *Figures) *float64 { return &f.WebhookRPS },
		func(f *Figures) *float64 { return &f.AckP50 },
		func(f *Figures) *float64 { return &f.AckP99 },
		func(f *Figures) *float64 { return &f.ReplySeconds },
		func(f *Figures) *float64 { return &f.RepliesPerSec },
		func(f *Figures) *float64 { return &f.InboundToSendP50 },
		func(f *Figures) *float64 { return &f.InboundToSendP99 },
		func(f *Figures) *float64 { return &f.BaselineRPS },
		func(f *Figures) *float64 { return &f.BaselineP50 },
		func(f *Figures) *float64 { return &f.BaselineP99 },
		func(f *Figures) *float64 { return &f.Ratio },
		func(f *Figures) *float64 { return &f.CoresBusy },
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

// PrintRound prints the line of round i of n, measured with o.
func (f Figures) PrintRound(w io.Writer, o Options, i, n int) {
	fmt.Fprintf(w, "round %d/%d: webhook %.0f req/s", i, n, f.WebhookRPS)
	if o.Mode == "e2e" {
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

// Print prints the figures of a run, or the medians of rounds, measured
// with o: a line saying what was measured, then a line per figure.
func (f Figures) Print(w io.Writer, o Options) {
	spread := func(k int, format string) string {
		if f.Lowest == nil || f.Highest == nil {
			return ""
		}
		return " (" + fmt.Sprintf(format, f.Lowest[k]) + "–" + fmt.Sprintf(format, f.Highest[k]) + ")"
	}
	fmt.Fprintf(w, "mode %s: %d messages, %d connections", o.Mode, f.Messages, o.Conns)
	if o.Mode == "e2e" {
		fmt.Fprintf(w, ", %d customers, %d Graph API calls at once", o.Senders, o.SendConcurrency)
	}
	if o.Rate > 0 {
		fmt.Fprintf(w, ", offered %.0f msg/s", o.Rate)
	}
	if f.Rounds > 1 {
		fmt.Fprintf(w, "; medians of %d rounds (lowest–highest)", f.Rounds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "webhook:   %.0f req/s%s, ack p50 %.2f ms, p99 %.2f ms, errors %d\n", f.WebhookRPS, spread(0, "%.0f"), f.AckP50, f.AckP99, f.Errors)
	if o.Mode == "e2e" {
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
		if o.Mode == "e2e" {
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
