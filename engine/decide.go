package engine

import (
	"fmt"
	"maps"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
	"github.com/balas-bot/balas/rules"
)

// Inbound is one customer message, decoded from the webhook.
type Inbound struct {
	ID, From, UserID, Type string
	// Text is what the customer TYPED: the text body or the media caption;
	// "" for taps of buttons and list rows.
	Text string
	// ReplyKind is "button" (an interactive button reply or a template
	// quick-reply button), "list", or "" for anything else.
	ReplyKind string
	// For a template quick reply, ReplyID is the payload and ReplyTitle the text.
	ReplyID, ReplyTitle, ReplyDescription string
	Media                                 rules.MediaEnv
	Location                              rules.LocationEnv
	ContextID                             string
	Reaction                              rules.ReactionEnv
	Timestamp                             time.Time
	ContactName, WaID                     string
	PhoneNumberID, DisplayPhoneNumber     string
}

// Conversation is what the bot remembers of one customer.
type Conversation struct {
	State   string
	Session map[string]any
	// HandoffUntil is the end of a handoff to a person; zero: none.
	HandoffUntil time.Time
	// LastInboundAt is when the customer last wrote (Meta's timestamp of
	// the message, see wroteAt); zero: a new conversation.
	LastInboundAt time.Time
}

// Decision is what the bot does with one inbound message.
type Decision struct {
	// Rule is the rule that answered; nil when no rule matched or the
	// conversation is in handoff.
	Rule *rules.Rule
	// Replies are the rendered messages, rules.Fit applied, in send order.
	Replies []rules.Reply
	// Conversation is the conversation after this message (LastInboundAt:
	// when the customer wrote it, see wroteAt).
	Conversation Conversation
	// InHandoff: the conversation was in handoff, nothing is answered.
	InHandoff bool
	// Expired: session_ttl had passed; state and session were cleared before matching.
	Expired bool
	// Notes are shortened fields and runtime template or expression errors.
	Notes []string
	// Errors are the runtime errors of the answering rule's actions (a
	// reply dropped, a session value not set); each is also in Notes.
	Errors []string
}

// Matched reports whether a rule answered.
func (d *Decision) Matched() bool { return d.Rule != nil }

// MaxSessionValue is the most bytes one session value may hold. Session
// keys are the ones the rules' `set` names, so this bounds a conversation's
// session: a rule that appends what customers type to a value (a complaint
// gathered over several messages, say) would otherwise let one customer grow
// it without end, and it is kept in memory, copied and written to the
// database at every message. A longer value is not set (the key keeps the
// value it had), and the rule's error says so.
const MaxSessionValue = 64 << 10

// DefaultSessionTTL applies when a set carries no session_ttl.
const DefaultSessionTTL = 30 * time.Minute

// Bot is a rule set prepared for matching: its indexes are built once by New.
// A Bot is immutable and safe for concurrent use.
type Bot struct {
	set   *rules.Set
	rules []prepared // parallel to set.Rules
	main  *index     // rules that are not fallbacks
	fall  *index     // fallbacks
}

// prepared is a rule with its matching data precomputed.
type prepared struct {
	rule     *rules.Rule
	keywords [][]string // each keyword's normalised words; empty keywords dropped
	exact    []string   // normalised
}

// New prepares set for matching. set must not be changed afterwards.
func New(set *rules.Set) *Bot {
	if set == nil {
		set = &rules.Set{}
	}
	b := &Bot{set: set, rules: make([]prepared, len(set.Rules))}
	var mainIdx, fallIdx []int32
	for i, r := range set.Rules {
		p := prepared{rule: r}
		for _, k := range r.When.Keywords {
			if w := rules.Words(k); len(w) > 0 {
				p.keywords = append(p.keywords, w)
			}
		}
		for _, e := range r.When.Exact {
			p.exact = append(p.exact, rules.Normalize(e))
		}
		b.rules[i] = p
		if r.Fallback {
			fallIdx = append(fallIdx, int32(i))
		} else {
			mainIdx = append(mainIdx, int32(i))
		}
	}
	b.main = buildIndex(b.rules, mainIdx)
	b.fall = buildIndex(b.rules, fallIdx)
	return b
}

// Set returns the rule set the bot answers with.
func (b *Bot) Set() *rules.Set { return b.set }

