package convtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/rules"
)

// Result is the outcome of one test.
type Result struct {
	Name string
	Pos  rules.Pos // the test
	// Failure is the first difference (nil: passed).
	Failure *Failure
	// Rules are the ids of the rules that answered, step by step.
	Rules []string
}

// Passed reports whether the test passed.
func (r Result) Passed() bool { return r.Failure == nil }

// Failure is the first expectation that did not hold.
type Failure struct {
	Pos  rules.Pos // the expectation (or the step)
	Step int       // from 1
	Msg  string    // e.g. `expected reply "…", got "…"`
}

// String formats f as `file:line: step N: message`.
func (f *Failure) String() string {
	return fmt.Sprintf("%s:%d: step %d: %s", f.Pos.File, f.Pos.Line, f.Step, f.Msg)
}

// Run plays every test of s against bot. Each test starts a new
// conversation; a test stops at its first failing step.
func Run(bot *engine.Bot, s *Suite) []Result {
	results := make([]Result, 0, len(s.Tests))
	for _, t := range s.Tests {
		results = append(results, RunTest(bot, t))
	}
	return results
}

// RunTest plays one test.
func RunTest(bot *engine.Bot, t *Test) Result {
	res := Result{Name: t.Name, Pos: t.Pos}
	var conv engine.Conversation
	var shown []engine.Choice // of the bot's answers, newest first
	now := t.At
	for i, st := range t.Steps {
		now = now.Add(st.After)
		in := Inbound(t.Contact, st.Send, shown, now)
		in.ID = fmt.Sprintf("wamid.test.%d", i+1)
		d := bot.Decide(in, conv, now)
		conv = d.Conversation
		if d.Rule != nil {
			res.Rules = append(res.Rules, d.Rule.ID)
		}
		// The customer can still tap what earlier answers showed.
		shown = append(engine.Choices(d.Replies), shown...)
		if f := check(&st.Expect, &d); f != nil {
			f.Step = i + 1
			if f.Pos == (rules.Pos{}) {
				f.Pos = st.Pos
			}
			if len(d.Notes) > 0 {
				f.Msg += " (notes: " + strings.Join(d.Notes, "; ") + ")"
			}
			res.Failure = f
			return res
		}
		if len(d.Errors) > 0 {
			// The expectations hold, but the server would log this error
			// and send less than the rule says: the rule is broken.
			msg, _, _ := strings.Cut(d.Errors[0], "\n")
			res.Failure = &Failure{Pos: st.Pos, Step: i + 1, Msg: msg}
			return res
		}
	}
	return res
}

// CarriesText reports whether a message of type typ carries what the
// customer typed, as on WhatsApp: a text, or the caption of an image, video
// or document ("" is a text).
func CarriesText(typ string) bool {
	return slices.Contains([]string{"", "text", "image", "video", "document"}, typ)
}

// Inbound builds the message a customer sends. A tap without a title takes
// the title (and a row's description) of the first matching button or row
// of shown: what the bot's answers showed, newest first, as WhatsApp sends
// those of the message tapped.
func Inbound(c Contact, s Send, shown []engine.Choice, now time.Time) engine.Inbound {
	in := engine.Inbound{
		From:        c.WaID,
		WaID:        c.WaID,
		ContactName: c.Name,
		Type:        s.Type,
		Text:        s.Text,
		Timestamp:   now,
	}
	if in.Type == "" {
		in.Type = "text"
	}
	kind, id := "", ""
	switch {
	case s.Button != "":
		kind, id = "button", s.Button
	case s.List != "":
		kind, id = "list", s.List
	}
	if kind != "" {
		in.ReplyKind, in.ReplyID, in.ReplyTitle = kind, id, s.Title
		for _, ch := range shown {
			if ch.Kind == kind && ch.ID == id {
				if in.ReplyTitle == "" {
					in.ReplyTitle = ch.Title
				}
				in.ReplyDescription = ch.Description
				break
			}
		}
		if in.ReplyTitle == "" {
			in.ReplyTitle = id
		}
		in.Text = ""
	}
	switch in.Type {
	case "image", "video", "document": // audio and stickers have no caption
		in.Media.Caption = in.Text
	case "reaction":
		in.Reaction.Emoji = s.Emoji
	}
	if mime, ok := mediaMIME[in.Type]; ok {
		// WhatsApp gives every media message the id of its file and a type.
		in.Media.ID, in.Media.MimeType = "media."+in.Type, mime
	}
	return in
}

