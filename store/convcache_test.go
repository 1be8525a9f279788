package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/balas-bot/balas/engine"
)

// conversation loads key's conversation in a write job of its own.
func conversation(t *testing.T, db *DB, customer string) engine.StoredConversation {
	t.Helper()
	var c engine.StoredConversation
	err := db.Write(context.Background(), func(tx *Tx) error {
		var err error
		c, err = tx.Conversation("PHONE", customer)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setState saves customer's conversation with state in a job of its own;
// the job fails with fail after saving when fail is not nil.
func setState(t *testing.T, db *DB, customer, state string, fail error) error {
	t.Helper()
	return db.Write(context.Background(), func(tx *Tx) error {
		c, err := tx.Conversation("PHONE", customer)
		if err != nil {
			return err
		}
		c.State = state
		c.Session = map[string]any{"state": state}
		if err := tx.SaveConversation(c); err != nil {
			return err
		}
		return fail
	})
}

func wantState(t *testing.T, db *DB, customer, want string) {
	t.Helper()
	c := conversation(t, db, customer)
	if c.State != want || c.Session["state"] != want {
		t.Fatalf("%s: state %q session %v, want %q", customer, c.State, c.Session, want)
	}
	var stored string
	if err := db.Reader().QueryRow(`SELECT state FROM conversations WHERE customer = ?`, customer).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != want {
		t.Fatalf("%s: stored state %q, want %q", customer, stored, want)
	}
}

func TestConversationCacheFollowsCommits(t *testing.T) {
	db := openTest(t, "")
	first := conversation(t, db, "628111")
	if first.ID == 0 || first.State != "" || first.Session != nil {
		t.Fatalf("new conversation %+v", first)
	}
	if again := conversation(t, db, "628111"); again.ID != first.ID {
		t.Fatalf("conversation created twice: %d then %d", first.ID, again.ID)
	}
	if err := setState(t, db, "628111", "order", nil); err != nil {
		t.Fatal(err)
	}
	wantState(t, db, "628111", "order")

	// A job that saved and then failed is rolled back: the cache must not
	// keep what it saved.
	boom := errors.New("boom")
	if err := setState(t, db, "628111", "rolled back", boom); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	wantState(t, db, "628111", "order")

	// Two saves in one transaction: the second load sees the first save.
	err := db.Write(context.Background(), func(tx *Tx) error {
		for _, s := range []string{"a", "b"} {
			c, err := tx.Conversation("PHONE", "628111")
			if err != nil {
				return err
			}
			if want := map[string]string{"a": "order", "b": "a"}[s]; c.State != want {
				return fmt.Errorf("load before saving %q: state %q, want %q", s, c.State, want)
			}
			c.State, c.Session = s, map[string]any{"state": s}
			if err := tx.SaveConversation(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, db, "628111", "b")
}

func TestConversationCacheSavepointRollback(t *testing.T) {
	db := openTest(t, "")
	if err := setState(t, db, "628222", "start", nil); err != nil {
		t.Fatal(err)
	}
	err := db.Write(context.Background(), func(tx *Tx) error {
		serr := tx.Savepoint(func() error {
			c, err := tx.Conversation("PHONE", "628222")
			if err != nil {
				return err
			}
			c.State = "undone"
			if err := tx.SaveConversation(c); err != nil {
				return err
			}
			return errors.New("undo this message")
		})
		if serr == nil {
			return errors.New("savepoint did not fail")
		}
		c, err := tx.Conversation("PHONE", "628222")
		if err != nil {
			return err
		}
		if c.State != "start" {
			return fmt.Errorf("after the savepoint's rollback: state %q, want start", c.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, db, "628222", "start")
}

// Someone edits the database file with SQL while balas runs: the writer
// must not answer from a cache the edit made stale.
func TestConversationCacheSeesOtherConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "balas.db")
	db := openTest(t, path)
	if err := setState(t, db, "628333", "mine", nil); err != nil {
		t.Fatal(err)
	}
	wantState(t, db, "628333", "mine")

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`UPDATE conversations SET state = 'edited', session = '{"state":"edited"}' WHERE customer = '628333'`); err != nil {
		t.Fatal(err)
	}
	wantState(t, db, "628333", "edited")

	// Pruned by hand: the conversation is created again, not resurrected
	// from the cache with an id that no longer exists.
	if _, err := other.Exec(`DELETE FROM conversations WHERE customer = '628333'`); err != nil {
		t.Fatal(err)
	}
	c := conversation(t, db, "628333")
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM conversations WHERE id = ?`, c.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("conversation %d after the prune: %d rows (%v)", c.ID, n, err)
	}
	if c.State != "" {
		t.Fatalf("pruned conversation came back with state %q", c.State)
	}
}

func TestConversationCacheIsBounded(t *testing.T) {
	db := openTest(t, "")
	db.convs.max = 3 // before the first write, which orders it before the writer's reads
	for i := range 10 {
		if err := setState(t, db, fmt.Sprint("62800", i), fmt.Sprint("s", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		wantState(t, db, fmt.Sprint("62800", i), fmt.Sprint("s", i))
	}
	if err := db.Write(context.Background(), func(tx *Tx) error {
		if n := len(tx.db.convs.rows); n > 3 {
			return fmt.Errorf("%d conversations cached, bound 3", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A conversation that is stored but cannot be read is reported as such;
// balas does not try to create it a second time.
func TestConversationThatCannotBeReadIsNotCreatedAgain(t *testing.T) {
	db := openTest(t, "")
	ctx := context.Background()
	err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO conversations (phone_number_id, customer, handoff_until, created_at, updated_at)
			VALUES ('PHONE', '628999', 'soon', 0, 0)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *Tx) error {
		_, err := tx.Conversation("PHONE", "628999")
		return err
	})
	if err == nil {
		t.Fatal("a conversation whose handoff_until is not a number was read")
	}
	if msg := err.Error(); !strings.Contains(msg, "load conversation") || strings.Contains(msg, "create it") {
		t.Errorf("error %q, want one about loading the conversation, without an attempt to create it", msg)
	}
}
