// Package sandbox is the core every provider emulator plugs into: one HTTP
// handler that splits requests by namespace and mount, routes and validates
// them with the provider's OpenAPI document, records them in the journal, and
// serves the admin API.
//
// A provider is a package under mocks/ that calls Register from an init
// function. The core never imports a provider, so adding a fifth one means
// writing its package and a blank import in mocks/all.
package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"github.com/gorilla/mux"

	"github.com/provider-sandbox/provider-sandbox/internal/callback"
	"github.com/provider-sandbox/provider-sandbox/internal/clock"
	"github.com/provider-sandbox/provider-sandbox/internal/postman"
	"github.com/provider-sandbox/provider-sandbox/internal/tokens"
)

// Provider describes one emulated third-party API.
type Provider struct {
	// Name is the mount (/Name/...) and the scenario's top-level key.
	Name string
	// Title is a human name for listings ("NetRefer Data Ingestion").
	Title string
	// Spec is the provider's OpenAPI 3.0 document (YAML or JSON). Its paths are
	// relative to the mount. It is the single source of routing and request
	// validation: every operationId in it needs an entry in Operations.
	Spec []byte
	// NewConfig returns a pointer to the provider's scenario section filled
	// with its defaults. The scenario's section is decoded strictly on top of
	// it; if the value implements scenario.Validator it is validated too.
	// A decoded config is shared by every namespace and must be treated as
	// read-only.
	NewConfig func() any
	// New builds the provider's state for one namespace. It is called when a
	// namespace is created or reset. The result is handed to every handler as
	// Call.State and may implement Snapshotter, Persistent, CallbackOutbox,
	// CallbackSource, Closer and BodyLimiter.
	New func(env Env) (any, error)
	// Operations maps each operationId of the spec to its handler.
	Operations map[string]Handler
	// Guard, when set, runs after routing and before spec validation. It is
	// where a provider puts the checks that its real counterpart performs
	// before looking at the payload (an API gateway's key and token checks, a
	// Laravel app's Accept header and auth middleware). It returns false when
	// it has already answered.
	Guard func(c *Call) bool
	// BodyLimitAfterGuard makes the core answer an over-limit body only
	// after Guard has passed, for providers whose gateway checks headers
	// before a backend judges the payload's size (NetRefer's API Management
	// answers 401/429 before the backend's 413). The core still reads no
	// more than the limit plus one byte; Guard then sees an empty Body.
	BodyLimitAfterGuard bool
	// WriteError answers with the provider's native error shape for a failure
	// found by the core: unknown path, wrong method, body too large, spec
	// validation failure, or an internal error. An ErrNotFound for a
	// namespace that is not live yet is answered without creating it, so
	// that Call has no State, NS or clock: answer it from the request alone.
	WriteError func(c *Call, e *Error)
	// AdminRoutes are extra admin endpoints under /__sandbox/ (for example the
	// InTarget verifier). They are served in every namespace.
	AdminRoutes []AdminRoute
	// Commands are CLI subcommands: `sandbox <Name> <command> ...`.
	Commands map[string]Command
	// Banner, when set, returns the demo credentials and entry points of a
	// scenario section, one per line as "label\tvalue" (for example
	// "client\tdatagifting / secret s3cret"). The CLI prints them at start-up
	// with every value in one column, the landing page (GET /) shows them as
	// a table and its JSON form as label/value pairs; a line without a tab
	// is a value with an empty label (a continuation).
	Banner func(cfg any, baseURL string) []string
	// Postman, when set, returns what the Postman collection needs beyond
	// the spec for a scenario section: its credentials as variables, the
	// token request, which value each security scheme sends (see
	// internal/postman). Without it the provider's calls are listed without
	// credentials.
	Postman func(cfg any) postman.Plan
	// RootAliases are paths outside the mount that the provider serves as
	// paths of its own, for clients that build a URL from the host alone
	// (see RootAlias).
	RootAliases []RootAlias
	// Hosts are the real service's host names and how their paths map
	// onto the mount, for host routing (see ProviderHost): an application
	// keeps its production URLs once those names resolve to the sandbox.
	Hosts []ProviderHost
}

