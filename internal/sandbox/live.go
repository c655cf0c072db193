package sandbox

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// ErrNotMounted is Change's error for a provider that has no state in the
// namespace.
var ErrNotMounted = errors.New("the provider is not mounted")

// Change runs fn on the state provider has in the namespace's current
// world, holding the lock resets take. A live change (a pool top-up, a
// token edit) therefore lands in the world that is in force: a reset
// running at the same time either finishes first, and the change applies
// to the new world, or waits until fn returns and then undoes it as it
// undoes every live change. Without the lock the change could be applied
// to a world already replaced and answered 200 while nothing kept it. fn
// must not reset the namespace. Change returns ErrNoNamespace when the
// namespace was deleted or evicted, ErrNotMounted when the provider is
// not mounted; fn is not called then.
func (ns *Namespace) Change(provider string, fn func(state any)) error {
	ns.resetMu.Lock()
	defer ns.resetMu.Unlock()
	if ns.deleted {
		return ErrNoNamespace
	}
	st, ok := ns.State(provider)
	if !ok {
		return ErrNotMounted
	}
	fn(st)
	return nil
}

// WriteGone answers a request whose namespace was deleted or evicted after
// the request found it: a race with DELETE /namespaces/{name} or idle
// eviction, not a server fault, so it is a 404 that says what to do.
func WriteGone(w http.ResponseWriter, ns *Namespace) {
	writeProblem(w, http.StatusNotFound, "Namespace deleted",
		fmt.Sprintf("namespace %q was deleted or evicted while this request was being handled; nothing was changed; send the request again to start a fresh namespace", ns.Name), nil)
}

// WriteChangeError answers a live change whose Change call failed with err:
// the namespace went away (WriteGone) or provider is not mounted in it.
// Providers' live admin routes share it so that both failures read the same.
func WriteChangeError(w http.ResponseWriter, ns *Namespace, provider string, err error) {
	if errors.Is(err, ErrNoNamespace) {
		WriteGone(w, ns)
		return
	}
	writeProblem(w, http.StatusNotFound, "No "+strings.ToUpper(provider[:1])+provider[1:],
		"the "+provider+" provider is not mounted", nil)
}

// BodyTypes names the Content-Types an admin route reads its body from.
// Every state-changing admin call is held to its route's types before it
// is routed (checkBodyType): none of them is a type a web page can send
// without a CORS preflight (a form, text/plain), so no page can drive the
// sandbox with a simple request.
type BodyTypes int

const (
	// BodyJSON is application/json; the zero value, also for routes that
	// read no body (POST /reset), which may then be sent without one.
	BodyJSON BodyTypes = iota
	// BodyDocument is JSON or YAML, read by the scenario decoder.
	BodyDocument
	// BodyMergePatch is a JSON merge patch (RFC 7396) as JSON or YAML.
	BodyMergePatch
)

// Media types of admin bodies, each mapped to whether it is YAML.
var (
	jsonMediaTypes = map[string]bool{"application/json": false}
	// documentMediaTypes are the Content-Types a document (a scenario, a
	// fault rule, a live-change POST body) is read from: the scenario
	// decoder reads JSON and YAML alike.
	documentMediaTypes = map[string]bool{
		"application/json":   false,
		"application/yaml":   true,
		"application/x-yaml": true,
		"text/yaml":          true,
	}
	// patchMediaTypes are the Content-Types a merge patch (PATCH
	// /scenario, PATCH /netfinity/tokens/{token}) is read from. The JSON
	// merge patch type is RFC 7396's; plain JSON is accepted because most
	// HTTP clients send it by default, and a YAML fragment reads like the
	// scenario file it changes.
	patchMediaTypes = map[string]bool{
		"application/merge-patch+json": false,
		"application/json":             false,
		"application/merge-patch+yaml": true,
		"application/yaml":             true,
		"application/x-yaml":           true,
		"text/yaml":                    true,
	}
)

