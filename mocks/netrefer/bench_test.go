package netrefer_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
	"github.com/provider-sandbox/provider-sandbox/internal/store"
)

// benchBatch builds a 2,500-event activities payload just under 900 KB:
// new activities, re-sent ones (corrections and bet voids) and 10% invalid
// events (unknown currency, amount as a string, future date, unknown customer).
func benchBatch() []byte {
	pad := strings.Repeat("x", 40)
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < 2500; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		cust := fmt.Sprintf("customer-%s-%03d", pad, i%100)
		tx := fmt.Sprintf("tx-%s-%05d", pad, i)
		turnover, ggr, bonus, cur, date := `125.5`, `-12.25`, `0`, "EUR", "2026-11-22T09:15:00Z"
		switch {
		case i%20 == 5: // correction of the previous activity
			tx = fmt.Sprintf("tx-%s-%05d", pad, i-1)
			turnover, ggr = "100", "10"
		case i%20 == 9: // bet void of the previous activity
			tx = fmt.Sprintf("tx-%s-%05d", pad, i-1)
			turnover, ggr = "0", "0"
		case i%20 == 13:
			cur = "EURO"
		case i%20 == 14:
			turnover = `"125.5"`
		case i%20 == 15:
			date = "2027-01-01T00:00:00Z"
		case i%20 == 16:
			cust = "nobody"
		}
		fmt.Fprintf(&b, `{"eventId":"event-%s-%06d","customerId":"%s","brandId":1,"timestamp":"2026-11-22T09:20:00Z","transactionId":"%s","productId":3,"turnover":%s,"grossRevenue":%s,"bonus":%s,"currency":"%s","activityDate":"%s"}`,
			pad, i, cust, tx, turnover, ggr, bonus, cur, date)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func benchRegistrations() []byte {
	pad := strings.Repeat("x", 40)
	var evs []any
	for i := 0; i < 100; i++ {
		evs = append(evs, reg(fmt.Sprintf("reg-%d", i), fmt.Sprintf("customer-%s-%03d", pad, i)))
	}
	b, _ := json.Marshal(evs)
	return b
}

// benchHost is the harness's host: tokens carry issuer URLs built from it.
var benchHost string

func serve(b *testing.B, srv http.Handler, method, path, ctype, tok string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Host = benchHost
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if tok != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", subKey)
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// BenchmarkIngestBatch measures one 2,500-event, ~900 KB batch end to end
// through the sandbox handler: routing, gateway (key, RS256 token check),
// decoding, per-event validation, rules, storage and the 207 response.
func BenchmarkIngestBatch(b *testing.B) { benchIngest(b, sandboxtest.New(b, frozen)) }

// BenchmarkIngestBatchDataDir is the same batch on a sandbox with a data
// directory: every accepted event's record is written, and the answer
// waits for the commit.
func BenchmarkIngestBatchDataDir(b *testing.B) {
	st, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	benchIngest(b, sandboxtest.NewWithConfig(b, frozen, func(c *sandbox.Config) { c.Store = st }))
}

func benchIngest(b *testing.B, h *sandboxtest.Harness) {
	benchHost = strings.TrimPrefix(h.URL, "http://")
	tok := token(b, h, "")
	var srv http.Handler = h.Server
	body := benchBatch()
	regs := benchRegistrations()
	if len(body) > 921600 || len(body) < 850000 {
		b.Fatalf("batch is %d bytes", len(body))
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		serve(b, srv, "POST", "/__sandbox/reset", "", "", nil)
		if rec := serve(b, srv, "POST", "/netrefer/di/v1/registrations", "application/json", tok, regs); rec.Code != 200 {
			b.Fatalf("registrations: %d %s", rec.Code, rec.Body)
		}
		b.StartTimer()
		rec := serve(b, srv, "POST", "/netrefer/di/v1/activities", "application/json", tok, body)
		if rec.Code != 207 {
			b.Fatalf("batch: %d %.300s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkUnmarshalBaseline is the yardstick: a bare json.Unmarshal of the
// same bytes into interface values.
func BenchmarkUnmarshalBaseline(b *testing.B) {
	body := benchBatch()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenIssue measures one password-grant token request through the
// handler (form parsing, credential checks, RS256 signing).
func BenchmarkTokenIssue(b *testing.B) {
	h := sandboxtest.New(b, frozen)
	var srv http.Handler = h.Server
	form := []byte(passwordForm().Encode())
	serve(b, srv, "POST", tokenPath, "application/x-www-form-urlencoded", "", form) // generate the key once
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := serve(b, srv, "POST", tokenPath, "application/x-www-form-urlencoded", "", form); rec.Code != 200 {
			b.Fatalf("token: %d", rec.Code)
		}
	}
}

// BenchmarkRSASignBaseline is the floor under token issuance: one bare
// RS256 signature with a 2048-bit key.
func BenchmarkRSASignBaseline(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("header.payload"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
