package rules

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"os"
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

// A rules folder replaced by another (rm -rf + cp -r, or mv of a new
// release into place) is watched again: later edits are picked up.
func TestWatcherFolderReplaced(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace func(t *testing.T, dir, next string)
	}{
		{"rm and cp", func(t *testing.T, dir, next string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(next, dir); err != nil { // cp -r is slower; a rename is the worst case
				t.Fatal(err)
			}
		}},
		{"mv aside and mv in", func(t *testing.T, dir, next string) {
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(next, dir); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir, next := filepath.Join(root, "rules"), filepath.Join(root, "next")
			for _, d := range []string{dir, next} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			write(t, filepath.Join(dir, "a.yaml"), ruleFile("a1"))
			write(t, filepath.Join(next, "a.yaml"), ruleFile("a2"))
			_, cur := startWatcher(t, dir, nil)
			tc.replace(t, dir, next)
			waitFor(t, "the new folder", func() bool { return ids(cur.Load()) == "a2" })
			write(t, filepath.Join(dir, "a.yaml"), ruleFile("a3"))
			waitFor(t, "an edit in the new folder", func() bool { return ids(cur.Load()) == "a3" })
		})
	}
}

// A rules path that is a link to a release folder, swapped atomically for
// a link to the next release (ln -sfn new tmp && mv -T tmp current), is
// reloaded, and edits in the new release are seen.
func TestWatcherFolderLinkSwapped(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(root, v), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, v, "a.yaml"), ruleFile(v))
	}
	current := filepath.Join(root, "current")
	if err := os.Symlink("v1", current); err != nil {
		t.Fatal(err)
	}
	_, cur := startWatcher(t, current, nil)
	if err := os.Symlink("v2", filepath.Join(root, "tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "tmp"), current); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the swapped link", func() bool { return ids(cur.Load()) == "v2" })
	write(t, filepath.Join(root, "v2", "a.yaml"), ruleFile("v2b"))
	waitFor(t, "an edit in the new release", func() bool { return ids(cur.Load()) == "v2b" })
}

// Checking for replaced folders does not reload rules that did not change.
func TestWatcherPollDoesNotReloadUnchanged(t *testing.T) {
	dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1")})
	reg := prometheus.NewRegistry()
	w := NewWatcher(dir, WatcherOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg,
		Debounce: 10 * time.Millisecond, Poll: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var loads atomic.Int32
	go w.Run(ctx, func(*Set) { loads.Add(1) })
	waitFor(t, "first load", func() bool { return loads.Load() == 1 })
	time.Sleep(100 * time.Millisecond) // 20 polls
	if n := loads.Load(); n != 1 {
		t.Fatalf("the unchanged rules were loaded %d times", n)
	}
}
