package netfinity

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Laravel ≤ 8 validation wording ([doc]: the seed's 422 sample and the
// rules listed in the provider doc).
const (
	msgInvalid        = "The given data was invalid."
	msgMsisdnRequired = "The msisdn field is required."
	msgMsisdnDigits   = "The msisdn must be between 8 and 20 digits."
	msgTextRequired   = "The text field is required."
	msgTextFormat     = "The text format is invalid."
	msgIDAlphaNum     = "The id may only contain letters and numbers."
)

// maxSeptets is the length of one SMS in GSM 03.38 septets.
const maxSeptets = 160

// sendInput is a decoded, validated send request.
type sendInput struct {
	MsisdnRaw string // as the client wrote it
	Msisdn    string // normalised E.164 digits
	Text      string
	ID        *string
}

// fieldOrder is the order Laravel reports fields in: the order of the rules.
var fieldOrder = []string{"msisdn", "text", "id"}

// validationErrors maps a field to its messages, like Laravel's MessageBag.
type validationErrors map[string][]string

func (v validationErrors) add(field, msg string) { v[field] = append(v[field], msg) }

// decodeSend reads and validates a send request body the way Netfinity's
// Laravel rules do. ok is false when the body is not JSON at all (a 406 in
// Netfinity's order); otherwise errs holds the 422 messages, if any.
func decodeSend(body []byte, countryCode string) (in sendInput, errs validationErrors, ok bool) {
	errs = validationErrors{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return in, nil, false
	}
	if _, err := dec.Token(); err == nil {
		return in, nil, false // trailing data after the JSON value
	}
	// A JSON array or scalar is input without the named fields: Laravel's
	// rules then see every field as missing.
	obj, _ := v.(map[string]any)
	// Laravel's default TrimStrings middleware trims every string input
	// before validation (and ConvertEmptyStringsToNull makes "" missing).
	for k, x := range obj {
		if s, isString := x.(string); isString {
			obj[k] = strings.Trim(s, phpTrimSet)
		}
	}

	if raw, present := obj["msisdn"]; !present || isEmpty(raw) {
		errs.add("msisdn", msgMsisdnRequired)
	} else if s, isText := scalarText(raw); !isText {
		errs.add("msisdn", msgMsisdnDigits)
	} else {
		in.MsisdnRaw = s
		in.Msisdn = normaliseMsisdn(s, countryCode)
		if !isDigits(in.Msisdn) || len(in.Msisdn) < 8 || len(in.Msisdn) > 20 {
			errs.add("msisdn", msgMsisdnDigits)
		}
	}

	if raw, present := obj["text"]; !present || isEmpty(raw) {
		errs.add("text", msgTextRequired)
	} else if s, isString := raw.(string); !isString {
		errs.add("text", msgTextFormat)
	} else if _, bad := gsmSeptets(s); bad {
		errs.add("text", msgTextFormat)
	} else {
		in.Text = s
	}

	// id is optional: null, and "" (ConvertEmptyStringsToNull, after
	// TrimStrings), mean no id.
	if raw, present := obj["id"]; present && raw != nil && raw != "" {
		s, isText := scalarText(raw)
		if !isText || !isAlphaNum(s) {
			errs.add("id", msgIDAlphaNum)
		} else {
			in.ID = &s
		}
	}
	return in, errs, true
}

// phpTrimSet is what PHP's trim() strips, and so Laravel's TrimStrings.
const phpTrimSet = " \t\n\r\x00\x0B"

// isEmpty is Laravel's "required" failing: null, "" or an empty array.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// scalarText returns strings and integer numbers as text (Laravel's digit and
// alpha_num rules accept numeric input); anything else is not text.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		s := x.String()
		if isDigits(s) {
			return s, true
		}
	}
	return "", false
}

// normaliseMsisdn turns +E.164, 00+E.164 and national (leading 0) numbers
// into E.164 digits without the plus. Anything else is returned unchanged
// and judged by the digit rule.
func normaliseMsisdn(s, countryCode string) string {
	switch {
	case strings.HasPrefix(s, "+"):
		return s[1:]
	case strings.HasPrefix(s, "00"):
		return s[2:]
	case strings.HasPrefix(s, "0"):
		return countryCode + s[1:]
	}
	return s
}

func isAlphaNum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// gsmBasic is the GSM 03.38 default alphabet (one septet each); ESC (0x1B)
// is left out because it only introduces the extension table.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension holds the extension-table characters (two septets each).
const gsmExtension = "€[]{}\\~^|\f"

var gsmWidth = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmSeptets counts s in septets; bad reports a character outside GSM 03.38.
func gsmSeptets(s string) (n int, bad bool) {
	for _, r := range s {
		w, ok := gsmWidth[r]
		if !ok {
			return n, true
		}
		n += w
	}
	return n, false
}

// composeText prepends the account prefix and cuts the result at 160
// septets, never splitting an extension character ([doc]: "your prefix is
// added at the beginning and everything after the 160th character is cut").
func composeText(prefix, text string) (sent string, septets int, cut bool) {
	full := prefix + text
	var b strings.Builder
	for _, r := range full {
		w := gsmWidth[r]
		if septets+w > maxSeptets {
			return b.String(), septets, true
		}
		septets += w
		b.WriteRune(r)
	}
	return full, septets, false
}
