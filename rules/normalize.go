package rules

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize prepares text for keyword and exact matching: Unicode case
// folding, accents removed (NFD, nonspacing and enclosing marks dropped, NFC:
// a keycap emoji such as 2️⃣ is its digit), apostrophes
// dropped (Assalamu'alaikum, Jum'at and Ma'af are written with and without
// one), and every run of other characters that are neither letters nor
// digits (punctuation, emoji, symbols, whitespace) turned into one space,
// trimmed at both ends.
//
//	Normalize("Hálo!!")               == "halo"
//	Normalize("👋halo👋")              == "halo"
//	Normalize("Selamat   pagi, kak") == "selamat pagi kak"
//	Normalize("Assalamu’alaikum")     == "assalamualaikum"
//	Normalize("2️⃣")                   == "2"
//
// The rules loader normalises keywords and exact texts with it when it loads;
// the engine normalises what the customer typed.
func Normalize(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return normalizeUnicode(s)
		}
	}
	return normalizeASCII(s)
}

// Words returns the normalised words of s (nil when there is none).
func Words(s string) []string {
	n := Normalize(s)
	if n == "" {
		return nil
	}
	return strings.Split(n, " ")
}

func isASCIIWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func normalizeASCII(s string) string {
	// Already normalised? Return it as is, without allocating.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ':
		default:
			clean = false
		}
		if !clean {
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '`' {
			continue // an apostrophe: dropped, not a word break
		}
		if !isASCIIWordByte(c) {
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

func normalizeUnicode(s string) string {
	// A Caser keeps state, so each call takes its own.
	s = cases.Fold().String(s)
	s = norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me), isApostrophe(r):
			// accents and other nonspacing marks are dropped, and so are
			// enclosing marks (the keycap of 2️⃣, which is its digit) and
			// apostrophes
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(foldCherokee(r))
		default:
			space = true
		}
	}
	return norm.NFC.String(b.String())
}

// foldCherokee folds a Cherokee letter to its capital, as Unicode's case
// folding does: x/text's Fold turns capitals into small letters and small
// letters into capitals, so that text written in either case, or once
// normalised, would not match.
func foldCherokee(r rune) rune {
	switch {
	case r >= 0xAB70 && r <= 0xABBF: // small letters a to mv
		return r - 0xAB70 + 0x13A0
	case r >= 0x13A0 && r <= 0x13F5: // capitals, as they fold
		return r
	case r >= 0x13F8 && r <= 0x13FD: // small letters ye to mv
		return r - 8
	}
	return r
}

// isApostrophe reports whether r is written as an apostrophe: ' ` ’ ‘ ʼ ´.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '`', '\u2019', '\u2018', '\u02bc', '\u00b4':
		return true
	}
	return false
}
