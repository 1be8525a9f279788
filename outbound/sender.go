package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/balas-bot/balas/rules"
	"github.com/balas-bot/balas/store"
)

// Transport sends one request body for a business phone number and returns
// Meta's message id ("" for read receipts). *Client implements it; so does
// NewDryRun.
type Transport interface {
	Send(ctx context.Context, phoneNumberID string, body []byte) (string, error)
}

// AuthErrorHint is logged (at ERROR) whenever Meta rejects the access token.
const AuthErrorHint = "the access token is invalid or expired; set a new BALAS_ACCESS_TOKEN"

// SenderOptions tune NewSender. A zero field takes its default; a negative
// Rate or PairInterval switches that limit off.
type SenderOptions struct {
	// Rate is the global send rate per business phone number in messages
	// per second (default 80, Meta's standard throughput), a read receipt
	// counting as one; negative = unlimited.
	Rate float64
	// PairBurst is how many messages one customer may get at once before
	// pacing starts (default 20).
	PairBurst int
	// PairInterval is the pace per customer after the burst (default 6 s,
	// Meta's pair rate); negative disables pair pacing.
	PairInterval time.Duration
	// Workers caps concurrent Graph API calls, over all numbers (default
	// 64). Each call in flight holds a connection, so the rate the sender
	// can reach is Workers calls per Graph answer time: 64 calls answered in
	// 200 ms each are 320 calls/s, 160 answered messages/s with their read
	// receipts.
	Workers int
	// BaseBackoff and MaxBackoff bound the exponential retry delay
	// (defaults 1 s and 5 min).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// PairBackoffUnit scales the 4^X delay after a 131056 pair-rate error
	// (default 1 s: 1 s, 4 s, 16 s, …, capped at MaxBackoff).
	PairBackoffUnit time.Duration
	// MaxAttempts is how often a row is tried before it fails (default 12).
	MaxAttempts int
	// Window is the customer service window (default 24 h): a free-form
	// reply whose customer wrote last longer ago fails without a request.
	Window time.Duration
	// SendTimeout bounds each Graph call (default 30 s); a transport with a
	// shorter bound of its own keeps that one (the Client's default
	// HTTPTransport ends a call after its CallTimeout, 10 s). Calls are
	// detached from Run's context so that a send in flight at shutdown
	// finishes and its outcome is recorded.
	SendTimeout time.Duration
	// PollInterval re-reads the outbox table now and then (default 5 s;
	// negative disables). New rows normally reach the sender straight from
	// the store's commit (DB.OnQueued); the poll is a safety net.
	PollInterval time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives balas_outbound_errors_total, balas_outbox_pending,
	// balas_send_duration_seconds, balas_send_in_flight,
	// balas_send_concurrency and (unless Messages is set)
	// balas_messages_total. Nil: no registration.
	Registerer prometheus.Registerer
	// Messages, when set, is the balas_messages_total{direction,type}
	// counter to increment for every message Meta accepted.
	Messages *prometheus.CounterVec
}

