package scenario

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Shaped is implemented by a configuration type whose expected shape is
// best said in its own words when a file gives it the wrong kind of value:
// faults' delay is a mapping, yet what a user needs to read is "{fixed: 2s}
// or {min: 1s, max: 3s}", not the list of its keys. Expected completes
// "expected ..."; hint says how to write it.
type Shaped interface {
	ScenarioShape() (expected, hint string)
}

var (
	shapedType   = reflect.TypeOf((*Shaped)(nil)).Elem()
	durationType = reflect.TypeOf(time.Duration(0))
)

// shapes maps the Go type names yaml.v3 puts in its type errors ("cannot
// unmarshal !!str `abc` into faults.Delay") to the types reachable from the
// value being decoded, so that a message can describe the type instead of
// naming it.
type shapes map[string]reflect.Type

func shapesOf(t reflect.Type) shapes {
	s := shapes{}
	s.add(t)
	return s
}

func (s shapes) add(t reflect.Type) {
	if t == nil {
		return
	}
	if _, seen := s[t.String()]; seen {
		return
	}
	s[t.String()] = t
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		s.add(t.Elem())
	case reflect.Map:
		s.add(t.Key())
		s.add(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				s.add(t.Field(i).Type)
			}
		}
	}
}

// describe says in a user's words what a value of Go type name should look
// like, with a hint on writing it. It never answers with a Go type name: an
// unknown name is described by its spelling's kind, or generically.
func (s shapes) describe(name string) (expected, hint string) {
	if t, ok := s[name]; ok {
		return describeType(t)
	}
	switch {
	case strings.HasPrefix(name, "int"), strings.HasPrefix(name, "uint"):
		return describeKind(reflect.Int)
	case strings.HasPrefix(name, "float"):
		return describeKind(reflect.Float64)
	case name == "bool":
		return describeKind(reflect.Bool)
	case name == "string":
		return describeKind(reflect.String)
	case strings.HasPrefix(name, "[]"):
		return describeKind(reflect.Slice)
	case strings.HasPrefix(name, "map["):
		return describeKind(reflect.Map)
	case name == "time.Duration":
		return describeType(durationType)
	}
	return "a value of another kind", "see docs/scenarios.md for what this key takes"
}

const (
	hintMapping = "write a mapping: `key: value` lines indented under it, or {key: value} on one line"
	hintList    = "write a list: one `- item` per line, or [a, b] on one line"
)

func describeType(t reflect.Type) (expected, hint string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(shapedType) {
		return reflect.Zero(t).Interface().(Shaped).ScenarioShape()
	}
	if reflect.PointerTo(t).Implements(shapedType) {
		return reflect.New(t).Interface().(Shaped).ScenarioShape()
	}
	if t == durationType {
		return "a duration such as 30s", "a number and a unit: 500ms, 90s, 10m or 1h30m"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		item, _ := describeType(t.Elem())
		return "a list (each item " + item + ")", hintList
	case reflect.Map:
		value, _ := describeType(t.Elem())
		return "a mapping of names to values (each value " + value + ")", hintMapping
	case reflect.Struct:
		fields, inline := yamlFields(t)
		if inline != nil || len(fields) == 0 {
			return "a mapping", hintMapping
		}
		keys := keysOf(fields)
		return fmt.Sprintf("a mapping with the keys %s", strings.Join(keys, ", ")), hintMapping
	}
	return describeKind(t.Kind())
}

func describeKind(k reflect.Kind) (expected, hint string) {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number", "write the number without quotes, e.g. 100"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number, 0 or more", "write the number without quotes, e.g. 100"
	case reflect.Float32, reflect.Float64:
		return "a number", "write the number without quotes, e.g. 0.5"
	case reflect.Bool:
		return "true or false", "use true or false"
	case reflect.String:
		return "a single value (text)", "write one value here, not a list or a mapping; quote it if it contains `: ` or ` #` or starts with [ or {"
	case reflect.Slice, reflect.Array:
		return "a list", hintList
	case reflect.Map, reflect.Struct:
		return "a mapping", hintMapping
	}
	return "a value of another kind", "see docs/scenarios.md for what this key takes"
}