// mediaTypes are the Content-Types of b, each mapped to whether it is YAML.
func (b BodyTypes) mediaTypes() map[string]bool {
	switch b {
	case BodyDocument:
		return documentMediaTypes
	case BodyMergePatch:
		return patchMediaTypes
	}
	return jsonMediaTypes
}

// mediaType looks the request's Content-Type up in b's types; ok is false,
// and a 415 naming the accepted types has been answered, when it is not
// there.
func mediaType(w http.ResponseWriter, r *http.Request, b BodyTypes) (isYAML, ok bool) {
	ct := r.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	isYAML, ok = b.mediaTypes()[strings.ToLower(media)]
	if ok {
		return isYAML, true
	}
	got := fmt.Sprintf("Content-Type %q is", ct)
	switch b {
	case BodyMergePatch:
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported merge patch type",
			got+" not a merge patch; send application/merge-patch+json (RFC 7396) or a YAML fragment as application/merge-patch+yaml", nil)
	case BodyDocument:
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported body type",
			got+" not JSON or YAML; send application/json or a YAML document as application/yaml", nil)
	default:
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported body type",
			got+" not JSON; send application/json (curl: -H 'Content-Type: application/json', or --json)", nil)
	}
	return false, false
}

// checkBodyType holds a state-changing admin call to the Content-Types its
// route reads (415 otherwise) and reports whether it passed. A call with
// neither a body nor a Content-Type passes, so that `curl -X POST
// .../reset` works; a browser cannot use that to drive the sandbox, since
// checkAdminAccess refuses other sites' pages.
func checkBodyType(w http.ResponseWriter, r *http.Request, b BodyTypes) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if r.Header.Get("Content-Type") == "" && r.ContentLength == 0 {
		return true
	}
	_, ok := mediaType(w, r, b)
	return ok
}

// ReadAdminDocument reads the body of a live-change POST: JSON or YAML
// (415 otherwise), at most max bytes (413 otherwise). ok is false when the
// request has been answered.
func ReadAdminDocument(w http.ResponseWriter, r *http.Request, max int64) (data []byte, ok bool) {
	if _, ok := mediaType(w, r, BodyDocument); !ok {
		return nil, false
	}
	data, err := scenario.ReadAll(r.Body, max)
	if err != nil {
		writeProblem(w, http.StatusRequestEntityTooLarge, "Body too large", err.Error(), nil)
		return nil, false
	}
	return data, true
}

// ReadMergePatch reads a merge patch body as PATCH /scenario does: the
// Content-Type (415), the size (413), JSON or YAML syntax and that it is an
// object (400). what and example word the refusal of a non-object ("a
// scenario merge patch", `{"clock":{"frozen":true}}`). It returns the
// decoded patch (numbers kept exact) and the raw body; ok is false when
// the request has been answered.
func ReadMergePatch(w http.ResponseWriter, r *http.Request, max int64, what, example string) (patch map[string]any, data []byte, ok bool) {
	isYAML, ok := mediaType(w, r, BodyMergePatch)
	if !ok {
		return nil, nil, false
	}
	data, err := scenario.ReadAll(r.Body, max)
	if err != nil {
		writeProblem(w, http.StatusRequestEntityTooLarge, "Merge patch too large", err.Error(), nil)
		return nil, nil, false
	}
	var v any
	if isYAML {
		v, err = decodeYAMLValue(data)
	} else {
		v, err = decodeJSONValue(data)
	}
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Invalid merge patch", err.Error()+"; nothing was changed", nil)
		return nil, nil, false
	}
	patch, isObject := v.(map[string]any)
	if !isObject {
		writeProblem(w, http.StatusBadRequest, "Invalid merge patch",
			fmt.Sprintf("%s is a JSON object such as %s, not %s; nothing was changed", what, example, kindOf(v)), nil)
		return nil, nil, false
	}
	return patch, data, true
}
