package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB, path string) *DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "balas.db")
	}
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDeliveriesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	ids := make(chan int64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id, err := db.StoreDelivery(context.Background(), []byte(fmt.Sprintf(`{"n":%d}`, i)))
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}(i)
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %d given twice", id)
		}
		seen[id] = true
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTest(t, path) // migrations are not applied twice
	got, err := db.UnprocessedDeliveries(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("after reopen: %d deliveries, want %d", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Fatal("deliveries not in arrival order")
		}
	}
}

func TestFailedJobDoesNotSpoilItsBatch(t *testing.T) {
	db := openTest(t, "")
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := db.Write(ctx, func(tx *Tx) error {
				if _, err := tx.InsertDelivery([]byte(`{}`), false); err != nil {
					return err
				}
				if i%2 == 1 {
					return boom
				}
				if i == 10 {
					panic("a job that panics")
				}
				return nil
			})
			switch {
			case i%2 == 1 && !errors.Is(err, boom):
				t.Errorf("job %d: got %v, want boom", i, err)
			case i == 10 && err == nil:
				t.Errorf("job 10 panicked but returned nil")
			case i%2 == 0 && i != 10 && err != nil:
				t.Errorf("job %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	n, err := db.CountDeliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 24 {
		t.Fatalf("%d deliveries stored, want 24 (even jobs but the one that panicked)", n)
	}
}

func TestWriteAfterClose(t *testing.T) {
	db := openTest(t, "")
	db.Close()
	if err := db.Write(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

func TestInjectedClock(t *testing.T) {
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.StoreDelivery(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	d, _ := db.UnprocessedDeliveries(context.Background(), 0, 1)
	if d[0].ReceivedAt != at.UnixMilli() {
		t.Fatalf("received_at %d, want %d", d[0].ReceivedAt, at.UnixMilli())
	}
}

func BenchmarkStoreDelivery(b *testing.B) {
	db := openTest(b, "")
	body := make([]byte, 1200)
	for i := range body {
		body[i] = 'x'
	}
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.StoreDelivery(context.Background(), body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBatchRerunsWithoutTheFailedJob queues one batch in which some jobs
// fail: the others are committed exactly once, and only their outbox items
// are handed on after the commit.
func TestBatchRerunsWithoutTheFailedJob(t *testing.T) {
	db := openTest(t, "")
	ctx := context.Background()
	var mu sync.Mutex
	var handed []string
	db.OnQueued(func(items []OutboxItem) {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			handed = append(handed, it.ContextWamid)
		}
	})

	// Hold the writer so that the jobs below queue up into one batch.
	release, running := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- db.Write(ctx, func(*Tx) error { close(running); <-release; return nil })
	}()
	<-running

	jobs := []struct {
		name string
		fail func() error
	}{
		{"a", nil},
		{"b", func() error { return errors.New("b failed") }},
		{"c", nil},
		{"d", func() error { panic("d panicked") }},
		{"e", nil},
	}
	errs := make([]chan error, len(jobs))
	for i, j := range jobs {
		errs[i] = make(chan error, 1)
		go func() {
			errs[i] <- db.Write(ctx, func(tx *Tx) error {
				if _, err := tx.InsertDelivery([]byte(`{"job":"`+j.name+`"}`), true); err != nil {
					return err
				}
				if err := tx.QueueReceipt(OutboxItem{ConversationID: 1, PhoneNumberID: "1", Kind: OutboxRead, ContextWamid: j.name}); err != nil {
					return err
				}
				if j.fail != nil {
					return j.fail()
				}
				return nil
			})
		}()
		for len(db.jobs) != i+1 {
			time.Sleep(time.Millisecond) // keep the queue in this order
		}
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i, j := range jobs {
		err := <-errs[i]
		if (j.fail != nil) != (err != nil) {
			t.Errorf("job %s: error %v", j.name, err)
		}
	}
	var bodies []string
	rows, err := db.Reader().Query(`SELECT body FROM inbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var b string
		rows.Scan(&b)
		bodies = append(bodies, b)
	}
	want := `{"job":"a"} {"job":"c"} {"job":"e"}`
	if got := strings.Join(bodies, " "); got != want {
		t.Fatalf("stored %s, want %s", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(handed, " "); got != "a c e" {
		t.Fatalf("handed on %q, want the items of a, c and e once each", got)
	}
}

// Exec runs statements on the driver connection for the argument types
// balas uses and through database/sql for any other; both must store the
// same values.
func TestExecArgumentTypes(t *testing.T) {
	db := openTest(t, "")
	type row struct {
		a    any
		want string
	}
	rows := []row{
		{int(-7), "-7"}, {int32(8), "8"}, {int64(1) << 40, "1099511627776"}, {"teks ✓", "teks ✓"}, {[]byte("blob"), "blob"},
		{nil, "<nil>"}, {true, "1"}, {2.5, "2.5"}, {sql.NullInt64{Int64: 9, Valid: true}, "9"}, {sql.NullInt64{}, "<nil>"},
		{sql.NullString{String: "s", Valid: true}, "s"}, {sql.NullString{}, "<nil>"},
		{uint16(65535), "65535"}, {int8(-3), "-3"}, // not converted by Exec itself: database/sql does it
	}
	err := db.Write(context.Background(), func(tx *Tx) error {
		if _, err := tx.Exec(`CREATE TABLE args (i INTEGER PRIMARY KEY, v)`); err != nil {
			return err
		}
		for i, r := range rows {
			res, err := tx.Exec(`INSERT INTO args (i, v) VALUES (?, ?)`, i+1, r.a)
			if err != nil {
				return fmt.Errorf("%T: %w", r.a, err)
			}
			if id, _ := res.LastInsertId(); id != int64(i+1) {
				return fmt.Errorf("%T: last insert id %d, want %d", r.a, id, i+1)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("%T: %d rows affected", r.a, n)
			}
		}
		if _, err := tx.Exec(`INSERT INTO nowhere VALUES (1)`); err == nil || !strings.Contains(err.Error(), "nowhere") {
			return fmt.Errorf("a statement that cannot be prepared: err %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		var v any
		if err := db.Reader().QueryRow(`SELECT v FROM args WHERE i = ?`, i+1).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		if got := fmt.Sprint(v); got != r.want {
			t.Errorf("%T %v stored as %q, want %q", r.a, r.a, got, r.want)
		}
	}
}

func TestLingerFollowsTheWorkOfABatch(t *testing.T) {
	const us = time.Microsecond
	for _, c := range []struct{ base, last, want time.Duration }{
		{250 * us, 0, 250 * us},           // the first batch
		{250 * us, 100 * us, 250 * us},    // cheap jobs: the base
		{250 * us, 600 * us, 600 * us},    // as long as the last batch ran
		{250 * us, 10000 * us, 1000 * us}, // at most four times the base
		{-1, 5000 * us, -1},               // no lingering stays none
		{0, 5000 * us, 0},                 // (Open turns 0 into the default)
		{time.Millisecond, 0, time.Millisecond},
	} {
		if got := lingerFor(c.base, c.last); got != c.want {
			t.Errorf("lingerFor(%v, %v) = %v, want %v", c.base, c.last, got, c.want)
		}
	}
}

// Ping fails when the database file was deleted or replaced under the open
// database: commits would go to a file nobody opens again.
func TestPingNoticesTheFileGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db := openTest(t, path)
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("Ping after the file was moved away: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "was replaced") {
		t.Fatalf("Ping after the file was replaced: %v", err)
	}
	if _, err := db.StoreDelivery(ctx, []byte(`{"n":1}`)); err == nil || !strings.Contains(err.Error(), "was replaced") {
		t.Fatalf("a write to a replaced file: %v, want it refused (it would be lost)", err)
	}
	if err := os.Rename(path+".old", path); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping with the file back: %v", err)
	}
	if _, err := db.StoreDelivery(ctx, []byte(`{"n":2}`)); err != nil {
		t.Fatalf("a write with the file back: %v", err)
	}
}

// The write-ahead log holds every commit since the last checkpoint: once
// its file is deleted under a running balas, SQLite keeps writing to the
// deleted file, and a crash loses all of it (a database killed then opens
// without those commits, a new one even without its tables). A write must
// be refused from then on, as when the database file itself is gone,
// instead of being answered as stored.
func TestWriteRefusedOnceTheWALIsGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db := openTest(t, path)
	ctx := context.Background()
	if _, err := db.StoreDelivery(ctx, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StoreDelivery(ctx, []byte(`{"n":2}`)); err == nil || !strings.Contains(err.Error(), "-wal") {
		t.Fatalf("a write after the WAL file was deleted: %v, want it refused (a crash would lose it)", err)
	}
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "-wal") {
		t.Fatalf("Ping after the WAL file was deleted: %v", err)
	}
}

// A database reached through a symbolic link has its log beside the file
// the link leads to, where SQLite puts it.
func TestOpenThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	link := filepath.Join(dir, "link.db")
	openTest(t, real).Close()
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	db := openTest(t, link)
	if _, err := db.StoreDelivery(context.Background(), []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
}

// Processes that open a new database at the same moment apply each
// migration once between them, and all of them start.
func TestOpenTogetherOnANewDatabase(t *testing.T) {
	for round := range 5 {
		path := filepath.Join(t.TempDir(), "c.db")
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				db, err := Open(context.Background(), path, Options{})
				errs[i] = err
				if err == nil {
					db.Close()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// A file that is not a database is named as such, not taken for a folder
// that cannot be written.
func TestOpenSaysWhenTheFileIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database; ", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a SQLite database, or it is damaged") || strings.Contains(err.Error(), "writable") {
		t.Fatalf("Open of a text file: %v", err)
	}
}

// CheckWrite fails while another process holds the write lock (reads still
// answer), and passes again once it lets go.
func TestCheckWriteNoticesTheWriteLockHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db := openTest(t, path)
	ctx := context.Background()
	if err := db.CheckWrite(ctx, time.Second); err != nil {
		t.Fatalf("CheckWrite on a free database: %v", err)
	}
	release := holdWriteLock(t, path)
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping while another process writes: %v (reads must still answer)", err)
	}
	if err := db.CheckWrite(ctx, 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "write lock") {
		t.Fatalf("CheckWrite while another process holds the write lock: %v", err)
	}
	release()
	if err := db.CheckWrite(ctx, 15*time.Second); err != nil {
		t.Fatalf("CheckWrite once the lock is free: %v", err)
	}
}

// While another process holds the write lock, each /readyz probe must not
// leave one more heartbeat write waiting: a probe every second through a
// long stall would pile them up. Probes share the one in flight.
func TestCheckWriteProbesShareOneWaitingWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db := openTest(t, path)
	ctx := context.Background()
	release := holdWriteLock(t, path)
	before := runtime.NumGoroutine()
	for range 20 {
		if err := db.CheckWrite(ctx, 10*time.Millisecond); err == nil {
			t.Fatal("CheckWrite passed while another process holds the write lock")
		}
	}
	if grew := runtime.NumGoroutine() - before; grew > 3 {
		t.Errorf("20 probes during the stall left %d more goroutines waiting, want at most one heartbeat", grew)
	}
	release()
	if err := db.CheckWrite(ctx, 15*time.Second); err != nil {
		t.Fatalf("CheckWrite once the lock is free: %v", err)
	}
}

// holdWriteLock takes the write lock of the database at path from another
// connection, as another process would; release lets go of it.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}
}

// A new database holds every customer's messages: its file, log and
// shared-memory file are readable by their owner only, whatever the umask.
// (An existing database keeps the permissions it has.)
func TestNewDatabaseIsReadableByItsOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	path := filepath.Join(t.TempDir(), "p.db")
	db := openTest(t, path)
	if _, err := db.StoreDelivery(context.Background(), []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has permissions %v; want none for group and others", filepath.Base(name), perm)
		}
	}
}
