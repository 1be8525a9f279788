package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
	rawErr := tx.conn.Raw(func(dc any) error {
		st, perr := tx.rawStmt(dc, query)
		if errors.Is(perr, errNoRawPrepare) {
			return nil
		}
		if perr != nil {
			ok, err = true, perr
			return nil
		}
		ex, eok := st.(driver.StmtExecContext)
		if !eok {
			return nil
		}
		ok = true
		res, err = ex.ExecContext(context.Background(), r.args)
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

// rawStmt returns the statement for query prepared on the driver
// connection dc, preparing it on first use.
func (tx *Tx) rawStmt(dc any, query string) (driver.Stmt, error) {
	r := &tx.db.raw
	if dc != r.conn { // a new connection (the pool replaced a broken one)
		r.conn, r.stmts = dc, map[string]driver.Stmt{}
	}
	if st := r.stmts[query]; st != nil {
		return st, nil
	}
	prep, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, errNoRawPrepare
	}
	st, err := prep.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare %q: %w", firstLine(query), err)
	}
	r.stmts[query] = st
	return st, nil
}

// errNoRawPrepare: the driver connection cannot prepare statements itself.
var errNoRawPrepare = errors.New("store: driver connection without PrepareContext")

// queryInt64Raw runs query, which returns one integer, on the transaction's
// driver connection, as execRaw runs statements (for PRAGMA data_version,
// read in every batch). ok is false when it could not: the caller then uses
// database/sql.
func (tx *Tx) queryInt64Raw(query string) (v int64, ok bool, err error) {
	rawErr := tx.conn.Raw(func(dc any) error {
		st, perr := tx.rawStmt(dc, query)
		if perr != nil {
			return perr
		}
		q, qok := st.(driver.StmtQueryContext)
		if !qok {
			return errNoRawPrepare
		}
		rows, qerr := q.QueryContext(context.Background(), nil)
		if qerr != nil {
			ok, err = true, fmt.Errorf("store: %s: %w", firstLine(query), qerr)
			return nil
		}
		defer rows.Close()
		dest := []driver.Value{nil}
		if nerr := rows.Next(dest); nerr != nil {
			ok, err = true, fmt.Errorf("store: %s: %w", firstLine(query), nerr)
			return nil
		}
		v, ok = dest[0].(int64)
		return nil
	})
	if rawErr != nil {
		return 0, false, nil
	}
	return v, ok, err
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
