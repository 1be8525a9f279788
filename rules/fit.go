package rules

import (
	"fmt"
	"strconv"
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
// never shortened. Buttons keep distinct titles, as WhatsApp requires (see
// uniqueTitles). The engine calls Fit after Render.
func Fit(r *Reply) []string {
	var notes []string
	// name is a format and its indexes, formatted only for a field that is
	// shortened: nearly every reply fits, and naming each of its buttons
	// and rows cost more than the rest of Fit.
	fit := func(s *string, max int, name string, index ...any) {
		if len(*s) <= max { // never more code points than bytes
			return
		}
		n := utf8.RuneCountInString(*s)
		if n <= max {
			return
		}
		*s = shorten(*s, max)
		if len(index) > 0 {
			name = fmt.Sprintf(name, index...)
		}
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
	var titles []string // as rendered, when there are titles to keep apart
	if len(r.Buttons) > 1 {
		titles = make([]string, len(r.Buttons))
		for i := range r.Buttons {
			titles[i] = r.Buttons[i].Title
		}
	}
	for i := range r.Buttons {
		fit(&r.Buttons[i].Title, maxButtonTitle, "buttons[%d].title", i)
	}
	if titles != nil {
		notes = uniqueTitles(r.Buttons, titles, notes)
	}
	fit(&r.ListButton, maxListButton, "list_button")
	for i := range r.Sections {
		s := &r.Sections[i]
		fit(&s.Title, maxSectionT, "sections[%d].title", i)
		for j := range s.Rows {
			fit(&s.Rows[j].Title, maxRowTitle, "sections[%d].rows[%d].title", i, j)
			fit(&s.Rows[j].Description, maxRowDesc, "sections[%d].rows[%d].description", i, j)
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

// uniqueTitles keeps the buttons' titles apart, as WhatsApp requires: when
// shortening (or rendering) gave a title an earlier button has, it is
// shortened in the middle instead, keeping its end ("Kaos Pol…Ukuran XL"),
// and numbered if that is taken too. titles are the titles as rendered.
func uniqueTitles(buttons []Button, titles []string, notes []string) []string {
	taken := make(map[string]bool, len(buttons))
	for i := range buttons {
		b := &buttons[i]
		if !taken[b.Title] {
			taken[b.Title] = true
			continue
		}
		alt := titles[i]
		if utf8.RuneCountInString(alt) > maxButtonTitle {
			alt = shortenMiddle(alt, maxButtonTitle)
		}
		for n := 2; taken[alt]; n++ {
			suffix := " " + strconv.Itoa(n)
			alt = titles[i]
			if utf8.RuneCountInString(alt)+len(suffix) > maxButtonTitle {
				alt = shorten(alt, maxButtonTitle-len(suffix))
			}
			alt += suffix
		}
		notes = append(notes, fmt.Sprintf("buttons[%d].title made %q: %q is another button's title", i, alt, b.Title))
		b.Title = alt
		taken[alt] = true
	}
	return notes
}

// shortenMiddle cuts s to at most max code points (max ≥ 3) by taking out
// its middle, so that both ends stay.
func shortenMiddle(s string, max int) string {
	runes := []rune(s)
	head := (max - 1) / 2
	tail := max - 1 - head
	return strings.TrimRightFunc(string(runes[:head]), unicode.IsSpace) + "…" +
		strings.TrimLeftFunc(string(runes[len(runes)-tail:]), unicode.IsSpace)
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
