package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/rules"
)

// The pipeline turns stored webhook deliveries into decisions and queued
// replies. It depends on these small interfaces, not on SQLite: the store
// package implements them.

// Store is where the pipeline keeps its durable state.
type Store interface {
	// Update runs fn in one durable transaction (with other jobs of the same
	// batch) and returns after the commit. When fn fails, its changes are
	// undone and the error is returned. fn may run more than once before
	// the commit: it must have no effects outside tx but its own results.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// PendingDeliveries lists deliveries stored but not yet handled, with ids
	// greater than after, oldest first.
	PendingDeliveries(ctx context.Context, after int64, limit int) ([]StoredDelivery, error)
}

// StoredDelivery is a raw webhook delivery kept in the store.
type StoredDelivery struct {
	ID   int64
	Body []byte
}

// Tx is one transaction of the pipeline.
type Tx interface {
	// Savepoint runs fn so that a failure undoes only fn's changes.
	Savepoint(fn func() error) error
	// InsertDelivery stores a raw webhook body, already marked handled when
	// processed is true (it is handled in the same transaction).
	InsertDelivery(body []byte, processed bool) (int64, error)
	// MarkProcessed records that a delivery was handled.
	MarkProcessed(id int64) error
	// MarkFailed records why handling a delivery failed.
	MarkFailed(id int64, reason string) error
	// Conversation returns the conversation of a customer with a business
	// number, creating it when new.
	Conversation(phoneNumberID, customer string) (StoredConversation, error)
	SaveConversation(c StoredConversation) error
	// InsertInbound stores a customer message once per DedupeKey; inserted is
	// false when a copy was already stored.
	InsertInbound(r InboundRecord) (inserted bool, err error)
	// InsertReply stores an outbound message and queues it in the outbox.
	InsertReply(r ReplyRecord) error
	// EnqueueReceipt queues a read receipt (or typing indicator). Receipts
	// are best effort: one not sent when the process stops is skipped,
	// unless a reply behind it records it (ReplyRecord.Receipt).
	EnqueueReceipt(r ReceiptRecord) error
	// RecordStatus stores a delivery status once per (wamid, status) and
	// applies it to the outbound message; inserted is false for a copy.
	RecordStatus(s StatusRecord) (inserted bool, err error)
	RecordEvent(e EventRecord) error
}

// StoredConversation is a conversation with its identity.
type StoredConversation struct {
	ID            int64
	PhoneNumberID string
	Customer      string // business-scoped user id, else phone number
	WaID, UserID  string
	Name          string
	Conversation
}

// InboundRecord is a customer message to store.
type InboundRecord struct {
	ConversationID, InboxID int64
	DedupeKey, Wamid        string
	Type, Text              string
	Rule, Outcome           string // Outcome: answered, unmatched, handoff
	Payload                 []byte // the message object as received
	Timestamp               time.Time
}

// Recipient names who a reply goes to.
type Recipient struct {
	PhoneNumberID string // the business number that received the message
	Number        string // customer's number (sent as "+" + Number)
	UserID        string // business-scoped user id, used when Number is empty
}

// ReplyRecord is one reply to store and queue.
type ReplyRecord struct {
	ConversationID int64
	To             Recipient
	Rule           string
	Reply          rules.Reply
	ContextWamid   string    // the customer's message (quote, react)
	WindowStart    time.Time // the customer's last message: Meta's 24 h window
	// Receipt is "read" or "typing" when that receipt for ContextWamid was
	// queued just before this reply: after a restart the receipt is sent
	// again before the reply, so an answered message is always marked read.
	Receipt string
}

// ReceiptRecord is a read receipt to queue.
type ReceiptRecord struct {
	ConversationID int64
	To             Recipient
	Wamid          string
	Typing         bool
	WindowStart    time.Time
}

// StatusRecord is a delivery status of an outbound message.
type StatusRecord struct {
	InboxID    int64
	Wamid      string
	Status     string
	Timestamp  time.Time
	Recipient  string
	ErrorCode  int
	ErrorTitle string
	Payload    []byte
}

// EventRecord is a webhook change that is not a message or status.
type EventRecord struct {
	InboxID int64
	EntryID string
	Field   string
	Payload []byte
}

