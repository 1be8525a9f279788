package rules

import (
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
