package centili

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// transactionRequest is the body of POST /datagifting/v1/service/transaction.
type transactionRequest struct {
	ServiceKey string
	Msisdn     string
	ClientID   string
	Amount     int64
}

// transactionFields are the body's fields in Centili's documented order.
var transactionFields = []string{"serviceKey", "msisdn", "clientId", "amount"}

// maxAmount bounds a single gift (1 PB in MB): larger numbers are typos.
const maxAmount = 1_000_000_000

// maxClientIDLen bounds the caller's reference.
const maxClientIDLen = 64

// decodeTransaction reads a transaction request strictly, so that every
// mistake a client can make gets a VALIDATION_ERROR naming the field and
// saying what a good value looks like: not JSON, not an object, a field
// repeated or unknown or missing, amount as a string or not a positive whole
// number, msisdn with + or letters.
func decodeTransaction(contentType string, body []byte) (transactionRequest, *problem) {
	var req transactionRequest
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return req, validationf("Content-Type must be application/json, got %q", contentType)
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, validationf("Request body is required: a JSON object with serviceKey, msisdn, clientId and amount")
	}
	if !utf8.Valid(body) {
		return req, validationf("Request body is not valid UTF-8")
	}
	fields, p := splitObject(body)
	if p != nil {
		return req, p
	}
	var missing []string
	for _, name := range transactionFields {
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			missing = append(missing, name)
			continue
		}
		var err *problem
		switch name {
		case "serviceKey":
			req.ServiceKey, err = decodeServiceKey(raw)
		case "msisdn":
			req.Msisdn, err = decodeMsisdn(raw)
		case "clientId":
			req.ClientID, err = decodeClientID(raw)
		case "amount":
			req.Amount, err = decodeAmount(raw)
		}
		if err != nil {
			return req, err
		}
	}
	if len(missing) == 1 {
		return req, validationf("Field %q is required", missing[0])
	}
	if len(missing) > 1 {
		return req, validationf("Fields %s are required", quoteList(missing))
	}
	return req, nil
}

// splitObject reads one JSON object into its raw members, refusing
// duplicate and unknown keys and anything after the object.
func splitObject(body []byte) (map[string]json.RawMessage, *problem) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxProblem(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, validationf("Request body must be a JSON object with serviceKey, msisdn, clientId and amount")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxProblem(err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxProblem(err)
		}
		if _, dup := fields[key]; dup {
			return nil, validationf("Field %q is given more than once", key)
		}
		if !isTransactionField(key) {
			return nil, validationf("Unknown field %q; the fields are %s", key, strings.Join(transactionFields, ", "))
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, validationf("Request body is not valid JSON: unexpected data after the object")
	}
	return fields, nil
}

func isTransactionField(k string) bool {
	for _, f := range transactionFields {
		if f == k {
			return true
		}
	}
	return false
}

func syntaxProblem(err error) *problem {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return validationf("Request body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return validationf("Request body is not valid JSON: unexpected end of input")
	}
	return validationf("Request body is not valid JSON: %s", err.Error())
}

// jsonKind names the JSON type of a raw value, for messages.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func decodeString(name string, raw json.RawMessage, example string) (string, *problem) {
	if raw[0] != '"' {
		return "", validationf("Field %q must be a string, e.g. %q; got %s", name, example, jsonKind(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", validationf("Field %q is not a valid JSON string", name)
	}
	return s, nil
}

func decodeServiceKey(raw json.RawMessage) (string, *problem) {
	s, p := decodeString("serviceKey", raw, "3586a2363bcd51a2b3c4d5f34918263a")
	if p != nil {
		return "", p
	}
	if !reServiceKey.MatchString(s) {
		return "", validationf("Field \"serviceKey\" must be 1 to 32 letters or digits, e.g. 3586a2363bcd51a2b3c4d5f34918263a; got %q", s)
	}
	return s, nil
}

func decodeMsisdn(raw json.RawMessage) (string, *problem) {
	s, p := decodeString("msisdn", raw, "4366124567")
	if p != nil {
		return "", p
	}
	switch {
	case strings.HasPrefix(s, "+"):
		return "", validationf("Field \"msisdn\" must be E.164 digits without the leading +, e.g. 4366124567; got %q", s)
	case !reDigits.MatchString(s):
		return "", validationf("Field \"msisdn\" must contain only digits (E.164 without +), e.g. 4366124567; got %q", s)
	case !reMsisdn.MatchString(s):
		return "", validationf("Field \"msisdn\" must be 8 to 15 digits; got %d", len(s))
	}
	return s, nil
}

func decodeClientID(raw json.RawMessage) (string, *problem) {
	s, p := decodeString("clientId", raw, "454585")
	if p != nil {
		return "", p
	}
	if s == "" || utf8.RuneCountInString(s) > maxClientIDLen {
		return "", validationf("Field \"clientId\" must be 1 to %d characters, your own reference for the transaction", maxClientIDLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", validationf("Field \"clientId\" must not contain control characters")
		}
	}
	return s, nil
}

func decodeAmount(raw json.RawMessage) (int64, *problem) {
	if raw[0] == '"' {
		return 0, validationf("Field \"amount\" must be a JSON number of MB, e.g. 500, not a string")
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, validationf("Field \"amount\" must be a JSON number of MB, e.g. 500; got %s", jsonKind(raw))
	}
	text := string(raw)
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		switch {
		case ferr == nil && f != math.Trunc(f):
			return 0, validationf("Field \"amount\" must be a whole number of MB; got %s", text)
		case f <= 0 || strings.HasPrefix(text, "-"):
			return 0, validationf("Field \"amount\" must be a positive number of MB; got %s", text)
		case ferr == nil && f <= maxAmount:
			n = int64(f)
		default:
			return 0, validationf("Field \"amount\" must be at most %d MB; got %s", maxAmount, text)
		}
	}
	if n <= 0 {
		return 0, validationf("Field \"amount\" must be a positive number of MB; got %s", text)
	}
	if n > maxAmount {
		return 0, validationf("Field \"amount\" must be at most %d MB; got %s", maxAmount, text)
	}
	return n, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return fmt.Sprintf("%s and %s", strings.Join(q[:len(q)-1], ", "), q[len(q)-1])
}