// Observer is told what the pipeline did, after it is committed (metrics).
type Observer interface {
	Inbound(msgType string)
	Duplicate()
	RuleHit(rule string)
	Unmatched()
	Status(status string)
	Event(field string)
}

// PipelineOptions configure a Pipeline.
type PipelineOptions struct {
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger
	Observer Observer // may be nil
}

// Pipeline handles webhook deliveries: it stores each one, and in the same
// transaction handles every message in it exactly once (deduplicated by
// wamid), decides the answer with the current rules, updates the
// conversation and queues the replies. Deliveries are handled in the order
// they were stored, so a conversation's messages are decided in arrival
// order.
type Pipeline struct {
	store Store
	bot   atomic.Pointer[Bot]
	now   func() time.Time
	log   *slog.Logger
	obs   Observer
}

// NewPipeline returns a pipeline that answers with bot until SetBot.
func NewPipeline(store Store, bot *Bot, opts PipelineOptions) *Pipeline {
	p := &Pipeline{store: store, now: opts.Now, log: opts.Logger, obs: opts.Observer}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.obs == nil {
		p.obs = nopObserver{}
	}
	p.bot.Store(bot)
	return p
}

// SetBot swaps the rules in use; deliveries already being handled finish
// with the rules they started with.
func (p *Pipeline) SetBot(b *Bot) { p.bot.Store(b) }

// Bot is the rule set in use.
func (p *Pipeline) Bot() *Bot { return p.bot.Load() }

// ErrNotJSONObject is Accept's answer to a body that is not one JSON object:
// it is not stored (it cannot be from Meta; the webhook answers 400).
var ErrNotJSONObject = errors.New("body is not a JSON object")

// Accept durably stores a webhook body and handles it. A nil error means the
// delivery is committed: it survives a crash from that moment. The body is
// decoded before the store's single writer is asked for a transaction, so
// that the serial part of the work is only what must be. A body that is not
// a JSON object is refused with ErrNotJSONObject; one that is but cannot be
// decoded is stored raw, with the reason.
func (p *Pipeline) Accept(ctx context.Context, body []byte) error {
	var out outcome
	d, failure := decode(body)
	// Decoding validated the whole body; only a body it refused is checked
	// again (validating every body first cost as much as storing it).
	if failure != nil && !webhook.IsJSONObject(body) {
		return ErrNotJSONObject
	}
	var err error
	if failure == nil {
		err = p.store.Update(ctx, func(tx Tx) error {
			out = outcome{}
			id, err := tx.InsertDelivery(body, true)
			if err != nil {
				return err
			}
			if err := p.process(tx, id, d, &out); err != nil {
				failure = err
				return err // undo everything; the raw body is stored below
			}
			return nil
		})
	}
	if failure != nil {
		// Handling failed, so nothing of it was kept. The delivery is
		// still Meta's and must be kept: store it raw, with the reason.
		err = p.store.Update(ctx, func(tx Tx) error {
			out = outcome{}
			id, err := tx.InsertDelivery(body, false)
			if err != nil {
				return err
			}
			return p.failed(tx, id, failure, &out)
		})
	}
	if err != nil {
		return err
	}
	p.report(&out)
	return nil
}

// Recover handles every delivery that was stored but not handled (after a
// crash, or when handling failed). It returns how many it handled.
func (p *Pipeline) Recover(ctx context.Context) (int, error) {
	var after int64
	n := 0
	for {
		batch, err := p.store.PendingDeliveries(ctx, after, 256)
		if err != nil {
			return n, err
		}
		if len(batch) == 0 {
			return n, nil
		}
		for _, d := range batch {
			after = d.ID
			var out outcome
			err := p.store.Update(ctx, func(tx Tx) error {
				out = outcome{}
				return p.handle(tx, d.ID, d.Body, &out)
			})
			if err != nil {
				return n, fmt.Errorf("handle stored delivery %d: %w", d.ID, err)
			}
			p.report(&out)
			n++
		}
	}
}

// outcome collects what one delivery did, reported after its commit.
type outcome struct {
	inbound    []string
	duplicates int
	hits       []string
	unmatched  int
	statuses   []string
	events     []string
	logs       []func()
}