func (o *SenderOptions) defaults() {
	if o.Rate == 0 {
		o.Rate = 80
	}
	if o.PairBurst <= 0 {
		o.PairBurst = 20
	}
	if o.PairInterval == 0 {
		o.PairInterval = 6 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.BaseBackoff {
		o.MaxBackoff = o.BaseBackoff
	}
	if o.PairBackoffUnit <= 0 {
		o.PairBackoffUnit = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.Window <= 0 {
		o.Window = 24 * time.Hour
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Outbox is the durable outbox a Sender drains; *store.DB is the one balas
// uses.
type Outbox interface {
	// OnQueued registers fn to be told of the items each commit queued,
	// right after the commit and in commit order.
	OnQueued(fn func([]store.OutboxItem))
	// HandedOver is the highest row id whose commit OnQueued's fn was told
	// of; a reader of the table leaves the rows above it to the commit.
	HandedOver() int64
	// PendingOutbox lists pending rows with id > afterID in id order.
	PendingOutbox(ctx context.Context, afterID int64, limit int) ([]store.OutboxItem, error)
	// CompleteOutbox records the outcome of a send attempt.
	CompleteOutbox(ctx context.Context, r store.OutboxResult) error
	// OutboxPending is the number of pending rows (a metric).
	OutboxPending(ctx context.Context) (int64, error)
	// LastInbound is when the customer of a conversation last wrote
	// (zero: unknown): the customer service window runs from then.
	LastInbound(ctx context.Context, conversationID int64) (time.Time, error)
}

var _ Outbox = (*store.DB)(nil)

// Sender drains the outbox: rows of one conversation strictly in id order
// (the next waits until the previous is sent or has failed for good),
// different conversations in parallel.
type Sender struct {
	db     Outbox
	t      Transport
	o      SenderOptions
	bodies sync.Pool // *[]byte: request bodies' arrays (reuseBody)
	// keepBodies: the transport is done with a body when Send returns.
	keepBodies bool
	log        *slog.Logger
	m          *metrics

	wake chan struct{}
	sem  chan struct{}

	inMu     sync.Mutex
	incoming []store.OutboxItem // committed, not yet taken by Run
	stopped  bool               // Run has returned: commits are no longer collected

	// pending reads the outbox table (DB.PendingOutbox; tests fail it).
	pending func(ctx context.Context, afterID int64, limit int) ([]store.OutboxItem, error)

	mu     sync.Mutex
	phones map[string]*phoneLimiter
	pairs  map[string]*rate.Limiter
}

// NewSender makes a Sender and registers it with db (OnQueued) to hear of
// every outbox item as it commits; call Run to start sending.
func NewSender(db Outbox, t Transport, opts SenderOptions) *Sender {
	opts.defaults()
	s := &Sender{
		db:     db,
		t:      t,
		o:      opts,
		log:    opts.Logger,
		wake:   make(chan struct{}, 1),
		sem:    make(chan struct{}, opts.Workers),
		phones: map[string]*phoneLimiter{},
		pairs:  map[string]*rate.Limiter{},
	}
	s.m = newMetrics(opts.Registerer, opts.Messages, db, s.sem)
	if d, ok := t.(interface{ doneWithBody() bool }); ok {
		s.keepBodies = d.doneWithBody()
	}
	if db != nil {
		s.pending = db.PendingOutbox
		db.OnQueued(s.queued)
	}
	return s
}

// queued takes the items a commit queued (called on the store's writer
// goroutine: it only appends and wakes Run).
func (s *Sender) queued(items []store.OutboxItem) {
	s.inMu.Lock()
	if s.stopped {
		// Nobody would take them: the rows are in the table for the next
		// Run, and each reply records the receipt to send before it.
		s.inMu.Unlock()
		return
	}
	s.incoming = append(s.incoming, items...)
	s.inMu.Unlock()
	s.Wake()
}

// takeIncoming moves the items committed since the last call into buf,
// emptied first, and returns it.
func (s *Sender) takeIncoming(buf []store.OutboxItem) []store.OutboxItem {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	buf = append(buf[:0], s.incoming...)
	clear(s.incoming)
	s.incoming = s.incoming[:0]
	return buf
}

// Wake tells Run to look for new items. It never blocks; calls coalesce.
// Items committed through the store arrive on their own (see NewSender).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type outcome int

const (
	outDone  outcome = iota // sent or failed for good: next row of the conversation
	outRetry                // still pending, try again at next
	outAbort                // shutting down before sending: nothing recorded
)

// chain is what became of a task's items: the first done were sent or
// failed for good; the next one, if out is not outDone, is to be retried
// (attempts, next) or was not tried because Run is shutting down.
type chain struct {
	conv       int64
	done       int
	out        outcome
	attempts   int
	next       time.Time
	pairErrors int // the conversation's count of 131056 answers after these
}

// result is the outcome of one attempt.
type result struct {
	conv     int64
	out      outcome
	sent     bool // Meta accepted the item
	receipt  bool // the receipt handed to attempt was tried before the item
	pair     bool // Meta answered 131056, the customer's pair rate limit
	attempts int
	next     time.Time
}

// conv is a conversation's items in Run: those queued, the one in flight.
type conv struct {
	id         int64
	queue      []store.OutboxItem // waiting items are queue[head:], in order
	head       int
	busy       bool // head is in flight or waiting for its timer
	touched    bool // in Run's touched: items were queued, not yet dispatched
	timer      *time.Timer
	pairErrors int // consecutive 131056 answers for this customer
}

func (c *conv) empty() bool { return c.head == len(c.queue) }

// front is the item to send next; the queue must not be empty.
func (c *conv) front() *store.OutboxItem { return &c.queue[c.head] }

// pop drops the front item. An emptied queue starts again at the front of
// its array, which is kept; a long one is compacted once half of it is
// done, so that a conversation that never drains cannot grow it forever.
func (c *conv) pop() {
	c.queue[c.head] = store.OutboxItem{}
	c.head++
	switch {
	case c.head == len(c.queue):
		c.queue, c.head = c.queue[:0], 0
	case c.head >= 32 && c.head >= len(c.queue)/2:
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue, c.head = c.queue[:n], 0
	}
}

// loadBatch is how many rows one read of the outbox table asks for at most.
const loadBatch = 1000

// receiptOf reports whether it is the read receipt (or typing indicator)
// queued for reply, the message after it: both answer the same customer
// message. Only a receipt that is not stored (ID 0) qualifies: one is tried
// once and has no outcome to record; a stored one, which a database from an
// older balas may hold, is sent on its own.
func receiptOf(it, reply store.OutboxItem) bool {
	return it.ID == 0 && (it.Kind == store.OutboxRead || it.Kind == store.OutboxTyping) && reply.Kind == store.OutboxMessage &&
		it.ContextWamid != "" && it.ContextWamid == reply.ContextWamid
}

// maxHeld bounds the stored rows Run holds in memory (receipts, which are
// not stored, are not counted). A larger backlog (balas stopped for long,
// the Graph API down) is left in the table and read once half of the rows
// held are sent: each conversation due at once has a goroutine, so 100,000
// rows read at once took about 1 GB.
const maxHeld = 2048

// maxChain bounds how many due items of a conversation one task tries.
const maxChain = 8

// maxSpareConvs bounds the idle conversation records Run keeps for reuse.
const maxSpareConvs = 256

// executorIdle is how long a goroutine that sent something waits for the
// next attempt before it exits.
const executorIdle = 5 * time.Second

// Run sends pending rows until ctx ends: every pending row at start (a
// restart resumes where the last run stopped), then each item as its
// commit hands it over (see NewSender), and the rows the poll finds. It
// holds at most maxHeld stored rows in memory: a larger backlog is read
// from the table as the rows held are sent. A read receipt goes out in its
// reply's turn (see attempt). It returns after the sends in flight have
// finished and been recorded. A failed read of the table at start is
// logged and tried again; a later one is tried again at the next poll.
// Once Run has returned, commits are no longer collected in memory: the
// next Run finds their rows in the table. Run must not be called twice at
// the same time.
func (s *Sender) Run(ctx context.Context) error {
	s.inMu.Lock()
	s.stopped = false
	s.inMu.Unlock()
	convs := map[int64]*conv{}
	// spare are conversations whose queue emptied, kept for the next ones:
	// nearly every message makes a conversation busy and idle again.
	var spare []*conv
	detached := context.WithoutCancel(ctx) // for sends and their outcomes (see attempt)
	results := make(chan chain, s.o.Workers)
	ready := make(chan int64, 64)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lastID int64
	// held counts the stored rows in convs. behind is true while the
	// table holds pending rows handed over but not read yet, because held
	// reached maxHeld: rows committed meanwhile are then left to the table
	// too (skipped is the highest such id), behind those older rows.
	var held int
	var behind bool
	var skipped int64
	// Rows up to startThrough are the last run's (or were committed
	// before Run): their receipts may not have been sent.
	startThrough := s.db.HandedOver()

	// Each conversation's attempts run on a goroutine of their own, so
	// that one waiting for its number's rate limit or for a slow answer
	// never holds up another conversation. A task is the conversation's
	// items that are due, in order (usually a read receipt and the reply
	// after it): they are tried one after the other, a receipt together
	// with its reply, stopping at the first that is not done, and Run hears
	// once. A goroutine that finished a task stays a while for the next
	// instead of exiting: a new goroutine's stack grows, by copying, to what
	// a send needs, and that cost as much as building the body.
	type task struct {
		items      []store.OutboxItem // a view of the queue; Run does not touch it until the result
		pairErrors int
	}
	tasks := make(chan task) // unbuffered: taken only by an idle executor
	run := func(t task) {
		r := chain{conv: t.items[0].ConversationID, out: outDone, pairErrors: t.pairErrors}
		for i := 0; i < len(t.items); i++ {
			it := t.items[i]
			var receipt *store.OutboxItem
			if i+1 < len(t.items) && receiptOf(it, t.items[i+1]) {
				// The receipt goes out in its reply's turn (see attempt).
				receipt, it = &t.items[i], t.items[i+1]
				i++
			}
			a := s.attempt(ctx, detached, it, receipt, r.pairErrors)
			if receipt != nil {
				if !a.receipt && a.out == outDone {
					// The reply ended without a call: the receipt goes alone.
					if s.attempt(ctx, detached, *receipt, nil, 0).out == outAbort {
						r.out = outAbort
						break
					}
					a.receipt = true
				}
				if a.receipt {
					r.done++
				}
			}
			if a.out != outDone {
				r.out, r.attempts, r.next = a.out, a.attempts, a.next
				if a.out == outRetry {
					if a.pair {
						r.pairErrors++
					} else {
						r.pairErrors = 0
					}
				}
				break
			}
			r.done++
			if a.sent {
				r.pairErrors = 0
			}
		}
		select {
		case results <- r:
		case <-stop:
		}
	}
	executor := func(t task) {
		defer wg.Done()
		run(t)
		idle := time.NewTimer(executorIdle)
		defer idle.Stop()
		for {
			select {
			case t := <-tasks:
				run(t)
				idle.Reset(executorIdle)
			case <-idle.C:
				return
			case <-stop:
				return
			}
		}
	}

	dispatch := func(c *conv) {
		if c.busy || c.empty() {
			return
		}
		c.busy = true
		if wait := c.front().NextAttemptAt.Sub(s.o.Now()); wait > 0 {
			id := c.id
			c.timer = time.AfterFunc(wait, func() {
				select {
				case ready <- id:
				case <-stop:
				}
			})
			return
		}
		n, now := 1, s.o.Now() // the head is due; the task takes the due items after it too
		for n < maxChain && c.head+n < len(c.queue) && !c.queue[c.head+n].NextAttemptAt.After(now) {
			n++
		}
		t := task{c.queue[c.head : c.head+n], c.pairErrors}
		select {
		case tasks <- t: // an idle executor takes it
		default:
			wg.Add(1)
			go executor(t)
		}
	}

	// touched are the conversations add queued items for since the last
	// flush, which dispatches them: a commit's items are all queued before
	// any is tried, so that a read receipt and the reply after it go to
	// one task (and out in the reply's turn, see attempt).
	var touched []*conv
	flush := func() {
		for i, c := range touched {
			c.touched = false
			touched[i] = nil
			dispatch(c)
		}
		touched = touched[:0]
	}
	// add queues an item behind its conversation's earlier ones; flush
	// dispatches it. Stored rows come both from the table (at start, the
	// poll and after falling behind) and from commits; ids only grow, so a
	// row at or below lastID was seen already. Receipts (ID 0) are not in
	// the table: they come with their commit, or load makes them again.
	add := func(it store.OutboxItem) {
		if it.ID != 0 {
			if it.ID <= lastID {
				return
			}
			lastID = it.ID
		}
		c := convs[it.ConversationID]
		if c == nil {
			if n := len(spare); n > 0 {
				c, spare = spare[n-1], spare[:n-1]
				c.id = it.ConversationID
			} else {
				c = &conv{id: it.ConversationID}
			}
			convs[c.id] = c
		}
		c.queue = append(c.queue, it)
		if it.ID != 0 {
			held++
		}
		if !c.touched {
			c.touched = true
			touched = append(touched, c)
		}
	}
	// A reply of the last run (up to startThrough) never tried yet gets the
	// receipt queued before it again: receipts are not stored, and the last
	// run may have stopped before sending it. resent keeps those receipts
	// so that a copy still waiting in the first commits handed over is not
	// sent twice.
	type receiptKey struct {
		conv  int64
		wamid string
	}
	var resent map[receiptKey]bool
	// load adds the pending rows with ids up to through from the table and
	// dispatches them. It stops once maxHeld are held, and sets behind: the
	// rest is read by a later load, once the rows held are sent.
	load := func(through int64) error {
		defer flush()
		for {
			if held >= maxHeld {
				behind = true
				return nil
			}
			limit := min(loadBatch, maxHeld-held)
			items, err := s.pending(ctx, lastID, limit)
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.ID > through {
					behind = false
					return nil
				}
				start := it.ID <= startThrough
				if start && authCode(it.ErrorCode) && it.NextAttemptAt.After(s.o.Now()) {
					// Held back by a refused token: this start may
					// well have the new one, so try it now.
					it.NextAttemptAt = s.o.Now()
				}
				if start && it.Receipt != "" && it.Attempts == 0 && it.ID > lastID {
					if resent == nil {
						resent = map[receiptKey]bool{}
					}
					resent[receiptKey{it.ConversationID, it.ContextWamid}] = true
					add(store.OutboxItem{ConversationID: it.ConversationID, PhoneNumberID: it.PhoneNumberID,
						ToNumber: it.ToNumber, ToUserID: it.ToUserID, Kind: it.Receipt, ContextWamid: it.ContextWamid,
						WindowStart: it.WindowStart})
				}
				add(it)
			}
			if len(items) < limit {
				behind = false
				return nil
			}
		}
	}
	var batch []store.OutboxItem
	takeIncoming := func() {
		batch = s.takeIncoming(batch)
		for _, it := range batch {
			if it.ID == 0 && resent[receiptKey{it.ConversationID, it.ContextWamid}] {
				continue // sent again from the table already
			}
			if it.ID != 0 && behind {
				skipped = max(skipped, it.ID) // read from the table after the older rows
				continue
			}
			add(it)
		}
		flush()
		clear(batch)
		resent = nil
	}

	shutdown := func() {
		for _, c := range convs {
			if c.timer != nil {
				c.timer.Stop()
			}
		}
		close(stop)
		wg.Wait()
	}

	defer func() {
		s.inMu.Lock()
		s.stopped = true
		clear(s.incoming)
		s.incoming = nil
		s.inMu.Unlock()
	}()
	// Nothing is sent before the table was read once: it holds what the
	// last run left, and what was committed before NewSender. Only rows
	// handed over by now are read, as in the poll: a newer one comes
	// through incoming, behind the receipt queued with it. A failed read is
	// tried again (commits collect in incoming meanwhile): a sender that
	// gave up would leave every reply unsent until the next restart.
	for wait := s.o.BaseBackoff; ; wait = min(2*wait, s.o.MaxBackoff) {
		err := load(startThrough)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			shutdown()
			return nil
		}
		s.log.Error("outbox: cannot read pending rows; nothing is sent until it can", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			shutdown()
			return nil
		case <-time.After(wait):
		}
	}
	takeIncoming()
	// refill reads the rows handed over by now, and only after taking
	// what was handed over: a row committed a moment ago would otherwise
	// be added before the read receipt queued with it, which is still on
	// its way, and the customer would see the typing indicator after the
	// answer. Rows skipped while behind had their receipts taken with them.
	refill := func() error {
		through := s.db.HandedOver()
		takeIncoming()
		return load(max(through, skipped))
	}
	var poll <-chan time.Time
	if s.o.PollInterval > 0 {
		tk := time.NewTicker(s.o.PollInterval)
		defer tk.Stop()
		poll = tk.C
	}
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()

	refillFailed := false // until the next poll
	for {
		if behind && held < maxHeld/2 && !refillFailed {
			if err := refill(); err != nil && ctx.Err() == nil {
				s.log.Error("outbox: cannot read pending rows", "err", err)
				refillFailed = true
			}
		}
		select {
		case <-ctx.Done():
			shutdown()
			return nil
		case <-s.wake:
			takeIncoming()
		case <-poll:
			// The safety net (see PollInterval), which also tries again a
			// refill that failed while behind.
			refillFailed = false
			if err := refill(); err != nil && ctx.Err() == nil {
				s.log.Error("outbox: cannot read pending rows", "err", err)
			}
		case id := <-ready:
			if c := convs[id]; c != nil {
				c.busy, c.timer = false, nil
				dispatch(c)
			}
		case r := <-results:
			c := convs[r.conv]
			if c == nil {
				continue
			}
			c.busy = false
			for range r.done {
				if c.front().ID != 0 {
					held--
				}
				c.pop()
			}
			c.pairErrors = r.pairErrors
			switch r.out {
			case outRetry:
				c.front().Attempts = r.attempts
				c.front().NextAttemptAt = r.next
			case outAbort:
				continue // only while shutting down
			}
			if c.empty() {
				delete(convs, c.id)
				if len(spare) < maxSpareConvs && cap(c.queue) <= 16 {
					*c = conv{queue: c.queue[:0]}
					spare = append(spare, c)
				}
				continue
			}
			dispatch(c)
		case <-prune.C:
			s.prunePairs()
		}
	}
}

// bodyBuffer is an empty buffer to build a request body in: one kept by
// reuseBody, or a new one of the usual size.
func (s *Sender) bodyBuffer() []byte {
	if b, ok := s.bodies.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 512)
}

// reuseBody keeps body's array for the next one, when the transport is done
// with bodies once Send returns (balas's own HTTPTransport writes a body out
// before it reads the answer) and the array is of a usual size.
func (s *Sender) reuseBody(body []byte) {
	if !s.keepBodies || cap(body) > 16<<10 {
		return
	}
	body = body[:0]
	s.bodies.Put(&body)
}

// sendContext is the context of one Graph call: detached, which Run made
// once (context.WithoutCancel: a send under way finishes even while
// shutting down), bounded by SendTimeout.
// A transport that enforces the deadline itself (balas's own HTTPTransport
// sets it on the connection) gets just the deadline, without the timer and
// the cancellation hook context.WithTimeout would cost on every call.
func (s *Sender) sendContext(detached context.Context) (context.Context, context.CancelFunc) {
	if b, ok := s.t.(interface{ boundsCalls() bool }); ok && b.boundsCalls() {
		return deadlineOnly{detached, time.Now().Add(s.o.SendTimeout)}, func() {}
	}
	return context.WithTimeout(detached, s.o.SendTimeout)
}

// deadlineOnly carries a deadline and is never cancelled: its Done is nil
// and its Err stays nil after the deadline. Only for transports that bound
// each call by the deadline themselves.
type deadlineOnly struct {
	context.Context // never cancelled (context.WithoutCancel)
	deadline        time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.deadline, true }

// attempt tries the head row of a conversation once and records the outcome.
// ctx ends the waits before a send; detached is ctx without its
// cancellation, for the send and for recording its outcome.
//
// receipt, when not nil, is the read receipt (or typing indicator) queued
// just before it, the reply: it goes out in the reply's turn, right before
// the reply and in the same worker slot, taking a turn of the number's
// rate just before the reply's. Sent on its own, each receipt of a burst
// would take a turn and a slot ahead of every reply of the burst.
// When the reply ends before its turn (it cannot be sent: the result is
// outDone), the result's receipt is false and the caller sends the
// receipt on its own; when Run shuts down first, neither is sent.
func (s *Sender) attempt(ctx, detached context.Context, it store.OutboxItem, receipt *store.OutboxItem, pairErrors int) result {
	res := result{conv: it.ConversationID, out: outDone}
	// The item's logger is built only when something is logged: a send
	// that goes well logs nothing here.
	log := s.itemLog(it)
	label := it.Kind
	body := s.bodyBuffer()
	var buildErr error
	switch it.Kind {
	case store.OutboxRead, store.OutboxTyping:
		body = appendRead(body, it.ContextWamid, it.Kind == store.OutboxTyping)
	default:
		var r rules.Reply
		if it.Decoded != nil {
			r = *it.Decoded
		} else if err := json.Unmarshal(it.Reply, &r); err != nil {
			buildErr = &BuildError{Reason: "stored reply is not valid JSON: " + err.Error()}
			break
		}
		label = r.Kind
		if r.Kind != "template" && !it.WindowStart.IsZero() {
			if ago := s.sinceCustomerWrote(detached, log, &it); ago > s.o.Window {
				reason := fmt.Sprintf("customer service window closed (last customer message %s ago); Meta would answer 131047",
					ago.Round(time.Second))
				log().Warn("outbox: reply not sent", "reason", reason)
				s.record(detached, log, it, store.OutboxResult{ID: it.ID, State: store.OutboxStateFailed, Attempts: it.Attempts,
					ErrorCode: "131047", LastError: reason})
				return res
			}
		}
		body, buildErr = appendMessage(body, Recipient{Number: it.ToNumber, UserID: it.ToUserID}, r, it.ContextWamid)
	}
	if it.Kind == store.OutboxTyping && !it.WindowStart.IsZero() && s.sinceCustomerWrote(detached, log, &it) > s.o.Window {
		// "typing…" for a reply that cannot be sent would mislead the customer.
		s.record(detached, log, it, store.OutboxResult{ID: it.ID, State: store.OutboxStateFailed, Attempts: it.Attempts,
			ErrorCode: "131047", LastError: "customer service window closed; typing indicator not sent"})
		return res
	}
	if buildErr != nil {
		log().Error("outbox: reply cannot be sent", "err", buildErr)
		s.record(detached, log, it, store.OutboxResult{ID: it.ID, State: store.OutboxStateFailed, Attempts: it.Attempts,
			ErrorCode: ErrorCode(buildErr), LastError: buildErr.Error()})
		return res
	}

	// Pacing: the customer's pair limit, then the number's throughput, then a worker.
	abort := result{conv: it.ConversationID, out: outAbort}
	if it.Kind == store.OutboxMessage {
		if lim := s.pairLimiter(it); lim != nil {
			if err := lim.Wait(ctx); err != nil {
				return abort
			}
		}
	}
	phone := s.phone(it.PhoneNumberID)
	turns := 1
	if receipt != nil {
		turns = 2 // the receipt's turn, then the reply's
	}
	if err := waitTurns(ctx, phone.lim, turns); err != nil {
		return abort
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return abort
	}
	if ctx.Err() != nil {
		<-s.sem
		return abort
	}
	if receipt != nil {
		rbody := appendRead(s.bodyBuffer(), receipt.ContextWamid, receipt.Kind == store.OutboxTyping)
		_, err := s.call(detached, receipt.PhoneNumberID, receipt.Kind, rbody)
		s.outcome(detached, s.itemLog(*receipt), *receipt, receipt.Kind, phone, "", err, 0)
		res.receipt, abort.receipt = true, true
		if ctx.Err() != nil {
			// Shutting down: the reply is left for the next start, which
			// sends its receipt again first.
			<-s.sem
			s.reuseBody(body)
			return abort
		}
	}
	wamid, err := s.call(detached, it.PhoneNumberID, label, body)
	<-s.sem
	out := s.outcome(detached, log, it, label, phone, wamid, err, pairErrors)
	out.receipt = res.receipt
	return out
}

// waitTurns waits for n turns of lim taken in a row. Waiting for each in
// turn would let every other waiting sender take a turn in between: a
// receipt and its reply would be a whole queue of turns apart.
func waitTurns(ctx context.Context, lim *rate.Limiter, n int) error {
	if n == 1 {
		return lim.Wait(ctx)
	}
	rs := make([]*rate.Reservation, n)
	now := time.Now()
	for i := range rs {
		rs[i] = lim.ReserveN(now, 1)
	}
	cancel := func() {
		for i := len(rs) - 1; i >= 0; i-- {
			rs[i].Cancel()
		}
	}
	d := rs[n-1].DelayFrom(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		cancel()
		return ctx.Err()
	}
}

// itemLog is the logger of an outbox item, built only when something is
// logged.
func (s *Sender) itemLog(it store.OutboxItem) func() *slog.Logger {
	return func() *slog.Logger {
		return s.log.With("outbox_id", it.ID, "conversation_id", it.ConversationID, "kind", it.Kind, "wamid", it.ContextWamid)
	}
}

// call makes one Graph call with body, in a worker slot the caller holds,
// and times it under label. body goes back for reuse (reuseBody): the
// caller must not touch it afterwards.
func (s *Sender) call(detached context.Context, phoneNumberID, label string, body []byte) (string, error) {
	sendCtx, cancel := s.sendContext(detached)
	start := time.Now()
	wamid, err := s.t.Send(sendCtx, phoneNumberID, body)
	s.m.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	cancel()
	s.reuseBody(body)
	return wamid, err
}

// outcome records what became of a call for it (wamid and err are its
// answer; label its kind in metrics) and says what to do next.
func (s *Sender) outcome(detached context.Context, log func() *slog.Logger, it store.OutboxItem, label string, phone *phoneLimiter,
	wamid string, err error, pairErrors int) result {
	res := result{conv: it.ConversationID, out: outDone}
	attempts := it.Attempts + 1
	if err == nil {
		phone.success()
		s.m.messages.WithLabelValues("out", label).Inc()
		if it.Kind != store.OutboxMessage {
			wamid = ""
		}
		s.record(detached, log, it, store.OutboxResult{ID: it.ID, State: store.OutboxStateSent, Wamid: wamid, Attempts: attempts})
		res.sent = true
		return res
	}
	code := ErrorCode(err)
	s.m.errors.WithLabelValues(code).Inc()
	class := Classify(err)
	itemLog := log
	log = func() *slog.Logger { return itemLog().With("attempt", attempts, "code", code, "err", err) }
	failed := store.OutboxResult{ID: it.ID, State: store.OutboxStateFailed, Attempts: attempts, ErrorCode: code, LastError: err.Error()}
	if class == Auth {
		// The token is the operator's to fix, not the message's: a reply
		// stays queued, retried with backoff however often it takes, until
		// a new BALAS_ACCESS_TOKEN (or Meta) lets it through or the
		// customer's 24 h window closes.
		log().Error("outbox: Graph API refused the access token: " + AuthErrorHint + "; replies stay queued and are tried again")
		if it.ID == 0 {
			return res // a receipt gets one try
		}
		next := s.o.Now().Add(s.backoff(attempts, err))
		s.record(detached, log, it, store.OutboxResult{ID: it.ID, State: store.OutboxStatePending, Attempts: attempts,
			NextAttemptAt: next, ErrorCode: code, LastError: AuthErrorHint + ": " + err.Error()})
		res.out, res.attempts, res.next = outRetry, attempts, next
		return res
	}
	if class == Permanent {
		log().Warn("outbox: send failed permanently")
		s.record(detached, log, it, failed)
		return res
	}
	if it.ID == 0 {
		// A receipt is worth one try: retrying it would hold up the reply
		// behind it, and a missing blue tick harms no one.
		if ge := (*Error)(nil); errors.As(err, &ge) && ge.IsMeta() && ge.Code == 130429 {
			phone.slowDown()
		}
		log().Warn("outbox: read receipt not sent; receipts are not retried", "class", class.String())
		return res
	}
	if attempts >= s.o.MaxAttempts {
		failed.LastError = fmt.Sprintf("gave up after %d attempts: %v", attempts, err)
		log().Error("outbox: send failed, giving up")
		s.record(detached, log, it, failed)
		return res
	}
	var delay time.Duration
	if class == PairLimit {
		delay = s.pairBackoff(pairErrors)
		res.pair = true
	} else {
		delay = s.backoff(attempts, err)
		var ge *Error
		if errors.As(err, &ge) && ge.IsMeta() && ge.Code == 130429 {
			phone.slowDown()
		}
	}
	next := s.o.Now().Add(delay)
	log().Info("outbox: send failed, will retry", "class", class.String(), "in", delay)
	s.record(detached, log, it, store.OutboxResult{ID: it.ID, State: store.OutboxStatePending, Attempts: attempts,
		NextAttemptAt: next, ErrorCode: code, LastError: err.Error()})
	res.out, res.attempts, res.next = outRetry, attempts, next
	return res
}

// sinceCustomerWrote is how long ago the customer last wrote, for the
// customer service window, which runs from their last message: the
// message it answers, or, when that is past the window, a later one the
// conversation has had since (the reply was held back, and the customer
// wrote again). A failed read keeps the item's own time.
func (s *Sender) sinceCustomerWrote(ctx context.Context, log func() *slog.Logger, it *store.OutboxItem) time.Duration {
	ago := s.o.Now().Sub(it.WindowStart)
	if ago <= s.o.Window || s.db == nil {
		return ago
	}
	last, err := s.db.LastInbound(ctx, it.ConversationID)
	if err != nil {
		log().Warn("outbox: cannot read when the customer last wrote; going by the message answered", "err", err)
		return ago
	}
	if last.After(it.WindowStart) {
		ago = s.o.Now().Sub(last)
	}
	return ago
}

// backoff is the delay before retry number attempts: exponential with equal
// jitter, capped at MaxBackoff, never shorter than Retry-After up to that
// cap (and about a minute for 131057, the maintenance mode of a throughput
// upgrade).
func (s *Sender) backoff(attempts int, err error) time.Duration {
	d := s.o.BaseBackoff
	for i := 1; i < attempts && d < s.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.o.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	var ge *Error
	if errors.As(err, &ge) {
		if ge.RetryAfter > d {
			d = min(ge.RetryAfter, max(s.o.MaxBackoff, d))
		}
		if ge.IsMeta() && ge.Code == 131057 {
			d = max(d, min(time.Minute, s.o.MaxBackoff))
		}
	}
	return d
}

// pairBackoff is 4^x × PairBackoffUnit (x = earlier consecutive 131056
// answers for this customer), capped at MaxBackoff.
func (s *Sender) pairBackoff(x int) time.Duration {
	f := math.Pow(4, float64(x)) * float64(s.o.PairBackoffUnit)
	if f >= float64(s.o.MaxBackoff) {
		return s.o.MaxBackoff
	}
	return time.Duration(f)
}

// record stores the outcome of a stored row. While the database takes no
// writes (a full disk, another process holding its write lock) it keeps
// trying, at most recordMaxWait apart, until the database takes it or is
// closed: a row left pending would be sent again at the next start, and
// the customer would get the reply twice. The conversation's next item
// waits meanwhile. Receipts that were never stored (ID 0) have nothing to
// record. detached is never cancelled: an outcome is recorded also while
// shutting down.
func (s *Sender) record(detached context.Context, log func() *slog.Logger, it store.OutboxItem, r store.OutboxResult) {
	if it.ID == 0 {
		return
	}
	r.Kind, r.MessageID = it.Kind, it.MessageID
	wait := min(50*time.Millisecond, s.o.BaseBackoff)
	maxWait := min(recordMaxWait, s.o.MaxBackoff)
	for i := 0; ; i++ {
		err := s.db.CompleteOutbox(detached, r)
		if err == nil {
			if i >= recordRetriesQuiet {
				log().Info("outbox: send outcome recorded after the database took writes again", "state", r.State, "tries", i+1)
			}
			return
		}
		if errors.Is(err, store.ErrClosed) {
			log().Error("outbox: cannot record the send outcome; the row stays pending and may be sent again after a restart",
				"state", r.State, "err", err)
			return
		}
		if i+1 == recordRetriesQuiet {
			log().Error("outbox: cannot record the send outcome; trying again until the database takes writes "+
				"(this conversation's next replies wait meanwhile)", "state", r.State, "err", err)
		}
		time.Sleep(wait)
		wait = min(2*wait, maxWait)
	}
}

// recordMaxWait is the longest record waits between two tries.
const recordMaxWait = 5 * time.Second

// recordRetriesQuiet is how many failed tries record makes before it logs:
// a database busy for a moment is no news.
const recordRetriesQuiet = 5

// phoneLimiter is the throughput limit of one business number. A 130429
// halves it; successes bring it back to the configured rate.
type phoneLimiter struct {
	lim    *rate.Limiter
	target rate.Limit
}

func (p *phoneLimiter) slowDown() {
	if p.target == rate.Inf {
		return
	}
	p.lim.SetLimit(max(p.lim.Limit()/2, 1))
}

func (p *phoneLimiter) success() {
	if p.target == rate.Inf {
		return
	}
	if cur := p.lim.Limit(); cur < p.target {
		p.lim.SetLimit(min(p.target, cur+p.target/50))
	}
}

func (s *Sender) phone(id string) *phoneLimiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phones[id]
	if p == nil {
		p = &phoneLimiter{target: rate.Inf}
		if s.o.Rate > 0 {
			p.target = rate.Limit(s.o.Rate)
		}
		// Burst 1: sends are spread evenly, never a burst above the rate.
		p.lim = rate.NewLimiter(p.target, 1)
		s.phones[id] = p
	}
	return p
}

func (s *Sender) pairLimiter(it store.OutboxItem) *rate.Limiter {
	if s.o.PairInterval < 0 {
		return nil
	}
	key := it.PhoneNumberID + "\x00" + it.ToNumber + "\x00" + it.ToUserID
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.pairs[key]
	if l == nil {
		l = rate.NewLimiter(rate.Every(s.o.PairInterval), s.o.PairBurst)
		s.pairs[key] = l
	}
	return l
}

// prunePairs forgets customers whose pair limiter is full again (a new one
// would behave the same).
func (s *Sender) prunePairs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.pairs {
		if l.Tokens() >= float64(s.o.PairBurst) {
			delete(s.pairs, k)
		}
	}
}
