// Package intarget is the reference "product API" that InTarget pulls from an
// operator (users, contacts, transactions, logins, wallets, game sessions,
// sport tournaments and events, bets and bet selections), generated from the
// scenario seed, plus the conformance verifier that plays InTarget against any
// operator's API (subpackage verify). See docs/intarget.md.
package intarget

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
	"github.com/provider-sandbox/provider-sandbox/specs"
)

// operations maps each operationId of specs/intarget.yaml to its entity.
var operations = map[string]string{
	"listUsers": contract.Users, "listContacts": contract.Contacts, "listTransactions": contract.Transactions,
	"listLogins": contract.Logins, "listWallets": contract.Wallets, "listGameSessions": contract.GameSessions,
	"listSportTournaments": contract.Tournaments, "listSportEvents": contract.Events, "listBets": contract.Bets,
	"listBetSelections": contract.BetSelections,
}

// state is one namespace's reference API: its generated world and settings.
type state struct {
	cfg   *Config
	seed  int64
	world *world
	// rec keeps the world's start with a data directory (durable.go).
	rec sandbox.Records
}

// savedState is InTarget's part of a namespace snapshot. Its rows are
// derived from the seed, the configuration and the instant the world
// starts from (its first hour), so that instant is all it keeps: a world of
// world.days built on a running clock starts where the clock stood then,
// not where it stands at the restore. The verifier keeps no state.
type savedState struct {
	Version    int       `json:"version"`
	WorldStart time.Time `json:"worldStart"`
}

// SaveState returns InTarget's state for a namespace snapshot.
func (s *state) SaveState() (json.RawMessage, error) {
	return json.Marshal(savedState{Version: 1, WorldStart: s.world.start})
}

// RestoreState rebuilds the generated world from its saved start, and
// keeps the start (durable.go).
func (s *state) RestoreState(data json.RawMessage) error {
	if err := s.restoreStart(data); err != nil {
		return err
	}
	s.putStart()
	return nil
}

func (s *state) restoreStart(data json.RawMessage) error {
	var in savedState
	if err := sandbox.DecodeState(data, "InTarget", &in, 1); err != nil {
		return err
	}
	if in.WorldStart.IsZero() {
		return fmt.Errorf("worldStart is missing")
	}
	s.world = &world{seed: s.seed, start: in.WorldStart.UTC().Truncate(bucketLen), cfg: s.cfg.World}
	return nil
}

// Snapshot shows where the generated world starts and how it is configured;
// the rows themselves are computed on demand and never stored.
func (s *state) Snapshot() any {
	return map[string]any{
		"worldStart": s.world.start.Format(time.RFC3339),
		"world":      s.cfg.World,
		"faults":     s.cfg.Faults,
		"maxWindow":  s.cfg.MaxWindow,
		"auth":       s.cfg.Auth.Type,
	}
}

// SecretHeaders names the token header of `auth.type: header`, so that the
// journal redacts it as it redacts Authorization.
func (s *state) SecretHeaders() []string {
	if s.cfg.Auth.Type == "header" && s.cfg.Auth.Header != "" {
		return []string{s.cfg.Auth.Header}
	}
	return nil
}

func init() {
	ops := map[string]sandbox.Handler{}
	for op, ent := range operations {
		e, _ := contract.Lookup(ent)
		ops[op] = func(c *sandbox.Call) { serveEntity(c, e) }
	}
	sandbox.Register(&sandbox.Provider{
		Name:       "intarget",
		Title:      "InTarget reference product API",
		Spec:       specs.Must("intarget.yaml"),
		NewConfig:  newConfig,
		New:        newState,
		Operations: ops,
		Guard:      guard,
		WriteError: writeError,
		AdminRoutes: []sandbox.AdminRoute{
			{Method: http.MethodPost, Path: "/intarget/verify", Handler: adminVerify},
		},
		Commands: map[string]sandbox.Command{
			"verify": {Summary: "check an operator's product API against InTarget's requirements", Run: runVerify},
		},
		Postman: postmanPlan,
		// InTarget calls the operator's own API, so there is no real host:
		// the scenario names the operator's (hosts.names.intarget.api), and
		// its paths are the reference API's (docs/hosts.md).
		Hosts: []sandbox.ProviderHost{{Name: "api", Paths: []sandbox.HostPath{{Prefix: "/", Target: "/"}}}},
		Banner: func(cfg any, baseURL string) []string {
			c := cfg.(*Config)
			auth := "no auth"
			switch c.Auth.Type {
			case "basic":
				auth = fmt.Sprintf("HTTP Basic %s / %s", c.Auth.Username, c.Auth.Password)
			case "header":
				auth = fmt.Sprintf("header %s: %s", c.Auth.Header, c.Auth.Token)
			}
			return []string{
				fmt.Sprintf("users feed\t%s/api/users?from=YYYY-MM-DD+HH:MM:SS&to=...", baseURL),
				"auth\t" + auth,
				"verify\tsandbox intarget verify --base-url URL --auth basic:USER:PASS (checks an operator's API)",
			}
		},
	})
}

