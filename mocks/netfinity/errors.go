package netfinity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// laravelMessage is the body of every Laravel error except 422.
type laravelMessage struct {
	Message string `json:"message"`
}

// laravelValidation is the Laravel ≤ 8 ValidationException body.
type laravelValidation struct {
	Message string             `json:"message"`
	Errors  orderedFieldErrors `json:"errors"`
}

// orderedFieldErrors marshals fields in rule order (msisdn, text, id, then
// any other), as Laravel's MessageBag keeps them.
type orderedFieldErrors validationErrors

func (o orderedFieldErrors) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	write := func(k string) error {
		msgs, ok := o[k]
		if !ok {
			return nil
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(msgs)
		if err != nil {
			return err
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		return nil
	}
	done := map[string]bool{}
	for _, k := range fieldOrder {
		done[k] = true
		if err := write(k); err != nil {
			return nil, err
		}
	}
	rest := make([]string, 0, len(o))
	for k := range o {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if err := write(k); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// writeCompact answers like Laravel's response()->json (401 and 422).
func writeCompact(c *sandbox.Call, status int, v any) {
	laravelHeaders(c.W)
	c.JSON(status, v)
}

// writeHTTPError answers like Laravel's exception handler renders an
// HttpException for a JSON request: pretty-printed with four spaces
// (JSON_PRETTY_PRINT), slashes unescaped.
func writeHTTPError(c *sandbox.Call, status int, message string) {
	laravelHeaders(c.W)
	body, _ := json.MarshalIndent(laravelMessage{Message: message}, "", "    ")
	sandbox.WriteJSON(c.W, status, body)
}

func laravelHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, private")
}

// writeError renders core failures in Laravel's shape.
func writeError(c *sandbox.Call, e *sandbox.Error) {
	switch e.Kind {
	case sandbox.ErrNotFound:
		// Laravel ≤ 8: NotFoundHttpException has an empty message.
		writeHTTPError(c, http.StatusNotFound, "")
	case sandbox.ErrMethodNotAllowed:
		writeHTTPError(c, http.StatusMethodNotAllowed, fmt.Sprintf(
			"The %s method is not supported for this route. Supported methods: %s.", c.R.Method, strings.Join(e.Allowed, ", ")))
	case sandbox.ErrBodyTooLarge:
		// PostTooLargeException is an HttpException without a message.
		writeHTTPError(c, http.StatusRequestEntityTooLarge, "")
	case sandbox.ErrInvalidRequest:
		if !hasBodyField(e.Fields) {
			// A malformed request outside the payload (a bad Prefer header,
			// an unreadable body): Laravel's BadRequestHttpException.
			writeHTTPError(c, http.StatusBadRequest, e.Message)
			return
		}
		errs := validationErrors{}
		for _, f := range e.Fields {
			name := f.Field
			if name == "" {
				name = f.In
			}
			errs.add(name, "The "+strings.ReplaceAll(name, "_", " ")+" format is invalid.")
		}
		writeCompact(c, http.StatusUnprocessableEntity, laravelValidation{Message: msgInvalid, Errors: orderedFieldErrors(errs)})
	case sandbox.ErrThrottled:
		writeThrottled(c, e.RetryAfter, c.Now())
	case sandbox.ErrUnavailable:
		// A fault rule's answer: Laravel's own text for the status (the
		// core's message describes the rule, not what Laravel would say).
		status := e.Status
		if status < 400 || status > 599 {
			status = http.StatusServiceUnavailable
		}
		if status == http.StatusTooManyRequests {
			limitHeaders(c)
		}
		if status == http.StatusUnauthorized {
			writeCompact(c, status, laravelMessage{Message: msgUnauthenticated})
			return
		}
		if status == http.StatusUnprocessableEntity {
			// A 422 is always a ValidationException for a Netfinity client
			// (and the spec): Laravel's body, with no field named.
			writeCompact(c, status, laravelValidation{Message: msgInvalid, Errors: orderedFieldErrors{}})
			return
		}
		writeHTTPError(c, status, laravelStatusMessage(status))
	default: // ErrInternal and anything new
		writeHTTPError(c, http.StatusInternalServerError, "Server Error")
	}
}

// writeThrottled is a fault rule's 429: Laravel's body with all four of
// ThrottleRequests' headers, Retry-After and X-RateLimit-Reset counted from
// the sandbox time now.
func writeThrottled(c *sandbox.Call, retry int, now time.Time) {
	if retry < 0 {
		retry = 0
	}
	limitHeaders(c)
	h := c.W.Header()
	h.Set("Retry-After", strconv.Itoa(retry))
	setExact(h, "X-RateLimit-Reset", strconv.FormatInt(now.Unix()+int64(retry), 10))
	writeHTTPError(c, http.StatusTooManyRequests, msgTooMany)
}

// limitHeaders gives a fault's 429 the X-RateLimit-Limit and
// X-RateLimit-Remaining every Laravel throttle answer carries: the limit of
// the request's token (Laravel's default of 60 without one), none remaining.
func limitHeaders(c *sandbox.Call) {
	limit := defaultRateLimit
	if st, ok := c.State.(*state); ok && c.R != nil {
		if tok, ok := st.authenticate(c.R); ok {
			limit = tok.limit
		}
	}
	setExact(c.W.Header(), "X-RateLimit-Limit", strconv.Itoa(limit))
	setExact(c.W.Header(), "X-RateLimit-Remaining", "0")
}

// laravelStatusMessage is what a Laravel ≤ 8 application without debug
// output says for an error status.
func laravelStatusMessage(status int) string {
	switch status {
	case http.StatusInternalServerError:
		return "Server Error"
	case http.StatusTooManyRequests:
		return msgTooMany
	case http.StatusForbidden:
		return "This action is unauthorized."
	case http.StatusNotFound:
		return ""
	}
	return http.StatusText(status)
}

func hasBodyField(fs []sandbox.FieldError) bool {
	for _, f := range fs {
		if f.In == "body" {
			return true
		}
	}
	return false
}
