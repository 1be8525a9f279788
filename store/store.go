// Package store keeps balas's state in SQLite (modernc.org/sqlite, pure Go):
// raw webhook deliveries, messages, conversations, the outbox, delivery
// statuses and other webhook events.
//
// Every write goes through one writer goroutine that commits whatever is
// queued in a single transaction (group commit); when a job fails, the batch
// runs again without it, so a failing job never takes the others down. The
// database runs in WAL mode with synchronous=FULL: once Write returns nil,
// the data survives a crash or a power cut. The writer runs its statements
// on the driver connection (raw.go) and keeps the conversations it wrote in
// memory (convcache.go). Reads use a separate pool of connections.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("store: database is closed")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Now is the clock; time.Now when nil. Tests inject their own.
	Now func() time.Time
	// MaxBatch caps the jobs committed in one transaction (default 512).
	MaxBatch int
	// Linger is the longest the writer waits for more jobs before it
	// commits a batch (default 250 µs; negative: commit as soon as the
	// queue is empty). It waits only while jobs keep coming, each at most a
	// quarter of the wait after the last. Every commit writes and fsyncs the
	// pages it touched, so under load a short wait saves far more than it
	// costs, and a lone job waits at most Linger/4. When the jobs of the last
	// batch took longer than Linger to run, the writer waits up to that long
	// instead (at most 4×Linger): batches grow with the work each job brings
	// (see lingerFor).
	Linger time.Duration
}

// DB is an open balas database.
type DB struct {
	path    string
	file    os.FileInfo // the database file as opened (Ping)
	walPath string      // the write-ahead log: beside the file a symbolic link leads to
	wal     os.FileInfo // the write-ahead log as opened (Ping)
	now     func() time.Time
	write   *sql.DB // exactly one connection, the writer's
	read    *sql.DB

	jobs       chan job
	dones      sync.Pool // chan error, one per waiting Write
	hbMu       sync.Mutex
	heartbeat  *heartbeat // the CheckWrite write in flight, shared by its callers; nil: none
	maxBatch   int
	linger     time.Duration        // the longest a batch waits for more jobs
	stmts      map[string]*sql.Stmt // prepared on the write pool; writer goroutine only
	unprepared map[string]bool      // queries seen in a transaction, prepared after its commit
	raw        rawStmts             // Exec statements prepared on the driver connection

	onQueued atomic.Pointer[func([]OutboxItem)] // told of outbox items after their commit
	// handedOver is the highest outbox id whose commit was announced to
	// onQueued (or to nobody, when none is registered); see HandedOver.
	handedOver atomic.Int64
	queued     []OutboxItem // Tx.queued's array, kept between commits; writer goroutine only
	convs      convCache    // writer goroutine only

	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{}
	mu        sync.RWMutex // guards closed against concurrent Write
	closed    bool
}

type job struct {
	fn   func(tx *Tx) error
	done chan error
}

