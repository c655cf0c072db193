package all_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// gen builds random values that are valid for an OpenAPI schema, the way a
// schema-driven fuzzer does: type, enum, pattern (through Go's regexp
// parser), min/max length and value, multipleOf, required and optional
// properties, additional properties where the schema allows them, oneOf
// and allOf, format date-time. It is seeded, so a run is reproducible.
//
// It is deliberately no smarter than the schema: every rule it does not
// read from the document is a rule a fuzzer would miss too.
type gen struct {
	rng *rand.Rand
	// past bounds generated date-times: the server refuses timestamps after
	// its clock, which a schema cannot say.
	past time.Time
	// floatMoney writes a multiple of multipleOf as the float product
	// k × multipleOf in Go's shortest form (1.2345000000000002), as a
	// generator that does float arithmetic does, instead of an exact
	// decimal.
	floatMoney bool
}

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), past: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// freeRunes is what an unconstrained string is drawn from: ASCII with a few
// characters outside it, as fuzzers send.
var freeRunes = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/é€中😀")

// value returns a random valid instance of s.
func (g *gen) value(s *openapi3.Schema) any {
	if len(s.AllOf) > 0 {
		return g.value(merge(s))
	}
	if len(s.OneOf) > 0 {
		return g.value(s.OneOf[g.rng.IntN(len(s.OneOf))].Value)
	}
	if len(s.AnyOf) > 0 {
		return g.value(s.AnyOf[g.rng.IntN(len(s.AnyOf))].Value)
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.rng.IntN(len(s.Enum))]
	}
	switch {
	case s.Type.Is("object") || (s.Type.IsEmpty() && len(s.Properties) > 0):
		return g.object(s)
	case s.Type.Is("array"):
		lo, hi := int(s.MinItems), int(s.MinItems)+4
		if s.MaxItems != nil && int(*s.MaxItems) < hi {
			hi = int(*s.MaxItems)
		}
		out := make([]any, lo+g.rng.IntN(hi-lo+1))
		for i := range out {
			out[i] = g.value(s.Items.Value)
		}
		return out
	case s.Type.Is("string"):
		return g.str(s)
	case s.Type.Is("integer"):
		lo, hi := bounds(s, -1000, 100000)
		return json.Number(strconv.FormatInt(int64(lo)+g.rng.Int64N(int64(hi-lo)+1), 10))
	case s.Type.Is("number"):
		return g.number(s)
	case s.Type.Is("boolean"):
		return g.rng.IntN(2) == 0
	}
	return g.str(s)
}

func (g *gen) object(s *openapi3.Schema) map[string]any {
	out := map[string]any{}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names) // map order must not change the draws
	for _, n := range names {
		if contains(s.Required, n) || g.rng.IntN(2) == 0 {
			out[n] = g.value(s.Properties[n].Value)
		}
	}
	if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		if g.rng.IntN(4) == 0 {
			out["x"+strconv.Itoa(g.rng.IntN(1000))] = g.str(&openapi3.Schema{})
		}
	}
	return out
}

func (g *gen) str(s *openapi3.Schema) string {
	if s.Format == "date-time" && s.Pattern != "" {
		// both must hold: draw date-times until one matches, as a
		// fuzzer filters its strategy
		re := regexp.MustCompile(s.Pattern)
		for range 100 {
			if v := g.str(&openapi3.Schema{Format: "date-time"}); re.MatchString(v) {
				return v
			}
		}
		panic("no date-time matches " + s.Pattern)
	}
	switch {
	case s.Pattern != "":
		re, err := syntax.Parse(s.Pattern, syntax.Perl)
		if err != nil {
			panic(fmt.Sprintf("pattern %q: %v", s.Pattern, err))
		}
		var b strings.Builder
		g.regex(&b, re)
		return b.String()
	case s.Format == "date-time":
		span := g.past.Unix() - time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		t := time.Unix(g.past.Unix()-g.rng.Int64N(span), 0).UTC()
		if g.rng.IntN(2) == 0 {
			return t.Format(time.RFC3339)
		}
		// any offset is a valid RFC 3339 date-time
		return t.In(time.FixedZone("", (g.rng.IntN(27)-12)*3600)).Format(time.RFC3339)
	}
	lo, hi := int(s.MinLength), int(s.MinLength)+16
	if s.MaxLength != nil && int(*s.MaxLength) < hi {
		hi = int(*s.MaxLength)
	}
	n := lo + g.rng.IntN(hi-lo+1)
	r := make([]rune, n)
	for i := range r {
		r[i] = freeRunes[g.rng.IntN(len(freeRunes))]
	}
	return string(r)
}

