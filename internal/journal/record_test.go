package journal

import (
	"encoding/json"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

var testCaps = Caps{BodyBytes: 64, HeaderValueBytes: 32, HeaderBytes: 100}

func TestRecorderCapsHeadersInBytes(t *testing.T) {
	t.Parallel()
	rec := Recorder{Caps: testCaps}
	h := http.Header{
		"Accept":  {"application/json"},
		"X-Big":   {strings.Repeat("a", 1<<20)},
		"X-Small": {"1", "2"},
		"Zz-Last": {strings.Repeat("z", 30)},
	}
	var e Entry
	rec.Fill(&e, Exchange{Method: "GET", RequestHeader: h, ResponseHeader: http.Header{"Content-Type": {"text/plain"}}})
	got := e.Request
	want := http.Header{
		"Accept":  {"application/json"},
		"X-Big":   {strings.Repeat("a", 32) + "…(1048576 bytes)"},
		"X-Small": {"1", "2"},
	} // Zz-Last no longer fits in 100 bytes
	if !reflect.DeepEqual(got.Header, want) || !got.HeadersTruncated || got.HeadersOmitted != 1 {
		t.Fatalf("kept %v truncated=%v omitted=%d", got.Header, got.HeadersTruncated, got.HeadersOmitted)
	}
	if h["X-Big"][0] != strings.Repeat("a", 1<<20) {
		t.Fatal("the request's own header was changed")
	}
	if e.Response.HeadersTruncated || e.Response.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("a response within the caps was changed: %+v", e.Response)
	}
	if e.Size() > 2000 {
		t.Fatalf("an entry with a 1 MiB header costs %d bytes", e.Size())
	}
}

func TestRecorderCutsBodiesOnCharacters(t *testing.T) {
	t.Parallel()
	rec := Recorder{Caps: Caps{BodyBytes: 5}}
	var e Entry
	rec.Fill(&e, Exchange{RequestBody: []byte("abcdé-more"), ResponseBody: []byte("12"), ResponseBytes: 9000})
	if e.Request.Body != "abcd" || !e.Request.Truncated || e.Request.BodyBytes != 11 {
		t.Fatalf("request %+v", e.Request)
	}
	// A response captured only in part is truncated even below the cap.
	if e.Response.Body != "12" || !e.Response.Truncated || e.Response.BodyBytes != 9000 {
		t.Fatalf("response %+v", e.Response)
	}
}

func TestMark(t *testing.T) {
	t.Parallel()
	for secret, want := range map[string]string{
		"sandbox-password":                          "…(16 bytes, sha256:5369724f)",
		"baea25a9f0fe4687845575c07e539a9e9":         "baea…(33 bytes, sha256:4cac7d50)",
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln": "eyJh…(41 bytes, sha256:ec97fe60)",
	} {
		if got := Mark(secret); got != want {
			t.Errorf("Mark(%q) = %q, want %q", secret, got, want)
		}
	}
}