// Open opens (creating if needed) the SQLite database at path and applies the
// embedded migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: no database path given")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.Linger == 0 {
		opts.Linger = 250 * time.Microsecond
	}
	dsn := func(txlock string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "temp_store(MEMORY)") // savepoint journals stay in memory
		q.Add("_txlock", txlock)
		return "file:" + uriPath(path) + "?" + q.Encode()
	}
	createPrivate(path)
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// Turning a new database to WAL takes its lock without waiting for it:
	// another process opening it at the same moment makes this fail as
	// busy, so it is tried again for a while.
	err = write.PingContext(ctx)
	for wait := time.Millisecond; err != nil && strings.Contains(err.Error(), "SQLITE_BUSY") && wait < 10*time.Second; wait *= 2 {
		time.Sleep(wait)
		err = write.PingContext(ctx)
	}
	if err != nil {
		write.Close()
		hint := "check that the folder exists and is writable"
		if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
			hint = "the file is not a SQLite database, or it is damaged: point to another file, or restore it from a backup"
		}
		return nil, fmt.Errorf("open database %s: %w (%s)", path, err, hint)
	}
	db := &DB{
		path:       path,
		now:        opts.Now,
		write:      write,
		jobs:       make(chan job, 4096),
		maxBatch:   opts.MaxBatch,
		linger:     opts.Linger,
		stmts:      map[string]*sql.Stmt{},
		unprepared: map[string]bool{},
		convs:      convCache{rows: map[convKey]convRow{}, max: maxCachedConversations},
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	// SQLite opens a file it may read but not write (its permissions, a
	// read-only mount) without a word, and a migrated database needs no
	// write to open: balas would then answer every webhook 503, and send
	// the replies waiting in the outbox without being able to record them
	// as sent. A full disk or a busy lock is left to /readyz: it passes.
	if _, err := write.ExecContext(ctx, `UPDATE heartbeat SET at = ? WHERE id = 1`, db.now().UnixMilli()); isReadOnly(err) {
		write.Close()
		return nil, fmt.Errorf("open database %s: %w (check that the user balas runs as may write the file "+
			"and its folder, which holds its -wal and -shm files, and that the file system is not mounted read-only)", path, err)
	}
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	db.read = read
	var top int64 // rows of earlier runs were never handed over: they count as such
	if err := read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM outbox`).Scan(&top); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.handedOver.Store(top)
	if db.file, err = os.Stat(path); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// The log exists while a connection is open (the writer's always is),
	// so SQLite itself never replaces it under a running balas. SQLite puts
	// it beside the file a symbolic link leads to.
	db.walPath = path + "-wal"
	if real, err := filepath.EvalSymlinks(path); err == nil {
		db.walPath = real + "-wal"
	}
	db.wal, _ = os.Stat(db.walPath) // nil: not in WAL mode (a file system without it), nothing to check
	go db.writer()
	return db, nil
}

// isReadOnly reports whether err is SQLite's SQLITE_READONLY (any of its
// extended codes).
func isReadOnly(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_READONLY
}

// createPrivate creates the database file at path, readable and writable by
// its owner only, when nothing is there yet. SQLite would create it with
// 0644 (less the umask), readable by every user of the machine, and gives
// the log and shared-memory files the database file's permissions: the
// database holds every customer's messages. An existing file (or link) is
// left as it is; an error (no such folder) is left for SQLite to report.
func createPrivate(path string) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
	}
}

// uriPath escapes a file path for a SQLite "file:" URI, where ? starts the
// query, # the fragment, % an escape, and a leading // an authority: a
// database folder such as "bot#1" would otherwise open another file.
func uriPath(path string) string {
	path = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	if strings.HasPrefix(path, "//") {
		path = "/" + strings.TrimLeft(path, "/")
	}
	return path
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Now is the store's clock.
func (db *DB) Now() time.Time { return db.now() }

// Ping reports whether the database answers, and whether its file is still
// the one balas opened: a file deleted or replaced under a running balas
// would take every later commit with it at the next start.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.fileHere(); err != nil {
		return err
	}
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// CheckWrite reports whether the database takes a write now: it commits a
// one-row change with the other writes of a batch, and gives up waiting
// after timeout (another process holding the write lock, a stalled disk).
// A full disk or a read-only file fails it while Ping still answers.
// Callers while a check's write is still waiting share it, so that probes
// through a long stall do not pile up writes.
func (db *DB) CheckWrite(ctx context.Context, timeout time.Duration) error {
	db.hbMu.Lock()
	hb := db.heartbeat
	if hb == nil {
		hb = &heartbeat{done: make(chan struct{})}
		db.heartbeat = hb
		go func() {
			hb.err = db.Write(context.WithoutCancel(ctx), func(tx *Tx) error {
				_, err := tx.Exec(`UPDATE heartbeat SET at = ? WHERE id = 1`, tx.now.UnixMilli())
				return err
			})
			db.hbMu.Lock()
			db.heartbeat = nil
			db.hbMu.Unlock()
			close(hb.done)
		}()
	}
	db.hbMu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-hb.done:
		if hb.err != nil {
			return fmt.Errorf("the database takes no writes: %w", hb.err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("the database took no write within %s (is another process holding its write lock?)", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heartbeat is one CheckWrite write: err is set before done is closed.
type heartbeat struct {
	done chan struct{}
	err  error
}

// fileHere reports whether the file at the database's path is still the one
// opened. Each commit checks it first: a commit to a deleted file would be
// answered as stored and then be gone at the next start.
func (db *DB) fileHere() error {
	st, err := os.Stat(db.path)
	if err != nil {
		return fmt.Errorf("the database file %s is gone: %w (restart balas once it is back)", db.path, err)
	}
	if !os.SameFile(st, db.file) {
		return fmt.Errorf("the database file %s was replaced since balas opened it (restart balas to use the new one)", db.path)
	}
	// The log holds every commit since the last checkpoint: SQLite keeps
	// writing to a deleted one, and a crash would take all of it.
	if db.wal == nil {
		return nil
	}
	if st, err = os.Stat(db.walPath); err != nil || !os.SameFile(st, db.wal) {
		return fmt.Errorf("the write-ahead log %s was deleted or replaced since balas opened it: "+
			"stop balas gracefully (it then writes what the log held into %s) and start it again", db.walPath, db.path)
	}
	return nil
}

// Close waits for queued writes to commit and closes the database.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		close(db.closing)
		<-db.done
	})
	for _, s := range db.stmts {
		s.Close()
	}
	db.closeRaw()
	err := db.write.Close()
	if rerr := db.read.Close(); err == nil {
		err = rerr
	}
	return err
}

// OnQueued registers fn to be told, right after each commit and in commit
// order, of the outbox items that commit queued: rows added with
// EnqueueOutbox (with their ids) and read receipts, which are not stored
// (ID 0). fn runs on the writer goroutine, so it must not block or write,
// and it must copy what it keeps: the slice is reused by the next commit.
// The outbound sender registers itself here, so new replies reach it
// without reading them back from the database. Only the last fn registered
// is called.
func (db *DB) OnQueued(fn func([]OutboxItem)) { db.onQueued.Store(&fn) }

// HandedOver is the highest outbox row id whose commit OnQueued's fn was
// told of; rows of earlier runs count as handed over. A row above it is
// committed but not yet handed over: its read receipt is still on the way
// to the sender, so a reader of the table must leave the row to the commit.
func (db *DB) HandedOver() int64 { return db.handedOver.Load() }

// Write runs fn in the writer's current transaction and returns once that
// transaction is durably committed. If fn returns an error (or panics) its
// changes are rolled back and the error is returned; other jobs of the same
// batch are not affected. fn may run more than once (when another job of
// its batch fails, the batch runs again without that job), so it must have
// no effects outside tx except setting its own results.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	// The writer answers each job exactly once, so a channel whose answer
	// was taken is empty and can carry the next job's.
	done, _ := db.dones.Get().(chan error)
	if done == nil {
		done = make(chan error, 1)
	}
	select {
	case db.jobs <- job{fn: fn, done: done}:
	case <-ctx.Done():
		db.mu.RUnlock()
		db.dones.Put(done)
		return ctx.Err()
	}
	db.mu.RUnlock()
	// Once queued, the job runs: wait for its commit even if ctx ends, so the
	// caller never reports failure for data that is in fact stored.
	err := <-done
	db.dones.Put(done)
	return err
}

func (db *DB) writer() {
	defer close(db.done)
	batch := make([]job, 0, db.maxBatch)
	results := make([]error, 0, db.maxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lastRun time.Duration // how long the jobs of the last batch took to run
	for {
		var first job
		select {
		case first = <-db.jobs:
		case <-db.closing:
			// Drain what was queued before Close.
			for {
				select {
				case j := <-db.jobs:
					_ = db.commit(append(batch[:0], j), results[:0])
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		lg := lingerFor(db.linger, lastRun)
		deadline, gap := time.Now().Add(lg), lg/4
	fill:
		for len(batch) < db.maxBatch {
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
				continue
			default:
			}
			// The queue is empty: wait a moment for the next job while
			// jobs keep coming, never past the deadline.
			wait := min(gap, time.Until(deadline))
			if wait <= 0 {
				break
			}
			linger.Reset(wait)
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
				linger.Stop()
			case <-linger.C:
				break fill
			case <-db.closing:
				linger.Stop()
				break fill
			}
		}
		lastRun = db.commit(batch, results[:0])
	}
}

// lingerFor is how long the writer waits for a batch to fill, given the
// base wait and how long the jobs of the last batch took to run (without
// the commit's writes and fsync): that long, between base and 4×base. Where
// jobs are cheap (storing raw deliveries) batches commit after base, and
// the webhook's callers, who wait for the commit, are answered sooner;
// where each job does much (deciding and queueing replies) the writer waits
// longer and commits about twice as many jobs at once, which measured about
// 10 % less CPU per message at saturation than a fixed 250 µs. A fixed 1 ms
// did as well there but halved the intake's throughput, whose callers then
// spent most of their time waiting.
func lingerFor(base, lastRun time.Duration) time.Duration {
	if base <= 0 {
		return base
	}
	return max(base, min(lastRun, 4*base))
}

// commit runs a batch of jobs in one transaction. Jobs run without
// savepoints (two statements each saved): when one fails, the transaction is
// rolled back and the batch runs again without it, so a failing job never
// takes the others down. Failures are rare; the common path pays nothing.
// It returns how long the jobs took to run, the last time they ran.
func (db *DB) commit(batch []job, results []error) (run time.Duration) {
	results = results[:0]
	for range batch {
		results = append(results, nil)
	}
	failAll := func(err error) {
		for i, j := range batch {
			if results[i] == nil {
				results[i] = err
			}
			j.done <- results[i]
		}
	}
	ctx := context.Background()
	for {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			failAll(fmt.Errorf("store: begin transaction: %w", err))
			return
		}
		sqlTx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			conn.Close()
			failAll(fmt.Errorf("store: begin transaction: %w", err))
			return
		}
		tx := &Tx{tx: sqlTx, conn: conn, db: db, now: db.now(), local: map[string]*sql.Stmt{}, queued: db.queued[:0]}
		if err := tx.checkDataVersion(); err != nil {
			db.convs.reset() // cannot tell whether the cache is current: do without it
		}
		failed := false
		start := time.Now()
		for i, j := range batch {
			if results[i] != nil {
				continue // failed in an earlier run of this batch
			}
			if err := tx.run(j.fn); err != nil {
				results[i] = err
				failed = true
				break
			}
		}
		if failed {
			err := sqlTx.Rollback()
			conn.Close() // back to the pool
			if err != nil {
				failAll(fmt.Errorf("store: roll back a failed job: %w", err))
				return
			}
			continue
		}
		run = time.Since(start)
		if err := db.fileHere(); err != nil {
			sqlTx.Rollback()
			conn.Close()
			failAll(fmt.Errorf("store: not committed: %w", err))
			return
		}
		err = sqlTx.Commit()
		conn.Close() // back to the pool
		if err != nil {
			failAll(fmt.Errorf("store: commit: %w", err)) // a job that failed on its own keeps its error
			return
		}
		db.publishConversations(&tx.convs)
		if fn := db.onQueued.Load(); fn != nil && len(tx.queued) > 0 {
			(*fn)(tx.queued)
		}
		for i := range tx.queued {
			if id := tx.queued[i].ID; id > db.handedOver.Load() {
				db.handedOver.Store(id) // the writer is its only writer
			}
		}
		// The next commit queues into the same array (fn copies what it
		// keeps): a batch queues two items per message, and growing a new
		// slice for each commit was a fifth of the writer's allocations.
		clear(tx.queued)
		if cap(tx.queued) <= 4*db.maxBatch {
			db.queued = tx.queued[:0]
		}
		for i, j := range batch {
			j.done <- results[i]
		}
		break
	}
	// Statements are prepared on the pool's one connection while no
	// transaction holds it; later transactions reuse them without parsing.
	for q := range db.unprepared {
		if s, err := db.write.Prepare(q); err == nil {
			db.stmts[q] = s
		}
		delete(db.unprepared, q)
	}
	return run
}

// Tx is the writer's transaction as one job sees it.
type Tx struct {
	tx    *sql.Tx
	conn  *sql.Conn // the connection tx runs on, for execRaw
	db    *DB
	now   time.Time
	local map[string]*sql.Stmt // statements of this transaction
	// queued are the outbox items of the successful jobs so far, published
	// after the commit (see DB.OnQueued).
	queued []OutboxItem
	convs  convOverlay // conversations loaded or saved (see convcache.go)
}

// Now is the store clock's reading for this batch.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) run(fn func(*Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write job panicked: %v", r)
		}
	}()
	return fn(tx)
}

// Savepoint runs fn in a nested savepoint: when fn fails, only its changes
// are undone and the job goes on.
func (tx *Tx) Savepoint(fn func() error) (err error) {
	if _, err := tx.Exec("SAVEPOINT inner"); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	mark, convMark := len(tx.queued), len(tx.convs.log)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if err != nil {
			tx.Exec("ROLLBACK TO inner")
			tx.queued = tx.queued[:mark]
			tx.forgetConversationsSince(convMark)
		}
		tx.Exec("RELEASE inner")
	}()
	return fn()
}

func (tx *Tx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := tx.local[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if shared, ok := tx.db.stmts[query]; ok {
		s = tx.tx.Stmt(shared) // reuses the statement prepared on this connection
	} else {
		var err error
		if s, err = tx.tx.Prepare(query); err != nil {
			return nil, fmt.Errorf("store: prepare %q: %w", firstLine(query), err)
		}
		tx.db.unprepared[query] = true
	}
	tx.local[query] = s
	return s, nil
}

// Exec runs a statement; statements are prepared once and reused.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	if res, ok, err := tx.execRaw(query, args); ok {
		return res, err
	}
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.Exec(args...)
}

// QueryRow runs a query that returns at most one row.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	s, err := tx.stmt(query)
	if err != nil {
		return tx.tx.QueryRow(query, args...)
	}
	return s.QueryRow(args...)
}

// Query runs a query inside the transaction.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.Query(args...)
}

// Reader is the read-only connection pool (WAL: readers never block the writer).
func (db *DB) Reader() *sql.DB { return db.read }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if err := db.refuseNewer(ctx, names); err != nil {
		return err
	}
	for _, name := range names {
		version := migrationVersion(name)
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		// The check is inside the transaction, which takes the write lock
		// at once (BEGIN IMMEDIATE): two processes opening a new database
		// together apply each migration once, one after the other.
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: apply %s: %w", db.path, version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, db.now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
	}
	return nil
}

// migrationVersion is the version schema_migrations records for the
// embedded migration file name ("migrations/0001_init.sql": "0001_init").
func migrationVersion(name string) string {
	return strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
}

// refuseNewer fails when the database records a migration this balas does
// not have (names are its embedded migration files): a newer balas migrated
// it, and this one, which does not know what changed, could damage what
// that one stored.
func (db *DB) refuseNewer(ctx context.Context, names []string) error {
	known := map[string]bool{}
	for _, name := range names {
		known[migrationVersion(name)] = true
	}
	rows, err := db.write.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	defer rows.Close()
	var unknown []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the database %s was migrated by a newer balas (migration %s, which this balas does not have): "+
			"run that balas or a newer one; this one stops rather than risk damaging what it stored", db.path, strings.Join(unknown, ", "))
	}
	return nil
}
