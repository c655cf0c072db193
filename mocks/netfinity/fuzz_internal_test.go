package netfinity

import (
	"testing"
	"unicode/utf8"
)

// FuzzDecodeSend checks the request decoder never panics and that whatever
// it accepts satisfies Netfinity's rules.
func FuzzDecodeSend(f *testing.F) {
	for _, s := range []string{
		`{"msisdn":"359881234567","text":"test 1","id":"123"}`,
		`{"msisdn":"+359881234567","text":"€[]{}","id":7}`,
		`{"msisdn":359881234567,"text":"x"}`,
		`{"msisdn":"0881234567","text":"Ж"}`,
		`["a","b"]`, `null`, `"x"`, `{}`, `{"msisdn":null}`, `{"text":{"a":[1,2]}}`,
		`{"msisdn":"00","text":"a\u0000"}`, `{"id":"a-b"}`, `{"msisdn":1e400}`, `{} {}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, errs, ok := decodeSend(body, "359")
		if !ok || len(errs) > 0 {
			for field, msgs := range errs {
				if len(msgs) == 0 || (field != "msisdn" && field != "text" && field != "id") {
					t.Fatalf("errors %v", errs)
				}
			}
			return
		}
		if !isDigits(in.Msisdn) || len(in.Msisdn) < 8 || len(in.Msisdn) > 20 {
			t.Fatalf("accepted msisdn %q", in.Msisdn)
		}
		if _, bad := gsmSeptets(in.Text); bad || in.Text == "" {
			t.Fatalf("accepted text %q", in.Text)
		}
		if in.ID != nil && !isAlphaNum(*in.ID) {
			t.Fatalf("accepted id %q", *in.ID)
		}
		sent, n, _ := composeText("P: ", in.Text)
		if m, bad := gsmSeptets(sent); bad || m != n || n > maxSeptets || !utf8.ValidString(sent) {
			t.Fatalf("composed %q: %d septets (counted %d)", sent, n, m)
		}
	})
}