// Decide picks the rule that answers in and carries out its actions. It is
// pure (no I/O, now is the only clock) and safe for concurrent use; conv is
// not modified.
func (b *Bot) Decide(in Inbound, conv Conversation, now time.Time) Decision {
	return b.decide(&in, conv, now, nil)
}

// SessionTTL is the idle time after which a conversation's state and
// session reset: settings.session_ttl, else DefaultSessionTTL.
func (b *Bot) SessionTTL() time.Duration {
	if b.set.Settings.SessionTTL > 0 {
		return b.set.Settings.SessionTTL
	}
	return DefaultSessionTTL
}

func (b *Bot) location() *time.Location {
	if b.set.Settings.Location != nil {
		return b.set.Settings.Location
	}
	return time.UTC
}

var emptySession = map[string]any{} // never written

// wroteAt is when the customer wrote in: Meta's timestamp, so that the
// session's idle time is the time between the customer's messages, also
// when balas handles them late (Meta redelivering after a downtime).
// Without a timestamp, or with one ahead of now, it is now; it never goes
// back before the conversation's last message (Meta may deliver out of
// order).
func wroteAt(in *Inbound, conv Conversation, now time.Time) time.Time {
	at := in.Timestamp
	if at.IsZero() || at.After(now) {
		at = now
	}
	if at.Before(conv.LastInboundAt) {
		at = conv.LastInboundAt
	}
	return at
}

func (b *Bot) decide(in *Inbound, conv Conversation, now time.Time, ex *Explanation) Decision {
	d := Decision{Conversation: conv}
	c := &d.Conversation
	at := wroteAt(in, conv, now)
	if !conv.LastInboundAt.IsZero() && at.Sub(conv.LastInboundAt) >= b.SessionTTL() {
		d.Expired = true
		c.State = ""
		c.Session = nil
	}
	c.LastInboundAt = at
	// A message written during a handoff is the person's, also when it
	// reaches balas after the handoff ended (Meta redelivering after a
	// downtime): it is never answered later.
	if at.Before(conv.HandoffUntil) {
		d.InHandoff = true
	} else {
		c.HandoffUntil = time.Time{}
	}
	if ex != nil {
		ex.Expired, ex.InHandoff = d.Expired, d.InHandoff
	}
	if d.InHandoff {
		return d
	}

	m := b.newMessage(in, c, now)
	winner, match := b.choose(m, ex)
	if winner == nil {
		d.Notes = m.notes
		return d
	}
	r := winner.rule
	d.Rule = r

	// Actions: reset, set (seeing the conversation as the message found it),
	// goto, handoff.
	if r.Reset {
		c.State = ""
		c.Session = nil
	}
	if len(r.Set) > 0 {
		session := make(map[string]any, len(c.Session)+len(r.Set))
		maps.Copy(session, c.Session)
		m.env.Match = match
		for _, a := range r.Set {
			v, err := a.Value.Render(&m.env)
			if err != nil {
				m.note("rule %s: set %s: %v", r.ID, a.Key, err)
				d.Errors = append(d.Errors, m.notes[len(m.notes)-1])
				continue
			}
			if len(v) > MaxSessionValue {
				m.note("rule %s: set %s: the value is %d bytes long, over the limit of %d; the session keeps the value it had", r.ID, a.Key, len(v), MaxSessionValue)
				d.Errors = append(d.Errors, m.notes[len(m.notes)-1])
				continue
			}
			session[a.Key] = v
		}
		c.Session = session
	}
	if r.Goto != nil {
		c.State = *r.Goto
	}
	if r.Handoff > 0 {
		c.HandoffUntil = now.Add(r.Handoff)
	}

	// Replies see the conversation after the actions.
	m.env.State = c.State
	m.env.Session = c.Session
	if m.env.Session == nil {
		m.env.Session = emptySession
	}
	m.env.Match = match
	if len(r.Reply) > 0 {
		d.Replies = make([]rules.Reply, 0, len(r.Reply))
	}
	for i, msg := range r.Reply {
		rep, err := msg.Render(&m.env)
		if err != nil {
			m.note("rule %s: reply %d dropped: %v", r.ID, i+1, err)
			d.Errors = append(d.Errors, m.notes[len(m.notes)-1])
			continue
		}
		if why := unsendable(&rep); why != "" {
			m.note("rule %s: reply %d dropped: %s", r.ID, i+1, why)
			d.Errors = append(d.Errors, m.notes[len(m.notes)-1])
			continue
		}
		for _, n := range fitReply(&rep) {
			m.note("rule %s: reply %d: %s", r.ID, i+1, n)
		}
		d.Replies = append(d.Replies, rep)
	}
	d.Notes = m.notes
	return d
}

