package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/auditor-dev/auditor/crawl"
	"github.com/auditor-dev/auditor/internal/localref"
	"github.com/auditor-dev/auditor/internal/safetext"
	"github.com/auditor-dev/auditor/queries"
)

func init() {
	register(func() *cobra.Command {
		var f catFlags
		cmd := &cobra.Command{
			Use:   "cat [flags] IMAGE PATH",
			Short: "Print one file of an image, streamed from its layer and checked against the index",
			Long: `Print one file of an image: served from the index when it keeps the file's
bytes (security configuration files, package databases), else streamed from
the registry layer (or the local archive or layout) that holds it, and
checked against the sha256 the index recorded. --layer N: the version in
layer N, even if hidden. Binary content is not written to a terminal
unless --force; text to a terminal is escaped.

` + imageForms,
			Example: `  auditor cat library/debian:bookworm /etc/os-release
  auditor cat IMAGE /usr/bin/tool -o tool.bin`,
			Args: argsBetween(2, 2),
			RunE: action(func(cmd *cobra.Command, args []string) (int, error) {
				layer, err := layerFlag(cmd, f.layer)
				if err != nil {
					return 0, err
				}
				f.layer = layer
				return runCat(cmd.Context(), &f, args, cmd.OutOrStdout())
			}),
		}
		f.cf.register(cmd)
		fs := cmd.Flags()
		fs.StringVar(&f.platform, "platform", "", "`os/arch[/variant]` of a multi-platform IMAGE")
		fs.IntVar(&f.layer, "layer", 0, "the version in layer `N`, 0 being the bottom layer, even if hidden (default: the visible version)")
		fs.StringVarP(&f.out, "output", "o", "", "write to `FILE` instead of stdout (written whole, or not at all)")
		fs.BoolVar(&f.force, "force", false, "write binary content to a terminal anyway")
		cmd.MarkFlagFilename("output")
		return cmd
	})
}

// catFlags are cat's flags.
type catFlags struct {
	cf       commonFlags
	platform string
	layer    int
	out      string
	force    bool
}

// binarySniff is how much of a file decides whether it is text.
const binarySniff = 8 << 10

func runCat(ctx context.Context, f *catFlags, pos []string, stdout io.Writer) (int, error) {
	cf := &f.cf
	cfg, err := cf.load()
	if err != nil {
		return 0, err
	}
	opts, err := cfg.CrawlOptions()
	if err != nil {
		return 0, err
	}
	db, err := openIndex(ctx, cfg.DB)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	im, err := queries.Resolve(ctx, db.Reader(), pos[0], f.platform)
	if err != nil {
		return 0, err
	}
	ref, err := queries.Locate(ctx, db.Reader(), im, pos[1], f.layer)
	if err != nil {
		return 0, err
	}
	// A file whose bytes the index keeps (security configuration files,
	// package databases) is served from it, with no registry round trip.
	var content io.Reader
	if data := capturedContent(ctx, db, ref); data != nil {
		content = bytes.NewReader(data)
	} else {
		cr, err := crawl.New(nil, opts)
		if err != nil {
			return 0, err
		}
		blob, err := openBlob(ctx, cr, db.Reader(), im, ref.LayerDigest)
		if err != nil {
			return 0, err
		}
		defer blob.Close()
		tarStream, _, err := crawl.Decompress(blob)
		if err != nil {
			return 0, fmt.Errorf("layer %s: %w", ref.LayerDigest, err)
		}
		defer tarStream.Close()
		if content, err = queries.TarFile(tarStream, ref); err != nil {
			return 0, err
		}
	}
	if f.out != "" && f.out != "-" {
		return exitOK, writeFileAtomic(f.out, content)
	}
	br := bufio.NewReaderSize(content, binarySniff)
	head, err := br.Peek(binarySniff)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, err
	}
	if !outputIsTerminal(stdout) || f.force {
		if _, err := io.Copy(stdout, br); err != nil {
			return 0, fmt.Errorf("%s in %s: %w", ref.Path, im.Name(), err)
		}
		return exitOK, nil
	}
	// To a terminal: binary content is refused, and text is shown through
	// the escaping rule to its end (a file may turn binary, or carry escape
	// sequences, after the bytes sniffed).
	if ref.Kind == "elf" || queries.LooksBinary(head, err != nil) {
		return 0, fmt.Errorf("%s in %s looks binary: not writing it to a terminal (use -o FILE, a pipe, or --force)", ref.Path, im.Name())
	}
	tw := safetext.NewWriter(stdout)
	if _, err := io.Copy(tw, br); err != nil {
		return 0, fmt.Errorf("%s in %s: %w", ref.Path, im.Name(), err)
	}
	return exitOK, tw.Close()
}

// capturedContent returns the bytes of ref when the index keeps them and
// they hash to what the index recorded for the file; nil otherwise (the
// file is then read from its layer).
func capturedContent(ctx context.Context, db *indexDB, ref *queries.FileRef) []byte {
	if ref.SHA256 == "" || ref.Type != "file" && ref.Type != "hardlink" {
		return nil
	}
	data, err := db.Capture(ctx, ref.SHA256, 256<<20)
	if err != nil {
		return nil
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil
	}
	return data
}

// openBlob opens a layer blob from the first repository holding the image
// that serves it: a registry, or the archive or layout a local input was
// scanned from.
func openBlob(ctx context.Context, cr *crawl.Crawler, db queries.Querier, im *queries.Image, digest string) (io.ReadCloser, error) {
	var errs []error
	for _, r := range im.Repos {
		registry, repo, _ := strings.Cut(r, "/")
		var blob io.ReadCloser
		var err error
		if localref.IsSource(registry) {
			var diffID string
			if err = queries.QueryRow(ctx, db, `SELECT COALESCE(diff_id, '') FROM layers WHERE digest = ?`, digest).Scan(&diffID); err == nil {
				blob, err = crawl.OpenLocalLayer(registry, repo, digest, diffID)
			}
		} else {
			blob, err = cr.OpenLayer(ctx, registry, repo, digest)
		}
		if err == nil {
			return blob, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// writeFileAtomic writes r to a temporary file beside path and renames it
// into place only when r ended without error (the content verified), so a
// failed cat leaves no partial file. The file gets mode 0644 whatever the
// image's mode was: nothing from an image becomes setuid or executable here.
func writeFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
