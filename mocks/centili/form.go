package centili

import (
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// tokenForm is a token request as Keycloak reads it: the form parameters,
// and the client credentials from HTTP Basic or from the form.
type tokenForm struct {
	values       url.Values
	clientID     string
	hasClientID  bool
	clientSecret string
	// duplicated names the first repeated form parameter, if any; Keycloak
	// rejects the request after authenticating the client.
	duplicated string
}

// get returns a parameter's first value and whether it was sent at all;
// Keycloak tells "absent" (a Missing ... error) from "empty" (a failed look-up).
func (f *tokenForm) get(name string) (string, bool) {
	v, ok := f.values[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// parseTokenForm reads a token request. A body that is not form-encoded is
// read as an empty form, as Keycloak's JAX-RS layer does (hence the famous
// "Missing form parameter: grant_type" for JSON bodies). A form that cannot
// be decoded is an *oauthFailure.
func parseTokenForm(contentType string, body []byte, authorization string) (*tokenForm, *oauthFailure) {
	f := &tokenForm{values: url.Values{}}
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && mt == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &oauthFailure{http.StatusBadRequest, "invalid_request", "Malformed form body: " + err.Error()}
		}
		f.values = vals
	}
	var names []string
	for k, v := range f.values {
		if len(v) > 1 {
			names = append(names, k)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		f.duplicated = names[0]
	}
	if id, secret, ok := parseBasic(authorization); ok {
		f.clientID, f.hasClientID, f.clientSecret = id, true, secret
	}
	// The form's client_id and client_secret override the header's, as in
	// Keycloak's client-id-and-secret authenticator.
	if id, ok := f.get("client_id"); ok {
		f.clientID, f.hasClientID = id, true
	}
	if secret, ok := f.get("client_secret"); ok {
		f.clientSecret = secret
	}
	return f, nil
}

// parseBasic reads RFC 6749 §2.3.1 client credentials: HTTP Basic whose
// user and password are form-URL-encoded. Anything unreadable is ignored, as
// Keycloak falls back to the form when the header cannot be parsed.
func parseBasic(h string) (id, secret string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if u, err = url.QueryUnescape(u); err != nil {
		return "", "", false
	}
	if p, err = url.QueryUnescape(p); err != nil {
		return "", "", false
	}
	return u, p, true
}

// oauthFailure is a token-service error in Keycloak's shape.
type oauthFailure struct {
	status      int
	code        string
	description string
}
