// Package httpretry gives the example clients one way to retry, built on
// github.com/hashicorp/go-retryablehttp: each provider says which answers may
// be sent again, and this package turns that into an *http.Client that honours
// Retry-After, backs off exponentially otherwise, and hands the last answer
// back (not an error) when it gives up, so that the provider's own error body
// can still be read.
//
// The clients share it because the mechanics are the same for all four; what
// differs per provider is the Retryable decision, which each client documents
// next to the provider's advice.
package httpretry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Policy is how often and how long a client retries.
type Policy struct {
	// MaxRetries is the number of attempts after the first one; a negative
	// value means none (zero takes the client's default, see OrDefaults).
	MaxRetries int
	// WaitMin is the first backoff; each later one doubles, up to WaitMax.
	WaitMin time.Duration
	// WaitMax caps the backoff. A Retry-After longer than WaitMax ends the
	// retries at once: the caller gets that answer, Retry-After included,
	// and decides (queue the work, tell the user) instead of a goroutine
	// sleeping for minutes.
	WaitMax time.Duration
	// Retryable says whether an answer with this status may be sent again
	// unchanged. Transport errors (refused or reset connections, timeouts)
	// are always retried, TLS and redirect errors never.
	Retryable func(status int) bool
}

// OrDefaults fills the zero fields of p from d, so that a client's Config
// can leave any retry knob unset.
func (p Policy) OrDefaults(d Policy) Policy {
	if p.MaxRetries == 0 {
		p.MaxRetries = d.MaxRetries
	}
	if p.WaitMin == 0 {
		p.WaitMin = d.WaitMin
	}
	if p.WaitMax == 0 {
		p.WaitMax = d.WaitMax
	}
	if p.Retryable == nil {
		p.Retryable = d.Retryable
	}
	return p
}

// Client returns an *http.Client that sends every request through base
// (http.DefaultClient when nil) and retries it as p says. The request body is
// buffered so that it can be sent again, and so is the answer's: an answer
// cut short (headers, then a dropped connection) fails inside the retry loop
// and is retried like a reset connection, instead of surfacing later as a
// read error that nothing retries. The answers of these APIs are small.
func Client(base *http.Client, p Policy) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	reading := *base
	reading.Transport = readWhole{next: base.Transport}
	rc := &retryablehttp.Client{
		HTTPClient:   &reading,
		RetryMax:     p.MaxRetries,
		RetryWaitMin: p.WaitMin,
		RetryWaitMax: p.WaitMax,
		CheckRetry:   p.checkRetry,
		Backoff:      retryablehttp.DefaultBackoff, // Retry-After on 429 and 503, else exponential
		// When the retries run out, return the last answer as it is: its
		// body is the provider's explanation and the client decodes it.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return &http.Client{Transport: &retryablehttp.RoundTripper{Client: rc}}
}

// readWhole reads each answer's body before handing the answer on.
type readWhole struct{ next http.RoundTripper }

func (t readWhole) RoundTrip(r *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// checkRetry is the retryablehttp.CheckRetry of p.
func (p Policy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil || ctx.Err() != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if p.Retryable == nil || !p.Retryable(resp.StatusCode) {
		return false, nil
	}
	if wait, ok := RetryAfter(resp.Header); ok && wait > p.WaitMax {
		return false, nil
	}
	return true, nil
}

// RetryAfter reads a Retry-After header given in seconds (the form every
// provider here sends). ok is false when there is none or it is not a
// non-negative number of seconds.
func RetryAfter(h http.Header) (wait time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}
