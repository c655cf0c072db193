package netfinity

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// Guard messages. 401 and 429 are Laravel's own; 403 uses the seed's
// wording; 406 is the sandbox's text naming what is wrong.
const (
	msgUnauthenticated   = "Unauthenticated."
	msgTooMany           = "Too Many Attempts."
	msgIPNotAllowed      = "IP address not allowed."
	msgCapabilityMissing = "Token capabilities missing."
	msgAcceptNotJSON     = "The Accept header must be application/json."
	msgContentTypeJSON   = "The Content-Type header must be application/json."
	msgContentTypeTwice  = "The Content-Type header must be given once."
	msgBodyNotJSON       = "The request body must be valid JSON."
)

// defaultRateLimit is Laravel's throttle default: 60 requests a minute.
const defaultRateLimit = 60

// operationService maps each operation to the capability it needs.
var operationService = map[string]string{"sendSmsNotification": ServiceSMS}

// guard performs Netfinity's checks in its order: 406, 401, 403, 429. The
// later 422 and 200 are the handler's. On success the token is stored for
// the handler.
func guard(c *sandbox.Call) bool {
	st := c.State.(*state)
	if msg := notAcceptable(c.R, c.Body); msg != "" {
		writeHTTPError(c, http.StatusNotAcceptable, msg)
		return false
	}
	tok, ok := st.authenticate(c.R)
	if !ok {
		writeCompact(c, http.StatusUnauthorized, laravelMessage{Message: msgUnauthenticated})
		return false
	}
	service := operationService[c.Operation]
	if !tok.allowsIP(st.clientIP(c.R)) {
		st.limits.peek(tok, service, c.Now()).headers(c.W, false, c.Now())
		writeHTTPError(c, http.StatusForbidden, msgIPNotAllowed)
		return false
	}
	if !tok.caps[service] {
		st.limits.peek(tok, service, c.Now()).headers(c.W, false, c.Now())
		writeHTTPError(c, http.StatusForbidden, msgCapabilityMissing)
		return false
	}
	w, allowed := st.limits.hit(tok, service, c.Now())
	w.headers(c.W, !allowed, c.Now())
	if !allowed {
		writeHTTPError(c, http.StatusTooManyRequests, msgTooMany)
		return false
	}
	return true
}

// notAcceptable returns why a request fails Netfinity's 406 checks (JSON
// Accept, JSON Content-Type given once, JSON body), or "".
func notAcceptable(r *http.Request, body []byte) string {
	if !acceptsJSON(r.Header.Values("Accept")) {
		return msgAcceptNotJSON
	}
	cts := r.Header.Values("Content-Type")
	if len(cts) > 1 {
		return msgContentTypeTwice
	}
	if len(cts) == 0 || !isJSONMedia(cts[0]) {
		return msgContentTypeJSON
	}
	if !json.Valid(body) {
		return msgBodyNotJSON
	}
	return ""
}

// acceptsJSON is Laravel's Request::wantsJson: the most preferred type of
// Accept (highest q, earliest among equals, as Symfony sorts them) mentions
// "/json" or "+json". So "*/*" or "text/html, application/json;q=0.9" fail.
func acceptsJSON(values []string) bool {
	best, bestQ := "", -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			media, params, _ := strings.Cut(part, ";")
			media = strings.TrimSpace(media)
			if media == "" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if q > bestQ {
				best, bestQ = media, q
			}
		}
	}
	return isJSONMedia(best)
}

// isJSONMedia is Laravel's test (Request::isJson, wantsJson): the type
// mentions "/json" or "+json".
func isJSONMedia(v string) bool {
	v = strings.ToLower(v)
	return strings.Contains(v, "/json") || strings.Contains(v, "+json")
}

// token is a configured token, compiled for look-ups.
type token struct {
	cfg   TokenConfig
	ips   []netip.Prefix // empty: any
	caps  map[string]bool
	limit int
}

