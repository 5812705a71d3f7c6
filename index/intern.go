package index

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// interner resolves paths and content hashes to their ids within one write
// transaction, remembering the ids it used until the transaction commits.
type interner struct {
	db           *DB
	paths, conts map[string]int64 // used in this transaction
}

func newInterner(db *DB) *interner {
	return &interner{db: db, paths: map[string]int64{}, conts: map[string]int64{}}
}

// cacheKeys bounds each of the writer's committed-id caches (paths and
// content hashes), so that the writer's memory does not grow with the
// number of files indexed: 80-100 bytes a key, at most some 45 MB in all.
const cacheKeys = 1 << 18

// cacheKeyBytes bounds the bytes of the keys each of those caches holds,
// for paths of crafted lengths (up to 4 KiB each): at real lengths the
// count is reached first.
const cacheKeyBytes = 32 << 20

// idCache remembers the ids of recently used keys, at most cacheKeys of them,
// in two generations: when the young one is full, the old one is dropped
// and the young one becomes old. Keys used again are put back in the young
// one, so what every layer shares (/etc/passwd, common libraries) stays.
type idCache struct {
	young, old map[string]int64
	youngBytes int // of the young generation's keys
	// lastNew is the share of looked-up keys that were new in the last
	// internAll: it decides whether to insert first or look up first.
	lastNew float64
}

func newIDCache() *idCache { return &idCache{young: map[string]int64{}, lastNew: 1} }

func (c *idCache) get(k string) (int64, bool) {
	if id, ok := c.young[k]; ok {
		return id, true
	}
	id, ok := c.old[k]
	return id, ok
}

func (c *idCache) put(k string, id int64) {
	if _, ok := c.young[k]; ok {
		return
	}
	if len(c.young) >= cacheKeys/2 || c.youngBytes+len(k) > cacheKeyBytes/2 {
		c.old, c.young, c.youngBytes = c.young, make(map[string]int64, cacheKeys/2), 0
	}
	c.young[k] = id
	c.youngBytes += len(k)
}

// commit moves the ids used in a committed transaction into the DB's
// caches. Call it with db.mu held.
func (w *interner) commit() {
	for k, v := range w.paths {
		w.db.paths.put(k, v)
	}
	for k, v := range w.conts {
		w.db.conts.put(k, v)
	}
}

// id returns the id of a key interned in this transaction by internAll.
func (w *interner) id(key string, pending map[string]int64) (int64, error) {
	if id, ok := pending[key]; ok {
		return id, nil
	}
	return 0, fmt.Errorf("%q was not interned", key) // a bug; never stored as id 0
}

// internAll makes sure every key has a row in table(col), finding it in the
// cache, or existing rows, or inserting the others in batches, and records
// their ids in pending.
func (w *interner) internAll(ctx context.Context, tx *sql.Tx, table, col string, keys []string, committed *idCache, pending map[string]int64) error {
	var missing []string
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := pending[k]; ok || seen[k] {
			continue
		}
		if id, ok := committed.get(k); ok {
			pending[k] = id
			continue
		}
		seen[k] = true
		missing = append(missing, k)
	}
	// Full batches reuse one prepared statement per query text, so a chunk
	// of keys is parsed once per query, not once per batch.
	prepared := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range prepared {
			st.Close()
		}
	}()
	scan := func(q string, chunk []string) error {
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		var rows *sql.Rows
		var err error
		if len(chunk) == internBatch {
			st := prepared[q]
			if st == nil {
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
				prepared[q] = st
			}
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = tx.QueryContext(ctx, q, args...)
		}
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
	// INSERT OR IGNORE rather than ON CONFLICT DO NOTHING: nothing else in
	// the statement can then abort it, so SQLite keeps no statement journal
	// (a copy of every page the statement changes, in a temporary file).
	// Mostly new keys (a cold scan): insert, skipping conflicts, then look
	// up only the keys that were there. Mostly known keys: look up, then
	// insert the rest. Either way each key costs about one index probe.
	lookup := func(keys []string) error {
		for start := 0; start < len(keys); start += internBatch {
			chunk := keys[start:min(start+internBatch, len(keys))]
			if err := scan("SELECT id, "+col+" FROM "+table+" WHERE "+col+" IN (?"+strings.Repeat(",?", len(chunk)-1)+")", chunk); err != nil {
				return err
			}
		}
		return nil
	}
	insert := func(keys []string) error {
		for start := 0; start < len(keys); start += internBatch {
			chunk := keys[start:min(start+internBatch, len(keys))]
			if err := scan("INSERT OR IGNORE INTO "+table+" ("+col+") VALUES (?)"+strings.Repeat(",(?)", len(chunk)-1)+
				" RETURNING id, "+col, chunk); err != nil {
				return err
			}
		}
		return nil
	}
	left := func() []string {
		var out []string
		for _, k := range missing {
			if _, ok := pending[k]; !ok {
				out = append(out, k)
			}
		}
		return out
	}
	insertFirst := committed.lastNew >= 0.5
	first, then := lookup, insert
	if insertFirst {
		first, then = insert, lookup
	}
	if err := first(missing); err != nil {
		return err
	}
	rest := left()
	if err := then(rest); err != nil {
		return err
	}
	if len(missing) > 0 {
		newKeys := len(rest) // what the lookup did not find, then inserted
		if insertFirst {
			newKeys = len(missing) - len(rest) // what the insert added
		}
		committed.lastNew = float64(newKeys) / float64(len(missing))
	}
	if rest := left(); len(rest) > 0 {
		return fmt.Errorf("%d keys not interned in %s", len(rest), table) // a bug
	}
	return nil
}
