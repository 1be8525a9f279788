// Package bench measures balas on one machine, behind balas bench: at
// intake (verify, store, 200) and end to end (a customer's message through
// the pipeline to the reply at the Graph API), and a bare Gin handler that
// answers 200 without reading the body as the baseline of what the machine
// and HTTP allow.
//
// It owns the harness: a load generator that stands in for Meta's webhook
// deliveries, posting signed bodies over keep-alive connections; a fake
// Graph API that stands in for Meta's servers and times each reply from
// the post of its message; and the figures of a run (throughput, latency
// percentiles, peak RSS, busy cores), their medians over rounds, and their
// printing. The system under test is the caller's: [Run] starts it through
// a [Start] function, so this package does not know how balas is wired.
package bench
