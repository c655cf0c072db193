// Package jsonkind names the JSON type of a raw value, for the error
// messages providers write when a field has the wrong type ("amount must be
// a number, got a string").
package jsonkind

// Of returns "a string", "an object", "an array", "a boolean", "null",
// "a number", or "nothing" for an empty value. It looks at the first byte
// only: the value is assumed to be one JSON value without leading space.
func Of(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
