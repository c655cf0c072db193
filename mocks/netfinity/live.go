package netfinity

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"

	"github.com/provider-sandbox/provider-sandbox/internal/mergepatch"
	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// maxAdminBody caps the body of the live-change endpoints.
const maxAdminBody = 64 << 10

// requestBody is the file name problems of an admin request body carry.
const requestBody = "request body"

// adminRoutes change the tokens of a running namespace without a reset:
// messages, their pending pingbacks, rate windows and the journal are kept.
// This is how a user points pingbacks at their app. The scenario is not
// changed, so a reset returns to its tokens (PATCH /__sandbox/scenario
// changes both).
var adminRoutes = []sandbox.AdminRoute{
	{Method: http.MethodPost, Path: "/netfinity/tokens", Body: sandbox.BodyDocument, Handler: adminAddToken},
	{Method: http.MethodPatch, Path: "/netfinity/tokens/{token}", Body: sandbox.BodyMergePatch, Handler: adminChangeToken},
}

// change runs fn on the namespace's Netfinity under the reset lock
// (Namespace.Change), so that a reset at the same time cannot make the
// change land in a world already replaced (answered, then lost). It answers
// the request itself when the namespace is gone or Netfinity not mounted.
func change(ns *sandbox.Namespace, w http.ResponseWriter, fn func(s *state)) {
	err := ns.Change("netfinity", func(st any) { fn(st.(*state)) })
	if err != nil {
		sandbox.WriteChangeError(w, ns, "netfinity", err)
	}
}

func invalidToken(w http.ResponseWriter, probs []scenario.Problem) {
	sandbox.WriteProblems(w, http.StatusBadRequest, "Invalid token",
		fmt.Sprintf("the token has %d problem(s); nothing was changed", len(probs)), probs)
}

func writeToken(w http.ResponseWriter, status int, tc TokenConfig) {
	if tc.AllowedIPs == nil {
		tc.AllowedIPs = []string{}
	}
	if tc.Capabilities == nil {
		tc.Capabilities = []string{}
	}
	body, _ := json.MarshalIndent(tc, "", "  ")
	sandbox.WriteJSON(w, status, append(body, '\n'))
}

// adminAddToken serves POST /__sandbox/netfinity/tokens.
func adminAddToken(ns *sandbox.Namespace, w http.ResponseWriter, r *http.Request) {
	data, ok := sandbox.ReadAdminDocument(w, r, maxAdminBody)
	if !ok {
		return
	}
	var tc TokenConfig
	probs := scenario.DecodeValue(requestBody, data, &tc)
	if len(probs) == 0 {
		probs = tc.validate("")
	}
	if len(probs) > 0 {
		invalidToken(w, probs)
		return
	}
	change(ns, w, func(s *state) {
		if err := s.putToken(tc, false); err != nil {
			sandbox.WriteProblem(w, http.StatusConflict, "Token exists", err.Error())
			return
		}
		writeToken(w, http.StatusCreated, tc)
	})
}

// adminChangeToken serves PATCH /__sandbox/netfinity/tokens/{token}: the
// body is a merge patch (RFC 7396) of the fields to change, read like PATCH
// /__sandbox/scenario's (JSON or a YAML fragment); null removes a field,
// which leaves it at its zero value as in a scenario file that omits it.
func adminChangeToken(ns *sandbox.Namespace, w http.ResponseWriter, r *http.Request) {
	// The router matches on the encoded path, so a token with reserved
	// characters arrives escaped.
	raw := sandbox.PathParam(r, "token")
	name, err := url.PathUnescape(raw)
	if err != nil {
		name = raw
	}
	patch, data, ok := sandbox.ReadMergePatch(w, r, maxAdminBody, "a token merge patch", `{"callbackUrl":"http://127.0.0.1:9000/pingback"}`)
	if !ok {
		return
	}
	// The body alone is decoded strictly first, so unknown fields and wrong
	// types are reported at the body's own lines.
	if probs := scenario.DecodeValue(requestBody, data, &TokenConfig{}); len(probs) > 0 {
		invalidToken(w, probs)
		return
	}
	change(ns, w, func(s *state) {
		// The change is read, merged and published under the writers'
		// lock, so that two changes to one token at once both count (each
		// merges into the token the other published) instead of the later
		// one silently undoing the earlier.
		s.tokensMu.Lock()
		defer s.tokensMu.Unlock()
		cur, found := (*s.tokens.Load())[name]
		if !found {
			sandbox.WriteProblem(w, http.StatusNotFound, "Unknown token",
				fmt.Sprintf("no token %q in namespace %q (%s)", name, ns.Name, scenario.SuggestOneOf(name, s.tokenNames())))
			return
		}
		before, _ := json.Marshal(cur.cfg)
		var target any
		_ = json.Unmarshal(before, &target)
		merged, _ := json.Marshal(mergepatch.Apply(target, patch))
		var next TokenConfig
		probs := scenario.DecodeValue(requestBody, merged, &next)
		for i := range probs {
			probs[i].Line = 0 // lines of the merged token would point nowhere
		}
		if len(probs) == 0 {
			if next.Token != name {
				probs = append(probs, scenario.Problemf("token", "POST /__sandbox/netfinity/tokens adds a token under a new text", "the token text cannot change (%q to %q)", name, next.Token))
			}
			probs = append(probs, next.validate("")...)
		}
		if len(probs) > 0 {
			invalidToken(w, probs)
			return
		}
		if err := s.putTokenLocked(next, true); err != nil {
			sandbox.WriteProblem(w, http.StatusNotFound, "Unknown token", err.Error())
			return
		}
		writeToken(w, http.StatusOK, next)
	})
}

// putToken adds a token (replace false) or replaces an existing one
// (replace true), publishing a new token map. Requests already past
// authentication keep the token they read.
func (s *state) putToken(tc TokenConfig, replace bool) error {
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	return s.putTokenLocked(tc, replace)
}

// putTokenLocked is putToken for a caller holding tokensMu.
func (s *state) putTokenLocked(tc TokenConfig, replace bool) error {
	t, err := compileToken(tc)
	if err != nil {
		return err
	}
	old := *s.tokens.Load()
	_, exists := old[tc.Token]
	switch {
	case exists && !replace:
		return fmt.Errorf("token %q already exists; change it with PATCH /__sandbox/netfinity/tokens/{token}", tc.Token)
	case !exists && replace:
		return fmt.Errorf("no token %q", tc.Token)
	}
	next := maps.Clone(old)
	next[tc.Token] = t
	s.tokens.Store(&next)
	if s.rec != nil {
		s.rec.Put(recToken, tc.Token, tc)
	}
	return nil
}

// tokenNames lists the tokens, for suggestions.
func (s *state) tokenNames() []string {
	m := *s.tokens.Load()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
