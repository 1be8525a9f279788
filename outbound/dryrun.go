package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
)

type dryRun struct {
	log *slog.Logger
	n   atomic.Int64
}

// NewDryRun is a Transport that sends nothing: it logs each payload at INFO
// (who it is for, its type and its text; the whole body at DEBUG) and
// answers a fake wamid "wamid.dryrun.<n>". For --dev without an access token.
func NewDryRun(logger *slog.Logger) Transport {
	if logger == nil {
		logger = slog.Default()
	}
	return &dryRun{log: logger}
}

func (d *dryRun) Send(ctx context.Context, phoneNumberID string, body []byte) (string, error) {
	n := d.n.Add(1)
	s := summarize(body)
	if s.receipt {
		// A receipt names the customer's message, not a recipient.
		d.log.InfoContext(ctx, "dry run: not sent (no access token)", "phone_number_id", phoneNumberID,
			"type", s.kind, "wamid", s.text)
	} else {
		d.log.InfoContext(ctx, "dry run: not sent (no access token)", "phone_number_id", phoneNumberID,
			"to", s.to, "type", s.kind, "text", s.text)
	}
	d.log.DebugContext(ctx, "dry run body", "body", string(body))
	return "wamid.dryrun." + strconv.FormatInt(n, 10), nil
}

type summary struct {
	to, kind, text string
	receipt        bool // a read receipt or typing indicator: text is the customer's wamid
}

// summarize picks out what a person wants to see of a Graph request body.
func summarize(body []byte) summary {
	var b struct {
		To          string `json:"to"`
		Recipient   string `json:"recipient"`
		Type        string `json:"type"`
		Status      string `json:"status"`
		MessageID   string `json:"message_id"`
		Text        struct{ Body string }
		Interactive struct {
			Type   string
			Body   struct{ Text string }
			Action struct {
				Button  string
				Buttons []struct {
					Reply struct{ Title string }
				}
				Sections []struct {
					Rows []struct{ Title string }
				}
			}
		}
		Image, Video, Document, Audio, Sticker struct{ Link, ID, Caption string }
		Reaction                               struct{ Emoji string }
		Template                               struct{ Name string }
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return summary{kind: "?"}
	}
	s := summary{to: b.To, kind: b.Type}
	if s.to == "" {
		s.to = b.Recipient
	}
	switch {
	case b.Status == "read":
		s.kind, s.text, s.receipt = "read receipt", b.MessageID, true
		if bytes.Contains(body, []byte(`"typing_indicator"`)) {
			s.kind = "read receipt and typing indicator"
		}
	case b.Type == "text":
		s.text = b.Text.Body
	case b.Type == "interactive":
		s.kind = "interactive " + b.Interactive.Type
		parts := []string{b.Interactive.Body.Text}
		for i, btn := range b.Interactive.Action.Buttons {
			parts = append(parts, "["+strconv.Itoa(i+1)+"] "+btn.Reply.Title)
		}
		n := 0
		for _, sec := range b.Interactive.Action.Sections {
			for _, r := range sec.Rows {
				n++
				parts = append(parts, "["+strconv.Itoa(n)+"] "+r.Title)
			}
		}
		s.text = strings.Join(parts, " ")
	case b.Type == "reaction":
		s.text = b.Reaction.Emoji
	case b.Type == "template":
		s.text = b.Template.Name
	default:
		for _, m := range []struct{ Link, ID, Caption string }{b.Image, b.Video, b.Document, b.Audio, b.Sticker} {
			if m.Link != "" || m.ID != "" {
				s.text = strings.TrimSpace(m.Link + m.ID + " " + m.Caption)
			}
		}
	}
	return s
}
