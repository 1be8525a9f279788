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
// its middle, so that both ends stay. Neither cut splits a character drawn
// from several code points (see clusterStart).
func shortenMiddle(s string, max int) string {
	runes := []rune(s)
	head := clusterStart(runes, (max-1)/2)
	tail := len(runes) - (max - 1 - (max-1)/2)
	for tail < len(runes) && clusterStart(runes, tail) != tail {
		tail++ // the kept end starts at a whole character
	}
	return strings.TrimRightFunc(string(runes[:head]), unicode.IsSpace) + "…" +
		strings.TrimLeftFunc(string(runes[tail:]), unicode.IsSpace)
}

// shorten cuts s to at most max code points (max ≥ 1), preferring a word
// boundary in the last third, and ends it with "…". It never splits a
// character drawn from several code points (see clusterStart).
func shorten(s string, max int) string {
	if max < 1 {
		return ""
	}
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	runes := []rune(s)
	if len(runes) <= max {
		return s
	}
	cut := clusterStart(runes, max-1)
	// Cut before a space, so that no word is broken, if one is near the end.
	for i := max - 1; i > (max-1)*2/3; i-- {
		if unicode.IsSpace(runes[i]) {
			cut = i
			break
		}
	}
	out := strings.TrimRightFunc(string(runes[:cut]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
	if out == "" {
		out = string(runes[:cut])
	}
	return out + "…"
}

// clusterStart moves a cut at runes[i] back to where the character it
// falls in starts, so that what is kept never ends in half of one: an
// emoji with its skin tone or variation selector, a family or profession
// joined by zero-width joiners, a flag (two regional indicators), a keycap,
// a subdivision flag's tags, or a letter with combining marks. WhatsApp
// would show the half as a broken symbol.
func clusterStart(runes []rune, i int) int {
	start := i
	for i > 0 && i < len(runes) && (extendsCluster(runes[i]) || runes[i-1] == '\u200d') {
		i--
	}
	if i > 0 && i < len(runes) && isRegionalIndicator(runes[i]) {
		// Flags pair regional indicators from the start of their run.
		j := i
		for j > 0 && isRegionalIndicator(runes[j-1]) {
			j--
		}
		if (i-j)%2 == 1 {
			i--
		}
	}
	if i == 0 {
		return start // one character longer than the limit: cut it anyway
	}
	return i
}

// extendsCluster reports whether r belongs to the character before it.
func extendsCluster(r rune) bool {
	switch {
	case r == '\u200d', r == '\u20e3': // zero-width joiner, keycap
		return true
	case r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef: // variation selectors
		return true
	case r >= 0x1f3fb && r <= 0x1f3ff: // skin tones
		return true
	case r >= 0xe0020 && r <= 0xe007f: // tags (subdivision flags)
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }
