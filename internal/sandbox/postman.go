package sandbox

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/provider-sandbox/provider-sandbox/internal/postman"
)

// GET /__sandbox/postman answers a Postman collection of every provider
// call, and /postman/environment its environment, both built for the
// namespace's scenario and for the URL the request came in on, so that a
// collection fetched from /ns/ci-42 talks to /ns/ci-42 with that
// namespace's credentials. `go generate ./postman` commits the default
// scenario's for http://127.0.0.1:8080.

// postmanSpecs caches each provider's document as the generator reads it
// (by *Provider: a provider's spec never changes). It is parsed from the
// YAML on first use rather than at start-up, which the collection is not
// worth slowing down.
var postmanSpecs sync.Map

func postmanSpec(p *Provider) (*postman.Spec, error) {
	if s, ok := postmanSpecs.Load(p); ok {
		return s.(*postman.Spec), nil
	}
	s, err := postman.NewSpec(p.Spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	postmanSpecs.Store(p, s)
	return s, nil
}

// PostmanJSON builds the Postman collection and environment of a
// scenario's providers for clients that reach the sandbox at base (scheme,
// host and any /ns/{name} prefix), as the files Postman imports.
func PostmanJSON(sc *Scenario, base string) (collection, environment []byte, err error) {
	var sources []postman.Source
	for _, p := range Providers() {
		spec, err := postmanSpec(p)
		if err != nil {
			return nil, nil, err
		}
		src := postman.Source{Name: p.Name, Title: p.Title, Spec: spec}
		if p.Postman != nil {
			src.Plan = p.Postman(sc.Configs[p.Name])
		}
		sources = append(sources, src)
	}
	col, env, err := postman.Build(base, sources)
	if err != nil {
		return nil, nil, err
	}
	if collection, err = postman.Marshal(col); err != nil {
		return nil, nil, err
	}
	if environment, err = postman.Marshal(env); err != nil {
		return nil, nil, err
	}
	return collection, environment, nil
}

func (s *Server) getPostman(a *adminCall)            { servePostman(a, false) }
func (s *Server) getPostmanEnvironment(a *adminCall) { servePostman(a, true) }

func servePostman(a *adminCall, environment bool) {
	col, env, err := PostmanJSON(a.ns.Scenario(), requestOrigin(a.r)+a.prefix)
	if err != nil {
		writeProblem(a.w, http.StatusInternalServerError, "Internal error", "building the Postman collection: "+err.Error(), nil)
		return
	}
	body := col
	if environment {
		body = env
	}
	WriteJSON(a.w, http.StatusOK, body)
}
