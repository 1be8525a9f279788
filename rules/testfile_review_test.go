package rules

import (
	"path/filepath"
	"strings"
	"testing"
)

// `balas check shop_test.yaml` read the conversation tests as rules and
// said "unknown key `tests`" and "`version: 1` is missing".
func TestLoadATestFileSaysSo(t *testing.T) {
	dir := writeRules(t, map[string]string{
		"shop.yaml":      "version: 1\nrules: []\n",
		"shop_test.yaml": "tests: []\n",
	})
	_, diags, err := Load(filepath.Join(dir, "shop_test.yaml"))
	if err == nil || len(diags) != 1 {
		t.Fatalf("err %v, diags %v", err, diags)
	}
	want := "is a conversation test file, not rules: check the rules file or folder beside it (balas test runs the tests)"
	if !strings.Contains(diags[0].String(), want) {
		t.Errorf("got %s\nwant …%s", diags[0], want)
	}
}
