package centili

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// Data Gifting error types (Centili's `errorType` field).
const (
	errValidation          = "VALIDATION_ERROR"
	errUnauthorized        = "UNAUTHORIZED"
	errInvalidToken        = "INVALID_TOKEN"
	errForbidden           = "FORBIDDEN"
	errServiceNotFound     = "SERVICE_NOT_FOUND"
	errUnsupportedOperator = "UNSUPPORTED_OPERATOR"
	errInvalidPackage      = "INVALID_PACKAGE"
	errInsufficientBalance = "INSUFFICIENT_BALANCE"
	errPoolExpired         = "POOL_EXPIRED"
	errServiceInactive     = "SERVICE_INACTIVE"
	errNotFound            = "NOT_FOUND"
	errMethodNotAllowed    = "METHOD_NOT_ALLOWED"
	errPayloadTooLarge     = "PAYLOAD_TOO_LARGE"
	errTooManyRequests     = "TOO_MANY_REQUESTS"
	errInternal            = "INTERNAL_ERROR"
	errServiceUnavailable  = "SERVICE_UNAVAILABLE"
	errBadGateway          = "BAD_GATEWAY"
	errGatewayTimeout      = "GATEWAY_TIMEOUT"
	// errClientIDUsed [sandbox]: a repeated clientId whose transaction is
	// no longer kept (limits.maxTransactions), so its outcome cannot be
	// replayed.
	errClientIDUsed = "CLIENT_ID_ALREADY_USED"
)

// apiError is Centili's error body. Both fields are always present.
type apiError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// problem is a Data Gifting failure with its HTTP status.
type problem struct {
	status int
	hint   string // the X-Sandbox-Hint header, when the sandbox has more to say
	apiError
}

func newProblem(status int, errorType, format string, args ...any) *problem {
	return &problem{status: status, apiError: apiError{ErrorType: errorType, ErrorMessage: fmt.Sprintf(format, args...)}}
}

func validationf(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, errValidation, format, args...)
}

// write answers with the problem.
func (p *problem) write(c *sandbox.Call) {
	if p.hint != "" {
		c.W.Header().Set(sandbox.HeaderHint, p.hint)
	}
	c.JSON(p.status, p.apiError)
}

// oauthError is Keycloak's error body. The unknown-realm answer has no
// error_description, hence omitempty.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// writeOAuth answers a token-service failure the way Keycloak does: JSON, and
// never cacheable.
func writeOAuth(c *sandbox.Call, status int, code, description string) {
	h := c.W.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	c.JSON(status, oauthError{Error: code, ErrorDescription: description})
}

// isKeycloakPath tells, for a request that matched no operation, whether it
// was aimed at the token service (Keycloak's error shape) or at Data Gifting.
func isKeycloakPath(c *sandbox.Call) bool {
	if op, ok := operations[c.Operation]; ok {
		return op.keycloak
	}
	rel := c.R.URL.Path
	if i := strings.Index(rel, "/centili/"); i >= 0 {
		rel = rel[i+len("/centili"):]
	}
	return strings.HasPrefix(rel, "/auth/") || strings.HasPrefix(rel, "/realms/") || rel == "/auth" || rel == "/realms"
}

