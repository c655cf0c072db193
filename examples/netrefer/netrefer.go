// Package netrefer is an example client for NetRefer Data Ingestion, written
// the way an operator's integration would be:
//
//   - an Azure AD access token from the resource-owner password grant
//     (golang.org/x/oauth2), renewed by x/oauth2 before it expires;
//   - the API Management subscription key on every call;
//   - events sent in batches, judged event by event: 200 when all are
//     accepted, 207 when some are, 400 when none are, each event with its own
//     result and error codes;
//   - retries on 429 (after its Retry-After) and on 5xx. NetRefer asks its
//     customers to "use the retry strategy to trigger your endpoints until
//     they succeed" and to be "proactive with 500 error code processing".
//     Sending a batch again is safe: an EventID already processed is rejected
//     on its own (DI-1005) and never counted twice.
//
// NetRefer suggests gaps of minutes between retries for an outage; this client
// retries within a call for short hiccups (seconds, Config.RetryWaitMax) and
// returns an *APIError when they last longer, for the caller's own queue to
// send the batch later.
package netrefer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/provider-sandbox/provider-sandbox/examples/internal/httpretry"
)

// Config is what NetRefer hands an operator at onboarding, plus the retry
// knobs. Zero retry fields take the defaults below.
type Config struct {
	// TokenURL is the tenant's Azure AD v2 token endpoint,
	// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.
	TokenURL     string
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	// Scope is api://{client id}/Events.Injestion ("Injestion" is NetRefer's spelling).
	Scope string
	// SubscriptionKey is the API Management key, sent as Ocp-Apim-Subscription-Key.
	SubscriptionKey string
	// BaseURL is the ingestion base, e.g. https://api.netrefer.com/di/v1.
	BaseURL string

	// HTTPClient sends every request (tokens too); nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries (default 4), RetryWaitMin (1s) and RetryWaitMax (30s) bound
	// the retries of one call; see httpretry.Policy.
	MaxRetries   int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
}

// Client sends events to NetRefer. It is safe for concurrent use.
type Client struct {
	http    *http.Client // token, subscription key and retries included
	baseURL string
}

// New returns a client. It fetches no token yet: the first call does.
func New(ctx context.Context, cfg Config) *Client {
	policy := httpretry.Policy{MaxRetries: cfg.MaxRetries, WaitMin: cfg.RetryWaitMin, WaitMax: cfg.RetryWaitMax}
	retrying := httpretry.Client(cfg.HTTPClient, policy.OrDefaults(httpretry.Policy{
		MaxRetries: 4, WaitMin: time.Second, WaitMax: 30 * time.Second, Retryable: retryable,
	}))
	conf := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       []string{cfg.Scope},
		// Azure AD documents the secret in the form; saying so spares
		// x/oauth2's auto-detection a failed first try with HTTP Basic.
		Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	// x/oauth2 fetches tokens with the client found in the context.
	tokenCtx := context.WithValue(ctx, oauth2.HTTPClient, retrying)
	tokens := oauth2.ReuseTokenSource(nil, &passwordSource{ctx: tokenCtx, conf: conf, user: cfg.Username, pass: cfg.Password})
	return &Client{
		http: &http.Client{Transport: &subscriptionKey{
			key:  cfg.SubscriptionKey,
			next: &oauth2.Transport{Source: tokens, Base: retrying.Transport},
		}},
		baseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
	}
}

// retryable is NetRefer's retry advice: 429 is the gateway's rate limit and
// every 5xx is worth another try, except 501 (the call will never work).
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

// passwordSource gets a new token with the password grant each time
// ReuseTokenSource finds the last one expired. (x/oauth2's own refresh needs a
// refresh token, which Azure AD hands out only for offline_access.)
type passwordSource struct {
	ctx        context.Context
	conf       *oauth2.Config
	user, pass string
}

func (s *passwordSource) Token() (*oauth2.Token, error) {
	return s.conf.PasswordCredentialsToken(s.ctx, s.user, s.pass)
}

// subscriptionKey adds the API Management subscription key to every call.
type subscriptionKey struct {
	key  string
	next http.RoundTripper
}

func (s *subscriptionKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Ocp-Apim-Subscription-Key", s.key)
	return s.next.RoundTrip(r)
}

// Registration is a customer sign-up (POST /registrations).
type Registration struct {
	EventID          string    `json:"eventId"`
	CustomerID       string    `json:"customerId"`
	BrandID          int       `json:"brandId"`
	Timestamp        time.Time `json:"timestamp"`
	RegistrationDate time.Time `json:"registrationDate"`
	CountryCode      string    `json:"countryCode"`
	Currency         string    `json:"currency"`
	// BTag is the affiliate tracking code; "" for an organic sign-up.
	BTag     string `json:"bTag"`
	Username string `json:"username,omitempty"`
}

