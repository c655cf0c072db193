// Package centili is an example client for Centili Data Gifting, written the
// way a merchant's integration would be:
//
//   - tokens from Centili's Keycloak realm with the password grant
//     (golang.org/x/oauth2), renewed with the refresh token while the
//     Keycloak session lives and with the password after it ended;
//   - a 401 on a token our clock still thinks valid (clocks drift, sessions
//     are ended by the server) renews the token once and sends the call again;
//   - business refusals (422) as a typed *Error, so that a caller can tell
//     "the pool is empty" (errors.Is(err, ErrInsufficientBalance)) from a bad
//     request;
//   - retries on 429 (after its Retry-After) and on 502, 503 and 504. A gift
//     is safe to send again because Centili answers a repeated
//     (serviceKey, clientId) with the original outcome instead of assigning
//     twice, so GiftRequest.ClientID must be unique per gift.
package centili

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/provider-sandbox/provider-sandbox/examples/internal/httpretry"
)

// Config is what Centili hands a merchant, plus the retry knobs. Zero retry
// fields take the defaults below.
type Config struct {
	// TokenURL is the realm's token endpoint,
	// https://auth-capi.centili.com/realms/api/protocol/openid-connect/token.
	TokenURL string
	// ClientID is the Keycloak client; ClientSecret is empty for a public one.
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	// BaseURL is the Data Gifting root, https://api.centili.com/datagifting/v1.
	BaseURL string

	// HTTPClient sends every request (tokens too); nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries (default 3), RetryWaitMin (500ms) and RetryWaitMax (10s)
	// bound the retries of one call; see httpretry.Policy.
	MaxRetries   int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
}

// Client gifts data from a merchant's pools. It is safe for concurrent use.
type Client struct {
	http    *http.Client // with retries; the token is added per call
	tokens  *tokenSource
	baseURL string
}

// New returns a client. It logs in on the first call.
func New(ctx context.Context, cfg Config) *Client {
	policy := httpretry.Policy{MaxRetries: cfg.MaxRetries, WaitMin: cfg.RetryWaitMin, WaitMax: cfg.RetryWaitMax}
	retrying := httpretry.Client(cfg.HTTPClient, policy.OrDefaults(httpretry.Policy{
		MaxRetries: 3, WaitMin: 500 * time.Millisecond, WaitMax: 10 * time.Second, Retryable: retryable,
	}))
	conf := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		// Keycloak takes the client in the form; saying so spares x/oauth2's
		// auto-detection a failed first try with HTTP Basic.
		Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	return &Client{
		http: retrying,
		tokens: &tokenSource{
			// x/oauth2 fetches tokens with the client found in the context.
			ctx:  context.WithValue(ctx, oauth2.HTTPClient, retrying),
			conf: conf, user: cfg.Username, pass: cfg.Password,
		},
		baseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
	}
}

// retryable: 429 is a throttled call; 502, 503 and 504 say the gateway or
// the service did not handle it. A 500 may have assigned the data, and the
// idempotent replay would make a retry harmless, but it would also hide a
// bug on either side, so it is reported instead.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// GiftRequest assigns AmountMB of data to an MSISDN.
type GiftRequest struct {
	ServiceKey string `json:"serviceKey"`
	// MSISDN is E.164 without the leading +, e.g. 4366124567.
	MSISDN string `json:"msisdn"`
	// ClientID is the merchant's own reference for this gift: the same value
	// again answers the first outcome and assigns nothing.
	ClientID string `json:"clientId"`
	// AmountMB must be one of the service's packages for the operator.
	AmountMB int `json:"amount"`
}

// Transaction is one gift as Centili records it.
type Transaction struct {
	TransactionID string `json:"transactionId"`
	ServiceKey    string `json:"serviceKey"`
	MSISDN        string `json:"msisdn"`
	ClientID      string `json:"clientId"`
	AmountMB      int    `json:"amount"`
	Operator      string `json:"operator"`
	// Status is COMPLETED, FAILED or PENDING.
	Status       string  `json:"status"`
	ErrorType    *string `json:"errorType"`
	ErrorMessage *string `json:"errorMessage"`
	// TimeCreated is "yyyy-MM-dd HH:mm:ss", UTC.
	TimeCreated string `json:"timeCreated"`
}

// Pool is a service's data for one operator.
type Pool struct {
	Operator       string `json:"operator"`
	TotalAmount    int64  `json:"totalAmount"`
	AssignedAmount int64  `json:"assignedAmount"`
	ExpirationDate string `json:"expirationDate"`
}

// Remaining is what the pool can still give, in MB.
func (p Pool) Remaining() int64 { return p.TotalAmount - p.AssignedAmount }

