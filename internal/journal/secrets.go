package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultSecretHeaders are the headers whose values the journal redacts:
// credentials of every provider (Centili also takes its token in a header
// named "token") and cookies.
var DefaultSecretHeaders = []string{
	"Authorization", "Proxy-Authorization", "Ocp-Apim-Subscription-Key", "Token", "Cookie", "Set-Cookie",
}

// SecretFields are the form, query and JSON field names whose values the
// journal redacts, matched exactly: what OAuth token requests send
// (password, client_secret, refresh_token, client_assertion, token for
// revocation), what token answers hold (access_token, refresh_token,
// id_token), and API keys in query strings (NetRefer's subscription-key,
// InTarget's access-token).
var SecretFields = []string{
	"password", "client_secret", "client_assertion", "refresh_token", "access_token", "id_token", "token",
	"subscription-key", "access-token",
}

// Mark is what a secret is replaced with: enough to recognise it, not to
// use it. "eyJh…(1187 bytes, sha256:9f86d081)": the first four characters
// when the secret is at least 32 bytes long (tokens and keys, whose start
// gives nothing away; a shorter one, a password, shows none), its length,
// and the first 8 hex digits of its SHA-256, so that a test can check which
// value was sent (printf %s VALUE | sha256sum | cut -c1-8).
func Mark(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	var b strings.Builder
	if len(secret) >= 32 {
		b.WriteString(cutText(secret, 4))
	}
	b.WriteString("…(")
	b.WriteString(strconv.Itoa(len(secret)))
	b.WriteString(" bytes, sha256:")
	b.WriteString(hex.EncodeToString(sum[:4]))
	b.WriteString(")")
	return b.String()
}

// redaction collects, for one entry, the names of what was redacted (per
// message) and the secret/mark pairs (for Validation).
type redaction struct {
	names []string
	pairs []string // old, new, old, new, ...
}

// mark returns the Mark of a secret found under name, noting both.
func (r *redaction) mark(name, secret string) string {
	m := Mark(secret)
	if !slices.Contains(r.names, name) {
		r.names = append(r.names, name)
	}
	if secret != "" { // an empty old string would match everywhere
		r.pairs = append(r.pairs, secret, m)
	}
	return m
}

// headers returns h with secret headers' values marked: a copy when there is
// any (the request's own map stays as the handlers saw it), h itself
// otherwise. An authorization scheme ("Bearer ", "Basic ") is kept.
func (r *redaction) headers(h http.Header, extra []string) http.Header {
	out := h
	var done []string
	redact := func(name string) {
		name = http.CanonicalHeaderKey(name)
		vs := h[name]
		if len(vs) == 0 || slices.Contains(done, name) {
			return
		}
		if done == nil {
			out = h.Clone()
		}
		done = append(done, name)
		marked := make([]string, len(vs))
		for i, v := range vs {
			scheme, cred := splitScheme(v)
			marked[i] = v
			if cred != "" {
				marked[i] = scheme + r.mark(name, cred)
			}
		}
		out[name] = marked
	}
	for _, name := range DefaultSecretHeaders {
		redact(name)
	}
	for _, name := range extra {
		redact(name)
	}
	return out
}

// splitScheme splits "Bearer abc" into "Bearer " and "abc"; a value that
// does not start with a scheme word is all credential.
func splitScheme(v string) (scheme, cred string) {
	word, rest, ok := strings.Cut(v, " ")
	if !ok || word == "" || rest == "" {
		return "", v
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return "", v
		}
	}
	return word + " ", rest
}

// body redacts a JSON body (by its Content-Type, or by its first character
// when the type says nothing) or a form body.
func (r *redaction) body(contentType string, body []byte) []byte {
	if len(body) == 0 || !mentionsSecret(body) {
		return body
	}
	mt, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	mt = strings.TrimSpace(mt)
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case strings.Contains(mt, "json"), (mt == "" || mt == "text/plain") && len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
		return r.json(body)
	case mt == "application/x-www-form-urlencoded", mt == "", mt == "text/plain":
		return []byte(r.form(string(body)))
	}
	return body
}

// mentionsSecret is a quick test that body contains a secret field's name
// at all; most bodies do not, and skip the parse.
func mentionsSecret(body []byte) bool {
	for _, f := range SecretFields {
		if bytes.Contains(body, []byte(f)) {
			return true
		}
	}
	return false
}

// form marks the values of secret fields in a query string or form body,
// leaving every other byte as it was sent.
func (r *redaction) form(raw string) string {
	if raw == "" || !mentionsSecret([]byte(raw)) {
		return raw
	}
	pairs := strings.Split(raw, "&")
	for i, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || v == "" {
			continue
		}
		name := unescapeOr(k)
		if slices.Contains(SecretFields, name) {
			pairs[i] = k + "=" + url.QueryEscape(r.mark(name, unescapeOr(v)))
		}
	}
	return strings.Join(pairs, "&")
}

// json marks the string values of secret members in a JSON body. The body
// may be cut short (a captured response's start): a secret cut off at the
// end is marked as far as it goes, and everything after a syntax error is
// left as it was.
func (r *redaction) json(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	// objects[i] says whether the i-th open container is an object that
	// waits for a key (true) or a value (false); arrays are never waiting.
	type open struct{ object, wantKey bool }
	var stack []open
	var out []byte
	last := 0    // body[:last] is already in out
	secret := "" // the member whose value comes next, when it is a secret
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	replace := func(start, end int, value string) {
		out = append(out, body[last:start]...)
		quoted, _ := json.Marshal(r.mark(secret, value))
		out = append(out, quoted...)
		last = end
	}
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			if secret != "" {
				if q := bytes.IndexByte(body[before:], '"'); q >= 0 {
					start := before + q
					replace(start, len(body), string(body[start+1:]))
				}
			}
			break
		}
		switch t := tok.(type) {
		case json.Delim:
			secret = ""
			switch t {
			case '{':
				stack = append(stack, open{object: true, wantKey: true})
			case '[':
				stack = append(stack, open{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].wantKey = false
				if slices.Contains(SecretFields, t) {
					secret = t
				}
				continue
			}
			if secret != "" && t != "" {
				end := int(dec.InputOffset())
				start := before + bytes.IndexByte(body[before:end], '"')
				replace(start, end, t)
			}
			secret = ""
			valueDone()
		default:
			secret = ""
			valueDone()
		}
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

// unescapeOr decodes a query-string word, or returns it as it is when it
// does not decode.
func unescapeOr(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
