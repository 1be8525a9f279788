package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/balas-bot/balas/engine"
	"github.com/balas-bot/balas/engine/convtest"
	"github.com/balas-bot/balas/rules"
)

// sessionFlag collects repeated --session key=value flags.
type sessionFlag map[string]any

func (s sessionFlag) String() string { return "" }

func (s sessionFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	s[k] = val
	return nil
}

func runExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("balas explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "the conversation's state before the message")
	session := sessionFlag{}
	fs.Var(session, "session", "a session value before the message, key=value (repeatable)")
	at := fs.String("at", "", "the time of the message, RFC 3339 (default: now)")
	name := fs.String("name", convtest.DefaultContact.Name, "the customer's name (contact.name)")
	from := fs.String("from", convtest.DefaultContact.WaID, "the customer's number (message.from, contact.wa_id)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: balas explain [--state S] [--session k=v] [--at TIME] PATH MESSAGE

Shows which rule of PATH (a rules file or folder) answers MESSAGE, and for
every rule tried before it the condition that failed. Fallbacks are tried
only when no other rule matches. MESSAGE is typed text (halo), a tap
(button:ID, list:ID) or another type of message (type:image).

Example:
  balas explain examples/rules/toko "mau order" --state awaiting_address

Flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, reorderArgs(fs, args), stdout, stderr); !ok {
		return code
	}
	if fs.NArg() < 2 {
		fmt.Fprintln(stderr, `balas explain: give the rules and a message, e.g. balas explain examples/rules/toko "halo kak"`)
		return 2
	}
	number, err := customerNumber(*from)
	if err != nil {
		fmt.Fprintf(stderr, "balas explain: --from %v\n", err)
		return 2
	}
	path := fs.Arg(0)
	text := strings.Join(fs.Args()[1:], " ")
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "balas explain: --at %q: give an RFC 3339 time like 2026-01-05T10:00:00+07:00\n", *at)
			return 2
		}
		now = t
	}

	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "balas explain: %s: %v; give the path of a rules file or folder\n", path, unwrapPathError(err))
		return 1
	}
	set, diags, err := rules.Load(path)
	if err != nil {
		for _, d := range diags {
			fmt.Fprintln(stderr, d.String())
		}
		fmt.Fprintf(stderr, "balas explain: the rules in %s have errors (above); fix them and run again\n", path)
		return 1
	}
	bot := engine.New(set)
	in, _, perr := parseInput(text, nil, nil)
	if perr != nil {
		fmt.Fprintf(stderr, "balas explain: %v\n", perr)
		return 2
	}
	in.ID = "wamid.explain"
	// WhatsApp gives the time a message was sent in whole seconds.
	in.From, in.WaID, in.ContactName, in.Timestamp = number, number, *name, now.Truncate(time.Second)
	conv := engine.Conversation{State: *state}
	if len(session) > 0 {
		conv.Session = session
	}
	ex := bot.Explain(in, conv, now)
	if err := ex.Write(stdout); err != nil {
		fmt.Fprintf(stderr, "balas explain: %v\n", err)
		return 1
	}
	return 0
}
