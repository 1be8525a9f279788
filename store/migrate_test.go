package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// migrationVersions are the embedded migrations' versions, in order.
func migrationVersions(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, migrationVersion(n))
	}
	return out
}

// oldDatabase builds, at path, the database an older balas left: the
// migrations up to and including upTo applied, with a row in every table.
func oldDatabase(t *testing.T, path, upTo string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", firstLine(q), err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for _, v := range migrationVersions(t) {
		if v > upTo {
			break
		}
		body, err := migrations.ReadFile("migrations/" + v + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 1)`, v)
	}
	// Rows as every balas since 0001 writes them: columns added later
	// keep their defaults.
	const ms = 1_700_000_000_000
	exec(`INSERT INTO inbox (id, received_at, body, processed_at) VALUES (1, ?, '{"object":"x"}', ?), (2, ?, '{"object":"y"}', NULL)`, ms, ms, ms)
	exec(`INSERT INTO conversations (id, phone_number_id, customer, state, session, created_at, updated_at)
		VALUES (1, '1000', '6281', 'menu', '{"k":"v"}', ?, ?)`, ms, ms)
	exec(`INSERT INTO messages (id, direction, dedupe_key, wamid, conversation_id, inbox_id, type, text, outcome, payload, created_at, updated_at)
		VALUES (1, 'in', 'wamid.in', 'wamid.in', 1, 1, 'text', 'halo', 'answered', '{}', ?, ?)`, ms, ms)
	exec(`INSERT INTO messages (id, direction, wamid, conversation_id, type, text, status, payload, created_at, updated_at)
		VALUES (2, 'out', 'wamid.out', 1, 'text', 'hai', 'sent', '{}', ?, ?), (3, 'out', '', 1, 'text', 'lagi', 'queued', '{}', ?, ?)`, ms, ms, ms, ms)
	exec(`INSERT INTO outbox (id, conversation_id, message_id, phone_number_id, to_number, kind, reply, context_wamid,
		window_start, state, next_attempt_at, created_at, updated_at)
		VALUES (1, 1, 2, '1000', '6281', 'message', '{"kind":"text","text":"hai"}', 'wamid.in', ?, 'sent', ?, ?, ?),
		       (2, 1, 3, '1000', '6281', 'message', '{"kind":"text","text":"lagi"}', 'wamid.in', ?, 'pending', ?, ?, ?)`,
		ms, ms, ms, ms, ms, ms, ms, ms)
	exec(`INSERT INTO statuses (wamid, status, payload, created_at) VALUES ('wamid.out', 'delivered', '{}', ?)`, ms)
	exec(`INSERT INTO events (field, payload, created_at) VALUES ('account_update', '{}', ?)`, ms)
}

// A database left by any older balas is upgraded by this one without
// losing a row, and what was pending then is still pending.
func TestOpenUpgradesADatabaseOfEveryOlderBalasKeepingItsRows(t *testing.T) {
	versions := migrationVersions(t)
	for _, upTo := range versions[:len(versions)-1] {
		t.Run(upTo, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			oldDatabase(t, path, upTo)
			db := openTest(t, path)
			ctx := context.Background()
			for table, want := range map[string]int{"inbox": 2, "conversations": 1, "messages": 3, "outbox": 2, "statuses": 1, "events": 1} {
				var n int
				if err := db.Reader().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != want {
					t.Errorf("%s after the upgrade: %d rows (%v), want %d", table, n, err, want)
				}
			}
			var applied int
			db.Reader().QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&applied)
			if applied != len(versions) {
				t.Errorf("%d migrations recorded, want %d", applied, len(versions))
			}
			pending, err := db.PendingOutbox(ctx, 0, 10)
			if err != nil || len(pending) != 1 || pending[0].ID != 2 || pending[0].MessageID != 3 {
				t.Fatalf("pending outbox after the upgrade: %+v (%v), want row 2", pending, err)
			}
			ds, err := db.UnprocessedDeliveries(ctx, 0, 10)
			if err != nil || len(ds) != 1 || ds[0].ID != 2 {
				t.Fatalf("unhandled deliveries after the upgrade: %+v (%v), want delivery 2", ds, err)
			}
			if err := db.CheckWrite(ctx, 5*time.Second); err != nil {
				t.Fatalf("the upgraded database takes no write: %v", err)
			}
			if err := db.CompleteOutbox(ctx, OutboxResult{ID: 2, State: OutboxStateSent, Wamid: "wamid.out2"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A database a newer balas has migrated is refused, with the reason: this
// balas does not know what the newer one changed, and writing to it could
// damage what that one stored.
func TestOpenRefusesADatabaseOfANewerBalas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	db := openTest(t, path)
	if err := db.Write(context.Background(), func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ('9999_from_the_future', 1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(context.Background(), path, Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a database a newer balas migrated")
	}
	for _, want := range []string{path, "9999_from_the_future", "newer balas"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open's error %q does not say %q", err, want)
		}
	}
}
