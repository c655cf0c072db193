package verify

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// diagnose looks at the main pulls as a whole. A few mistakes make nearly
// every check fail (or pass) for one reason, and a list of a hundred
// findings hides it: a base URL without the API's path prefix, credentials
// that are refused, a URL that is not a product API at all, a redirect to
// another scheme, or a range in which the API has no data (a frozen clock
// without --now). Each becomes a hint at the top of the report.
func (rn *runner) diagnose() {
	var all []*pulled
	var dead []string // feeds whose every main pull answered 404
	for _, e := range rn.ents {
		ps := rn.mains[e.Name]
		all = append(all, ps...)
		if st, ok := sameStatus(ps); ok && st == http.StatusNotFound {
			dead = append(dead, e.Name)
		}
	}
	if len(all) == 0 {
		return
	}
	hint := func(format string, args ...any) { rn.rep.Hints = append(rn.rep.Hints, fmt.Sprintf(format, args...)) }
	example := strings.SplitN(all[0].url, "?", 2)[0]
	readable, rows := 0, 0
	for _, p := range all {
		if p.table != nil {
			readable++
			rows += len(p.table.Rows)
		}
	}
	st, same := sameStatus(all)
	if !same {
		st = -1
	}
	switch {
	case st == 0:
		hint("no pull got an answer (e.g. %s): the API is too slow or drops connections; see transport.http below", example)
	case st == http.StatusNotFound:
		where := example
		if len(rn.o.Paths) == 0 {
			where = rn.o.BaseURL + "/api/..."
		}
		msg := fmt.Sprintf("every feed answered 404 under %s; is the base URL missing a path prefix such as /intarget, or does the API use other paths (--paths entity=/path)?", where)
		if alt := rn.probePrefix(); alt != "" {
			msg += " " + alt
		}
		hint("%s", msg)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		if rn.o.AuthBasic == "" && rn.o.AuthHeader == "" {
			hint("every pull was refused with %d and no credentials were given: pass --auth basic:USER:PASS or --header \"Name: value\"", st)
		} else {
			hint("every pull was refused with %d: the credentials are wrong, or the API expects another kind (--auth basic:USER:PASS or --header \"Name: value\")", st)
		}
	case st >= 300 && st < 400:
		hint("every pull was redirected (%d; see transport.http for the target); InTarget does not follow redirects, so use the address the API redirects to (https instead of http?) as the base URL", st)
	case st == http.StatusOK:
		want := "text/csv"
		if rn.o.Format == "json" {
			want = "application/json"
		}
		// Only when no row was read: CSV labelled text/plain is the API
		// with a wrong header (transport.http says so), not a web page.
		if mt := sameMediaType(all); rows == 0 && mt != "" && mt != want && mt != "text/csv" && mt != "application/json" {
			hint("every feed answered 200 with Content-Type %s, not %s: is %s the product API's root, or a web page or another service?", mt, want, rn.o.BaseURL)
			return
		}
	}
	if len(dead) > 0 && len(dead) < len(rn.ents) {
		hint("%s answered 404 for every window: if the API does not offer %s, verify only the feeds it has with --paths entity=/path,...",
			strings.Join(dead, ", "), map[bool]string{true: "this feed", false: "these feeds"}[len(dead) == 1])
	}
	if readable > 0 && rows == 0 {
		hint("no rows in any window of [%s, %s) in any feed, so the checks that need rows proved nothing. If the API's clock is not this machine's (a frozen sandbox clock), pass --now with the API's current time and a --from/--to where it has data; otherwise check the API's clock and the range it has data for (the API's time was taken as %s)",
			contract.FormatTime(rn.o.From), contract.FormatTime(rn.o.To), contract.FormatTime(rn.o.Now))
	}
}

// sameStatus returns the status every pull answered (0: none was
// answered) and whether they all agree.
func sameStatus(ps []*pulled) (int, bool) {
	if len(ps) == 0 {
		return 0, false
	}
	for _, p := range ps[1:] {
		if p.status != ps[0].status {
			return 0, false
		}
	}
	return ps[0].status, true
}

func sameMediaType(ps []*pulled) string {
	mt, _, _ := mime.ParseMediaType(ps[0].ctype)
	for _, p := range ps[1:] {
		if m, _, _ := mime.ParseMediaType(p.ctype); m != mt {
			return ""
		}
	}
	return mt
}

// probePrefix, when every feed was a 404 at its default path, tries the
// first feed under two likely base URLs: base+/intarget (where the sandbox
// mounts its reference API) and, for a base ending in /api, the base
// without it (the paths already start with /api). The first that answers
// like the feed (looksLikeFeed) is named. Any other answer says nothing: a
// firewall's 403, a proxy's 401 or 500 and a redirect come back for any
// path, so naming such a URL would send the user the wrong way.
func (rn *runner) probePrefix() string {
	if len(rn.o.Paths) > 0 {
		return ""
	}
	base := rn.o.BaseURL
	var cands []string
	if !strings.HasSuffix(base, "/intarget") {
		cands = append(cands, base+"/intarget")
	}
	if b, ok := strings.CutSuffix(base, "/api"); ok {
		cands = append(cands, b)
	}
	e := rn.ents[0]
	defer func() { rn.o.BaseURL = base }()
	for _, alt := range cands {
		rn.o.BaseURL = alt
		req, err := rn.request(e, rn.mains[e.Name][0].w, "%20", true)
		if err != nil {
			continue
		}
		if x := rn.do(req); rn.looksLikeFeed(e, x) {
			return fmt.Sprintf("%s%s answers %d: try the base URL %s", alt, rn.paths[e.Name], x.status, alt)
		}
	}
	return ""
}

// looksLikeFeed tells whether an answer is plausibly the entity's feed: a
// 2xx whose body reads without problems in the requested format and names
// at least one of the entity's columns (an empty JSON array counts: it is
// how a JSON feed answers a window without rows).
func (rn *runner) looksLikeFeed(e *contract.Entity, x exchange) bool {
	if x.err != "" || x.status < 200 || x.status > 299 {
		return false
	}
	var t *Table
	var probs []string
	if rn.o.Format == "json" {
		t, probs = ParseJSON(x.body)
		if len(probs) == 0 && len(t.Rows) == 0 {
			return true
		}
	} else {
		t, probs, _ = ParseCSV(x.body)
	}
	if len(probs) > 0 {
		return false
	}
	for _, f := range e.Fields {
		if t.Col(f.Name) >= 0 {
			return true
		}
	}
	return false
}