// errorBody is the reference API's error shape (InTarget does not fix one;
// see docs/intarget.md).
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func fail(c *sandbox.Call, status int, code, msg string) {
	c.JSON(status, errorBody{Error: code, Message: msg})
}

// guard checks the configured credentials before anything else, like an
// operator's auth middleware would.
func guard(c *sandbox.Call) bool {
	a := c.State.(*state).cfg.Auth
	switch a.Type {
	case "basic":
		u, p, ok := c.R.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(u), []byte(a.Username)) == 1 && subtle.ConstantTimeCompare([]byte(p), []byte(a.Password)) == 1 {
			return true
		}
		c.W.Header().Set("WWW-Authenticate", `Basic realm="intarget-sandbox"`)
		msg := "HTTP Basic credentials are missing"
		if ok {
			msg = "HTTP Basic credentials are wrong"
		} else if c.R.Header.Get("Authorization") != "" {
			msg = "the Authorization header is not HTTP Basic credentials"
		}
		fail(c, http.StatusUnauthorized, "unauthorized", msg)
		return false
	case "header":
		v := c.R.Header.Get(a.Header)
		if v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(a.Token)) == 1 {
			return true
		}
		msg := fmt.Sprintf("header %s is missing", a.Header)
		if v != "" {
			msg = fmt.Sprintf("header %s is wrong", a.Header)
		}
		fail(c, http.StatusUnauthorized, "unauthorized", msg)
		return false
	}
	return true
}

func writeError(c *sandbox.Call, e *sandbox.Error) {
	switch e.Kind {
	case sandbox.ErrNotFound:
		fail(c, http.StatusNotFound, "not_found", e.Message)
	case sandbox.ErrMethodNotAllowed:
		fail(c, http.StatusMethodNotAllowed, "method_not_allowed", e.Message)
	case sandbox.ErrBodyTooLarge:
		fail(c, http.StatusRequestEntityTooLarge, "payload_too_large", e.Message)
	case sandbox.ErrInvalidRequest:
		for _, f := range e.Fields {
			if f.In == "query" && f.Rule == "decode" {
				// the core says the query string itself cannot be decoded
				fail(c, http.StatusBadRequest, "invalid_window", f.Reason)
				return
			}
		}
		for _, f := range e.Fields {
			if f.In == "query" && (f.Field == "from" || f.Field == "to") {
				// The spec's pattern refuses only what the handler refuses:
				// answer in the handler's words, whichever layer saw it first.
				if msg := windowProblem(c); msg != "" {
					fail(c, http.StatusBadRequest, "invalid_window", msg)
					return
				}
			}
		}
		for _, f := range e.Fields {
			if f.In == "query" && (f.Field == "from" || f.Field == "to") && (f.Rule == "required" || strings.Contains(f.Reason, "required")) {
				fail(c, http.StatusBadRequest, "invalid_window", fmt.Sprintf(requiredMsg, f.Field))
				return
			}
		}
		fail(c, http.StatusBadRequest, "invalid_request", e.Message)
	case sandbox.ErrThrottled:
		if e.RetryAfter > 0 {
			c.W.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		fail(c, http.StatusTooManyRequests, "too_many_requests", "rate limit exceeded, retry later")
	case sandbox.ErrUnavailable:
		status := e.Status
		if status < 400 {
			status = http.StatusServiceUnavailable
		}
		fail(c, status, "unavailable", e.Message)
	default:
		fail(c, http.StatusInternalServerError, "internal_error", e.Message)
	}
}

// StateVersion says which format version the saved state is.
func (v *savedState) StateVersion() int { return v.Version }
