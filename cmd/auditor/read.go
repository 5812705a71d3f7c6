package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/auditor-dev/auditor/index"
	"github.com/auditor-dev/auditor/queries"
)

// readFlags are the flags of the commands that read the index.
type readFlags struct {
	commonFlags
	format  string
	noTrunc bool
	cfg     Config // as open loaded it
}

func (r *readFlags) register(cmd *cobra.Command) {
	r.commonFlags.register(cmd)
	fs := cmd.Flags()
	fs.StringVarP(&r.format, "format", "f", "table", "output `FORMAT`: table, json (one array), jsonl (one object per line) or csv")
	fs.BoolVar(&r.noTrunc, "no-trunc", false, "table: show digests and long values in full")
	cmd.RegisterFlagCompletionFunc("format", completeWords("table", "json", "jsonl", "csv"))
}

// open checks the flags, then opens the index read-only.
func (r *readFlags) open(ctx context.Context) (*indexDB, queries.Format, error) {
	f, err := queries.ParseFormat(r.format)
	if err != nil {
		return nil, "", fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	cfg, err := r.load()
	if err != nil {
		return nil, "", err
	}
	r.cfg = cfg
	if err := r.checkDB(cfg.DB); err != nil {
		return nil, "", err
	}
	db, err := openIndex(ctx, cfg.DB)
	return db, f, err
}

// openImage opens the index and resolves ref (with platform) in it.
func (r *readFlags) openImage(ctx context.Context, ref, platform string) (*indexDB, *queries.Image, queries.Format, error) {
	db, f, err := r.open(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	im, err := queries.Resolve(ctx, db.Reader(), ref, platform)
	if err != nil {
		db.Close()
		return nil, nil, "", err
	}
	return db, im, f, nil
}

// openIndex opens the index at path read-only (a PostgreSQL DSN: that
// database), with the errors a user needs: no database yet, or one from a
// newer auditor.
func openIndex(ctx context.Context, path string) (*indexDB, error) {
	if isPostgres(path) {
		return openPostgres(ctx, path)
	}
	if st, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist: run `auditor scan` first, or name one with --db", path)
	} else if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("database %s is a directory: name the database file with --db", path)
	}
	db, err := index.OpenReadOnly(ctx, path)
	if errors.Is(err, index.ErrNewerSchema) {
		return nil, fmt.Errorf("%w: upgrade auditor to read it", err)
	}
	if err != nil {
		return nil, err
	}
	return &indexDB{lite: db}, nil
}

// tableOptions sizes tables for w: the terminal's width when w is one.
func (r *readFlags) tableOptions(w io.Writer) queries.TableOptions {
	o := queries.TableOptions{NoTrunc: r.noTrunc}
	if f, ok := w.(*os.File); ok && outputIsTerminal(w) {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			o.Width = width
		}
	}
	return o
}

// outputIsTerminal reports whether output goes to a terminal (isTerminal);
// tests replace it.
var outputIsTerminal = isTerminal