// Handler serves one operation.
type Handler func(c *Call)

// Command is a CLI subcommand. It returns the process exit status.
type Command struct {
	Summary string
	Run     func(args []string, stdout, stderr io.Writer) int
}

// AdminRoute is an admin endpoint contributed by a provider.
type AdminRoute struct {
	Method string
	Path   string // relative to /__sandbox, e.g. /intarget/verify
	// Body is what the route reads its body from (default JSON); a call
	// with another Content-Type is answered 415 before Handler runs.
	Body    BodyTypes
	Handler func(ns *Namespace, w http.ResponseWriter, r *http.Request)
}

// PathParam returns a path variable ({name} in AdminRoute.Path) of an admin
// request, still URL-encoded as it was sent.
func PathParam(r *http.Request, name string) string { return mux.Vars(r)[name] }

// Env is what a provider's state is built from.
type Env struct {
	Namespace string
	Clock     *clock.Clock
	// Seed is the scenario's seed; derive every pseudo-random choice from it.
	Seed int64
	// Config is the value NewConfig returned, with the scenario decoded into it.
	Config any
	// Tokens signs and verifies JWTs with the scenario's key.
	Tokens *tokens.Issuer
	Logger *slog.Logger
	// ObserveCallback is what a provider that sends callbacks passes as
	// callback.Options.Observe: it puts every delivery change on the
	// namespace's event stream (GET /__sandbox/events). It never blocks.
	ObserveCallback func(view func() callback.Delivery)
	// CallbackOutcome is what a provider that sends callbacks passes as
	// callback.Options.Outcome: it counts deliveries and retries in
	// GET /__sandbox/metrics (sandbox_callbacks_total). It never blocks.
	CallbackOutcome func(callback.Outcome)
	// Records is where the state keeps itself with a data directory
	// (Durable); never nil, and keeping nothing without one.
	Records Records
}

// Snapshotter is implemented by provider state that can be shown by
// GET /__sandbox/state/{provider}. The value must be JSON-marshalable and
// must be a copy, not a live view.
type Snapshotter interface {
	Snapshot() any
}

// Persistent is implemented by provider state that a namespace snapshot
// saves and restores (GET and PUT /__sandbox/snapshot). SaveState returns
// all of the state, versioned ({"version":1,...}) and in a fixed order, so
// that the same state saves to the same bytes. RestoreState replaces the
// state New just built, for the snapshot's own scenario, with saved state;
// it refuses what it cannot take whole (an error naming the field) and
// changes nothing then. It runs before the world is in force, on a held
// clock: timers it arms fire only once the world is swapped in, and it
// must send nothing itself.
type Persistent interface {
	SaveState() (json.RawMessage, error)
	RestoreState(data json.RawMessage) error
}

// CallbackOutbox is implemented by provider state whose callbacks go
// through a callback.Dispatcher: its deliveries are a snapshot's
// "callbacks". RestoreCallbacks runs after RestoreState and gives each
// pending delivery its success rule back (callback.Dispatcher.Restore).
type CallbackOutbox interface {
	SaveCallbacks() callback.Outbox
	RestoreCallbacks(callback.Outbox) error
}

// CallbackSource is implemented by provider state that sends callbacks; the
// deliveries are listed by GET /__sandbox/callbacks.
type CallbackSource interface {
	Callbacks() []any
}

// PendingCallbacks is implemented by provider state that can count its
// undelivered callbacks cheaply, for GET /__sandbox/stats; without it the
// count is taken from Callbacks.
type PendingCallbacks interface {
	PendingCallbacks() int
}

// SecretHeaders is implemented by provider state whose scenario names a
// header that carries credentials (InTarget's auth.header): the journal
// redacts it as it redacts Authorization (journal.DefaultSecretHeaders).
type SecretHeaders interface {
	SecretHeaders() []string
}

