package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/convtest"
	"github.com/balas-bot/balas/rules"
)

const chatHelp = `Type what the customer writes. Also:
  1, 2, …        tap that button or list row of the bot's last reply
  button:ID      tap the button with that id (a template quick-reply payload too);
                 a title may follow: button:btn_order Order Sekarang
  list:ID        pick the list row with that id (a title may follow)
  type:image     send an image (or video, audio, document, sticker, location, …);
                 text after it is the caption: type:image bukti transfer;
                 type:reaction ❤️ reacts (alone, it takes a reaction back)
  /state         show the conversation's state and session
  /reset         forget the conversation (state, session, handoff)
  /as NAME NUMBER  talk as another customer (each number has its own conversation)
  /wait 45m      let time pass (session_ttl, handoff and now)
  /quit          end (so does the end of input)`

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("balas chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", convtest.DefaultContact.Name, "the customer's name (contact.name)")
	from := fs.String("from", convtest.DefaultContact.WaID, "the customer's number (message.from, contact.wa_id)")
	at := fs.String("at", "", "start the clock at this RFC 3339 time instead of now (e.g. 2026-01-05T21:30:00+07:00)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: balas chat [--name NAME] [--from NUMBER] [--at TIME] PATH

Talks to the rules at PATH (a rules file or folder) in the terminal, as a
customer would: no server, no network. Reads one message per line from
standard input; the rules are reloaded when a file changes.

`+chatHelp+`

Flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, reorderArgs(fs, args), stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "balas chat: give one rules file or folder, e.g. balas chat examples/rules/toko")
		return 2
	}
	number, err := customerNumber(*from)
	if err != nil {
		fmt.Fprintf(stderr, "balas chat: --from %v\n", err)
		return 2
	}
	path := fs.Arg(0)
	c := &chat{path: path, stdout: stdout, stderr: stderr, convs: map[string]*engine.Conversation{},
		contact: convtest.Contact{Name: *name, WaID: number}, start: time.Now()}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "balas chat: --at %q: give an RFC 3339 time like 2026-01-05T10:00:00+07:00\n", *at)
			return 2
		}
		c.fixed, c.start = true, t
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "balas chat: %s: %v; give the path of a rules file or folder\n", path, unwrapPathError(err))
		return 1
	}
	if !c.reload(true) {
		fmt.Fprintf(stderr, "balas chat: the rules in %s have errors (above); fix them and run again\n", path)
		return 1
	}
	fmt.Fprintf(stderr, "balas chat: %d rules from %s; you are %s (%s). /help for commands, /quit to end.\n",
		len(c.bot.Set().Rules), path, c.contact.Name, c.contact.WaID)

	interactive := isTerminal(stdin)
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for {
		if interactive {
			fmt.Fprint(stdout, "you: ")
		}
		if !sc.Scan() {
			break
		}
		if ctx.Err() != nil {
			return 130
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !c.line(line, interactive) {
			return 0
		}
	}
	if interactive {
		fmt.Fprintln(stdout)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "balas chat: reading input: %v\n", err)
		return 1
	}
	return 0
}

type chat struct {
	path           string
	stdout, stderr io.Writer
	bot            *engine.Bot
	stamp          string // the rule files' names, sizes and times when loaded
	contact        convtest.Contact
	convs          map[string]*engine.Conversation // by number
	choices        []engine.Choice                 // of the bot's last reply
	shown          []engine.Choice                 // of all its replies, newest first
	start          time.Time
	fixed          bool          // the clock stands still at start (+ waits)
	waited         time.Duration // /wait
	seq            int
}

func (c *chat) now() time.Time {
	if c.fixed {
		return c.start.Add(c.waited)
	}
	return time.Now().Add(c.waited)
}

func (c *chat) conv() *engine.Conversation {
	cv := c.convs[c.contact.WaID]
	if cv == nil {
		cv = &engine.Conversation{}
		c.convs[c.contact.WaID] = cv
	}
	return cv
}

