package rules

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
)

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	Logger     *slog.Logger          // default slog.Default()
	Registerer prometheus.Registerer // where reload metrics go; nil: none
	Debounce   time.Duration         // quiet time after a change before reloading; default 100ms
	// Poll is how often the watched folders are checked for having been
	// replaced (a folder removed and created again, moved aside for a new
	// one, or a link to it swapped), which no event inside them tells;
	// default 1s.
	Poll time.Duration
	// Loaded is a set of path already loaded and in use (balas serve loads
	// the rules before it opens the database). Status reports it from the
	// start, and when Run's first load fails, Run keeps it and goes on
	// watching, as after any bad edit.
	Loaded *Set
	// LoadedAt is when Loaded was loaded. When set, Status and the reload
	// metrics report that load as the last one, a good one, until Run's
	// first: balas serve may take long to start after a crash, and its
	// rules are in use meanwhile.
	LoadedAt time.Time
	// Now is the clock that stamps Status.LastReloadAt and the reload
	// timestamp metric; default time.Now.
	Now func() time.Time
}

// Status is the outcome of the last load.
type Status struct {
	Set          *Set      // the set in use (the last good one); nil before the first good load
	LastReloadAt time.Time // when the last load (good or bad) finished
	LastError    string    // first error of the last load as `file:line:col: message`; "" when it succeeded
	Successful   bool      // whether the last load succeeded
}

// Watcher loads a rules path and reloads it when its files change (or on
// Reload). A bad edit never replaces the running set: the errors are logged
// and shown in Status, and the last good set stays in use.
type Watcher struct {
	path   string
	log    *slog.Logger
	delay  time.Duration
	poll   time.Duration
	reload chan struct{}
	now    func() time.Time

	mu     sync.Mutex
	status Status

	okGauge   prometheus.Gauge
	reloads   *prometheus.CounterVec
	lastStamp prometheus.Gauge
}

// NewWatcher returns a watcher of path (a rules file or folder). Nothing
// happens until Run.
func NewWatcher(path string, opts WatcherOptions) *Watcher {
	// fsnotify names events by the cleaned path: "rules/", "./rules" or
	// "a//rules" as given would match none of them.
	path = filepath.Clean(path)
	w := &Watcher{path: path, log: opts.Logger, delay: opts.Debounce, poll: opts.Poll, reload: make(chan struct{}, 1), now: opts.Now}
	w.status.Set = opts.Loaded
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.delay <= 0 {
		w.delay = 100 * time.Millisecond
	}
	if w.poll <= 0 {
		w.poll = time.Second
	}
	w.okGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "balas_rules_last_reload_successful",
		Help: "Whether the last load of the rules succeeded (1) or failed (0).",
	})
	w.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "balas_rules_reloads_total",
		Help: "Loads of the rules, by result (success, failure).",
	}, []string{"result"})
	w.lastStamp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "balas_rules_last_reload_timestamp_seconds",
		Help: "Unix time of the last load of the rules.",
	})
	if r := opts.Registerer; r != nil {
		w.okGauge = register(r, w.okGauge)
		w.reloads = register(r, w.reloads)
		w.lastStamp = register(r, w.lastStamp)
	}
	if opts.Loaded != nil && !opts.LoadedAt.IsZero() {
		w.status.LastReloadAt, w.status.Successful = opts.LoadedAt, true
		w.okGauge.Set(1)
		w.lastStamp.Set(float64(opts.LoadedAt.UnixNano()) / 1e9)
	}
	return w
}

// register registers c, or returns the collector already registered under
// the same name.
func register[C prometheus.Collector](r prometheus.Registerer, c C) C {
	if err := r.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
	}
	return c
}

