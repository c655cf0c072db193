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

// Media types of admin bodies, each mapped to whether it is YAML.
var (
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
	// documentMediaTypes are the Content-Types a live-change POST body is
	// read from: the scenario decoder reads JSON and YAML alike.
	documentMediaTypes = map[string]bool{
		"application/json":   false,
		"application/yaml":   true,
		"application/x-yaml": true,
		"text/yaml":          true,
	}
)

// mediaType looks the request's Content-Type up in types; ok is false, and
// a 415 has been answered, when it is not there.
func mediaType(w http.ResponseWriter, r *http.Request, types map[string]bool, mergePatch bool) (isYAML, ok bool) {
	ct := r.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	isYAML, ok = types[strings.ToLower(media)]
	if ok {
		return isYAML, true
	}
	if mergePatch {
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported merge patch type",
			fmt.Sprintf("Content-Type %q is not a merge patch; send application/merge-patch+json (RFC 7396) or a YAML fragment as application/merge-patch+yaml", ct), nil)
	} else {
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported body type",
			fmt.Sprintf("Content-Type %q is not JSON or YAML; send application/json or a YAML document as application/yaml", ct), nil)
	}
	return false, false
}

// ReadAdminDocument reads the body of a live-change POST: JSON or YAML
// (415 otherwise), at most max bytes (413 otherwise). ok is false when the
// request has been answered.
func ReadAdminDocument(w http.ResponseWriter, r *http.Request, max int64) (data []byte, ok bool) {
	if _, ok := mediaType(w, r, documentMediaTypes, false); !ok {
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
	isYAML, ok := mediaType(w, r, patchMediaTypes, true)
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
