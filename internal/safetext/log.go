package safetext

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewLogHandler returns a slog.Handler that writes one line per record in
// slog's text format (time=... level=... msg=... key=value ...), every key,
// message and value shown by Escape, not by slog's Go quoting: a value is
// put between double quotes when it is empty or holds a space, = or ", and
// a double quote inside it is then \x22, in the notation of the rest. So a
// log line reads like every other line auditor prints about an image, and
// a tag, path or registry answer in it cannot act on the terminal or forge
// a line. Records below level (nil: Info) are dropped. Lines are written
// whole, one Write each, safe for concurrent use.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &logHandler{w: w, mu: &sync.Mutex{}, level: level}
}

type logHandler struct {
	w      io.Writer
	mu     *sync.Mutex
	level  slog.Leveler
	attrs  string // the WithAttrs attributes, formatted, each with a leading space
	prefix string // the WithGroup groups, each followed by a dot
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if !r.Time.IsZero() {
		b.WriteString("time=")
		b.WriteString(r.Time.Format("2006-01-02T15:04:05.000Z07:00"))
		b.WriteByte(' ')
	}
	b.WriteString("level=")
	b.WriteString(r.Level.String())
	b.WriteString(" msg=")
	b.WriteString(logValue(r.Message))
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.prefix, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range as {
		appendAttr(&b, h.prefix, a)
	}
	c := *h
	c.attrs += b.String()
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix += name + "."
	return &c
}

// appendAttr writes " key=value" for a, a group's attributes each under
// the group's prefix, and nothing for an empty attribute.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			appendAttr(b, prefix, g)
		}
		return
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	b.WriteByte(' ')
	b.WriteString(logValue(prefix + a.Key))
	b.WriteByte('=')
	b.WriteString(logValue(valueText(v)))
}

// valueText is what a value reads as, before escaping.
func valueText(v slog.Value) string {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return x.Error()
		case []byte:
			return string(x)
		default:
			return fmt.Sprint(x)
		}
	}
	return v.String()
}

// logValue is s escaped for a log line, between double quotes when it must
// be to stay one key=value.
func logValue(s string) string {
	if s != "" && !strings.ContainsAny(s, ` ="`) {
		return Escape(s)
	}
	return `"` + escape(s, false, true) + `"`
}
