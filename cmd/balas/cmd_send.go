package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/balas-bot/balas/engine/webhook"
)

func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/webhook", "the webhook URL of a running balas")
	from := fs.String("from", "6281234567890", "the customer's number with the country code (62812…; +62812… works too)")
	name := fs.String("name", "Budi", "the customer's profile name")
	button := fs.String("button", "", "send a tap on the reply button with this id")
	list := fs.String("list", "", "send a tap on the list row with this id")
	title := fs.String("title", "", "the title of the tapped button or row (default: its id)")
	description := fs.String("description", "", "the description of the tapped list row (with --list)")
	image := fs.Bool("image", false, "send an image (TEXT becomes its caption)")
	phoneID := fs.String("phone-number-id", webhook.FakePhoneNumberID, "the business phone number id that receives it")
	// The secret is not the flag's default: --help prints defaults.
	secret := fs.String("secret", "", "the Meta app secret to sign with (default: $BALAS_APP_SECRET, which is better: a flag's value is seen by every user of the machine in ps and kept in shell history)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: balas send [--url URL] [--from NUMBER] [--name NAME] [--button ID | --list ID | --image] [TEXT]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Posts one correctly signed webhook delivery to a running balas, as Meta would, and prints the HTTP status.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !flagGiven(fs, "secret") {
		*secret = os.Getenv("BALAS_APP_SECRET")
	} else if *secret != "" {
		fmt.Fprintln(stderr, "balas send: note: --secret shows the app secret to every user of this machine (ps) and keeps it in your shell history; prefer BALAS_APP_SECRET")
	}
	number, err := customerNumber(*from)
	if err != nil {
		fmt.Fprintf(stderr, "balas send: --from %v\n", err)
		return 2
	}
	text := strings.Join(fs.Args(), " ")
	kinds := 0
	for _, set := range []bool{*button != "", *list != "", *image} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		fmt.Fprintln(stderr, "balas send: give at most one of --button, --list and --image")
		return 2
	}
	if kinds == 0 && text == "" {
		fmt.Fprintln(stderr, "balas send: nothing to send: give a TEXT, or --button ID, --list ID or --image (see balas send --help)")
		return 2
	}
	if *title != "" && *button == "" && *list == "" {
		fmt.Fprintln(stderr, "balas send: --title goes with --button or --list (the title of the tapped button or row)")
		return 2
	}
	f := webhook.Fake{PhoneNumberID: *phoneID, From: number, Name: *name, Text: text, Image: *image, Timestamp: time.Now()}
	if *button != "" {
		f.ButtonID, f.ButtonTitle = *button, or(*title, *button)
	}
	if *list != "" {
		f.ListID, f.ListTitle, f.ListDescription = *list, or(*title, *list), *description
	} else if *description != "" {
		fmt.Fprintln(stderr, "balas send: --description goes with --list (a tapped list row)")
		return 2
	}
	body := f.Body()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "balas send: --url %q: %v\n", *url, err)
		return 2
	}
	req.Header.Set("Content-Type", "application/json")
	if *secret != "" {
		req.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(*secret), body))
	} else {
		fmt.Fprintln(stderr, "balas send: no --secret or BALAS_APP_SECRET: sending unsigned (only a server in --dev accepts it)")
	}
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "balas send: %v (is balas serve running at %s?)\n", err, *url)
		return 1
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stdout, "%s %s\n", resp.Status, strings.TrimSpace(string(msg)))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