// Gift assigns data. A refusal is an *Error: test it with errors.Is against
// ErrInsufficientBalance and the other Err values.
func (c *Client) Gift(ctx context.Context, g GiftRequest) (*Transaction, error) {
	var tx Transaction
	if err := c.do(ctx, http.MethodPost, "/service/transaction", nil, g, &tx); err != nil {
		return nil, err
	}
	return &tx, nil
}

// Balance lists the pools of a service for one operator (FR_ORANGE, AT_A1, ...).
func (c *Client) Balance(ctx context.Context, serviceKey, operator string) ([]Pool, error) {
	var pools []Pool
	q := url.Values{"serviceKey": {serviceKey}, "operator": {operator}}
	return pools, c.do(ctx, http.MethodGet, "/services/balance", q, nil, &pools)
}

// Transactions lists a service's gifts (COMPLETED and FAILED) in creation
// order, of one msisdn when msisdn is not empty.
func (c *Client) Transactions(ctx context.Context, serviceKey, msisdn string) ([]Transaction, error) {
	var txs []Transaction
	q := url.Values{"serviceKey": {serviceKey}}
	if msisdn != "" {
		q.Set("msisdn", msisdn)
	}
	return txs, c.do(ctx, http.MethodGet, "/transaction", q, nil, &txs)
}

// do sends one call with the current access token and decodes the answer
// into out. A 401 renews the token and sends the call once more.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	u := c.baseURL + path
	if query != nil {
		u += "?" + query.Encode()
	}
	for renewed := false; ; renewed = true {
		tok, err := c.tokens.Token()
		if err != nil {
			return fmt.Errorf("centili: token: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("centili: %s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("centili: %s %s: reading the answer: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && !renewed {
			c.tokens.reject(tok)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return decodeError(resp, data)
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("centili: %s %s: %w", method, path, err)
		}
		return nil
	}
}

// Error is Centili's {"errorType","errorMessage"} answer.
type Error struct {
	Status  int
	Type    string // e.g. INSUFFICIENT_BALANCE
	Message string
	// RetryAfter is the Retry-After of a 429 or 503, else 0.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("centili: %d %s: %s", e.Status, e.Type, e.Message)
}

// Is makes errors.Is(err, ErrInsufficientBalance) true for any *Error of
// that type, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Type == e.Type
}

// The business refusals of a gift (HTTP 422) and the other errors a caller
// usually branches on; compare with errors.Is.
var (
	ErrInsufficientBalance = &Error{Type: "INSUFFICIENT_BALANCE"}
	ErrPoolExpired         = &Error{Type: "POOL_EXPIRED"}
	ErrInvalidPackage      = &Error{Type: "INVALID_PACKAGE"}
	ErrUnsupportedOperator = &Error{Type: "UNSUPPORTED_OPERATOR"}
	ErrServiceInactive     = &Error{Type: "SERVICE_INACTIVE"}
	ErrServiceNotFound     = &Error{Type: "SERVICE_NOT_FOUND"}
	ErrForbidden           = &Error{Type: "FORBIDDEN"}
)

func decodeError(resp *http.Response, data []byte) error {
	e := &Error{Status: resp.StatusCode}
	var body struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(data, &body) == nil && body.ErrorType != "" {
		e.Type, e.Message = body.ErrorType, body.ErrorMessage
	} else {
		e.Type, e.Message = "HTTP_"+fmt.Sprint(resp.StatusCode), fmt.Sprintf("%.200s", data)
	}
	e.RetryAfter, _ = httpretry.RetryAfter(resp.Header)
	return e
}

// tokenSource holds the merchant's current token and renews it: with the
// refresh token while the Keycloak session lives, with the password once it
// has ended (idle for longer than the realm allows, or past its lifespan).
type tokenSource struct {
	ctx        context.Context
	conf       *oauth2.Config
	user, pass string

	mu  sync.Mutex // held while renewing, so that concurrent calls log in once
	tok *oauth2.Token
}

// Token returns a token that is valid by our clock, renewing it if needed.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		return s.tok, nil
	}
	tok, err := s.renew()
	if err != nil {
		return nil, err
	}
	s.tok = tok
	return tok, nil
}

// reject forgets an access token the server refused, keeping its refresh
// token, so that the next Token renews. A token already replaced by another
// caller is left alone.
func (s *tokenSource) reject(tok *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == tok.AccessToken {
		s.tok = &oauth2.Token{RefreshToken: s.tok.RefreshToken}
	}
}

func (s *tokenSource) renew() (*oauth2.Token, error) {
	if s.tok != nil && s.tok.RefreshToken != "" {
		// An empty access token makes x/oauth2 refresh at once.
		tok, err := s.conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		if err == nil || !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			return tok, err
		}
		// invalid_grant: the session ended; log in again below.
	}
	return s.conf.PasswordCredentialsToken(s.ctx, s.user, s.pass)
}