func (p *Pipeline) report(o *outcome) {
	for _, t := range o.inbound {
		p.obs.Inbound(t)
	}
	for i := 0; i < o.duplicates; i++ {
		p.obs.Duplicate()
	}
	for _, r := range o.hits {
		p.obs.RuleHit(r)
	}
	for i := 0; i < o.unmatched; i++ {
		p.obs.Unmatched()
	}
	for _, s := range o.statuses {
		p.obs.Status(s)
	}
	for _, e := range o.events {
		p.obs.Event(e)
	}
	for _, l := range o.logs {
		l()
	}
}

// errUndecodable marks a delivery that can never be handled; it is kept and
// marked processed with the reason.
var errUndecodable = errors.New("undecodable delivery")

// handle processes one stored, unhandled delivery inside tx.
func (p *Pipeline) handle(tx Tx, id int64, body []byte, out *outcome) error {
	d, err := decode(body)
	if err == nil {
		err = tx.Savepoint(func() error { return p.process(tx, id, d, out) })
	}
	if err != nil {
		return p.failed(tx, id, err, out)
	}
	return tx.MarkProcessed(id)
}

// decode decodes a webhook body; a body that cannot be decoded (or that
// makes the decoder panic) is errUndecodable.
func decode(body []byte) (d *webhook.Delivery, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("%w: decoder panicked: %v", errUndecodable, r)
		}
	}()
	d, err = webhook.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUndecodable, err)
	}
	return d, nil
}

// failed records why a stored delivery could not be handled. An
// undecodable one is final (kept, marked with the reason); any other
// failure leaves it pending, to be retried at the next start.
func (p *Pipeline) failed(tx Tx, id int64, err error, out *outcome) error {
	if errors.Is(err, errUndecodable) {
		*out = outcome{events: []string{"undecodable"}}
		out.logs = append(out.logs, func() {
			p.log.Warn("webhook delivery stored but not decodable", "delivery", id, "err", err)
		})
		if err := tx.RecordEvent(EventRecord{InboxID: id, Field: "undecodable", Payload: []byte(`{}`)}); err != nil {
			return err
		}
		if err := tx.MarkProcessed(id); err != nil {
			return err
		}
		return tx.MarkFailed(id, err.Error())
	}
	*out = outcome{}
	out.logs = append(out.logs, func() {
		p.log.Error("webhook delivery stored, handling failed; retried at next start", "delivery", id, "err", err)
	})
	return tx.MarkFailed(id, err.Error())
}

func (p *Pipeline) process(tx Tx, inboxID int64, d *webhook.Delivery, out *outcome) (err error) {
	defer func() {
		// A bug must not cost a delivery: a panic becomes a handling
		// failure, and the raw body is kept with the reason.
		if r := recover(); r != nil {
			err = fmt.Errorf("handling panicked: %v", r)
		}
	}()
	bot := p.bot.Load()
	now := p.now()
	for i := range d.Messages {
		if err := p.message(tx, bot, now, inboxID, &d.Messages[i], out); err != nil {
			return fmt.Errorf("message %s: %w", d.Messages[i].ID, err)
		}
	}
	for i := range d.Statuses {
		s := &d.Statuses[i]
		rec := StatusRecord{InboxID: inboxID, Wamid: s.ID, Status: s.Status.Status, Timestamp: s.Time(),
			Recipient: s.RecipientID, Payload: s.Raw}
		if rec.Recipient == "" {
			rec.Recipient = s.RecipientUserID
		}
		if len(s.Errors) > 0 {
			rec.ErrorCode, rec.ErrorTitle = s.Errors[0].Code, s.Errors[0].Title
		}
		inserted, err := tx.RecordStatus(rec)
		if err != nil {
			return fmt.Errorf("status %s %s: %w", s.ID, s.Status.Status, err)
		}
		if inserted {
			out.statuses = append(out.statuses, rec.Status)
			if rec.Status == "failed" {
				// Meta took the reply and could not deliver it: the
				// customer never got it, and nothing else says so.
				wamid, code, title := rec.Wamid, rec.ErrorCode, rec.ErrorTitle
				out.logs = append(out.logs, func() {
					p.log.Warn("reply not delivered: Meta reported it failed", "reply_wamid", wamid,
						"error_code", code, "error_title", title)
				})
			}
		}
	}
	for _, e := range d.Events {
		payload := []byte(e.Value)
		if len(payload) == 0 {
			payload = []byte("null")
		}
		if err := tx.RecordEvent(EventRecord{InboxID: inboxID, EntryID: e.EntryID, Field: e.Field, Payload: payload}); err != nil {
			return fmt.Errorf("event %s: %w", e.Field, err)
		}
		out.events = append(out.events, e.Field)
	}
	return nil
}

