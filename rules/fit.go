package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fit shortens every field of a rendered reply that exceeds WhatsApp's limit
// (text 4096, interactive body 1024, button title 20, row title 24, row
// description 72, list button 20, section title 24, header and footer 60,
// caption 1024, CTA display text 20), at a word boundary, ending with "…".
// It returns one note per shortened field, such as
// "buttons[1].title shortened from 27 to 20 characters". Ids and URLs are
// never shortened. The engine calls Fit after Render.
func Fit(r *Reply) []string {
	var notes []string
	fit := func(s *string, max int, name string) {
		n := utf8.RuneCountInString(*s)
		if n <= max {
			return
		}
		*s = shorten(*s, max)
		notes = append(notes, fmt.Sprintf("%s shortened from %d to %d characters", name, n, utf8.RuneCountInString(*s)))
	}
	sameCaption := r.Media != nil && r.Media.Caption == r.Text
	switch r.Kind {
	case "text":
		fit(&r.Text, maxText, "text")
	case "buttons", "list", "cta_url", "location_request":
		fit(&r.Text, maxBody, "body")
	case "image", "video", "audio", "document", "sticker":
		fit(&r.Text, maxCaption, "caption")
	}
	fit(&r.Header, maxHeader, "header")
	fit(&r.Footer, maxFooter, "footer")
	for i := range r.Buttons {
		fit(&r.Buttons[i].Title, maxButtonTitle, fmt.Sprintf("buttons[%d].title", i))
	}
	fit(&r.ListButton, maxListButton, "list_button")
	for i := range r.Sections {
		s := &r.Sections[i]
		fit(&s.Title, maxSectionT, fmt.Sprintf("sections[%d].title", i))
		for j := range s.Rows {
			fit(&s.Rows[j].Title, maxRowTitle, fmt.Sprintf("sections[%d].rows[%d].title", i, j))
			fit(&s.Rows[j].Description, maxRowDesc, fmt.Sprintf("sections[%d].rows[%d].description", i, j))
		}
	}
	if r.Media != nil {
		if sameCaption {
			r.Media.Caption = r.Text // fitted as the caption above
		} else {
			fit(&r.Media.Caption, maxCaption, "media.caption")
		}
	}
	if r.CTA != nil {
		fit(&r.CTA.DisplayText, maxDisplayText, "cta.display_text")
	}
	return notes
}

// shorten cuts s to at most max code points (max ≥ 1), preferring a word
// boundary in the last third, and ends it with "…".
func shorten(s string, max int) string {
	if max < 1 {
		return ""
	}
	runes := []rune(s)
	keep := runes[:max-1]
	cut := len(keep)
	// Cut before a space, so that no word is broken, if one is near the end.
	for i := max - 1; i > (max-1)*2/3; i-- {
		if unicode.IsSpace(runes[i]) {
			cut = i
			break
		}
	}
	out := strings.TrimRightFunc(string(keep[:cut]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
	if out == "" {
		out = string(keep)
	}
	return out + "…"
}