// mediaMIME is the MIME type a customer's media message of each type has.
var mediaMIME = map[string]string{
	"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg",
	"document": "application/pdf", "sticker": "image/webp",
}

func check(e *Expect, d *engine.Decision) *Failure {
	fail := func(pos rules.Pos, format string, args ...any) *Failure {
		return &Failure{Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	if w := e.Rule; w != nil {
		got := "no rule"
		if d.Rule != nil {
			got = fmt.Sprintf("%q", d.Rule.ID)
		} else if d.InHandoff {
			got = "no rule (in handoff)"
		}
		if d.Rule == nil && w.Value != "" || d.Rule != nil && d.Rule.ID != w.Value {
			return fail(w.Pos, "expected rule %q, got %s", w.Value, got)
		}
	}
	if w := e.NoReply; w != nil {
		if w.Value && len(d.Replies) > 0 {
			return fail(w.Pos, "expected no reply, got %q", ReplyText(d.Replies[0]))
		}
		if !w.Value && len(d.Replies) == 0 {
			return fail(w.Pos, "expected a reply, got none%s", why(d))
		}
	}
	if w := e.Reply; w != nil {
		if len(d.Replies) == 0 {
			return fail(w.Pos, "expected reply %q, got no reply%s", w.Value, why(d))
		}
		if got := ReplyText(d.Replies[0]); got != w.Value {
			return fail(w.Pos, "expected reply %q, got %q", w.Value, got)
		}
	}
	if w := e.Contains; w != nil {
		var texts []string
		for _, r := range d.Replies {
			texts = append(texts, ReplyText(r))
		}
		all := strings.Join(texts, "\n")
		if len(d.Replies) == 0 {
			return fail(w.Pos, "expected a reply containing %q, got no reply%s", w.Value, why(d))
		}
		if !strings.Contains(all, w.Value) {
			return fail(w.Pos, "expected a reply containing %q, got %q", w.Value, all)
		}
	}
	if w := e.Buttons; w != nil {
		got := ids(d.Replies, "button")
		if !slices.Equal(got, w.Value) {
			return fail(w.Pos, "expected buttons %q, got %q", w.Value, got)
		}
	}
	if w := e.Rows; w != nil {
		got := ids(d.Replies, "list")
		if !slices.Equal(got, w.Value) {
			return fail(w.Pos, "expected rows %q, got %q", w.Value, got)
		}
	}
	if w := e.State; w != nil && d.Conversation.State != w.Value {
		return fail(w.Pos, "expected state %q, got %q", w.Value, d.Conversation.State)
	}
	for _, w := range e.Session {
		v, ok := d.Conversation.Session[w.Key]
		ok = ok && v != nil
		switch {
		case w.Absent && ok:
			return fail(w.Pos, "expected no session value %s, got %q", w.Key, fmt.Sprint(v))
		case !w.Absent && !ok:
			return fail(w.Pos, "expected session %s %q, got no value", w.Key, w.Value)
		case !w.Absent && fmt.Sprint(v) != w.Value:
			return fail(w.Pos, "expected session %s %q, got %q", w.Key, w.Value, fmt.Sprint(v))
		}
	}
	return nil
}

func why(d *engine.Decision) string {
	switch {
	case d.InHandoff:
		return " (the conversation is in handoff)"
	case d.Rule == nil:
		return " (no rule matched)"
	}
	return fmt.Sprintf(" (rule %q has no reply)", d.Rule.ID)
}

// ids returns the button ids ("button") or row ids ("list") of replies;
// an empty, non-nil list when there are none.
func ids(replies []rules.Reply, kind string) []string {
	out := []string{}
	for _, c := range engine.Choices(replies) {
		if c.Kind == kind {
			out = append(out, c.ID)
		}
	}
	return out
}

// ReplyText is the text a test compares: the body, caption or emoji.
func ReplyText(r rules.Reply) string {
	switch {
	case r.Text != "":
		return r.Text
	case r.Media != nil && r.Media.Caption != "":
		return r.Media.Caption
	case r.Emoji != "":
		return r.Emoji
	}
	return ""
}
