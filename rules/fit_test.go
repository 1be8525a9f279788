package rules

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	r := Reply{
		Kind:    "buttons",
		Text:    strings.Repeat("kata ", 300),
		Header:  strings.Repeat("h", 61),
		Buttons: []Button{{ID: "a", Title: "Ok"}, {ID: strings.Repeat("i", 300), Title: "Pesan sekarang juga kak ya"}},
	}
	notes := Fit(&r)
	want := []string{
		"body shortened from 1500 to 1020 characters",
		"header shortened from 61 to 60 characters",
		"buttons[1].title shortened from 26 to 20 characters",
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s", strings.Join(notes, "\n"))
	}
	if got := r.Buttons[1].Title; got != "Pesan sekarang juga…" {
		t.Errorf("title %q", got)
	}
	if !strings.HasSuffix(r.Text, "kata…") || utf8.RuneCountInString(r.Text) > 1024 {
		t.Errorf("body %q", r.Text[len(r.Text)-20:])
	}
	if len(r.Buttons[1].ID) != 300 {
		t.Error("ids must not be shortened")
	}

	list := Reply{Kind: "list", ListButton: "Lihat semua produk kami", Sections: []Section{{Title: "ok", Rows: []Row{{ID: "x", Title: "t", Description: strings.Repeat("d", 80)}}}}}
	notes = Fit(&list)
	if len(notes) != 2 || notes[1] != "sections[0].rows[0].description shortened from 80 to 72 characters" {
		t.Errorf("list notes %v", notes)
	}
	media := Reply{Kind: "image", Text: strings.Repeat("é", 1100), Media: &Media{ID: "1", Caption: strings.Repeat("é", 1100)}}
	notes = Fit(&media)
	if len(notes) != 1 || media.Media.Caption != media.Text || utf8.RuneCountInString(media.Text) != 1024 {
		t.Errorf("media notes %v", notes)
	}
	ok := Reply{Kind: "text", Text: "Order Sekarang 🛒"}
	if notes := Fit(&ok); notes != nil {
		t.Errorf("unexpected %v", notes)
	}
}

// WhatsApp refuses a message whose buttons share a title: when shortening
// (or rendering) makes two the same, the later one keeps its end, or is
// numbered.
func TestFitKeepsButtonTitlesApart(t *testing.T) {
	for _, tc := range []struct {
		titles []string
		want   []string
	}{
		{[]string{"Kaos Polos Hitam Ukuran L", "Kaos Polos Hitam Ukuran XL"}, []string{"Kaos Polos Hitam…", "Kaos Polo…Ukuran XL"}},
		{[]string{"Kaos Polos Hitam Ukuran L", "Kaos Polos Hitam Ukuran L!", "Kaos Polos Hitam Ukuran L?"},
			[]string{"Kaos Polos Hitam…", "Kaos Polo…Ukuran L!", "Kaos Polo…Ukuran L?"}},
		{[]string{"Ya", "Ya", "Ya"}, []string{"Ya", "Ya 2", "Ya 3"}}, // rendered alike from templates
		{[]string{"Pesan sekarang juga ya", "Pesan sekarang juga ya", "Pesan sekarang juga ya"},
			[]string{"Pesan sekarang juga…", "Pesan sek…ng juga ya", "Pesan sekarang… 2"}},
		{[]string{"Satu", "Dua", "Tiga"}, []string{"Satu", "Dua", "Tiga"}},
	} {
		r := Reply{Kind: "buttons", Text: "Pilih"}
		for i, title := range tc.titles {
			r.Buttons = append(r.Buttons, Button{ID: strconv.Itoa(i), Title: title})
		}
		Fit(&r)
		seen := map[string]bool{}
		for i, b := range r.Buttons {
			if b.Title != tc.want[i] {
				t.Errorf("%q: button %d is %q, want %q", tc.titles, i, b.Title, tc.want[i])
			}
			if n := utf8.RuneCountInString(b.Title); n > maxButtonTitle {
				t.Errorf("%q: button %d has %d characters", tc.titles, i, n)
			}
			if seen[b.Title] {
				t.Errorf("%q: title %q twice", tc.titles, b.Title)
			}
			seen[b.Title] = true
		}
	}
}

// Shortening never leaves half of a character drawn from several code
// points, which WhatsApp shows as a broken symbol.
func TestShortenKeepsEmojiWhole(t *testing.T) {
	family := "👨\u200d👩\u200d👧\u200d👦"
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"flag pair", "🇮🇩🇲🇾🇸🇬🇹🇭", 4, "🇮🇩…"},
		{"flag pair, whole", "🇮🇩🇲🇾🇸🇬🇹🇭", 5, "🇮🇩🇲🇾…"},
		{"joined family", "Paket " + family + " hemat", 9, "Paket…"},
		{"skin tone", "Oke👍🏽👍🏽👍🏽", 5, "Oke…"},
		{"skin tone, whole", "Oke👍🏽👍🏽👍🏽", 6, "Oke👍🏽…"},
		{"keycap", "Pilih 1️⃣2️⃣3️⃣", 9, "Pilih…"},
		{"keycap, whole", "Pilih 1️⃣2️⃣3️⃣", 10, "Pilih 1️⃣…"},
		{"combining accent", "Cafe\u0301e\u0301e\u0301", 6, "Cafe\u0301…"},
		{"leading spaces", "      Pesan sekarang juga kak", 20, "Pesan sekarang juga…"},
		{"fits once trimmed", "   Pesan", 6, "Pesan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := shorten(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("shorten(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > tc.max {
				t.Errorf("%d code points, over %d", n, tc.max)
			}
		})
	}
	if got := shortenMiddle("🇮🇩🇮🇩🇮🇩🇮🇩🇮🇩🇮🇩", 6); got != "🇮🇩…🇮🇩" {
		t.Errorf("shortenMiddle split a flag: %q", got)
	}
}
