package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genRules writes a file of n rules with keywords, buttons, lists and templates.
func genRules(b testing.TB, n int) string {
	var sb strings.Builder
	sb.WriteString("version: 1\nsettings: {timezone: Asia/Jakarta}\nvars: {shop: Toko Maju}\nrules:\n")
	for i := range n {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, "  - id: r%d\n    when: {keywords: [produk%d, \"harga %d\"]}\n    reply: \"Hai {{ contact.name }}! Produk %d dari {{ vars.shop }} 👋\"\n", i, i, i, i)
		case 1:
			fmt.Fprintf(&sb, "  - id: r%d\n    when: {list: \"p%d_*\"}\n    set: {product: \"{{ message.reply.title }}\"}\n    reply:\n      buttons:\n        body: \"Kamu memilih {{ message.reply.title }}. Lanjut order?\"\n        buttons:\n          - {id: order_%d, title: Order Sekarang 🛒}\n          - {id: cancel_%d, title: Batal}\n", i, i, i, i)
		case 2:
			fmt.Fprintf(&sb, "  - id: r%d\n    when: {button: [order_%d, cancel_%d]}\n    reply:\n      list:\n        body: Pilih produk %d\n        button: Lihat produk\n        sections:\n          - title: Terlaris\n            rows:\n              - {id: p%d_1, title: Produk A, description: \"Rp 100.000\"}\n              - {id: p%d_2, title: Produk B}\n    goto: s%d\n", i, i-1, i-1, i, i-1, i-1, i)
		case 3:
			fmt.Fprintf(&sb, "  - id: r%d\n    when: {state: s%d, expr: 'message.type == \"text\"'}\n    reply: \"Terima kasih! {{ session.product }} dikirim ke: {{ message.text }}\"\n    goto: \"\"\n", i, i-1)
		}
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func TestGeneratedRulesLoadClean(t *testing.T) {
	path := genRules(t, 400)
	set, diags, err := Load(path)
	if err != nil || len(diags) != 0 || len(set.Rules) != 400 {
		t.Fatalf("%v\n%s", err, FormatDiagnostics(diags))
	}
}

func BenchmarkLoad10000Rules(b *testing.B) {
	path := genRules(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		set, _, err := Load(path)
		if err != nil || len(set.Rules) != 10000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoll10000Rules is one check of a folder of 10,000 rules (in 100
// files) for changes, as the watcher makes every second when the system
// gives no file events.
func BenchmarkPoll10000Rules(b *testing.B) {
	dir := b.TempDir()
	for f := range 100 {
		var sb strings.Builder
		sb.WriteString("version: 1\nrules:\n")
		for i := range 100 {
			fmt.Fprintf(&sb, "  - id: r%d_%d\n    when: {keywords: [produk%d_%d, \"harga %d\"]}\n    reply: \"Hai {{ contact.name }}! Produk %d dari toko kami 👋\"\n", f, i, f, i, i, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%03d.yaml", f)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	w := NewWatcher(dir, WatcherOptions{})
	last := w.fingerprint()
	b.ResetTimer()
	for b.Loop() {
		if w.fingerprint() != last {
			b.Fatal("the unchanged rules changed")
		}
	}
}