// Status returns the outcome of the last load. Safe for concurrent use.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Reload asks Run to reload the rules now (the server calls it on SIGHUP).
// It does not wait.
func (w *Watcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

// Run loads the rules and calls apply with the set; if that first load
// fails it returns an error listing every diagnostic, unless the watcher was
// given a set already in use (WatcherOptions.Loaded), which it then keeps.
// It then watches the folder (or the file's folder) and, after each change
// has settled for the debounce time, loads the whole set again and calls
// apply with it if it is good. Rules files that are symbolic links are
// followed: the folders they point into are watched too, and a link swapped
// for another (as Kubernetes does with a ConfigMap's "..data") is a change.
// When the system gives no file events (inotify's limits reached), Run
// checks the files every Poll instead of stopping.
// apply is only called from Run's goroutine. Run returns nil when ctx ends.
func (w *Watcher) Run(ctx context.Context, apply func(*Set)) error {
	// The files as they were before the first load: an edit made before
	// the watches below are in place sends no event, and is found by
	// comparing them with the files once watched.
	loaded := w.fingerprint()
	set, diags, err := Load(w.path)
	w.record(set, diags, err)
	switch {
	case err != nil && w.Status().Set == nil:
		var errs []Diagnostic
		var le *LoadError
		if errors.As(err, &le) {
			errs = le.Errors()
		}
		return fmt.Errorf("loading rules %s: %w\n%s", w.path, err, strings.TrimRight(FormatDiagnostics(errs), "\n"))
	case err != nil:
		w.logFailure(err)
	default:
		for _, d := range diags {
			w.log.Warn(d.String())
		}
		w.log.Info("rules loaded", "path", w.path, "rules", len(set.Rules), "files", len(set.Files), "version", set.Version)
		apply(set)
	}

	fsw, err := newFSWatcher()
	if err != nil {
		w.log.Error("cannot watch the rules for changes; checking them every "+w.poll.String()+" instead "+
			"(raise fs.inotify.max_user_instances)", "path", w.path, "err", err)
		return w.pollRun(ctx, apply, loaded)
	}
	defer fsw.Close()
	watched := w.targets()
	for dir := range watched.dirs {
		if err := fsw.Add(dir); err != nil {
			if dir == watched.main {
				w.log.Error("cannot watch the rules for changes; checking them every "+w.poll.String()+" instead "+
					"(raise fs.inotify.max_user_watches)", "path", dir, "err", err)
				fsw.Close()
				return w.pollRun(ctx, apply, loaded)
			}
			w.log.Warn("cannot watch the folder a rules file links into", "folder", dir, "err", err)
			delete(watched.dirs, dir)
		}
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	poll := time.NewTicker(w.poll)
	defer poll.Stop()
	if w.fingerprint() != loaded {
		timer.Reset(w.delay) // changed while the watches were set up
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fsw.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod || !watched.matters(ev.Name) {
				continue
			}
			timer.Reset(w.delay)
		case err, ok := <-fsw.Errors:
			if !ok {
				return nil
			}
			w.log.Error("watching rules", "path", w.path, "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(w.delay) // changes may have been missed
			}
		case <-w.reload:
			timer.Stop()
			w.reloadNow(apply)
			watched = w.follow(fsw, watched)
		case <-timer.C:
			w.reloadNow(apply)
			watched = w.follow(fsw, watched)
		case <-poll.C:
			// A folder replaced as a whole sends no event from inside it:
			// the watch stays on the old one.
			if watched.replaced() {
				timer.Stop()
				w.reloadNow(apply)
				watched = w.follow(fsw, watched)
			}
		}
	}
}

// newFSWatcher is fsnotify.NewWatcher, replaced in tests.
var newFSWatcher = fsnotify.NewWatcher

// pollRun is Run's loop when the system gives no file events: it reloads
// the rules when a check every w.poll finds their files changed since
// last (their fingerprint when loaded), and on Reload.
func (w *Watcher) pollRun(ctx context.Context, apply func(*Set), last string) error {
	tick := time.NewTicker(w.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.reload:
			last = w.fingerprint()
			w.reloadNow(apply)
		case <-tick.C:
			if fp := w.fingerprint(); fp != last {
				last = fp
				w.reloadNow(apply)
			}
		}
	}
}