func TestRecorderRedactsSecrets(t *testing.T) {
	t.Parallel()
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	rec := Recorder{Caps: Caps{BodyBytes: 4096}, Redact: true, SecretHeaders: []string{"x-api-key"}}
	reqH := http.Header{
		"Authorization":             {"Bearer " + jwt},
		"Ocp-Apim-Subscription-Key": {"baea25a9f0fe4687845575c07e539a9e9"},
		"Token":                     {jwt},
		"Cookie":                    {"session=abc"},
		"X-Api-Key":                 {"k3y"},
		"Content-Type":              {"application/x-www-form-urlencoded"},
	}
	form := "grant_type=password&client_id=app&username=u%40x&password=sandbox-password&client_secret=s%26s"
	tokenAnswer := `{"access_token":"` + jwt + `","expires_in":300,"refresh_token":"r1","token_type":"Bearer","nested":{"id_token":"i1"},"list":["password"]}`
	e := Entry{Validation: "request body: password \"sandbox-password\" is too short"}
	rec.Fill(&e, Exchange{
		Query:         "subscription-key=baea25a9f0fe4687845575c07e539a9e9&brand=1",
		RequestHeader: reqH, RequestBody: []byte(form),
		ResponseHeader: http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"s=1; HttpOnly"}},
		ResponseBody:   []byte(tokenAnswer), ResponseBytes: int64(len(tokenAnswer)),
	})
	req, res := e.Request, e.Response
	wantH := map[string]string{
		"Authorization":             "Bearer " + Mark(jwt),
		"Ocp-Apim-Subscription-Key": Mark("baea25a9f0fe4687845575c07e539a9e9"),
		"Token":                     Mark(jwt),
		"Cookie":                    Mark("session=abc"),
		"X-Api-Key":                 Mark("k3y"),
		"Content-Type":              "application/x-www-form-urlencoded",
	}
	for k, v := range wantH {
		if got := req.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if reqH.Get("Authorization") != "Bearer "+jwt {
		t.Error("the request's own Authorization was changed")
	}
	if want := "subscription-key=" + escape(Mark("baea25a9f0fe4687845575c07e539a9e9")) + "&brand=1"; req.Query != want {
		t.Errorf("query %q\nwant  %q", req.Query, want)
	}
	wantForm := "grant_type=password&client_id=app&username=u%40x&password=" + escape(Mark("sandbox-password")) + "&client_secret=" + escape(Mark("s&s"))
	if req.Body != wantForm {
		t.Errorf("form %q\nwant %q", req.Body, wantForm)
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(res.Body), &answer); err != nil {
		t.Fatalf("redacted JSON does not parse: %v: %s", err, res.Body)
	}
	if res.Truncated || req.Truncated || res.BodyBytes != int64(len(tokenAnswer)) {
		t.Errorf("a redacted body is not a truncated one: %+v", res)
	}
	if answer["access_token"] != Mark(jwt) || answer["refresh_token"] != Mark("r1") || answer["nested"].(map[string]any)["id_token"] != Mark("i1") ||
		answer["token_type"] != "Bearer" || answer["expires_in"] != 300.0 || answer["list"].([]any)[0] != "password" {
		t.Errorf("token answer %s", res.Body)
	}
	if res.Header.Get("Set-Cookie") != Mark("s=1; HttpOnly") {
		t.Errorf("Set-Cookie %q", res.Header.Get("Set-Cookie"))
	}
	if want := []string{"subscription-key", "Authorization", "Ocp-Apim-Subscription-Key", "Token", "Cookie", "X-Api-Key", "password", "client_secret"}; !reflect.DeepEqual(req.Redacted, want) {
		t.Errorf("request redacted %v, want %v", req.Redacted, want)
	}
	if want := []string{"Set-Cookie", "access_token", "refresh_token", "id_token"}; !reflect.DeepEqual(res.Redacted, want) {
		t.Errorf("response redacted %v, want %v", res.Redacted, want)
	}
	if strings.Contains(e.Validation, "sandbox-password") {
		t.Errorf("validation still quotes the password: %s", e.Validation)
	}
}

func escape(s string) string {
	r := strings.NewReplacer("…", "%E2%80%A6", "(", "%28", ")", "%29", " ", "+", ",", "%2C", ":", "%3A")
	return r.Replace(s)
}

func TestRedactionOfACutTokenAnswer(t *testing.T) {
	t.Parallel()
	full := `{"access_token":"eyJhbGciOiJSUzI1NiJ9.payload-payload-payload.signature","token_type":"Bearer"}`
	cut := full[:40] // the capture ended inside the token
	rec := Recorder{Redact: true}
	var e Entry
	rec.Fill(&e, Exchange{ResponseHeader: http.Header{"Content-Type": {"application/json"}}, ResponseBody: []byte(cut), ResponseBytes: int64(len(full))})
	if want := `{"access_token":"` + Mark(cut[17:]) + `"`; e.Response.Body != want || !e.Response.Truncated {
		t.Fatalf("body %q\nwant %q", e.Response.Body, want)
	}
	// Cut right after the value's opening quote: nothing of it to hide, and
	// the validation detail is left alone.
	e = Entry{Validation: "detail"}
	rec.Fill(&e, Exchange{ResponseHeader: http.Header{"Content-Type": {"application/json"}}, ResponseBody: []byte(full[:17]), ResponseBytes: int64(len(full))})
	if e.Validation != "detail" || e.Response.Body != `{"access_token":"`+Mark("")+`"` {
		t.Fatalf("validation %q, body %q", e.Validation, e.Response.Body)
	}
}

func TestRedactionOff(t *testing.T) {
	t.Parallel()
	h := http.Header{"Authorization": {"Bearer t"}}
	var e Entry
	(&Recorder{}).Fill(&e, Exchange{RequestHeader: h, RequestBody: []byte("password=p")})
	if e.Request.Header.Get("Authorization") != "Bearer t" || e.Request.Body != "password=p" || e.Request.Redacted != nil {
		t.Fatalf("kept %+v", e.Request)
	}
}

