package rules

import (
	"path/filepath"
	"testing"
)

// A rules folder given with a trailing slash (as shell completion writes
// it), or as ./rules, is watched like the same folder written plainly.
func TestWatcherFolderPathNotClean(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(dir string) string
	}{
		{"trailing slash", func(dir string) string { return dir + "/" }},
		{"dot segment", func(dir string) string { return filepath.Dir(dir) + "/./" + filepath.Base(dir) }},
		{"double slash", func(dir string) string { return filepath.Dir(dir) + "//" + filepath.Base(dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1")})
			_, cur := startWatcher(t, tc.path(dir), nil)
			write(t, filepath.Join(dir, "a.yaml"), ruleFile("a2"))
			waitFor(t, "the edit", func() bool { return ids(cur.Load()) == "a2" })
		})
	}
}
