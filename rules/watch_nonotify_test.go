package rules

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fsnotify/fsnotify"
)

// When the system gives no file watcher (inotify's per-user limit of
// instances or watches reached, common on a host running many containers),
// the rules are still reloaded when they change, and on Reload (SIGHUP):
// the watcher checks them every Poll instead of stopping.
func TestWatcherWithoutFileEvents(t *testing.T) {
	defer func(f func() (*fsnotify.Watcher, error)) { newFSWatcher = f }(newFSWatcher)
	newFSWatcher = func() (*fsnotify.Watcher, error) { return nil, errors.New("too many open files") }

	dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1")})
	w, cur := startWatcher(t, dir, nil)
	write(t, filepath.Join(dir, "a.yaml"), ruleFile("a2", "a3"))
	waitFor(t, "the edit, without file events", func() bool { return ids(cur.Load()) == "a2,a3" })
	write(t, filepath.Join(dir, "b.yaml"), ruleFile("b1"))
	waitFor(t, "a new file, without file events", func() bool { return ids(cur.Load()) == "a2,a3,b1" })
	w.Reload()
	waitFor(t, "Reload", func() bool { return w.Status().Successful })
}

// An edit that lands after the watcher loaded the rules but before it
// watches them (balas serve starting while a deployment writes the rules)
// is not missed: the running rules are the ones on disk.
func TestWatcherSeesAnEditMadeWhileItStarts(t *testing.T) {
	for _, events := range []bool{true, false} {
		name := "file events"
		if !events {
			name = "no file events"
		}
		t.Run(name, func(t *testing.T) {
			dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1")})
			defer func(f func() (*fsnotify.Watcher, error)) { newFSWatcher = f }(newFSWatcher)
			newFSWatcher = func() (*fsnotify.Watcher, error) {
				// Run has loaded the rules and is about to watch them.
				write(t, filepath.Join(dir, "a.yaml"), ruleFile("a2", "a3"))
				if !events {
					return nil, errors.New("too many open files")
				}
				return fsnotify.NewWatcher()
			}
			_, cur := startWatcher(t, dir, nil)
			waitFor(t, "the edit made while the watcher started", func() bool { return ids(cur.Load()) == "a2,a3" })
		})
	}
}

// An edit that keeps the file's size and modification time (rules deployed
// with `cp -p`, `rsync -t` or tar, which keep the times of the source, or a
// same-size edit within the file system's timestamp granularity) is applied,
// with file events and without.
func TestWatcherAppliesAnEditThatKeepsSizeAndTime(t *testing.T) {
	for _, how := range []string{"in place", "by rename"} {
		for _, events := range []bool{true, false} {
			name := how + ", file events"
			if !events {
				name = how + ", no file events"
			}
			t.Run(name, func(t *testing.T) {
				if !events {
					defer func(f func() (*fsnotify.Watcher, error)) { newFSWatcher = f }(newFSWatcher)
					newFSWatcher = func() (*fsnotify.Watcher, error) { return nil, errors.New("too many open files") }
				}
				dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1")})
				a := filepath.Join(dir, "a.yaml")
				old, err := os.Stat(a)
				if err != nil {
					t.Fatal(err)
				}
				_, cur := startWatcher(t, dir, nil)
				body := ruleFile("b1")
				if len(body) != int(old.Size()) {
					t.Fatalf("the new rules are %d bytes, not %d", len(body), old.Size())
				}
				switch how {
				case "in place": // cp -p
					write(t, a, body)
					if err := os.Chtimes(a, old.ModTime(), old.ModTime()); err != nil {
						t.Fatal(err)
					}
				case "by rename": // rsync -t: a temporary file with the times set, renamed over
					tmp := filepath.Join(dir, ".a.yaml.tmp")
					write(t, tmp, body)
					if err := os.Chtimes(tmp, old.ModTime(), old.ModTime()); err != nil {
						t.Fatal(err)
					}
					if err := os.Rename(tmp, a); err != nil {
						t.Fatal(err)
					}
				}
				if now, err := os.Stat(a); err != nil || now.Size() != old.Size() || !now.ModTime().Equal(old.ModTime()) {
					t.Fatalf("the rewritten file does not keep the size and time: %v %v", now, err)
				}
				waitFor(t, "the edit that kept the size and time", func() bool { return ids(cur.Load()) == "b1" })
			})
		}
	}
}
