package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// internBatch is how many keys one interning statement inserts or looks up.
const internBatch = 4096

// internCacheMax bounds the ids an interner keeps; past it, it starts over.
const internCacheMax = 1 << 20

// interner gives paths and contents their ids. Keys are inserted in sorted
// batches with ON CONFLICT DO NOTHING, each batch in a short transaction of
// its own, outside the layer's: two writers interning the same keys wait for
// each other in key order, never deadlock, and never wait for a whole layer.
// A key interned by a layer that is then aborted keeps its row (unused).
type interner struct {
	table, col string
	mu         sync.Mutex
	ids        map[string]int64
}

func newInterner(table, col string) *interner {
	return &interner{table: table, col: col, ids: map[string]int64{}}
}

// intern returns the ids of keys (stored text), in a map.
func (in *interner) intern(ctx context.Context, db *DB, keys []string) (map[string]int64, error) {
	out := make(map[string]int64, len(keys))
	var missing []string
	in.mu.Lock()
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		if id, ok := in.ids[k]; ok {
			out[k] = id
			continue
		}
		out[k] = 0
		missing = append(missing, k)
	}
	in.mu.Unlock()
	slices.Sort(missing)
	for start := 0; start < len(missing); start += internBatch {
		chunk := missing[start:min(start+internBatch, len(missing))]
		// Inserted in the order given (byte order), skipping those there;
		// then every id is read, inserted now or before.
		if _, err := db.pool.Exec(ctx, `INSERT INTO `+in.table+` (`+in.col+`)
			SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i
			ON CONFLICT DO NOTHING`, chunk); err != nil {
			return nil, fmt.Errorf("%s: %w", in.table, err)
		}
		rows, err := db.pool.Query(ctx, `SELECT id, `+in.col+` FROM `+in.table+` WHERE `+in.col+` = ANY($1::text[])`, chunk)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.table, err)
		}
		for rows.Next() {
			var id int64
			var k string
			if err := rows.Scan(&id, &k); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", in.table, err)
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.ids)+len(missing) > internCacheMax {
		clear(in.ids)
	}
	for _, k := range missing {
		if out[k] == 0 {
			return nil, fmt.Errorf("%s: %q not interned", in.table, k) // a bug
		}
		in.ids[k] = out[k]
	}
	return out, nil
}