// Closer is implemented by provider state holding goroutines or timers. Close
// is called when the namespace is reset, evicted or the server shuts down.
type Closer interface {
	Close()
}

// Busy is implemented by provider state that has work pending in the
// background (callbacks not yet delivered). A busy namespace is not evicted
// for idling: its pending work would be lost.
type Busy interface {
	Busy() bool
}

// BodyLimiter lets provider state set its own request body limit, answered
// with ErrBodyTooLarge through the provider's WriteError.
type BodyLimiter interface {
	MaxBodyBytes() int64
}

// ErrorKind classifies failures the core hands to a provider's WriteError.
type ErrorKind int

const (
	// ErrNotFound: no operation of the spec matches the path.
	ErrNotFound ErrorKind = iota + 1
	// ErrMethodNotAllowed: the path exists with other methods (Error.Allowed).
	ErrMethodNotAllowed
	// ErrBodyTooLarge: the body exceeds the limit (Error.Limit).
	ErrBodyTooLarge
	// ErrInvalidRequest: the request fails the OpenAPI document (Error.Fields).
	ErrInvalidRequest
	// ErrInternal: a handler panicked or failed.
	ErrInternal
	// ErrUnavailable: a fault rule asks for an error answer with Status
	// (any 4xx or 5xx, typically 500, 502, 503 or 504) in the provider's shape.
	ErrUnavailable
	// ErrThrottled: a fault rule throttles the request; answer the provider's
	// own 429 with its headers, RetryAfter seconds from now.
	ErrThrottled
)

// Error is a failure found by the core, to be written in the provider's shape.
type Error struct {
	Kind    ErrorKind
	Status  int
	Message string
	// Fields lists each validation failure, for ErrInvalidRequest.
	Fields []FieldError
	// Allowed lists the methods of the path, for ErrMethodNotAllowed.
	Allowed []string
	// Limit is the body limit in bytes, for ErrBodyTooLarge.
	Limit int64
	// RetryAfter is in seconds, for ErrThrottled.
	RetryAfter int
}

func (e *Error) Error() string { return e.Message }

// FieldError is one failed check of the OpenAPI document.
type FieldError struct {
	// In is where the value was: "path", "query", "header", "cookie" or "body".
	In string `json:"in"`
	// Field names the parameter, or the body field as a dotted path
	// ("items.0.amount"); empty for the body as a whole.
	Field string `json:"field,omitempty"`
	// Reason is kin-openapi's reason ("property \"msisdn\" is missing").
	Reason string `json:"reason"`
	// Rule is a short machine name for the failed rule: required, type,
	// format, pattern, minimum, maximum, minLength, maxLength, enum, parse.
	Rule string `json:"rule,omitempty"`
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*Provider{}
)

// Register adds a provider. It panics on a duplicate or incomplete provider,
// which can only be a programming error caught by any test run.
func Register(p *Provider) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if p.Name == "" || p.Spec == nil || p.New == nil || p.NewConfig == nil || p.WriteError == nil {
		panic(fmt.Sprintf("sandbox: provider %q is missing Name, Spec, New, NewConfig or WriteError", p.Name))
	}
	if _, dup := registry[p.Name]; dup {
		panic("sandbox: provider registered twice: " + p.Name)
	}
	if err := checkRootAliases(p); err != nil {
		panic("sandbox: " + err.Error())
	}
	if err := checkHosts(p); err != nil {
		panic("sandbox: " + err.Error())
	}
	registry[p.Name] = p
	for _, a := range p.RootAliases {
		rootAliases = append(rootAliases, rootAlias{RootAlias: a, provider: p.Name})
	}
}

// Providers returns the registered providers sorted by name.
func Providers() []*Provider {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]*Provider, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns a registered provider by name.
func Lookup(name string) (*Provider, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	p, ok := registry[name]
	return p, ok
}