// message is one inbound message being matched.
type message struct {
	in    *Inbound
	typ   string   // the type `when.type` sees: in.Type, or "unknown"
	typed string   // what the customer typed
	norm  string   // Normalize(typed)
	words []string // words of norm
	state string
	env   rules.Env
	notes []string
	buf   [32]int32 // candidate scratch space
}

func (m *message) note(format string, args ...any) {
	m.notes = append(m.notes, fmt.Sprintf(format, args...))
}

func (b *Bot) newMessage(in *Inbound, c *Conversation, now time.Time) *message {
	m := &message{in: in, typ: whenType(in.Type), typed: in.Text, state: c.State}
	m.norm = rules.Normalize(in.Text)
	m.words = splitWords(m.norm)
	text := in.Text
	if in.ReplyKind != "" && text == "" {
		text = in.ReplyTitle
	}
	session := c.Session
	if session == nil {
		session = emptySession
	}
	// Meta's timestamp is read in the server's zone, and a conversation
	// test's in the zone of its `at`: expressions see it in the set's
	// zone, as now, so that they answer alike wherever they run.
	loc := b.location()
	wrote := in.Timestamp
	if !wrote.IsZero() {
		wrote = wrote.In(loc)
	}
	m.env = rules.Env{
		Message: rules.MessageEnv{
			ID:        in.ID,
			From:      in.From,
			Type:      in.Type,
			Text:      text,
			Timestamp: wrote,
			Reply:     rules.ReplyEnv{ID: in.ReplyID, Title: in.ReplyTitle, Description: in.ReplyDescription},
			Media:     in.Media,
			Location:  in.Location,
			Context:   rules.ContextEnv{ID: in.ContextID},
			Reaction:  in.Reaction,
		},
		Contact:  rules.ContactEnv{Name: in.ContactName, WaID: in.WaID},
		Business: rules.BusinessEnv{PhoneNumberID: in.PhoneNumberID, DisplayPhoneNumber: in.DisplayPhoneNumber},
		State:    c.State,
		Session:  session,
		Vars:     b.set.Vars,
		Now:      now.In(loc),
	}
	return m
}

// knownTypes are the message types `when.type` names.
var knownTypes = func() map[string]bool {
	known := map[string]bool{}
	for _, t := range rules.MessageTypes() {
		known[t] = true
	}
	return known
}()

// whenType is the type `when.type` matches a message of type t by: t, or
// "unknown" for a type WhatsApp sends that balas does not know (one added
// after it was written), so that `type: unknown` can answer those.
func whenType(t string) string {
	if knownTypes[t] {
		return t
	}
	return webhook.TypeUnknown
}

// splitWords splits a normalised string (words separated by single spaces).
func splitWords(s string) []string {
	if s == "" {
		return nil
	}
	n := 1
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			n++
		}
	}
	words := make([]string, 0, n)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			words = append(words, s[start:i])
			start = i + 1
		}
	}
	return append(words, s[start:])
}

// choose returns the winning rule and its regex groups: the first candidate
// that is not a fallback, else the first fallback.
func (b *Bot) choose(m *message, ex *Explanation) (*prepared, map[string]string) {
	if ex != nil {
		// Explanations walk every rule, so that they can say why each failed.
		for _, fallback := range []bool{false, true} {
			for i := range b.rules {
				p := &b.rules[i]
				if p.rule.Fallback != fallback {
					continue
				}
				ok, match, f := b.check(p, m, true)
				ex.Tried = append(ex.Tried, Attempt{Rule: p.rule, Matched: ok, Failure: f})
				if ok {
					return p, match
				}
			}
		}
		return nil, nil
	}
	for _, idx := range []*index{b.main, b.fall} {
		for _, i := range idx.candidates(m) {
			p := &b.rules[i]
			if ok, match, _ := b.check(p, m, false); ok {
				return p, match
			}
		}
	}
	return nil, nil
}
