// Package intarget is an example of InTarget's side of its product-API
// contract: InTarget has no API to call; it pulls the operator's "product API"
// in consecutive windows. This package is such a puller, as a team building
// (or testing) the InTarget side would write it:
//
//   - each request asks for one half-open window, from <= t < to, with
//     timestamps in UTC as YYYY-MM-DD HH:MM:SS (the space sent as "+", as in
//     InTarget's own example);
//   - the answer is RFC 4180 CSV with a header row, read with encoding/csv;
//   - a Puller keeps its cursor (the end of the last window it finished), so
//     that after a restart it resumes exactly there: no window is skipped and
//     none is taken twice;
//   - requests are GETs, so every transport error, 429 (after its
//     Retry-After) and 5xx but 501 is retried.
package intarget

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/examples/internal/httpretry"
)

// TimeLayout is the contract's timestamp format, always UTC.
const TimeLayout = "2006-01-02 15:04:05"

// ParseTime reads a timestamp of the contract (YYYY-MM-DD HH:MM:SS, UTC).
func ParseTime(s string) (time.Time, error) {
	return time.ParseInLocation(TimeLayout, s, time.UTC)
}

// Config is the operator's product API and its credentials (HTTP Basic here;
// InTarget accepts whatever the operator documents), plus the retry knobs.
// Zero retry fields take the defaults below.
type Config struct {
	// BaseURL is the product API's root; feed paths are appended to it.
	BaseURL  string
	Username string
	Password string

	// HTTPClient sends every request; nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries (default 5), RetryWaitMin (2s) and RetryWaitMax (2m) bound
	// the retries of one window; see httpretry.Policy. A pull is not urgent:
	// the window stays where it is until it works.
	MaxRetries   int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
}

// Client fetches windows of the product API's feeds.
type Client struct {
	http       *http.Client
	baseURL    string
	user, pass string
}

// New returns a client.
func New(cfg Config) *Client {
	policy := httpretry.Policy{MaxRetries: cfg.MaxRetries, WaitMin: cfg.RetryWaitMin, WaitMax: cfg.RetryWaitMax}
	return &Client{
		http: httpretry.Client(cfg.HTTPClient, policy.OrDefaults(httpretry.Policy{
			MaxRetries: 5, WaitMin: 2 * time.Second, WaitMax: 2 * time.Minute, Retryable: retryable,
		})),
		baseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		user:    cfg.Username, pass: cfg.Password,
	}
}

// retryable: a pull changes nothing, so anything that may pass later is
// tried again; 501 never will.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

// Window is the half-open interval [From, To) of last-modified timestamps.
type Window struct {
	From, To time.Time
}

func (w Window) String() string {
	return "[" + w.From.UTC().Format(TimeLayout) + ", " + w.To.UTC().Format(TimeLayout) + ")"
}

// Contains reports whether t lies in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Row is one CSV record, by column name.
type Row map[string]string

// Fetch pulls one window of a feed (a path such as /api/users).
func (c *Client) Fetch(ctx context.Context, feed string, w Window) ([]Row, error) {
	q := url.Values{"from": {w.From.UTC().Format(TimeLayout)}, "to": {w.To.UTC().Format(TimeLayout)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+feed+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/csv")
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("intarget: %s %s: %w", feed, w, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, decodeError(resp, data)
	}
	rows, err := readCSV(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("intarget: %s %s: %w", feed, w, err)
	}
	return rows, nil
}

// readCSV reads a header row and the records under it.
func readCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	header = append([]string(nil), header...)
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		row := make(Row, len(header))
		for i, name := range header {
			row[name] = rec[i]
		}
		rows = append(rows, row)
	}
}

// Error is the product API's refusal of a pull. (The reference API answers
// {"error","message"}; another operator's body is kept as Message.)
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the Retry-After of a 429 or 503, else 0.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("intarget: %d %s: %s", e.Status, e.Code, e.Message)
}

func decodeError(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Code, e.Message = body.Error, body.Message
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	e.RetryAfter, _ = httpretry.RetryAfter(resp.Header)
	return e
}
