// Package netfinity is an example client for Netfinity's SMS notification API
// (v2), written the way an integration would be:
//
//   - a bearer token per service; the JSON Accept and Content-Type headers
//     that Netfinity requires on every call;
//   - a 200 only means "accepted for processing": the message's statuses
//     arrive later as pingbacks, POSTed to the callback URL configured for
//     the service, and PingbackHandler is the receiver for them;
//   - Laravel's error bodies decoded into *Error, with the validation
//     messages per field of a 422;
//   - retries on 429 after its Retry-After (a refused call is not counted, so
//     sending it again is safe) and on 503. Other failures are not retried: a
//     send that may have been processed would go out twice, or, with the same
//     SMS.ID, be rejected by flood protection.
package netfinity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/examples/internal/httpretry"
)

// Config is the service's token and endpoint, plus the retry knobs. Zero
// retry fields take the defaults below.
type Config struct {
	// BaseURL is the API's v2 root, https://api.netfinity.bg/v2.
	BaseURL string
	// Token is the service's bearer token, bound to IP addresses and to
	// the sms.notification capability.
	Token string

	// HTTPClient sends every request; nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries (default 2), RetryWaitMin (1s) and RetryWaitMax (60s, one
	// rate-limit window) bound the retries of one send; see httpretry.Policy.
	MaxRetries   int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
}

// Client sends SMS notifications. It is safe for concurrent use.
type Client struct {
	http    *http.Client
	baseURL string
	token   string
}

// New returns a client.
func New(cfg Config) *Client {
	policy := httpretry.Policy{MaxRetries: cfg.MaxRetries, WaitMin: cfg.RetryWaitMin, WaitMax: cfg.RetryWaitMax}
	return &Client{
		http: httpretry.Client(cfg.HTTPClient, policy.OrDefaults(httpretry.Policy{
			MaxRetries: 2, WaitMin: time.Second, WaitMax: time.Minute, Retryable: retryable,
		})),
		baseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		token:   cfg.Token,
	}
}

// retryable: 429 (Laravel's throttle; the refused call did not count) and 503
// (the application is down, so it handled nothing).
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// SMS is one notification.
type SMS struct {
	// MSISDN is E.164 (359881234567 or +359881234567); 00-prefixed and
	// national numbers are accepted too.
	MSISDN string `json:"msisdn"`
	// Text is GSM 03.38; the account prefix is prepended and the result cut
	// at 160 characters.
	Text string `json:"text"`
	// ID is an optional alphanumeric reference echoed in every pingback.
	// Netfinity rejects a reused ID (flood protection), so make it unique.
	ID string `json:"id,omitempty"`
}

// Accepted is Netfinity's receipt: the message is queued, not delivered.
type Accepted struct {
	UUID string  `json:"uuid"`
	ID   *string `json:"id"`
}

// Send submits one SMS. Its statuses follow as pingbacks keyed by the
// returned UUID (and by sms.ID).
func (c *Client) Send(ctx context.Context, sms SMS) (*Accepted, error) {
	body, err := json.Marshal(sms)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/sms/notification/send", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("netfinity: send: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("netfinity: send: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp, data)
	}
	var acc Accepted
	if err := json.Unmarshal(data, &acc); err != nil || acc.UUID == "" {
		return nil, fmt.Errorf("netfinity: send: a 200 without a uuid: %.200s", data)
	}
	return &acc, nil
}

// Error is a Laravel error answer: {"message"}, plus the failed rules per
// field for a 422 ("The given data was invalid.").
type Error struct {
	Status  int
	Message string
	// Fields holds a 422's messages per field, e.g.
	// {"msisdn": ["The msisdn must be between 8 and 20 digits."]}.
	Fields map[string][]string
	// RetryAfter is a 429's Retry-After: when the rate-limit window ends.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("netfinity: %d %s", e.Status, e.Message)
	}
	return fmt.Sprintf("netfinity: %d %s %v", e.Status, e.Message, e.Fields)
}

func decodeError(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	var body struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Message, e.Fields = body.Message, body.Errors
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.RetryAfter, _ = httpretry.RetryAfter(resp.Header)
	return e
}