// Deposit is money paid in (POST /deposits). Sending an existing
// TransactionID again with Amount 0 is a chargeback.
type Deposit struct {
	EventID       string    `json:"eventId"`
	CustomerID    string    `json:"customerId"`
	BrandID       int       `json:"brandId"`
	Timestamp     time.Time `json:"timestamp"`
	TransactionID string    `json:"transactionId"`
	Amount        Money     `json:"amount"`
	Fee           *Money    `json:"fee,omitempty"`
	Currency      string    `json:"currency"`
	// DepositMethod is a name from NetRefer's method table ("Skrill",
	// "VISA", ...); an unknown name is stored as "Other".
	DepositMethod string `json:"depositMethod"`
}

// SendRegistrations sends one batch of registrations.
func (c *Client) SendRegistrations(ctx context.Context, events []Registration) (*BatchResult, error) {
	return c.send(ctx, "/registrations", events)
}

// SendDeposits sends one batch of deposits.
func (c *Client) SendDeposits(ctx context.Context, events []Deposit) (*BatchResult, error) {
	return c.send(ctx, "/deposits", events)
}

// BatchResult is NetRefer's answer to a batch that was judged event by
// event: every event has a result, in the order sent.
type BatchResult struct {
	// Status is 200 (all accepted), 207 (some) or 400 (none).
	Status   int           `json:"-"`
	Received int           `json:"received"`
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Results  []EventResult `json:"results"`
}

// EventResult is the outcome of one event.
type EventResult struct {
	Index   int    `json:"index"`
	EventID string `json:"eventId"`
	// Status is "Accepted" or "Rejected".
	Status string `json:"status"`
	// InterpretedAs is set when an accepted event did something else than
	// its endpoint says: "Chargeback", "BetVoid" or "Correction".
	InterpretedAs string       `json:"interpretedAs,omitempty"`
	Errors        []EventError `json:"errors,omitempty"`
}

// EventError is one reason an event was rejected.
type EventError struct {
	Code    string `json:"code"` // e.g. DI-1005
	Field   string `json:"field"`
	Message string `json:"message"`
}

// CodeAlreadyProcessed is the rejection of an EventID NetRefer already
// processed: after a retry it means the event did arrive the first time.
const CodeAlreadyProcessed = "DI-1005"

// RejectedWith returns the results of the rejected events that carry code.
func (b *BatchResult) RejectedWith(code string) []EventResult {
	var out []EventResult
	for _, r := range b.Results {
		for _, e := range r.Errors {
			if e.Code == code {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// APIError is an answer about the whole call, not its events: the gateway's
// 401/403/404/429, a payload refused as a whole (400, 413), or a 5xx that
// outlasted the retries. Its body is API Management's {"statusCode","message"}.
type APIError struct {
	Status  int
	Message string
	// RetryAfter is the gateway's Retry-After on a 429 (or 503), else 0.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("netrefer: %d %s", e.Status, e.Message)
}

// Temporary reports whether sending the same payload later may succeed.
func (e *APIError) Temporary() bool { return retryable(e.Status) }

// send posts events to path and reads either a batch result or an error.
func (c *Client) send(ctx context.Context, path string, events any) (*BatchResult, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("netrefer: %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("netrefer: %s: reading the answer: %w", path, err)
	}
	return decodeAnswer(resp, data)
}

// decodeAnswer tells a batch result (200, 207, or a 400 with per-event
// results) from an error about the whole call.
func decodeAnswer(resp *http.Response, data []byte) (*BatchResult, error) {
	switch resp.StatusCode {
	case http.StatusOK, http.StatusMultiStatus, http.StatusBadRequest:
		var res BatchResult
		if err := json.Unmarshal(data, &res); err == nil && res.Results != nil {
			res.Status = resp.StatusCode
			return &res, nil
		}
		if resp.StatusCode != http.StatusBadRequest {
			return nil, fmt.Errorf("netrefer: %d answer is not a batch result: %.200s", resp.StatusCode, data)
		}
	}
	apiErr := &APIError{Status: resp.StatusCode}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		apiErr.Message = body.Message
	} else {
		apiErr.Message = http.StatusText(resp.StatusCode)
	}
	apiErr.RetryAfter, _ = httpretry.RetryAfter(resp.Header)
	return nil, apiErr
}

// IsTemporary reports whether err is an *APIError worth sending again later.
func IsTemporary(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Temporary()
}
