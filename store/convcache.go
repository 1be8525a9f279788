package store

import "fmt"

// The writer keeps the conversations it last loaded or saved in memory, so a
// customer's next message does not read its conversation back from SQLite:
// that query was the costliest statement of handling a message. The cache is
// written only after a commit and only by the writer goroutine, so it always
// holds what the database holds, with two exceptions it detects:
//
//   - another connection changed the database (someone ran SQL against the
//     file): PRAGMA data_version changes, and the whole cache is dropped at
//     the start of the next transaction;
//   - a savepoint was rolled back: the conversations touched inside it are
//     read from SQLite again for the rest of the transaction.
//
// Write jobs must therefore change conversations only through
// Tx.Conversation and Tx.SaveConversation (tests that insert a conversation
// row with plain SQL are fine: a row is cached only once it was read).

// maxCachedConversations bounds the cache (about 200 bytes each).
const maxCachedConversations = 20000

type convKey struct{ phoneNumberID, customer string }

// convRow is a conversations row as stored.
type convRow struct {
	id                   int64
	waID, userID, name   string
	state, session       string // session: JSON object
	handoffUntil, lastIn int64  // unix ms
}

// convCache is the writer's cache; it lives in DB and is touched only by the
// writer goroutine.
type convCache struct {
	rows        map[convKey]convRow
	max         int // bound on len(rows)
	dataVersion int64
}

// convOverlay is one transaction's view over the cache: rows loaded or
// written in it (nil: read SQLite, the cached row may be stale), merged into
// the cache once the transaction commits.
type convOverlay struct {
	rows map[convKey]*convRow
	log  []convKey // keys in the order they were set, for savepoints
}

// reset empties the cache and forgets the data version, so that the next
// transaction starts from an empty cache too.
func (c *convCache) reset() {
	clear(c.rows)
	c.dataVersion = -1
}

// checkDataVersion drops the cache when another connection committed since
// the writer last looked. It runs inside the writer's transaction, which
// holds the write lock, so nobody can commit between the check and the
// writer's own commit.
func (tx *Tx) checkDataVersion() error {
	v, ok, err := tx.queryInt64Raw("PRAGMA data_version")
	if !ok && err == nil {
		err = tx.QueryRow("PRAGMA data_version").Scan(&v)
	}
	if err != nil {
		return fmt.Errorf("store: read data_version: %w", err)
	}
	c := &tx.db.convs
	if v != c.dataVersion {
		clear(c.rows)
		c.dataVersion = v
	}
	return nil
}

// cachedConversation returns the row of key as this transaction sees it.
func (tx *Tx) cachedConversation(key convKey) (convRow, bool) {
	if r, ok := tx.convs.rows[key]; ok {
		if r == nil {
			return convRow{}, false
		}
		return *r, true
	}
	r, ok := tx.db.convs.rows[key]
	return r, ok
}

// setConversation records row as key's row in this transaction (nil: unknown).
func (tx *Tx) setConversation(key convKey, row *convRow) {
	if tx.convs.rows == nil {
		tx.convs.rows = map[convKey]*convRow{}
	}
	tx.convs.rows[key] = row
	tx.convs.log = append(tx.convs.log, key)
}

// forgetConversationsSince marks the conversations set since log position
// mark as unknown: their savepoint was rolled back.
func (tx *Tx) forgetConversationsSince(mark int) {
	for _, key := range tx.convs.log[mark:] {
		tx.convs.rows[key] = nil
	}
}

// publishConversations merges a committed transaction's rows into the cache.
func (db *DB) publishConversations(o *convOverlay) {
	c := &db.convs
	for key, row := range o.rows {
		if row == nil {
			delete(c.rows, key)
			continue
		}
		if _, ok := c.rows[key]; !ok && len(c.rows) >= c.max {
			for k := range c.rows { // evict one, whichever the map yields
				delete(c.rows, k)
				break
			}
		}
		c.rows[key] = *row
	}
}
