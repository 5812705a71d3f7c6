package safetext

import (
	"io"
	"unicode/utf8"
)

// Writer writes a stream through Text, for a file's content shown on a
// terminal. A character cut between two writes is kept until the next one;
// Close writes what is left.
type Writer struct {
	w    io.Writer
	tail []byte // the start of a character cut by the end of the last write
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write escapes p and writes it; it reports len(p) when all of it was
// written or kept.
func (t *Writer) Write(p []byte) (int, error) {
	b := append(t.tail, p...)
	t.tail = nil
	// Keep a cut character (at most 3 bytes) for the next write.
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	t.tail = append([]byte(nil), b[cut:]...)
	if _, err := io.WriteString(t.w, Text(string(b[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes a cut character left at the end of the stream (escaped: it
// is invalid UTF-8). It does not close the underlying writer.
func (t *Writer) Close() error {
	if len(t.tail) == 0 {
		return nil
	}
	s := Text(string(t.tail))
	t.tail = nil
	_, err := io.WriteString(t.w, s)
	return err
}
