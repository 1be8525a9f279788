package rules

import (
	"errors"
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