// regex writes a random string that re matches.
func (g *gen) regex(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		total := 0
		for i := 0; i < len(re.Rune); i += 2 {
			total += int(re.Rune[i+1]-re.Rune[i]) + 1
		}
		k := g.rng.IntN(total)
		for i := 0; i < len(re.Rune); i += 2 {
			if size := int(re.Rune[i+1]-re.Rune[i]) + 1; k >= size {
				k -= size
				continue
			}
			b.WriteRune(re.Rune[i] + rune(k))
			break
		}
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteRune(freeRunes[g.rng.IntN(len(freeRunes))])
	case syntax.OpCapture:
		g.regex(b, re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			g.regex(b, sub)
		}
	case syntax.OpAlternate:
		g.regex(b, re.Sub[g.rng.IntN(len(re.Sub))])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := re.Min, re.Max
		switch re.Op {
		case syntax.OpStar:
			lo, hi = 0, -1
		case syntax.OpPlus:
			lo, hi = 1, -1
		case syntax.OpQuest:
			lo, hi = 0, 1
		}
		if hi < 0 {
			hi = lo + 8
		}
		for n := lo + g.rng.IntN(hi-lo+1); n > 0; n-- {
			g.regex(b, re.Sub[0])
		}
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpEmptyMatch:
	default:
		panic(fmt.Sprintf("regex op %v not supported", re.Op))
	}
}

// number draws a number within the bounds; with multipleOf it is a whole
// multiple written as an exact decimal, as a careful fuzzer does (or as a
// float product with floatMoney).
func (g *gen) number(s *openapi3.Schema) json.Number {
	lo, hi := bounds(s, -100000, 100000)
	if s.MultipleOf != nil {
		m := *s.MultipleOf
		k := int64(math.Ceil(lo/m)) + g.rng.Int64N(int64(math.Floor(hi/m)-math.Ceil(lo/m))+1)
		digits := 0
		for d := m; d < 1 && digits < 12; d *= 10 {
			digits++
		}
		if g.floatMoney {
			return json.Number(strconv.FormatFloat(float64(k)*m, 'f', -1, 64))
		}
		return json.Number(strconv.FormatFloat(float64(k)*m, 'f', digits, 64))
	}
	return json.Number(strconv.FormatFloat(lo+g.rng.Float64()*(hi-lo), 'f', -1, 64))
}

// bounds returns the closed range of a numeric schema within a default
// range; an exclusive bound moves in by one unit of the grid.
func bounds(s *openapi3.Schema, lo, hi float64) (float64, float64) {
	step := 1.0
	if s.MultipleOf != nil {
		step = *s.MultipleOf
	} else if s.Type.Is("number") {
		step = 1e-6
	}
	if s.Min != nil {
		lo = *s.Min
		if s.ExclusiveMin.IsTrue() {
			lo += step
		}
	}
	if s.Max != nil {
		hi = *s.Max
		if s.ExclusiveMax.IsTrue() {
			hi -= step
		}
	}
	if hi < lo {
		hi = lo + 1000*step
	}
	return lo, hi
}

// merge folds allOf into one schema: the union of properties and required
// members, and the first value of every other constraint.
func merge(s *openapi3.Schema) *openapi3.Schema {
	out := *s
	out.AllOf = nil
	out.Properties = openapi3.Schemas{}
	for n, p := range s.Properties {
		out.Properties[n] = p
	}
	for _, sub := range s.AllOf {
		v := sub.Value
		if len(v.AllOf) > 0 {
			v = merge(v)
		}
		for n, p := range v.Properties {
			out.Properties[n] = p
		}
		out.Required = append(out.Required, v.Required...)
		if out.Type.IsEmpty() {
			out.Type = v.Type
		}
		if out.Format == "" {
			out.Format = v.Format
		}
		if out.Pattern == "" {
			out.Pattern = v.Pattern
		}
		if out.Min == nil {
			out.Min, out.ExclusiveMin = v.Min, v.ExclusiveMin
		}
		if out.Max == nil {
			out.Max, out.ExclusiveMax = v.Max, v.ExclusiveMax
		}
		if out.MultipleOf == nil {
			out.MultipleOf = v.MultipleOf
		}
		if out.MaxLength == nil {
			out.MinLength, out.MaxLength = v.MinLength, v.MaxLength
		}
		if len(out.Enum) == 0 {
			out.Enum = v.Enum
		}
		if len(out.OneOf) == 0 {
			out.OneOf = v.OneOf
		}
		if v.AdditionalProperties.Has != nil && !*v.AdditionalProperties.Has {
			out.AdditionalProperties = v.AdditionalProperties
		}
	}
	return &out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
