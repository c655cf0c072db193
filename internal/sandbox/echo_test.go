package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// The echo provider exists only in these tests: it exercises every hook of
// the core (config, state, guard, validation, native errors, snapshots)
// without depending on a real provider.

type echoConfig struct {
	Greeting     string `yaml:"greeting" json:"greeting"`
	MaxBodyBytes int64  `yaml:"maxBodyBytes" json:"maxBodyBytes"`
	Limit        int    `yaml:"limit" json:"limit"`
	// Busy makes the state report pending background work.
	Busy bool `yaml:"busy" json:"busy"`
	// FailIn makes building the state fail in the namespace of that name,
	// so that a reset can fail after the scenario was accepted.
	FailIn string `yaml:"failIn" json:"failIn,omitempty"`
}

func (c *echoConfig) Validate() []scenario.Problem {
	if c.Limit < 0 {
		return []scenario.Problem{scenario.Problemf("limit", "use 0 for no limit", "limit must not be negative, got %d", c.Limit)}
	}
	return nil
}

type echoItem struct {
	ID   int       `json:"id"`
	Name string    `json:"name"`
	Qty  int       `json:"qty"`
	At   time.Time `json:"at"`
}

type echoState struct {
	cfg    *echoConfig
	mu     sync.Mutex
	items  []echoItem
	closed bool
	recs   sandbox.Records
}

// LoadRecords makes echo Durable: each item is a record "item"/id.
func (s *echoState) LoadRecords(recs []sandbox.Record) error {
	for _, r := range recs {
		var it echoItem
		if r.Kind != "item" || json.Unmarshal(r.Value, &it) != nil {
			return fmt.Errorf("record %s/%s is not an echo item", r.Kind, r.Key)
		}
		s.items = append(s.items, it)
	}
	return nil
}

func (s *echoState) Snapshot() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"greeting": s.cfg.Greeting, "items": append([]echoItem{}, s.items...)}
}

func (s *echoState) MaxBodyBytes() int64 { return s.cfg.MaxBodyBytes }

func (s *echoState) Busy() bool { return s.cfg.Busy }

func (s *echoState) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// buildGate holds up the next build of an echo state in one namespace
// (a reset in progress), so a test can act while the reset holds its lock.
type buildGate struct{ building, release chan struct{} }

// echoBuildGates maps a namespace name to the gate its next build waits at.
var echoBuildGates sync.Map

type echoError struct {
	Error  string               `json:"error"`
	Kind   int                  `json:"kind"`
	Fields []sandbox.FieldError `json:"fields,omitempty"`
}

func init() {
	spec, err := os.ReadFile("testdata/echo.yaml")
	if err != nil {
		panic(err)
	}
	sandbox.Register(&sandbox.Provider{
		Name:      "echo",
		Title:     "Echo",
		Spec:      spec,
		NewConfig: func() any { return &echoConfig{Greeting: "hello", MaxBodyBytes: 256} },
		New: func(env sandbox.Env) (any, error) {
			cfg := env.Config.(*echoConfig)
			if cfg.FailIn != "" && cfg.FailIn == env.Namespace {
				return nil, fmt.Errorf("echo refuses to start in namespace %q", env.Namespace)
			}
			if g, ok := echoBuildGates.LoadAndDelete(env.Namespace); ok {
				g := g.(*buildGate)
				close(g.building)
				<-g.release
			}
			return &echoState{cfg: cfg, recs: env.Records}, nil
		},
		Guard: func(c *sandbox.Call) bool {
			if c.R.Header.Get("X-Block") != "" {
				c.JSON(http.StatusForbidden, echoError{Error: "blocked by guard", Kind: 403})
				return false
			}
			return true
		},
		// /echo-root/{id} at the host root is the mount's /items/{id}.
		RootAliases: []sandbox.RootAlias{{Prefix: "/echo-root/", Target: "/items/"}},
		// api.echo.test/v1/... is the mount's /...; nothing else on that host.
		Hosts: []sandbox.ProviderHost{{Name: "api", Host: "api.echo.test", Paths: []sandbox.HostPath{{Prefix: "/v1/", Target: "/"}}}},
		Banner: func(cfg any, baseURL string) []string {
			return []string{"greeting\t" + cfg.(*echoConfig).Greeting, "items\t" + baseURL + "/items", "(a continuation line)"}
		},
		WriteError: func(c *sandbox.Call, e *sandbox.Error) {
			if e.Kind == sandbox.ErrThrottled {
				c.W.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
			}
			c.JSON(e.Status, echoError{Error: e.Message, Kind: int(e.Kind), Fields: e.Fields})
		},
		Operations: map[string]sandbox.Handler{
			"createItem": func(c *sandbox.Call) {
				st := c.State.(*echoState)
				var in struct {
					Name string `json:"name"`
					Qty  int    `json:"qty"`
				}
				if err := json.Unmarshal(c.Body, &in); err != nil {
					c.JSON(400, echoError{Error: err.Error(), Kind: 99})
					return
				}
				st.mu.Lock()
				it := echoItem{ID: len(st.items) + 1, Name: in.Name, Qty: in.Qty, At: c.Now()}
				st.items = append(st.items, it)
				st.recs.Put("item", fmt.Sprintf("%08d", it.ID), it)
				st.mu.Unlock()
				c.JSON(http.StatusCreated, it)
			},
			"listItems": func(c *sandbox.Call) {
				st := c.State.(*echoState)
				st.mu.Lock()
				defer st.mu.Unlock()
				c.JSON(http.StatusOK, append([]echoItem{}, st.items...))
			},
			"getItem": func(c *sandbox.Call) {
				id, _ := strconv.Atoi(c.Params["id"])
				c.JSON(http.StatusOK, map[string]any{"id": id, "base": c.BaseURL()})
			},
			"panics": func(c *sandbox.Call) { panic(fmt.Sprintf("boom in %s", c.Operation)) },
			"raw": func(c *sandbox.Call) {
				c.JSON(http.StatusOK, map[string]any{"bytes": len(c.Body)})
			},
		},
	})
}

const echoScenario = `version: 1
name: echo-test
seed: 7
clock:
  start: "2026-01-02T03:04:05Z"
  frozen: true
echo:
  greeting: hi
`
