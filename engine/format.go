package engine

import (
	"fmt"
	"strings"

	"github.com/balas-bot/balas/rules"
)

// Choice is a button or list row of the bot's replies that the customer can
// tap. Choices are numbered from 1 across all messages of one answer, in the
// order FormatReplies shows them.
type Choice struct {
	Kind  string // "button" or "list"
	ID    string
	Title string
	// Description is the list row's description.
	Description string
}

// Choices lists the buttons and list rows of replies in order.
func Choices(replies []rules.Reply) []Choice {
	var cs []Choice
	for _, r := range replies {
		switch r.Kind {
		case "buttons":
			for _, bt := range r.Buttons {
				cs = append(cs, Choice{Kind: "button", ID: bt.ID, Title: bt.Title})
			}
		case "list":
			for _, s := range r.Sections {
				for _, row := range s.Rows {
					cs = append(cs, Choice{Kind: "list", ID: row.ID, Title: row.Title, Description: row.Description})
				}
			}
		}
	}
	return cs
}

// FormatReplies renders replies for a terminal, one message after the other;
// buttons and list rows are numbered like Choices:
//
//	bot: Kamu memilih Produk A. Lanjut order?
//	  [1] Order Sekarang
//	  [2] Batal
//	bot: [image: https://example.com/a.jpg] Produk A
func FormatReplies(replies []rules.Reply) string {
	var b strings.Builder
	n := 0
	for _, r := range replies {
		formatReply(&b, r, &n)
	}
	return b.String()
}

func formatReply(b *strings.Builder, r rules.Reply, n *int) {
	// The first line: "bot: " and the header, body or media.
	main := r.Text
	switch r.Kind {
	case "image", "video", "audio", "document", "sticker":
		src := ""
		if r.Media != nil {
			src = r.Media.Link
			if src == "" {
				src = "media id " + r.Media.ID
			}
			if r.Media.Filename != "" {
				src += " (" + r.Media.Filename + ")"
			}
		}
		caption := r.Text
		if caption == "" && r.Media != nil {
			caption = r.Media.Caption
		}
		main = fmt.Sprintf("[%s: %s]", r.Kind, src)
		if caption != "" {
			main += " " + caption
		}
	case "react":
		main = "(reacts " + r.Emoji + " to your message)"
	case "template":
		name, lang := "", ""
		if r.Template != nil {
			name, lang = r.Template.Name, r.Template.Language
		}
		main = fmt.Sprintf("[template %s (%s)]", name, lang)
	case "text", "", "buttons", "list", "cta_url", "location_request":
	default:
		main = fmt.Sprintf("[%s] %s", r.Kind, r.Text)
	}
	if r.Header != "" {
		main = "*" + r.Header + "*\n" + main
	}
	b.WriteString("bot: ")
	b.WriteString(strings.ReplaceAll(main, "\n", "\n     "))
	b.WriteString("\n")
	if r.Footer != "" {
		fmt.Fprintf(b, "     _%s_\n", r.Footer)
	}

	// Then what can be tapped.
	switch r.Kind {
	case "buttons":
		for _, bt := range r.Buttons {
			*n++
			fmt.Fprintf(b, "  [%d] %s\n", *n, bt.Title)
		}
	case "list":
		if r.ListButton != "" {
			fmt.Fprintf(b, "  (%s)\n", r.ListButton)
		}
		for _, s := range r.Sections {
			if s.Title != "" {
				fmt.Fprintf(b, "  %s\n", s.Title)
			}
			for _, row := range s.Rows {
				*n++
				if row.Description != "" {
					fmt.Fprintf(b, "  [%d] %s — %s\n", *n, row.Title, row.Description)
				} else {
					fmt.Fprintf(b, "  [%d] %s\n", *n, row.Title)
				}
			}
		}
	case "cta_url":
		if r.CTA != nil {
			fmt.Fprintf(b, "  [%s] → %s\n", r.CTA.DisplayText, r.CTA.URL)
		}
	case "location_request":
		b.WriteString("  [Send location]\n")
	}
	if r.Quote {
		b.WriteString("  (quotes your message)\n")
	}
}
