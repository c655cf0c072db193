package netrefer_test

import (
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/provider-sandbox/provider-sandbox/specs"
)

// TestSpecSchemasMatchRealBodies: the response schemas accept the bodies the
// emulator sends and refuse anything else (an extra member, a missing
// error_uri), so the harness catches a handler that drifts from them.
func TestSpecSchemasMatchRealBodies(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(specs.Must("netrefer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	aad := `{"error":"invalid_grant","error_description":"AADSTS50126: x","error_codes":[50126],"timestamp":"2026-11-22 10:00:00Z",` +
		`"trace_id":"t","correlation_id":"c","error_uri":"https://login.microsoftonline.com/error?code=50126"}`
	tests := []struct {
		schema string
		body   string
		ok     bool
	}{
		{"APIMError", `{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}`, true},
		{"APIMError", `{"statusCode":401,"message":"m","activityId":"x"}`, false},
		{"AADError", aad, true},
		{"AADError", `{"error":"invalid_grant","error_description":"d","error_codes":[1],"timestamp":"t","trace_id":"t","correlation_id":"c"}`, false},
		{"AADError", aad[:len(aad)-1] + `,"extra":1}`, false},
		{"TokenGrant", `{"token_type":"Bearer","scope":"s","expires_in":3599,"ext_expires_in":3599,"access_token":"a","refresh_token":"r","id_token":"i"}`, true},
		{"TokenGrant", `{"token_type":"Bearer","scope":"s","expires_in":3599,"ext_expires_in":3599,"access_token":"a","expires_on":1}`, false},
		{"IngestResponse", `{"received":1,"accepted":0,"rejected":1,"results":[{"index":0,"eventId":"e","status":"Rejected",` +
			`"errors":[{"code":"DI-1005","field":"eventId","message":"m"}]}]}`, true},
		{"IngestResponse", `{"received":1,"accepted":1,"rejected":0,"results":[],"processed":1}`, false},
		{"IngestResponse", `{"received":1,"accepted":1,"rejected":0,"results":[{"index":0,"status":"Accepted","reason":"x"}]}`, false},
		{"IngestResponse", `{"received":1,"accepted":0,"rejected":1,"results":[{"index":0,"status":"Rejected","errors":[{"code":"DI-1005","message":"m","path":"$"}]}]}`, false},
	}
	for _, tc := range tests {
		var v any
		if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
			t.Fatal(err)
		}
		err := doc.Components.Schemas[tc.schema].Value.VisitJSON(v)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: valid=%v, want %v (%v)", tc.schema, tc.body, err == nil, tc.ok, err)
		}
	}
}