// fingerprint sums up the rules files as they are on disk: their names,
// sizes, modification times and a hash of their content (links followed).
// The content counts because an edit may keep the size and the time: rules
// copied with `cp -p`, `rsync -t` or tar keep the time of their source, and
// two writes of the same size may fall within one tick of the file system's
// clock.
func (w *Watcher) fingerprint() string {
	files := []string{w.path}
	if st, err := os.Stat(w.path); err == nil && st.IsDir() {
		files = files[:0]
		entries, _ := os.ReadDir(w.path)
		for _, e := range entries {
			if IsRulesFile(e.Name()) {
				files = append(files, filepath.Join(w.path, e.Name()))
			}
		}
	}
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for _, f := range files {
		if st, err := os.Stat(f); err != nil {
			fmt.Fprintf(&b, "%s -\n", f)
		} else {
			fmt.Fprintf(&b, "%s %d %d %s\n", f, st.Size(), st.ModTime().UnixNano(), contentHash(f, buf))
		}
	}
	return b.String()
}

// contentSeed seeds the hashes of rules files' content: they are only
// compared within the process.
var contentSeed = maphash.MakeSeed()

// contentHash hashes the content of the file f, read with buf; "-" when it
// cannot be read.
func contentHash(f string, buf []byte) string {
	fh, err := os.Open(f)
	if err != nil {
		return "-"
	}
	defer fh.Close()
	var h maphash.Hash
	h.SetSeed(contentSeed)
	for {
		n, err := fh.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return strconv.FormatUint(h.Sum64(), 16)
		}
		if err != nil {
			return "-"
		}
	}
}

// watchList is what Run watches: folders, and the changes in them that
// matter.
type watchList struct {
	main  string          // the folder of the rules path (or the path, a folder)
	all   bool            // every rules file in main matters (the path is a folder)
	dirs  map[string]bool // main and the folders rules files link into
	names map[string]bool // file names that matter in any of dirs
	// ids are the folders of dirs as they were when watched (nil: missing):
	// inotify watches a folder, not its name, so a name that now leads to
	// another folder must be watched again.
	ids map[string]os.FileInfo
}

// identify records what each of l.dirs is now.
func (l *watchList) identify() {
	l.ids = make(map[string]os.FileInfo, len(l.dirs))
	for dir := range l.dirs {
		l.ids[dir], _ = os.Stat(dir) // follows links: the folder watched
	}
}

// moved reports whether dir now names another folder than when watched.
func (l watchList) moved(dir string) bool {
	old, ok := l.ids[dir]
	if !ok {
		return true
	}
	now, err := os.Stat(dir)
	if err != nil || old == nil {
		return (err == nil) != (old != nil)
	}
	return !os.SameFile(old, now)
}

// replaced reports whether any watched folder was replaced since.
func (l watchList) replaced() bool {
	for dir := range l.dirs {
		if l.moved(dir) {
			return true
		}
	}
	return false
}

// targets lists what to watch for the rules as they are now on disk.
func (w *Watcher) targets() watchList {
	l := watchList{main: w.path, dirs: map[string]bool{}, names: map[string]bool{}}
	var files []string
	if st, err := os.Stat(w.path); err == nil && st.IsDir() {
		l.all = true
		entries, _ := os.ReadDir(w.path)
		for _, e := range entries {
			if IsRulesFile(e.Name()) {
				files = append(files, filepath.Join(w.path, e.Name()))
			}
		}
	} else {
		l.main = filepath.Dir(w.path)
		l.names[filepath.Base(w.path)] = true
		files = append(files, w.path)
	}
	l.dirs[l.main] = true
	for _, f := range files {
		if st, err := os.Lstat(f); err != nil || st.Mode()&os.ModeSymlink == 0 {
			continue
		}
		if real, err := filepath.EvalSymlinks(f); err == nil {
			l.dirs[filepath.Dir(real)] = true
			l.names[filepath.Base(real)] = true
		}
	}
	l.identify()
	return l
}