// FuzzRecord records arbitrary headers and bodies: nothing panics, every
// cap holds, a secret header's value is never kept, and a JSON body stays
// JSON.
func FuzzRecord(f *testing.F) {
	f.Add("Authorization", "Bearer abc", "application/json", []byte(`{"password":"p","a":[1,{"refresh_token":"r"}]}`))
	f.Add("Token", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "application/x-www-form-urlencoded", []byte("password=%zz&client_secret=s&&=x&token"))
	f.Add("Cookie", "a=b; c=d", "", []byte(`  ["access_token", {"access_token": "t", "id_token": 5}]`))
	f.Add("X-Big", strings.Repeat("é", 3000), "text/plain", []byte(`{"password":"cut sho`))
	f.Add("Set-Cookie", "", "application/json; charset=utf-8", []byte(`{"password":"\u00e9\"x","password":"y"} {"id_token":"z"}`))
	caps := Caps{BodyBytes: 256, HeaderValueBytes: 64, HeaderBytes: 512}
	f.Fuzz(func(t *testing.T, name, value, contentType string, body []byte) {
		h := http.Header{"Content-Type": {contentType}}
		h[http.CanonicalHeaderKey(name)] = append(h[http.CanonicalHeaderKey(name)], value)
		rec := Recorder{Caps: caps, Redact: true}
		var e Entry
		rec.Fill(&e, Exchange{RequestHeader: h, RequestBody: body, ResponseHeader: h, ResponseBody: body, ResponseBytes: int64(len(body))})
		for _, m := range []Message{e.Request, e.Response} {
			if len(m.Body) > caps.BodyBytes {
				t.Fatalf("body of %d bytes kept", len(m.Body))
			}
			if n := headerBytes(m.Header, false); n > caps.HeaderBytes {
				t.Fatalf("headers of %d bytes kept", n)
			}
			for _, vs := range m.Header {
				for _, v := range vs {
					if len(v) > caps.HeaderValueBytes+len("…(18446744073709551615 bytes)") {
						t.Fatalf("a header value of %d bytes kept", len(v))
					}
				}
			}
			canon := http.CanonicalHeaderKey(name)
			if len(value) > 8 && isSecretHeader(canon) && canon != "Content-Type" {
				for _, v := range m.Header[canon] {
					if strings.Contains(v, value) {
						t.Fatalf("secret header %s kept whole: %q", canon, v)
					}
				}
			}
		}
		if len(body) <= caps.BodyBytes/4 && json.Valid(body) && !e.Request.Truncated && !json.Valid([]byte(e.Request.Body)) {
			t.Fatalf("valid JSON %q became %q", body, e.Request.Body)
		}
		if utf8.Valid(body) && !utf8.ValidString(e.Request.Body) {
			t.Fatalf("valid UTF-8 %q became %q", body, e.Request.Body)
		}
	})
}

func isSecretHeader(canon string) bool {
	for _, s := range DefaultSecretHeaders {
		if s == canon {
			return true
		}
	}
	return false
}

// TestRecorderKeepsOnlyTheCutOfABody: the part of a body an entry keeps
// must not hold on to the whole body's memory. A journal budget counts the
// kept bytes; an entry pinning the megabyte it was cut from made a flood
// of 900 KB unauthenticated NetRefer posts take a gigabyte per thousand
// requests while the budget saw 4 MiB. Measured on the live heap (not
// timed); the test is not parallel so that no other test allocates then.
func TestRecorderKeepsOnlyTheCutOfABody(t *testing.T) {
	rec := Recorder{Caps: Caps{BodyBytes: 4096, HeaderValueBytes: 4096, HeaderBytes: 16384}}
	const n, size = 32, 1 << 20
	entries := make([]*Entry, n)
	before := liveHeap()
	for i := range entries {
		body := []byte(strings.Repeat("a", size))
		e := &Entry{}
		rec.Fill(e, Exchange{Method: "POST", Path: "/p", RequestBody: body, ResponseBody: []byte("{}"), ResponseBytes: 2})
		entries[i] = e
	}
	grown := liveHeap() - before
	if grown > n*size/8 {
		t.Fatalf("%d entries cut to 4 KiB from 1 MiB bodies hold %d MiB of heap", n, grown>>20)
	}
	for _, e := range entries {
		if len(e.Request.Body) != 4096 || !e.Request.Truncated {
			t.Fatalf("kept %d bytes", len(e.Request.Body))
		}
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestRecorderCapsPathQueryAndValidation: the request line (up to a
// megabyte) and a validator's detail quoting it are cut like a header
// value, so that no text of an entry is longer than its caps allow.
func TestRecorderCapsPathQueryAndValidation(t *testing.T) {
	t.Parallel()
	rec := Recorder{Caps: testCaps}
	long := strings.Repeat("q", 5000)
	e := Entry{Validation: `parameter "from": value "` + long + `" is not a date`}
	rec.Fill(&e, Exchange{Method: "GET", Path: "/intarget/" + long, Query: "from=" + long})
	wantPath := "/intarget/" + strings.Repeat("q", 22) + "…(5010 bytes)"
	wantQuery := "from=" + strings.Repeat("q", 27) + "…(5005 bytes)"
	if e.Request.Path != wantPath || e.Request.Query != wantQuery {
		t.Fatalf("path %q query %q", e.Request.Path, e.Request.Query)
	}
	if want := `parameter "from": value "` + strings.Repeat("q", 64-25) + "…(5040 bytes)"; e.Validation != want {
		t.Fatalf("validation %q, want %q", e.Validation, want)
	}
	short := Entry{Validation: "too short"}
	rec.Fill(&short, Exchange{Method: "GET", Path: "/p", Query: "a=1"})
	if short.Request.Path != "/p" || short.Request.Query != "a=1" || short.Validation != "too short" {
		t.Fatalf("short texts changed: %+v", short)
	}
}