// reload loads the rules when their files changed (always when first).
// It reports whether a usable rule set is loaded.
func (c *chat) reload(first bool) bool {
	stamp := rulesStamp(c.path)
	if !first && stamp == c.stamp {
		return true
	}
	set, diags, err := rules.Load(c.path)
	c.stamp = stamp
	if err != nil {
		for _, d := range diags {
			fmt.Fprintln(c.stderr, d.String())
		}
		if !first {
			fmt.Fprintln(c.stderr, "(the rules have errors and were not reloaded: still using the last good rules)")
		}
		return c.bot != nil
	}
	for _, d := range diags {
		fmt.Fprintln(c.stderr, d.String())
	}
	c.bot = engine.New(set)
	if !first {
		fmt.Fprintf(c.stdout, "(rules reloaded: %d rules)\n", len(set.Rules))
	}
	return true
}

// rulesStamp describes the rule files at path (names, sizes, modification
// times) so that a change is noticed.
func rulesStamp(path string) string {
	var b strings.Builder
	add := func(p string) {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	if !fi.IsDir() {
		add(path)
		return b.String()
	}
	entries, _ := os.ReadDir(path)
	for _, e := range entries {
		if !e.IsDir() && rules.IsRulesFile(e.Name()) {
			add(filepath.Join(path, e.Name()))
		}
	}
	return b.String()
}

// line handles one input line; false ends the chat.
func (c *chat) line(line string, interactive bool) bool {
	if strings.HasPrefix(line, "/") {
		return c.command(line)
	}
	c.reload(false)
	in, echo, err := parseInput(line, c.choices, c.shown)
	if err != nil {
		fmt.Fprintf(c.stdout, "(%v)\n", err)
		return true
	}
	if !interactive || echo != line {
		fmt.Fprintf(c.stdout, "you: %s\n", echo)
	}
	c.seq++
	now := c.now()
	in.ID = fmt.Sprintf("wamid.chat.%d", c.seq)
	// WhatsApp gives the time a message was sent in whole seconds.
	in.From, in.WaID, in.ContactName, in.Timestamp = c.contact.WaID, c.contact.WaID, c.contact.Name, now.Truncate(time.Second)
	conv := c.conv()
	d := c.bot.Decide(in, *conv, now)
	*conv = d.Conversation
	if d.Expired {
		fmt.Fprintln(c.stdout, "(the session had expired: state and session were cleared)")
	}
	for _, n := range d.Notes {
		fmt.Fprintf(c.stdout, "(note: %s)\n", n)
	}
	switch {
	case d.InHandoff:
		fmt.Fprintf(c.stdout, "(in handoff until %s: a person answers, the bot stays quiet)\n",
			conv.HandoffUntil.In(c.location()).Format("2006-01-02 15:04 MST"))
	case d.Rule == nil:
		fmt.Fprintln(c.stdout, "(no rule matched)")
	default:
		fmt.Fprint(c.stdout, engine.FormatReplies(d.Replies))
		fmt.Fprintf(c.stdout, "(rule: %s)\n", d.Rule.ID)
		if len(d.Replies) > 0 {
			c.choices = engine.Choices(d.Replies)
			c.shown = append(slices.Clone(c.choices), c.shown...)
		}
	}
	return true
}

func (c *chat) command(line string) bool {
	cmd, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch cmd {
	case "/quit", "/exit", "/q":
		return false
	case "/help", "/?":
		fmt.Fprintln(c.stdout, chatHelp)
	case "/state":
		cv := c.conv()
		state, session := cv.State, cv.Session
		// What the next message finds: as Decide, by the time it is written.
		if at := c.now().Truncate(time.Second); !cv.LastInboundAt.IsZero() && at.Sub(cv.LastInboundAt) >= c.bot.SessionTTL() {
			fmt.Fprintln(c.stdout, "(the session expired: the next message finds no state and an empty session)")
			state, session = "", nil
		}
		fmt.Fprintf(c.stdout, "state: %q\nsession: %s\n", state, engine.FormatSession(session))
		if c.now().Before(cv.HandoffUntil) {
			fmt.Fprintf(c.stdout, "handoff until: %s\n", cv.HandoffUntil.In(c.location()).Format(time.RFC3339))
		}
	case "/reset":
		delete(c.convs, c.contact.WaID)
		c.choices, c.shown = nil, nil
		fmt.Fprintln(c.stdout, "(conversation reset)")
	case "/as":
		i := strings.LastIndexByte(rest, ' ')
		if i < 0 {
			fmt.Fprintln(c.stdout, "(usage: /as NAME NUMBER, e.g. /as Siti 6281298765432)")
			break
		}
		name := strings.TrimSpace(rest[:i])
		number, err := customerNumber(rest[i+1:])
		if err != nil {
			fmt.Fprintf(c.stdout, "(%v)\n", err)
			break
		}
		c.contact = convtest.Contact{Name: name, WaID: number}
		c.choices, c.shown = nil, nil
		fmt.Fprintf(c.stdout, "(you are now %s, %s)\n", name, number)
	case "/wait":
		d, err := rules.ParseDuration(rest)
		if err != nil || d < 0 {
			fmt.Fprintln(c.stdout, "(usage: /wait DURATION, e.g. /wait 45m or /wait 1d)")
			break
		}
		c.waited += d
		fmt.Fprintf(c.stdout, "(%s later: %s)\n", d, c.now().In(c.location()).Format("Mon 2006-01-02 15:04"))
	default:
		fmt.Fprintf(c.stdout, "(unknown command %s; /help lists them)\n", cmd)
	}
	return true
}

func (c *chat) location() *time.Location {
	if l := c.bot.Set().Settings.Location; l != nil {
		return l
	}
	return time.UTC
}

// parseInput turns a typed line into a customer message: a bare number picks
// that choice of the last reply, button:ID, list:ID and type:T (with an
// optional caption) send those kinds, anything else is typed text. A tap by
// id takes its title from shown, the choices of every reply, newest first.
// It also returns how to show the message.
func parseInput(line string, choices, shown []engine.Choice) (engine.Inbound, string, error) {
	if n, err := strconv.Atoi(line); err == nil && len(choices) > 0 {
		if n < 1 || n > len(choices) {
			return engine.Inbound{}, "", fmt.Errorf("no choice %d: the last reply has %d (1–%d)", n, len(choices), len(choices))
		}
		ch := choices[n-1]
		in := engine.Inbound{Type: "interactive", ReplyKind: ch.Kind, ReplyID: ch.ID, ReplyTitle: ch.Title, ReplyDescription: ch.Description}
		return in, fmt.Sprintf("[%s] (%s:%s)", ch.Title, ch.Kind, ch.ID), nil
	}
	kind, arg, ok := strings.Cut(line, ":")
	if ok && !strings.ContainsAny(kind, " \t") {
		switch kind {
		case "button", "list":
			id, title, _ := strings.Cut(strings.TrimSpace(arg), " ")
			if id == "" {
				return engine.Inbound{}, "", fmt.Errorf("give the id: %s:ID (and, if you like, the title after a space)", kind)
			}
			send := convtest.Send{Type: "interactive", Button: pick(kind == "button", id), List: pick(kind == "list", id), Title: strings.TrimSpace(title)}
			in := convtest.Inbound(convtest.Contact{}, send, shown, time.Time{})
			return in, fmt.Sprintf("[%s] (%s:%s)", in.ReplyTitle, kind, id), nil
		case "type":
			t, caption, _ := strings.Cut(strings.TrimSpace(arg), " ")
			if t == "" {
				return engine.Inbound{}, "", errors.New("give the type: type:image")
			}
			if !slices.Contains(rules.MessageTypes(), t) {
				return engine.Inbound{}, "", fmt.Errorf("unknown message type %q; known types: %s", t, strings.Join(rules.MessageTypes(), ", "))
			}
			caption = strings.TrimSpace(caption)
			if t == "reaction" {
				// What follows is the emoji; none takes a reaction back.
				in := convtest.Inbound(convtest.Contact{}, convtest.Send{Type: t, Emoji: caption}, nil, time.Time{})
				if caption == "" {
					return in, "[reaction taken back]", nil
				}
				return in, "[reaction " + caption + "]", nil
			}
			if caption != "" && !convtest.CarriesText(t) {
				// As on the server: only these carry what the customer typed.
				article := "a"
				if strings.ContainsRune("aeiou", rune(t[0])) {
					article = "an"
				}
				return engine.Inbound{}, "", fmt.Errorf("%s %s message carries no text on WhatsApp (only text, and the caption of an image, video or document, do): send type:%s alone", article, t, t)
			}
			in := convtest.Inbound(convtest.Contact{}, convtest.Send{Type: t, Text: caption}, nil, time.Time{})
			show := "[" + t + "]"
			if in.Text != "" {
				show += " " + in.Text
			}
			return in, show, nil
		}
	}
	return engine.Inbound{Type: "text", Text: line}, line, nil
}

func pick(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
