package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