// matters reports whether a change to the file name is a change to the
// rules: a rules file of the folder, the rules file, a file a rules file
// links to, or a link of the "..data" kind that Kubernetes swaps.
func (l watchList) matters(name string) bool {
	base := filepath.Base(name)
	return l.names[base] || strings.HasPrefix(base, "..") || (l.all && filepath.Dir(name) == l.main && IsRulesFile(base)) ||
		name == l.main // the folder itself was removed or moved away
}

// follow moves the watches to where the rules' links point now.
func (w *Watcher) follow(fsw *fsnotify.Watcher, cur watchList) watchList {
	next := w.targets()
	for dir := range next.dirs {
		if cur.dirs[dir] && !cur.moved(dir) {
			continue
		}
		if err := fsw.Add(dir); err != nil {
			w.log.Warn("cannot watch the folder a rules file links into", "folder", dir, "err", err)
			delete(next.dirs, dir)
		}
	}
	for dir := range cur.dirs {
		if !next.dirs[dir] && dir != next.main {
			_ = fsw.Remove(dir) // fails when the folder is gone, which is fine
		}
	}
	next.dirs[next.main] = true
	return next
}

func (w *Watcher) reloadNow(apply func(*Set)) {
	old := w.Status().Set
	set, diags, err := Load(w.path)
	w.record(set, diags, err)
	if err != nil {
		w.logFailure(err)
		return
	}
	for _, d := range diags {
		w.log.Warn(d.String())
	}
	added, removed, changed := Diff(old, set)
	w.log.Info("rules reloaded", "path", w.path, "rules", len(set.Rules), "version", set.Version,
		"added", added, "removed", removed, "changed", changed)
	apply(set)
}

// logFailure logs why a load failed, and that the last good set stays.
func (w *Watcher) logFailure(err error) {
	var le *LoadError
	if errors.As(err, &le) {
		for _, d := range le.Errors() {
			w.log.Error(d.String())
		}
	} else {
		w.log.Error(err.Error())
	}
	w.log.Error("rules not reloaded: keeping the last good set", "path", w.path)
}

// record stores a load's outcome in Status and the metrics.
func (w *Watcher) record(set *Set, diags []Diagnostic, err error) {
	now := w.now()
	w.mu.Lock()
	w.status.LastReloadAt = now
	if err != nil {
		w.status.Successful = false
		w.status.LastError = err.Error()
		var le *LoadError
		if errors.As(err, &le) {
			if errs := le.Errors(); len(errs) > 0 {
				w.status.LastError = errs[0].String()
			}
		}
	} else {
		w.status.Successful = true
		w.status.LastError = ""
		w.status.Set = set
	}
	w.mu.Unlock()
	w.lastStamp.Set(float64(now.UnixNano()) / 1e9)
	if err != nil {
		w.okGauge.Set(0)
		w.reloads.WithLabelValues("failure").Inc()
	} else {
		w.okGauge.Set(1)
		w.reloads.WithLabelValues("success").Inc()
	}
}

// Diff compares two sets by rule id: rules only in new (added), only in old
// (removed), and in both with a different content hash (changed). Either set
// may be nil.
func Diff(old, new *Set) (added, removed, changed []string) {
	oldHash := map[string]string{}
	if old != nil {
		for _, r := range old.Rules {
			oldHash[r.ID] = r.Hash
		}
	}
	newIDs := map[string]bool{}
	if new != nil {
		for _, r := range new.Rules {
			newIDs[r.ID] = true
			h, ok := oldHash[r.ID]
			switch {
			case !ok:
				added = append(added, r.ID)
			case h != r.Hash:
				changed = append(changed, r.ID)
			}
		}
	}
	if old != nil {
		for _, r := range old.Rules {
			if !newIDs[r.ID] {
				removed = append(removed, r.ID)
			}
		}
	}
	return added, removed, changed
}