// Reactions and system messages (a customer changed number) are answered
// only by a rule that asks for their type (see Bot.check): a ❤️ on a reply
// must not get "Sorry, I did not understand". One that no rule answers gets
// no read receipt either.
func answers(m *webhook.InboundMessage, d *Decision) bool {
	switch m.Type {
	case webhook.TypeSystem, webhook.TypeReaction:
		return d.Rule != nil // only a rule of their type matches them
	}
	return true
}

func (p *Pipeline) message(tx Tx, bot *Bot, now time.Time, inboxID int64, m *webhook.InboundMessage, out *outcome) error {
	customer := m.CustomerKey()
	phoneID := m.Metadata.PhoneNumberID
	if customer == "" || phoneID == "" || m.ID == "" {
		// Nothing to key a conversation by: keep it as an event.
		out.events = append(out.events, "message_without_sender")
		return tx.RecordEvent(EventRecord{InboxID: inboxID, EntryID: m.EntryID, Field: "message_without_sender", Payload: m.Raw})
	}
	conv, err := tx.Conversation(phoneID, customer)
	if err != nil {
		return err
	}
	in := toInbound(m)
	rec := InboundRecord{ConversationID: conv.ID, InboxID: inboxID, DedupeKey: m.ID, Wamid: m.ID,
		Type: m.Type, Text: in.Text, Payload: m.Raw, Timestamp: in.Timestamp}
	if rec.Text == "" {
		rec.Text = in.ReplyTitle
	}
	if m.Type == webhook.TypeReaction && m.Reaction != nil {
		// A reaction and its removal share the wamid.
		rec.DedupeKey = m.ID + "|" + m.Reaction.Emoji
	}

	d := bot.Decide(in, conv.Conversation, now)
	answer := answers(m, &d)
	if answer {
		switch {
		case d.InHandoff:
			rec.Outcome = "handoff"
		case d.Rule != nil:
			rec.Outcome, rec.Rule = "answered", d.Rule.ID
		default:
			rec.Outcome = "unmatched"
		}
	} else if d.InHandoff {
		rec.Outcome = "handoff"
	} else {
		rec.Outcome = "unmatched" // as the contract says of a message no rule answers
	}
	inserted, err := tx.InsertInbound(rec)
	if err != nil {
		return err
	}
	if !inserted {
		out.duplicates++
		wamid, convID := m.ID, conv.ID
		out.logs = append(out.logs, func() {
			p.log.Info("duplicate delivery of a message skipped", "wamid", wamid, "conversation_id", convID)
		})
		return nil
	}
	out.inbound = append(out.inbound, m.Type)
	{
		wamid, convID, typ, outcome, rule, replies := m.ID, conv.ID, m.Type, rec.Outcome, rec.Rule, len(d.Replies)
		if !answer {
			replies = 0
		}
		out.logs = append(out.logs, func() {
			// LogAttrs: one line per message, without boxing each value.
			p.log.LogAttrs(context.Background(), slog.LevelInfo, "message handled", slog.String("wamid", wamid),
				slog.Int64("conversation_id", convID), slog.String("type", typ), slog.String("outcome", outcome),
				slog.String("rule", rule), slog.Int("replies", replies))
		})
	}

	if m.Contact != nil {
		if m.Contact.Profile.Name != "" {
			conv.Name = m.Contact.Profile.Name
		}
		if m.Contact.WaID != "" {
			conv.WaID = m.Contact.WaID
		}
		if m.Contact.UserID != "" {
			conv.UserID = m.Contact.UserID
		}
	}
	if m.From != "" {
		conv.WaID = m.From
	}
	if m.FromUserID != "" {
		conv.UserID = m.FromUserID
	}
	if answer {
		conv.Conversation = d.Conversation
	} else {
		// Not answered, so none of a rule's effects; but the conversation
		// still ages: a state and session past session_ttl reset here,
		// or the fresh LastInboundAt would keep them alive.
		if d.Expired {
			conv.State, conv.Session = "", nil
		}
		conv.LastInboundAt = d.Conversation.LastInboundAt
	}
	if err := tx.SaveConversation(conv); err != nil {
		return err
	}
	if !answer {
		if !d.InHandoff {
			out.unmatched++
		}
		return nil
	}

	to := Recipient{PhoneNumberID: phoneID, Number: m.From}
	if m.From == "" {
		to.UserID = m.FromUserID
	}
	window := in.Timestamp
	if window.IsZero() || window.After(now) {
		window = now
	}
	set := bot.Set()
	receipt := ""
	// typing shows "typing…" (which also marks the message read) only
	// before an answer; without mark_read nothing else is marked read.
	if typing := set.Settings.Typing && len(d.Replies) > 0; set.Settings.MarkRead || typing {
		if err := tx.EnqueueReceipt(ReceiptRecord{ConversationID: conv.ID, To: to, Wamid: m.ID, Typing: typing, WindowStart: window}); err != nil {
			return err
		}
		receipt = "read"
		if typing {
			receipt = "typing"
		}
	}
	rule := ""
	if d.Rule != nil {
		rule = d.Rule.ID
		out.hits = append(out.hits, rule)
	} else if !d.InHandoff {
		out.unmatched++
	}
	for _, r := range d.Replies {
		if err := tx.InsertReply(ReplyRecord{ConversationID: conv.ID, To: to, Rule: rule, Reply: r, ContextWamid: m.ID,
			WindowStart: window, Receipt: receipt}); err != nil {
			return err
		}
		receipt = "" // the first reply carries it
	}
	if len(d.Notes) > 0 {
		notes, wamid := d.Notes, m.ID
		out.logs = append(out.logs, func() {
			for _, n := range notes {
				p.log.Warn("reply adjusted", "wamid", wamid, "rule", rule, "note", n)
			}
		})
	}
	return nil
}

