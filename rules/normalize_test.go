package rules

import (
	"reflect"
	"testing"
	"unicode"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"halo", "halo"},
		{"HALO", "halo"},
		{"Hálo!!", "halo"},
		{"👋halo👋", "halo"},
		{"👋 halo 👋", "halo"},
		{"Selamat   pagi, kak", "selamat pagi kak"},
		{"  selamat pagi  ", "selamat pagi"},
		{"selamat pagi", "selamat pagi"},
		{"halodoc", "halodoc"},
		{"Terima kasih!!! 🙏🙏", "terima kasih"},
		{"Ça va? Très bien", "ca va tres bien"},
		{"CAFÉ", "cafe"},
		{"Straße", "strasse"},
		{"ΣΊΣΥΦΟΣ", "σισυφοσ"},
		{"order #123-abc", "order 123 abc"},
		{"tab\tand\nnewline", "tab and newline"},
		{"!!!", ""},
		{"👍", ""},
		{"Rp 100.000", "rp 100 000"},
		{"नमस्ते", "नमसत"}, // nonspacing marks go, letters stay together
		{"日本語 テキスト", "日本語 テキスト"},
		{"e\u0301", "e"}, // combining accent
		{"Ｈａｌｏ", "ｈａｌｏ"},
		// Apostrophes are dropped, not word breaks: the usual spellings of
		// Indonesian greetings and days match the keyword without one.
		{"Assalamu'alaikum kak", "assalamualaikum kak"},
		{"Assalamu’alaikum", "assalamualaikum"},
		{"Ma'af, Jum`at bisa?", "maaf jumat bisa"},
		{"don't", "dont"},
		{"'halo'", "halo"},
		{"halo ' kak", "halo kak"},
		{"Qurʼan", "quran"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Normalising twice changes nothing.
		if got := Normalize(Normalize(tt.in)); got != Normalize(tt.in) {
			t.Errorf("Normalize is not idempotent on %q: %q", tt.in, got)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"?!", nil},
		{"Halo kak", []string{"halo", "kak"}},
		{"Selamat   pagi, kak", []string{"selamat", "pagi", "kak"}},
		{"👋halo👋", []string{"halo"}},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeASCIINoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _ = Normalize("halo kak") })
	if allocs != 0 {
		t.Errorf("Normalize of normalised ASCII allocates %v times", allocs)
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, s := range []string{"halo kak", "Halo Kak!! apa kabar?", "Hálo 👋 kak"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				_ = Normalize(s)
			}
		})
	}
}

// Normalising twice changes nothing, for every letter and digit: keywords
// are normalised when the rules load and again when the engine indexes
// them, and must still equal what a customer's text normalises to.
func TestNormalizeIsIdempotent(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		s := "a" + string(r)
		once := Normalize(s)
		if twice := Normalize(once); twice != once {
			t.Errorf("Normalize(%q) = %q, and normalised again %q (U+%04X)", s, once, twice, r)
		}
	}
}

// Cherokee in capitals and in small letters is one text, as for any other
// cased script.
func TestNormalizeCherokeeCase(t *testing.T) {
	upper, lower := "ᏣᎳᎩ", "ꮳꮃꭹ"
	if Normalize(upper) != Normalize(lower) {
		t.Errorf("Normalize(%q) = %q but Normalize(%q) = %q", upper, Normalize(upper), lower, Normalize(lower))
	}
}

// A keycap emoji (a digit, a variation selector and the enclosing keycap)
// is its digit: customers answer a menu numbered 1️⃣ 2️⃣ 3️⃣ with "2️⃣", and
// an enclosing mark, like an accent, is not part of the word.
func TestNormalizeKeycapIsItsDigit(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2️⃣", "2"},
		{"2\u20e3", "2"},
		{"pilih 2️⃣ ya", "pilih 2 ya"},
		{"1️⃣0️⃣", "10"},
		{"#️⃣", ""},
		{"a\u20dd", "a"}, // enclosing circle
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
