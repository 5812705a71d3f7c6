package crawl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Retry configures how the crawler treats a flaky registry. Zero fields
// take the defaults.
type Retry struct {
	// Attempts is how many times a request, and a layer read, is tried in
	// all before its image fails.
	Attempts int
	// Backoff is the wait after the first failed attempt; each further wait
	// is three times the last, plus up to 10% random jitter.
	Backoff time.Duration
	// MaxRetryAfter is the longest Retry-After the crawler honours; a
	// registry asking for longer fails the request at once.
	MaxRetryAfter time.Duration
	// StallTimeout fails a request whose response sends nothing for this
	// long (the read is then retried).
	StallTimeout time.Duration
	// BreakAfter consecutive failed requests to one registry make the
	// crawler stop calling it for Cooldown, failing its images at once.
	BreakAfter int
	Cooldown   time.Duration
}

// Retry defaults: a blip is retried (after 1s, 3s, 9s); a registry that is
// down is given up on after a dozen failures in a row.
const (
	DefaultAttempts      = 4
	DefaultBackoff       = time.Second
	DefaultMaxRetryAfter = 5 * time.Minute
	DefaultStallTimeout  = time.Minute
	DefaultBreakAfter    = 12
	DefaultCooldown      = 30 * time.Second
)

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.Backoff <= 0 {
		r.Backoff = DefaultBackoff
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if r.StallTimeout <= 0 {
		r.StallTimeout = DefaultStallTimeout
	}
	if r.BreakAfter <= 0 {
		r.BreakAfter = DefaultBreakAfter
	}
	if r.Cooldown <= 0 {
		r.Cooldown = DefaultCooldown
	}
	return r
}

func (r Retry) validate() error {
	switch {
	case r.Attempts < 0:
		return fmt.Errorf("retry attempts must be positive, got %d", r.Attempts)
	case r.Backoff < 0, r.MaxRetryAfter < 0, r.StallTimeout < 0, r.Cooldown < 0:
		return fmt.Errorf("retry durations must be positive")
	case r.BreakAfter < 0:
		return fmt.Errorf("retry break_after must be positive, got %d", r.BreakAfter)
	}
	return nil
}

// backoff is the go-containerregistry backoff for these settings: Attempts
// tries, waiting Backoff, then 3x longer each time, with 10% jitter.
func (r Retry) backoff() remote.Backoff {
	return remote.Backoff{Duration: r.Backoff, Factor: 3, Jitter: 0.1, Steps: r.Attempts}
}

// retryStatusCodes are the HTTP statuses go-containerregistry retries.
var retryStatusCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// transient reports whether err is worth another attempt: a connection
// cut, a short or stalled body, a temporary network or registry error. It
// is go-containerregistry's retry predicate and decides layer re-reads.
func transient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrRegistryDown), errors.Is(err, ErrRetryAfterTooLong), errors.Is(err, ErrTooManyRedirects), errors.Is(err, ErrLimit), errors.Is(err, ErrManifestLimit),
		errors.Is(err, ErrDigestMismatch), errors.Is(err, ErrUnreachable):
		return false
	case errors.Is(err, ErrStalled), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return true
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.Temporary()
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// withRetries runs fn until it succeeds, fails with an error that is not
// retryable, or has been tried r.Attempts times, waiting with backoff and
// jitter in between. It is for work whose failure go-containerregistry
// cannot retry itself: a layer blob cut off mid-stream.
func withRetries(ctx context.Context, r Retry, retryable func(error) bool, fn func() error) error {
	b := r.backoff()
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil || !retryable(err) || attempt >= r.Attempts {
			if err != nil && attempt > 1 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return err
		}
		t := time.NewTimer(b.Step())
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// redactedError shows err without the registry's secrets, and keeps err in
// the chain so errors.Is and transient still see what failed.
type redactedError struct {
	redact func(error) string
	err    error
}

func (e *redactedError) Error() string { return e.redact(e.err) }
func (e *redactedError) Unwrap() error { return e.err }

// streamTrap remembers the first error of the blob stream under a layer
// read, to tell a blob cut off in transit (worth reading again) from a blob
// whose content is broken (an unexpected EOF from gzip over a complete
// blob is not).
type streamTrap struct {
	r   io.Reader
	err error
}

func (s *streamTrap) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// classify marks err, the failure of a read over s, as a stream failure
// when the stream itself failed transiently.
func (s *streamTrap) classify(err error) error {
	if s.err != nil && transient(s.err) {
		return &streamError{err}
	}
	return err
}

// streamError is a layer read that failed because its blob stream did.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// streamFailed is the retry predicate of layer reads.
func streamFailed(err error) bool {
	var se *streamError
	return errors.As(err, &se)
}
