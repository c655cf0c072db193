package dashboard

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The script never turns data into markup: every value reaches the page
// through textContent or an attribute (the h helper). A sink that parses
// HTML or runs strings as code, if it ever appears, fails here.
func TestScriptHasNoHTMLSinks(t *testing.T) {
	t.Parallel()
	js, err := assetFS.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", `setTimeout("`, "DOMParser", "createContextualFragment"} {
		if strings.Contains(string(js), sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
	// No href or src is built from data except the journal links and blob
	// downloads, whose values the script makes itself.
	for _, m := range regexp.MustCompile(`(href|src): [^,}]+`).FindAllString(string(js), -1) {
		switch m {
		case "href: UI + 'journal#' + encodeURIComponent(id)", "href: url":
		default:
			t.Errorf("app.js sets a URL from data: %s", m)
		}
	}
}

// Every value of a Page is escaped for its context, whatever it holds.
func TestRenderEscapes(t *testing.T) {
	t.Parallel()
	evil := `"><script>alert(1)</script><x a='`
	p := Page{View: "home", Version: evil, Namespace: "default", Scenario: evil, Docs: []string{evil},
		Mounts: []Mount{{Name: "echo", Title: evil, BaseURL: "http://h/echo", Spec: "javascript:alert(1)", Credentials: []Credential{{Label: evil, Value: evil}}}},
		Admin:  Admin{BaseURL: evil, Health: "http://h/__sandbox/health", Spec: "http://h/s", Namespaces: evil}}
	for _, view := range Views {
		p.View = view
		rec := httptest.NewRecorder()
		if err := Render(rec, httptest.NewRequest("GET", "/__sandbox/ui/", nil), p); err != nil {
			t.Fatal(err)
		}
		body := rec.Body.String()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><script`) || strings.Contains(body, "<x a=") || strings.Contains(body, `href="javascript:`) {
			t.Errorf("%s: unescaped value in\n%s", view, body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped value is missing", view)
		}
	}
}

func TestAssetVersionIsStable(t *testing.T) {
	t.Parallel()
	if v := AssetVersion(); len(v) != 16 || v != AssetVersion() {
		t.Errorf("AssetVersion %q", v)
	}
	for _, name := range []string{"app.js", "app.css"} {
		if !IsAsset(name) {
			t.Errorf("%s is not an asset", name)
		}
	}
	if IsAsset("../dashboard.go") || IsAsset("layout.html") {
		t.Error("a non-asset is served")
	}
}

func TestCopyValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://h/token (also http://h/auth/...)": "http://h/token",
		"sandbox-password":                        "sandbox-password",
		"(a continuation line)":                   "(a continuation line)",
		"a (b) c":                                 "a (b) c",
	} {
		if got := (Credential{Value: in}).CopyValue(); got != want {
			t.Errorf("CopyValue(%q) = %q, want %q", in, got, want)
		}
	}
}
