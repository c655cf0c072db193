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
	// basicChallenge is set when ClientIdAndSecretAuthenticator answers its
	// Basic challenge instead of looking at the form: a form-encoded request
	// whose Authorization header does not parse as Basic and whose form has
	// no client_id (an empty one counts as present).
	basicChallenge bool
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

// parseTokenForm reads a token request; authorization is the request's
// Authorization header values (nil when it has none). A body that is not
// form-encoded (JSON, or no Content-Type at all) is read as an empty form,
// as Keycloak 26.6 does: Quarkus REST does not enforce the @Consumes of a
// sub-resource's method (quarkusio/quarkus#55660, fixed after 26.6), and
// Keycloak's request reads form parameters only from a form body; hence the
// famous "Missing form parameter: grant_type" for JSON bodies. A form that
// cannot be decoded is an *oauthFailure.
func parseTokenForm(contentType string, body []byte, authorization []string) (*tokenForm, *oauthFailure) {
	f := &tokenForm{values: url.Values{}}
	mt, _, err := mime.ParseMediaType(contentType)
	isForm := err == nil && mt == "application/x-www-form-urlencoded"
	if isForm {
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
	if len(authorization) > 0 {
		switch id, secret, res := parseBasic(authorization[0]); res {
		case basicOK:
			f.clientID, f.hasClientID, f.clientSecret = id, true, secret
		case basicUnparsable:
			_, named := f.values["client_id"]
			f.basicChallenge = isForm && !named
		}
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

// basicResult is how an Authorization header reads as client credentials.
type basicResult int

const (
	basicOK basicResult = iota
	// basicUnparsable: not Basic, not base64, or no colon; Keycloak's
	// BasicAuthHelper returns null and the authenticator may challenge.
	basicUnparsable
	// basicBadEscape [sandbox]: Basic whose id or secret is not valid
	// form-URL-encoding. Keycloak's URL decoder throws there; the sandbox
	// ignores the header and reads the form.
	basicBadEscape
)

// parseBasic reads RFC 6749 §2.3.1 client credentials as Keycloak's
// BasicAuthHelper.RFC6749 does: "Basic" in any case as the first five
// characters, the base64 after the sixth (padding optional, as Java's
// decoder allows), user and password split at the first colon and
// form-URL-decoded.
func parseBasic(h string) (id, secret string, res basicResult) {
	if len(h) < 6 || !strings.EqualFold(h[:5], "Basic") {
		return "", "", basicUnparsable
	}
	enc := base64.RawStdEncoding
	if strings.Contains(h[6:], "=") {
		enc = base64.StdEncoding
	}
	raw, err := enc.DecodeString(h[6:])
	if err != nil {
		return "", "", basicUnparsable
	}
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", basicUnparsable
	}
	if u, err = url.QueryUnescape(u); err != nil {
		return "", "", basicBadEscape
	}
	if p, err = url.QueryUnescape(p); err != nil {
		return "", "", basicBadEscape
	}
	return u, p, basicOK
}

// oauthFailure is a token-service error in Keycloak's shape.
type oauthFailure struct {
	status      int
	code        string
	description string
}
