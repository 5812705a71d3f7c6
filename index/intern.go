package index

import (
	"context"
	"database/sql"
	"strings"
)

// interner resolves paths and content hashes to their ids within one write
// transaction, remembering new ids until the transaction commits.
type interner struct {
	db           *DB
	paths, conts map[string]int64 // learned in this transaction
}

func newInterner(db *DB) *interner {
	return &interner{db: db, paths: map[string]int64{}, conts: map[string]int64{}}
}

// maxCache bounds the committed-id caches; past it they start over.
const maxCache = 1 << 21

// commit moves the ids learned in a committed transaction into the DB's
// caches. Call it with db.mu held.
func (w *interner) commit() {
	if len(w.db.paths)+len(w.paths) > maxCache {
		w.db.paths = map[string]int64{}
	}
	if len(w.db.conts)+len(w.conts) > maxCache {
		w.db.conts = map[string]int64{}
	}
	for k, v := range w.paths {
		w.db.paths[k] = v
	}
	for k, v := range w.conts {
		w.db.conts[k] = v
	}
}

func (w *interner) id(key string, committed, pending map[string]int64) int64 {
	if id, ok := committed[key]; ok {
		return id
	}
	return pending[key]
}

// internAll makes sure every key has a row in table(col), finding existing
// rows and inserting the others in batches, and records their ids in pending.
func (w *interner) internAll(ctx context.Context, tx *sql.Tx, table, col string, keys []string, committed, pending map[string]int64) error {
	var missing []string
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := committed[k]; ok {
			continue
		}
		if _, ok := pending[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		missing = append(missing, k)
	}
	scan := func(q string, chunk []string) error {
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k string
			if err := rows.Scan(&id, &k); err != nil {
				return err
			}
			pending[k] = id
		}
		return rows.Err()
	}
	for start := 0; start < len(missing); start += internBatch {
		chunk := missing[start:min(start+internBatch, len(missing))]
		q := "SELECT id, " + col + " FROM " + table + " WHERE " + col + " IN (?" + strings.Repeat(",?", len(chunk)-1) + ")"
		if err := scan(q, chunk); err != nil {
			return err
		}
	}
	var absent []string
	for _, k := range missing {
		if _, ok := pending[k]; !ok {
			absent = append(absent, k)
		}
	}
	for start := 0; start < len(absent); start += internBatch {
		chunk := absent[start:min(start+internBatch, len(absent))]
		q := "INSERT INTO " + table + " (" + col + ") VALUES (?)" + strings.Repeat(",(?)", len(chunk)-1) + " RETURNING id, " + col
		if err := scan(q, chunk); err != nil {
			return err
		}
	}
	return nil
}
