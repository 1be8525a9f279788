package rules

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads a gauge or counter.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

func ruleFile(ids ...string) string {
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n")
	for _, id := range ids {
		b.WriteString("  - id: " + id + "\n    when: {keywords: [" + id + "]}\n    reply: " + id + "\n")
	}
	return b.String()
}

// startWatcher runs a watcher of path; the current set is kept in an
// atomic.Pointer, as the engine does.
func startWatcher(t *testing.T, path string, reg prometheus.Registerer) (*Watcher, *atomic.Pointer[Set]) {
	t.Helper()
	w := NewWatcher(path, WatcherOptions{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: reg,
		Debounce:   20 * time.Millisecond,
		Poll:       50 * time.Millisecond,
	})
	var cur atomic.Pointer[Set]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(s *Set) { cur.Store(s) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "first load", func() bool { return cur.Load() != nil })
	return w, &cur
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ids(s *Set) string {
	var out []string
	for _, r := range s.Rules {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherFolder(t *testing.T) {
	dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1", "a2")})
	reg := prometheus.NewRegistry()
	w, cur := startWatcher(t, dir, reg)
	if got := ids(cur.Load()); got != "a1,a2" {
		t.Fatalf("rules %s", got)
	}

	// Evaluations run all along and must always see a whole set.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := cur.Load()
				for i, r := range s.Rules {
					if r.Index != i || len(r.Reply) != 1 {
						t.Errorf("torn set %s", s.Version)
						return
					}
					out, err := r.Reply[0].Render(&Env{})
					if err != nil || out.Text != r.ID {
						t.Errorf("render %s: %q %v", r.ID, out.Text, err)
						return
					}
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	a := filepath.Join(dir, "a.yaml")
	// Edit in place.
	write(t, a, ruleFile("a1", "a2", "a3"))
	waitFor(t, "edit in place", func() bool { return ids(cur.Load()) == "a1,a2,a3" })

	// Save by rename, as editors do.
	tmp := filepath.Join(dir, ".a.yaml.swp")
	write(t, tmp, ruleFile("a1"))
	if err := os.Rename(tmp, a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rename-over save", func() bool { return ids(cur.Load()) == "a1" })

	// A new file in the folder.
	write(t, filepath.Join(dir, "b.yaml"), ruleFile("b1"))
	waitFor(t, "new file", func() bool { return ids(cur.Load()) == "a1,b1" })

	// A broken edit keeps the last good set and shows the error.
	good := cur.Load()
	write(t, filepath.Join(dir, "b.yaml"), "version: 1\nrules:\n  - id: b1\n    when: {keyword: [x]}\n    reply: x\n")
	// The watcher may also catch the file truncated but not yet written
	// (an "empty file" error): wait for the error of the edit itself.
	wantErr := filepath.Join(dir, "b.yaml") + ":4:12: unknown key `keyword`; did you mean `keywords`?"
	waitFor(t, "error status", func() bool { return w.Status().LastError == wantErr })
	st := w.Status()
	if st.LastError != wantErr || st.Set != good || cur.Load() != good {
		t.Fatalf("status %+v", st)
	}
	if v := value(w.okGauge); v != 0 {
		t.Errorf("successful gauge %v", v)
	}
	// Fixed again.
	write(t, filepath.Join(dir, "b.yaml"), ruleFile("b2"))
	waitFor(t, "fixed", func() bool { return ids(cur.Load()) == "a1,b2" })
	if st := w.Status(); !st.Successful || st.LastError != "" || st.Set != cur.Load() || st.LastReloadAt.IsZero() {
		t.Errorf("status %+v", st)
	}
	// Test files and other files are ignored; Reload works on demand.
	write(t, filepath.Join(dir, "b_test.yaml"), "not: rules")
	before := value(w.reloads.WithLabelValues("success"))
	w.Reload()
	waitFor(t, "Reload", func() bool { return value(w.reloads.WithLabelValues("success")) > before })
	if got := value(w.reloads.WithLabelValues("failure")); got < 1 { // more when a write was caught half done
		t.Errorf("failures %v", got)
	}
	fams, err := reg.Gather()
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	if err != nil || strings.Join(names, ",") != "balas_rules_last_reload_successful,balas_rules_last_reload_timestamp_seconds,balas_rules_reloads_total" {
		t.Errorf("metrics: %v %v", names, err)
	}
}

func TestWatcherFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.yaml")
	write(t, path, ruleFile("a"))
	w, cur := startWatcher(t, path, nil)

	// Delete: the last good set stays.
	good := cur.Load()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delete noticed", func() bool { return !w.Status().Successful })
	if cur.Load() != good || !strings.Contains(w.Status().LastError, "shop.yaml") {
		t.Fatalf("status %+v", w.Status())
	}
	// Recreate.
	write(t, path, ruleFile("b"))
	waitFor(t, "recreated", func() bool { return ids(cur.Load()) == "b" })
	// Other files in the folder are ignored.
	write(t, filepath.Join(dir, "other.yaml"), "garbage: [")
	time.Sleep(100 * time.Millisecond)
	if !w.Status().Successful {
		t.Errorf("other file caused a reload: %+v", w.Status())
	}
}

func TestWatcherFirstLoadFails(t *testing.T) {
	dir := writeRules(t, map[string]string{"a.yaml": "version: 1\nrules:\n  - id: a\n    reply: '{{ nope }}'\n    colour: red\n"})
	w := NewWatcher(dir, WatcherOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	err := w.Run(context.Background(), func(*Set) { t.Error("apply called") })
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"a.yaml:4:13: in `text`: {{ nope }}: unknown name `nope`", "a.yaml:5:5: unknown key `colour`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if st := w.Status(); st.Successful || st.Set != nil || st.LastError == "" {
		t.Errorf("status %+v", st)
	}
}

func TestDiff(t *testing.T) {
	a, _, err := Parse("a.yaml", []byte(ruleFile("x", "y", "z")))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Parse("a.yaml", []byte(strings.Replace(ruleFile("w", "x", "y"), "reply: y", "reply: yy", 1)))
	if err != nil {
		t.Fatal(err)
	}
	added, removed, changed := Diff(a, b)
	if strings.Join(added, ",") != "w" || strings.Join(removed, ",") != "z" || strings.Join(changed, ",") != "y" {
		t.Errorf("added %v removed %v changed %v", added, removed, changed)
	}
	if added, _, _ := Diff(nil, a); len(added) != 3 {
		t.Errorf("from nil: %v", added)
	}
}

// A Kubernetes ConfigMap volume publishes each file as a link into "..data",
// itself a link to a timestamped folder, and updates by renaming a new link
// over "..data": that is an edit.
func TestWatcherFollowsConfigMapUpdates(t *testing.T) {
	dir := t.TempDir()
	publish := func(version, body string) {
		t.Helper()
		ts := filepath.Join(dir, "..2026_11_25_"+version)
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, "shop.yaml"), body)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("v1", ruleFile("old"))
	if err := os.Symlink(filepath.Join("..data", "shop.yaml"), filepath.Join(dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, "shop.yaml")} { // --rules the folder, or the file
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, cur := startWatcher(t, path, nil)
			if got := ids(cur.Load()); got != "old" {
				t.Fatalf("rules %s", got)
			}
			publish("v2"+filepath.Base(path), ruleFile("new"))
			waitFor(t, "the ConfigMap update", func() bool { return ids(cur.Load()) == "new" })
			publish("v3"+filepath.Base(path), ruleFile("newer")) // the watch moved to the new folder
			waitFor(t, "the next update", func() bool { return ids(cur.Load()) == "newer" })
		})
		publish("v4"+filepath.Base(path), ruleFile("old"))
	}
}

// --rules naming a link to a file kept elsewhere (a git checkout): edits
// of the file it points to are edits.
func TestWatcherFollowsALinkedFile(t *testing.T) {
	real := filepath.Join(t.TempDir(), "toko.yaml")
	write(t, real, ruleFile("old"))
	link := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	_, cur := startWatcher(t, link, nil)
	write(t, real, ruleFile("new"))
	waitFor(t, "the edit of the linked file", func() bool { return ids(cur.Load()) == "new" })
	// Other files next to it do not matter.
	write(t, filepath.Join(filepath.Dir(real), "other.yaml"), "garbage: [")
	folder := filepath.Join(t.TempDir(), "rules") // and a folder of links
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(folder, "toko.yaml")); err != nil {
		t.Fatal(err)
	}
	_, curFolder := startWatcher(t, folder, nil)
	write(t, real, ruleFile("newest"))
	waitFor(t, "the edit seen through the folder's link", func() bool { return ids(curFolder.Load()) == "newest" })
}