// writeError renders a failure found by the core in the shape of the part
// of Centili that was called: Keycloak's {"error","error_description"} for
// the token service, {"errorType","errorMessage"} for Data Gifting.
func writeError(c *sandbox.Call, e *sandbox.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if e.Kind == sandbox.ErrThrottled && e.RetryAfter > 0 {
		c.W.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if isKeycloakPath(c) {
		writeKeycloakCoreError(c, status, e)
		return
	}
	var p *problem
	switch e.Kind {
	case sandbox.ErrNotFound:
		p = newProblem(http.StatusNotFound, errNotFound, "No endpoint %s %s", c.R.Method, c.R.URL.Path)
	case sandbox.ErrMethodNotAllowed:
		p = newProblem(http.StatusMethodNotAllowed, errMethodNotAllowed, "Method %s is not supported here; use %s", c.R.Method, strings.Join(e.Allowed, ", "))
	case sandbox.ErrBodyTooLarge:
		p = newProblem(http.StatusRequestEntityTooLarge, errPayloadTooLarge, "Request body exceeds the limit of %d bytes", e.Limit)
	case sandbox.ErrInvalidRequest:
		p = validationf("%s", validationMessage(e))
	case sandbox.ErrThrottled:
		p = newProblem(http.StatusTooManyRequests, errTooManyRequests, "Too many requests; retry after %d seconds", e.RetryAfter)
	case sandbox.ErrUnavailable:
		p = faultProblem(c, status, messageOr(e.Message, http.StatusText(status)))
	default:
		p = newProblem(http.StatusInternalServerError, errInternal, "Internal server error")
	}
	p.write(c)
}

// faultProblem is the answer a fault rule asks for. Statuses Data Gifting
// really answers get their own errorType (and a 401 its RFC 6750
// challenge), so that a client's handling of them can be rehearsed with a
// fault rule or a Prefer header.
func faultProblem(c *sandbox.Call, status int, msg string) *problem {
	switch status {
	case http.StatusUnauthorized:
		c.W.Header().Set("WWW-Authenticate", challengeInvalid)
		return newProblem(status, errInvalidToken, "%s", msg)
	case http.StatusForbidden:
		return newProblem(status, errForbidden, "%s", msg)
	case http.StatusNotFound:
		if slices.Contains(operations[c.Operation].query, "serviceKey") || c.Operation == "assignData" {
			return newProblem(status, errServiceNotFound, "%s", msg)
		}
		return newProblem(status, errNotFound, "%s", msg)
	case http.StatusRequestEntityTooLarge:
		return newProblem(status, errPayloadTooLarge, "%s", msg)
	}
	return newProblem(status, unavailableType(status), "%s", msg)
}

func unavailableType(status int) string {
	switch status {
	case http.StatusBadGateway:
		return errBadGateway
	case http.StatusServiceUnavailable:
		return errServiceUnavailable
	case http.StatusGatewayTimeout:
		return errGatewayTimeout
	case http.StatusTooManyRequests:
		return errTooManyRequests
	}
	if status >= 500 {
		return errInternal
	}
	return errValidation
}

func messageOr(msg, fallback string) string {
	if msg != "" {
		return msg
	}
	return fallback
}

// writeKeycloakCoreError renders core failures on the token service. Unknown
// paths and wrong methods answer like Keycloak's JAX-RS layer does: the
// exception's message as the error, and no description, which
// KeycloakErrorHandler adds ("For more on this error consult the server
// log.") to 5xx answers only.
func writeKeycloakCoreError(c *sandbox.Call, status int, e *sandbox.Error) {
	switch e.Kind {
	case sandbox.ErrNotFound:
		writeOAuth(c, http.StatusNotFound, "Unable to find matching target resource method", "")
	case sandbox.ErrMethodNotAllowed:
		writeOAuth(c, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed", "")
	case sandbox.ErrBodyTooLarge:
		writeOAuth(c, http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("Request body exceeds the limit of %d bytes", e.Limit))
	case sandbox.ErrInvalidRequest:
		writeOAuth(c, http.StatusBadRequest, "invalid_request", messageOr(e.Message, "Invalid request"))
	case sandbox.ErrThrottled:
		writeOAuth(c, http.StatusTooManyRequests, "too_many_requests", fmt.Sprintf("Too many requests; retry after %d seconds", e.RetryAfter))
	case sandbox.ErrUnavailable:
		userinfo := c.Operation == "keycloakUserinfo" || c.Operation == "keycloakUserinfoPost" ||
			c.Operation == "keycloakUserinfoLegacy" || c.Operation == "keycloakUserinfoPostLegacy"
		realm := c.Params["realm"]
		if st, ok := c.State.(*State); ok {
			realm = st.cfg.Realm
		}
		switch {
		// A forced 401 or 403 on userinfo is one of its own challenges, so
		// that a client's handling of them can be rehearsed.
		case userinfo && status == http.StatusUnauthorized:
			writeChallenge(c, realm, challengeVerification)
		case userinfo && status == http.StatusForbidden:
			writeChallenge(c, realm, challengeNoOpenID)
		case status == http.StatusUnauthorized:
			writeOAuth(c, status, "invalid_client", descInvalidClient)
		case status < http.StatusInternalServerError:
			writeOAuth(c, status, "invalid_request", messageOr(e.Message, http.StatusText(status)))
		default:
			writeOAuth(c, status, "server_error", messageOr(e.Message, http.StatusText(status)))
		}
	default:
		writeOAuth(c, http.StatusInternalServerError, "unknown_error", "For more on this error consult the server log.")
	}
}

// validationMessage turns the spec's failed checks into one sentence naming
// the field, e.g. `query parameter "serviceKey" is required`.
func validationMessage(e *sandbox.Error) string {
	if len(e.Fields) == 0 {
		return messageOr(e.Message, "The request is not valid")
	}
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, fieldSentence(f))
	}
	return strings.Join(parts, "; ")
}

func fieldSentence(f sandbox.FieldError) string {
	where := fmt.Sprintf("%s parameter %q", f.In, f.Field)
	if f.In == "body" {
		where = fmt.Sprintf("field %q", f.Field)
		if f.Field == "" {
			where = "request body"
		}
	}
	if f.Rule == "required" || strings.Contains(f.Reason, "is required") || strings.Contains(f.Reason, "must have a value") {
		return where + " is required"
	}
	if hint, ok := paramHints[f.Field]; ok {
		return where + " " + hint
	}
	return where + ": " + f.Reason
}

// paramHints say what a well-formed value looks like, for the parameters a
// client most often gets wrong.
var paramHints = map[string]string{
	"serviceKey": "must be 1 to 32 letters or digits, e.g. 3586a2363bcd51a2b3c4d5f34918263a",
	"msisdn":     "must be 8 to 15 digits in E.164 without +, e.g. 4366124567",
	"operator":   "must be an operator code such as FR_ORANGE",
	"merchantId": "must be a positive whole number, e.g. 11111",
}