func (t *token) allowsIP(ip netip.Addr) bool {
	if len(t.ips) == 0 {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	for _, p := range t.ips {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// authenticate finds the token of "Authorization: Bearer <token>" (one
// header, the scheme spelt as Laravel's bearerToken expects).
func (s *state) authenticate(r *http.Request) (*token, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return nil, false
	}
	raw, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || raw == "" {
		return nil, false
	}
	t, ok := (*s.tokens.Load())[raw]
	return t, ok
}

// clientIP is the connection's remote address, or, when that is a trusted
// proxy, the nearest untrusted address of X-Forwarded-For. An unparsable
// entry yields the invalid address (allowed only by tokens open to any IP).
func (s *state) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	remote, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	remote = remote.Unmap()
	if !s.trusted(remote) {
		return remote
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addr := remote
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *state) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// window is a Laravel rate-limit window: it opens at the first hit and
// lasts a minute; its end is a whole unix second, as Laravel's cache timer.
// limit is filled in from the token in force whenever the window is read.
type window struct {
	limit int
	count int
	end   time.Time
}

// headers writes Laravel's throttle headers; a refused request also gets
// Retry-After and X-RateLimit-Reset.
func (w window) headers(rw http.ResponseWriter, refused bool, now time.Time) {
	h := rw.Header()
	setExact(h, "X-RateLimit-Limit", strconv.Itoa(w.limit))
	rem := w.limit - w.count
	if rem < 0 || refused {
		rem = 0
	}
	setExact(h, "X-RateLimit-Remaining", strconv.Itoa(rem))
	if refused {
		retry := w.end.Unix() - now.Unix()
		if retry < 0 {
			retry = 0
		}
		h.Set("Retry-After", strconv.FormatInt(retry, 10))
		setExact(h, "X-RateLimit-Reset", strconv.FormatInt(now.Unix()+retry, 10))
	}
}

// setExact sets a header under the exact spelling Laravel sends
// ("X-RateLimit-Limit", not Go's canonical "X-Ratelimit-Limit"), for
// clients that read raw header names case-sensitively.
func setExact(h http.Header, key, value string) {
	h.Del(key)
	h[key] = []string{value}
}

// limiter counts requests per token and service in this namespace.
type limiter struct {
	mu sync.Mutex
	by map[string]*window
	// tokens is the state's token set. The limit of a window is always
	// read from it, under mu: a request keeps the token it authenticated
	// with, so a limit taken from that token would be stale after PATCH
	// changed the rateLimit, and a request still holding the old token
	// could set the old limit back over a newer request's.
	tokens *atomic.Pointer[map[string]*token]
	// rec is the state's records (nil when none are kept): a window is
	// written whenever a request opens or counts in it.
	rec sandbox.Records
}

func limitKey(t *token, service string) string { return t.cfg.Token + "\x00" + service }

// limitOf is the rate limit of the token named name as it is now (t's when
// it is not in the set, which does not happen: tokens are never removed).
func (l *limiter) limitOf(name string, t *token) int {
	if cur, ok := (*l.tokens.Load())[name]; ok {
		return cur.limit
	}
	if t != nil {
		return t.limit
	}
	return defaultRateLimit
}

// hit counts a request unless the window is full; allowed is false when the
// request must be refused with 429.
func (l *limiter) hit(t *token, service string, now time.Time) (window, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, opened := l.current(t, service, now)
	w.limit = l.limitOf(t.cfg.Token, t) // a limit changed through the admin API applies at once
	allowed := w.count < w.limit
	if allowed {
		w.count++
	}
	if l.rec != nil && (allowed || opened) {
		l.rec.Put(recWindow, windowKey(t.cfg.Token, service), savedWindow{Token: t.cfg.Token, Service: service, Count: w.count, Ends: w.end})
	}
	return *w, allowed
}

// peek returns the window without counting (for 403 answers).
func (l *limiter) peek(t *token, service string, now time.Time) window {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := window{}
	if w := l.by[limitKey(t, service)]; w != nil && now.Before(w.end) {
		out = *w
	}
	out.limit = l.limitOf(t.cfg.Token, t)
	return out
}

// current returns the open window of t and service, opening a new one
// (opened true) when there is none.
func (l *limiter) current(t *token, service string, now time.Time) (w *window, opened bool) {
	k := limitKey(t, service)
	w = l.by[k]
	if w == nil || !now.Before(w.end) {
		w = &window{end: time.Unix(now.Unix()+60, 0).UTC()}
		l.by[k] = w
		opened = true
	}
	return w, opened
}

// snapshot lists the open windows for the state view.
func (l *limiter) snapshot(now time.Time) []limitView {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []limitView{}
	for k, w := range l.by {
		if !now.Before(w.end) {
			continue
		}
		tok, svc, _ := strings.Cut(k, "\x00")
		out = append(out, limitView{Token: tok, Service: svc, Limit: l.limitOf(tok, nil), Used: w.count, WindowEnds: w.end})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Token+out[i].Service < out[j].Token+out[j].Service })
	return out
}

type limitView struct {
	Token      string    `json:"token"`
	Service    string    `json:"service"`
	Limit      int       `json:"limit"`
	Used       int       `json:"used"`
	WindowEnds time.Time `json:"windowEnds"`
}
