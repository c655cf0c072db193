package journal

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Caps bound what one message (request or response) of an entry keeps, in
// bytes. Zero means no bound.
type Caps struct {
	// BodyBytes is how much of a body is kept.
	BodyBytes int
	// HeaderValueBytes is how much of one header value is kept; a longer
	// one is cut there and ends in "…(N bytes)", N its full length.
	HeaderValueBytes int
	// HeaderBytes bounds the names and values of all of a message's headers
	// together; values beyond it are left out (and counted).
	HeaderBytes int
}

// Default caps: bodies as the journal always kept them; a header value
// holds a whole signed token, and a message's headers a dozen such.
const (
	DefaultBodyBytes        = 4096
	DefaultHeaderValueBytes = 4096
	DefaultHeaderBytes      = 16384
)

// Exchange is a finished request and its response as the core saw them,
// before anything is cut or redacted.
type Exchange struct {
	Method, Path, Query string
	RequestHeader       http.Header
	RequestBody         []byte // the whole body
	Status              int
	ResponseHeader      http.Header
	ResponseBody        []byte // the start of the body that was captured
	ResponseBytes       int64  // the full length of the response body
	// Host is the Host of a request routed by it to a provider host
	// (docs/hosts.md), "" for one routed by path; ProviderPath is then the
	// path below the mount it was mapped to.
	Host, ProviderPath string
}

// Recorder turns an Exchange into what an Entry keeps: secrets redacted
// (unless Redact is off), then headers and bodies cut to Caps. Only the
// journal's copy changes; the handlers saw, and the client got, the real
// values.
type Recorder struct {
	Caps Caps
	// Redact replaces secrets with their Mark (secrets.go).
	Redact bool
	// SecretHeaders are header names to redact beyond DefaultSecretHeaders
	// (a provider's configurable API-key header).
	SecretHeaders []string
}

// Fill sets e.Request and e.Response from x. With Redact, a secret that
// also appears in e.Validation (a validator quoting a value) is replaced
// there too, so set Validation first.
func (rec *Recorder) Fill(e *Entry, x Exchange) {
	var r redaction
	e.Request = Message{Method: x.Method, Path: x.Path, Query: x.Query, Host: capValue(x.Host, rec.Caps.HeaderValueBytes)}
	e.MountPath = capValue(x.ProviderPath, rec.Caps.HeaderValueBytes)
	if rec.Redact {
		e.Request.Query = r.form(x.Query)
		e.Request.Redacted, r.names = r.names, nil
	}
	// The request line may be a megabyte long, and a validator's detail
	// quotes the values it refuses: both are cut like a header value.
	e.Request.Path = capValue(e.Request.Path, rec.Caps.HeaderValueBytes)
	e.Request.Query = capValue(e.Request.Query, rec.Caps.HeaderValueBytes)
	rec.fill(&e.Request, &r, x.RequestHeader, x.RequestBody, int64(len(x.RequestBody)))
	e.Response = Message{Status: x.Status}
	rec.fill(&e.Response, &r, x.ResponseHeader, x.ResponseBody, x.ResponseBytes)
	if len(r.pairs) > 0 && e.Validation != "" {
		e.Validation = strings.NewReplacer(r.pairs...).Replace(e.Validation)
	}
	e.Validation = capValue(e.Validation, rec.Caps.BodyBytes)
}

// capValue cuts s to n bytes (0: no cut) and ends it in "…(N bytes)", N
// its full length. The result is a copy, so a kept prefix never holds on
// to the memory of the whole text it was cut from.
func capValue(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	return cutText(s, n) + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// fill redacts and cuts one message's headers and body; full is the body's
// whole length (body may be only its start).
func (rec *Recorder) fill(m *Message, r *redaction, h http.Header, body []byte, full int64) {
	cut := full > int64(len(body)) // captured only in part
	if rec.Redact {
		h = r.headers(h, rec.SecretHeaders)
		body = r.body(h.Get("Content-Type"), body)
		m.Redacted = append(m.Redacted, r.names...)
		r.names = nil
	}
	m.Header, m.HeadersTruncated, m.HeadersOmitted = rec.Caps.headers(h)
	// Cut before converting: a string cut from string(body) would keep the
	// whole body's memory alive while the budget counts only the cut.
	if c := rec.Caps.BodyBytes; c > 0 && len(body) > c {
		body, cut = cutText(body, c), true
	}
	m.Body, m.BodyBytes, m.Truncated = string(body), full, cut
}

// headers applies HeaderValueBytes and HeaderBytes. Headers that fit are
// kept as they are, without a copy; otherwise names are taken in sorted
// order, so what is left out does not depend on map order.
func (c Caps) headers(h http.Header) (kept http.Header, truncated bool, omitted int) {
	if c.fits(h) {
		return h, false, 0
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	kept = make(http.Header, len(h))
	used := 0
	for _, k := range names {
		for _, v := range h[k] {
			v = capValue(v, c.HeaderValueBytes)
			if c.HeaderBytes > 0 && used+len(k)+len(v) > c.HeaderBytes {
				omitted++
				continue
			}
			used += len(k) + len(v)
			kept[k] = append(kept[k], v)
		}
	}
	return kept, true, omitted
}

func (c Caps) fits(h http.Header) bool {
	if c.HeaderBytes > 0 && headerBytes(h, false) > c.HeaderBytes {
		return false
	}
	if c.HeaderValueBytes > 0 {
		for _, vs := range h {
			for _, v := range vs {
				if len(v) > c.HeaderValueBytes {
					return false
				}
			}
		}
	}
	return true
}

// cutText returns at most n bytes of s, ending on a whole UTF-8 character.
func cutText[T string | []byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
