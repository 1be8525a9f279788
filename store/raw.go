package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// The writer's statements run straight on the SQLite driver connection
// (sql.Conn.Raw) rather than through database/sql's Tx and Stmt: for each
// statement database/sql converts and copies every argument into a new
// slice and wraps the result, which cost more than some of the statements
// themselves (about a tenth of all memory allocated per message). They
// still run inside the transaction database/sql began on that connection:
// SQLite transactions belong to the connection, not to a handle.

// rawStmts are Exec statements prepared on one driver connection.
type rawStmts struct {
	conn  any // the driver connection they were prepared on
	stmts map[string]driver.Stmt
	args  []driver.NamedValue // reused for every statement
}

// driverValue converts an Exec argument to a value the driver takes as it
// is, as database/sql's default conversion does for the types balas uses.
// ok is false for any other type: that statement goes through database/sql.
func driverValue(a any) (v driver.Value, ok bool) {
	switch a := a.(type) {
	case nil, int64, float64, bool, []byte, string, time.Time:
		return a, true
	case int:
		return int64(a), true
	case int32:
		return int64(a), true
	case sql.NullInt64:
		if !a.Valid {
			return nil, true
		}
		return a.Int64, true
	case sql.NullString:
		if !a.Valid {
			return nil, true
		}
		return a.String, true
	}
	return nil, false
}

// execRaw runs query with args on the transaction's driver connection.
// ok is false when it did not run it (an argument of another type, or a
// driver without the interfaces): the caller then uses database/sql.
func (tx *Tx) execRaw(query string, args []any) (res sql.Result, ok bool, err error) {
	r := &tx.db.raw
	r.args = r.args[:0]
	for i, a := range args {
		v, ok := driverValue(a)
		if !ok {
			return nil, false, nil
		}
		r.args = append(r.args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	ctx := context.Background()
	rawErr := tx.conn.Raw(func(dc any) error {
		prep, pok := dc.(driver.ConnPrepareContext)
		if !pok {
			return nil
		}
		if dc != r.conn { // a new connection (the pool replaced a broken one)
			r.conn, r.stmts = dc, map[string]driver.Stmt{}
		}
		st := r.stmts[query]
		if st == nil {
			if st, err = prep.PrepareContext(ctx, query); err != nil {
				ok, err = true, fmt.Errorf("store: prepare %q: %w", firstLine(query), err)
				return nil
			}
			r.stmts[query] = st
		}
		ex, eok := st.(driver.StmtExecContext)
		if !eok {
			return nil
		}
		ok = true
		res, err = ex.ExecContext(ctx, r.args)
		return nil
	})
	if rawErr != nil {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	return res, ok, nil
}

// closeRaw finalizes the raw statements; the writer has stopped.
func (db *DB) closeRaw() {
	r := &db.raw
	if len(r.stmts) == 0 {
		return
	}
	conn, err := db.write.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		if dc == r.conn {
			for _, st := range r.stmts {
				st.Close()
			}
		}
		return nil
	})
	r.stmts = nil
}