// A set already in use (balas serve loads the rules before it opens the
// database) survives a first load that fails: Run keeps it, reports the
// error, and applies the fix when it comes.
func TestWatcherKeepsTheLoadedSet(t *testing.T) {
	dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a")})
	loaded, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a.yaml"), "version: 1\nrules:\n  - id: a\n    when: {keyword: [x]}\n    reply: x\n")
	w := NewWatcher(dir, WatcherOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Debounce: 20 * time.Millisecond, Loaded: loaded})
	if st := w.Status(); st.Set != loaded {
		t.Fatalf("before Run: status %+v, want the loaded set", st)
	}
	var cur atomic.Pointer[Set]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(s *Set) { cur.Store(s) }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor(t, "the first load", func() bool { return !w.Status().LastReloadAt.IsZero() })
	if st := w.Status(); st.Successful || st.Set != loaded || !strings.Contains(st.LastError, "unknown key `keyword`") {
		t.Fatalf("after a failed first load: %+v", st)
	}
	write(t, filepath.Join(dir, "a.yaml"), ruleFile("fixed"))
	waitFor(t, "the fix", func() bool { return cur.Load() != nil && ids(cur.Load()) == "fixed" })
}

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

// The time of the last load in Status and in
// balas_rules_last_reload_timestamp_seconds is read from the watcher's clock.
func TestWatcherStampsLoadsWithItsClock(t *testing.T) {
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	dir := writeRules(t, map[string]string{"a.yaml": ruleFile("a1")})
	w := NewWatcher(dir, WatcherOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return at }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(*Set) {}) }()
	waitFor(t, "the first load", func() bool { return !w.Status().LastReloadAt.IsZero() })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := w.Status().LastReloadAt; !got.Equal(at) {
		t.Errorf("LastReloadAt = %v, want %v", got, at)
	}
	if got, want := value(w.lastStamp), float64(at.Unix()); got != want {
		t.Errorf("last reload timestamp = %v, want %v", got, want)
	}
}