// toInbound turns a decoded webhook message into what the engine decides on.
func toInbound(m *webhook.InboundMessage) Inbound {
	in := Inbound{
		ID:                 m.ID,
		From:               m.From,
		UserID:             m.FromUserID,
		Type:               m.Type,
		Text:               m.TypedText(),
		Timestamp:          m.Time(),
		PhoneNumberID:      m.Metadata.PhoneNumberID,
		DisplayPhoneNumber: m.Metadata.DisplayPhoneNumber,
		WaID:               m.From,
	}
	in.ReplyKind, in.ReplyID, in.ReplyTitle, in.ReplyDescription = m.ReplyRef()
	if m.Contact != nil {
		in.ContactName = m.Contact.Profile.Name
		if m.Contact.WaID != "" {
			in.WaID = m.Contact.WaID
		}
	}
	if md := m.Media(); md != nil {
		in.Media = rules.MediaEnv{ID: md.ID, MimeType: md.MimeType, Caption: md.Caption, Filename: md.Filename}
	}
	if l := m.Location; l != nil {
		in.Location = rules.LocationEnv{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
	}
	if m.Context != nil {
		in.ContextID = m.Context.ID
	}
	if m.Reaction != nil {
		in.Reaction = rules.ReactionEnv{Emoji: m.Reaction.Emoji, MessageID: m.Reaction.MessageID}
	}
	return in
}

// MarshalReply encodes a reply as the outbox stores it.
func MarshalReply(r rules.Reply) ([]byte, error) { return json.Marshal(r) }

type nopObserver struct{}

func (nopObserver) Inbound(string) {}
func (nopObserver) Duplicate()     {}
func (nopObserver) RuleHit(string) {}
func (nopObserver) Unmatched()     {}
func (nopObserver) Status(string)  {}
func (nopObserver) Event(string)   {}
