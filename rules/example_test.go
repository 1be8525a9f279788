package rules_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/balas-bot/balas/rules"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "rules")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(`version: 1
rules:
  - id: sapa
    when: {keyword: [halo]}
    reply: "Hai {{ contact.name }}!"
`), 0o644)

	_, diags, err := rules.Load(filepath.Join(dir, "shop.yaml"))
	for _, d := range diags {
		fmt.Println(filepath.Base(d.String()))
	}
	fmt.Println(err != nil)
	// Output:
	// shop.yaml:4:12: unknown key `keyword`; did you mean `keywords`?
	// true
}
