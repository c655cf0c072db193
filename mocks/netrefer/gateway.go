package netrefer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// apimError is API Management's error body.
type apimError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

const (
	msgNotFound   = "Resource not found"
	msgMissingKey = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
	msgInvalidKey = "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
	msgBadToken   = "Unauthorized. Access token is missing or invalid."
)

func writeAPIM(c *sandbox.Call, status int, msg string) {
	c.W.Header().Set("Content-Type", "application/json")
	c.JSON(status, apimError{StatusCode: status, Message: msg})
}

// subscriptionKey reads the key where APIM looks for it: the header first,
// then the query parameter.
func subscriptionKey(r *http.Request) string {
	if k := r.Header.Get("Ocp-Apim-Subscription-Key"); k != "" {
		return k
	}
	return r.URL.Query().Get("subscription-key")
}

// guard is APIM's inbound pipeline for the ingestion API: subscription key,
// validate-jwt, rate limit, quota. The token service and discovery documents
// are Azure AD's and pass untouched.
func guard(c *sandbox.Call) bool {
	if _, ok := ingestKinds[c.Operation]; !ok {
		return true
	}
	s := c.State.(*state)
	key := subscriptionKey(c.R)
	if key == "" {
		s.denyKey(c, msgMissingKey)
		return false
	}
	cl := s.keys[key]
	if cl == nil {
		s.denyKey(c, msgInvalidKey)
		return false
	}
	if !s.validToken(c, cl) {
		writeAPIM(c, http.StatusUnauthorized, msgBadToken)
		return false
	}
	return s.admit(c, cl)
}

func (s *state) denyKey(c *sandbox.Call, msg string) {
	c.W.Header().Set("WWW-Authenticate", fmt.Sprintf(`AzureApiManagementKey realm="%s",name="Ocp-Apim-Subscription-Key",type="header"`, c.URL("/di/v1")))
	writeAPIM(c, http.StatusUnauthorized, msg)
}

// audience is `aud`, a string in Azure AD tokens but an array in JWT in general.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

type accessClaims struct {
	Iss   string   `json:"iss"`
	Aud   audience `json:"aud"`
	Exp   *float64 `json:"exp"`
	Nbf   *float64 `json:"nbf"`
	Scp   string   `json:"scp"`
	AppID string   `json:"appid"`
	Azp   string   `json:"azp"`
	Tid   string   `json:"tid"`
}

// validToken is the validate-jwt policy: bearer token present, RS256 signed
// by the sandbox key, not expired or not yet valid on the sandbox clock,
// issued by the client's tenant for the subscription's client, with the
// Events.Injestion scope.
func (s *state) validToken(c *sandbox.Call, cl *client) bool {
	h := c.R.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return false
	}
	var cl2 accessClaims
	if err := s.tokens.Verify(strings.TrimSpace(h[7:]), &cl2); err != nil {
		return false
	}
	// Claims are decoded by go-jose's own JSON package, so plain numbers.
	now := float64(c.Now().Unix())
	if cl2.Exp == nil || *cl2.Exp <= now || (cl2.Nbf != nil && *cl2.Nbf > now) {
		return false
	}
	if !strings.EqualFold(cl2.Tid, cl.cfg.Tenant) || !s.trustedIssuer(c, cl2.Iss, cl.cfg.Tenant) {
		return false
	}
	audOK := false
	for _, a := range cl2.Aud {
		if strings.EqualFold(a, "api://"+cl.cfg.ClientID) || strings.EqualFold(a, cl.cfg.ClientID) {
			audOK = true
		}
	}
	app := cl2.AppID
	if app == "" {
		app = cl2.Azp
	}
	if !audOK || !strings.EqualFold(app, cl.cfg.ClientID) {
		return false
	}
	for _, sc := range strings.Fields(cl2.Scp) {
		if sc == ScopeName {
			return true
		}
	}
	return false
}

// trustedIssuer accepts the v1 and v2 issuers of the tenant. In sandbox
// mode the scheme and host are not compared, only the path (namespace prefix
// included): a token fetched through localhost is good through 127.0.0.1 or
// a Docker service name, and one fetched from the bare URL is good under
// /ns/default (the same namespace), but not in another namespace. With
// host routing on, Microsoft's own issuers (what tokens fetched from
// login.microsoftonline.com carry) are good too, in any namespace: they
// name none.
func (s *state) trustedIssuer(c *sandbox.Call, iss, tenant string) bool {
	if s.cfg.Token.Issuer == "microsoft" || c.HostRouting() {
		if iss == microsoftIssuer(tenant, "v1") || iss == microsoftIssuer(tenant, "v2") {
			return true
		}
		if s.cfg.Token.Issuer == "microsoft" {
			return false
		}
	}
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	for _, mount := range c.MountPaths() {
		if u.Path == sandboxIssuer(mount, tenant, "v1") || u.Path == sandboxIssuer(mount, tenant, "v2") {
			return true
		}
	}
	return false
}

// windowCounts holds a key's rate-limit and quota windows.
type windowCounts struct {
	rateStart, quotaStart time.Time
	rate, quota           int
}

// admit applies the rate-limit and quota policies (fixed windows on the
// sandbox clock, per subscription as APIM counts them: a client's keys are
// the primary and secondary keys of one subscription and share the
// counters). Rejected calls are not counted.
func (s *state) admit(c *sandbox.Call, cl *client) bool {
	key := cl.cfg.ClientID
	rl, q := s.cfg.RateLimit, s.cfg.Quota
	if rl.Calls == 0 && q.Calls == 0 {
		return true
	}
	now := c.Now()
	s.gwMu.Lock()
	w := s.windows[key]
	if w == nil {
		w = &windowCounts{rateStart: now, quotaStart: now}
		s.windows[key] = w
	}
	if rl.Calls > 0 {
		period := time.Duration(rl.RenewalPeriodSeconds) * time.Second
		if now.Sub(w.rateStart) >= period {
			w.rateStart, w.rate = now, 0
		}
		if w.rate >= rl.Calls {
			wait := int((w.rateStart.Add(period).Sub(now) + time.Second - 1) / time.Second)
			s.keepWindow(key, w)
			s.gwMu.Unlock()
			c.W.Header().Set("Retry-After", strconv.Itoa(wait))
			writeAPIM(c, http.StatusTooManyRequests, fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", wait))
			return false
		}
	}
	if q.Calls > 0 {
		period := time.Duration(q.RenewalPeriodSeconds) * time.Second
		if now.Sub(w.quotaStart) >= period {
			w.quotaStart, w.quota = now, 0
		}
		if w.quota >= q.Calls {
			left := w.quotaStart.Add(period).Sub(now).Truncate(time.Second)
			s.keepWindow(key, w)
			s.gwMu.Unlock()
			secs := int(left / time.Second)
			writeAPIM(c, http.StatusForbidden, fmt.Sprintf("Out of call volume quota. Quota will be replenished in %02d:%02d:%02d.", secs/3600, secs/60%60, secs%60))
			return false
		}
	}
	w.rate++
	w.quota++
	s.keepWindow(key, w)
	s.gwMu.Unlock()
	return true
}
