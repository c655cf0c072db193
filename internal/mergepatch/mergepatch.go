// Package mergepatch applies JSON merge patches (RFC 7396) to decoded JSON
// values. A merge patch says what changes by example: a member set to null
// is removed, an object is merged member by member, and anything else (a
// string, a number, an array) replaces what was there. That is exactly the
// partial update a user wants for a scenario ("only netfinity.tokens"),
// without the pointer syntax of a JSON Patch.
//
// Values are what encoding/json decodes into `any`: map[string]any, []any,
// string, float64 or json.Number, bool and nil.
package mergepatch

// Apply returns target with patch merged into it, following the algorithm
// of RFC 7396 section 2. Neither argument is modified: maps along the
// patched paths are copied, so a target that is shared (the scenario a
// namespace runs) stays as it was.
func Apply(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		// A patch that is not an object replaces the whole target.
		return patch
	}
	t, ok := target.(map[string]any)
	out := make(map[string]any, len(t)+len(p))
	if ok {
		for k, v := range t {
			out[k] = v
		}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = Apply(out[k], v)
	}
	return out
}
