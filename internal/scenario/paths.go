package scenario

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	nodeType        = reflect.TypeOf(yaml.Node{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// unknownKeys walks node alongside the Go type of out and reports every
// mapping key the type has no field for, with the closest known key as hint,
// and every number with a fraction given to an integer field (see
// fractionProblem).
func (f *File) unknownKeys(node *yaml.Node, out any, prefix string) Problems {
	t := reflect.TypeOf(out)
	var probs Problems
	f.walkKnown(node, t, prefix, &probs)
	return probs
}

func (f *File) walkKnown(node *yaml.Node, t reflect.Type, path string, probs *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if t == nodeType || t.Kind() == reflect.Interface {
		return // kept raw, checked by whoever decodes it
	}
	switch node.Kind {
	case yaml.ScalarNode:
		if p := f.fractionProblem(node, t, path); p != nil {
			*probs = append(*probs, *p)
		}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Struct:
			fields, inline := yamlFields(t)
			for i := 0; i+1 < len(node.Content); i += 2 {
				k, v := node.Content[i], node.Content[i+1]
				ft, ok := fields[k.Value]
				if !ok {
					if inline != nil {
						continue // caught by an inline map; its owner checks it
					}
					*probs = append(*probs, Problem{
						File: f.Name, Line: k.Line, Path: join(path, k.Value),
						Message: fmt.Sprintf("unknown key %q", k.Value),
						Hint:    Suggest(k.Value, keysOf(fields)),
					})
					continue
				}
				f.walkKnown(v, ft, join(path, k.Value), probs)
			}
		case reflect.Map:
			for i := 0; i+1 < len(node.Content); i += 2 {
				f.walkKnown(node.Content[i+1], t.Elem(), join(path, node.Content[i].Value), probs)
			}
		}
	case yaml.SequenceNode:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, item := range node.Content {
				f.walkKnown(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
			}
		}
	}
}

// fractionProblem refuses a number with a fraction for an integer field.
// yaml.v3 converts a float into an int field by truncating it, without an
// error, so `addAmount: 1.5` would add 1 and `totalAmount: 1.5` would load
// as 1; it does report NaN and +Inf, but turns -Inf into the smallest int.
// A whole number written as a float (2.0, 1e3) is that number and is
// accepted. Types that decode themselves (Duration, an int64 that reads
// "1.5s") are theirs to judge.
func (f *File) fractionProblem(node *yaml.Node, t reflect.Type, path string) *Problem {
	if node.ShortTag() != "!!float" || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		return nil
	}
	var v float64
	if node.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 1) || (!math.IsInf(v, -1) && v == math.Trunc(v)) {
		return nil // whole, or already a type error of yaml.v3's
	}
	hint := "this field counts whole units"
	if !math.IsInf(v, 0) {
		hint += fmt.Sprintf("; use %.0f or %.0f", math.Floor(v), math.Ceil(v))
	}
	return &Problem{File: f.Name, Line: node.Line, Path: path,
		Message: fmt.Sprintf("%q is not a whole number", node.Value), Hint: hint}
}

// yamlFields maps the YAML keys of a struct type to their field types,
// following `,inline` structs. inline is the type of an inline map, if any.
func yamlFields(t reflect.Type) (map[string]reflect.Type, reflect.Type) {
	fields := map[string]reflect.Type{}
	var inlineMap reflect.Type
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				inlineMap = ft
				continue
			}
			sub, subInline := yamlFields(ft)
			for k, v := range sub {
				fields[k] = v
			}
			if subInline != nil {
				inlineMap = subInline
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fields[name] = sf.Type
	}
	return fields, inlineMap
}

func keysOf(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Suggest names the known key closest to got, or lists the known keys.
func Suggest(got string, known []string) string {
	if k, ok := Closest(got, known); ok {
		return fmt.Sprintf("did you mean %q?", k)
	}
	if len(known) == 0 {
		return "this section takes no keys"
	}
	return "known keys here: " + strings.Join(known, ", ")
}

// SuggestOneOf is Suggest for a value drawn from a known set (a capability,
// an operator code, a path name): the closest one, or the whole set.
func SuggestOneOf(got string, known []string) string {
	if k, ok := Closest(got, known); ok {
		return fmt.Sprintf("did you mean %q?", k)
	}
	if len(known) == 0 {
		return "none is defined"
	}
	return "use one of: " + strings.Join(known, ", ")
}

// Closest finds the known name got most likely misspells: within a small
// edit distance, or abbreviated ("totl" for "totalAmount").
func Closest(got string, known []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := EditDistance(strings.ToLower(got), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= max(2, len(got)/3) {
		return best, true
	}
	for _, k := range known {
		if len(got) >= 3 && isSubsequence(strings.ToLower(got), strings.ToLower(k)) {
			return k, true
		}
	}
	return "", false
}

func isSubsequence(sub, s string) bool {
	i := 0
	for j := 0; j < len(s) && i < len(sub); j++ {
		if s[j] == sub[i] {
			i++
		}
	}
	return i == len(sub)
}

// EditDistance is the Levenshtein distance between two strings, for
// "did you mean" hints anywhere in the sandbox.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// locate fills in the file and line of a problem from its path.
func (f *File) locate(p Problem) Problem {
	p.File = f.Name
	if p.Line == 0 {
		p.Line = f.Line(p.Path)
	}
	return p
}

// Line returns the line of the node at a dotted path such as
// "centili.pools[1].totalAmount", or of its nearest existing ancestor.
func (f *File) Line(path string) int {
	if f.root == nil {
		return 0
	}
	node := f.root
	line := node.Line
	for _, seg := range splitPath(path) {
		next := child(node, seg)
		if next == nil {
			break
		}
		node = next
		line = node.Line
	}
	return line
}

// child finds a mapping key or sequence index in node. For mapping keys it
// returns the key node's line by preferring the key when the value is a
// collection (whose own line is the next one).
func child(node *yaml.Node, seg string) *yaml.Node {
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == seg {
				v := node.Content[i+1]
				if v.Kind == yaml.ScalarNode {
					return v
				}
				// keep the key's line but descend into the value
				cp := *v
				cp.Line = node.Content[i].Line
				return &cp
			}
		}
	case yaml.SequenceNode:
		if idx, err := strconv.Atoi(seg); err == nil && idx >= 0 && idx < len(node.Content) {
			return node.Content[idx]
		}
	}
	return nil
}

// splitPath turns "a.b[2].c" into ["a","b","2","c"].
func splitPath(path string) []string {
	if path == "" {
		return nil
	}
	path = strings.ReplaceAll(path, "[", ".")
	path = strings.ReplaceAll(path, "]", "")
	return strings.Split(path, ".")
}

// pathAtLine finds the path of the node on a given line, searching below the
// section prefix. Used to name the field of a yaml.v3 type error, whose
// message carries a line but no column: when value is given, a scalar of
// that text on the line is preferred, so that in a one-line flow mapping
// (`{operator: FR_ORANGE, totalAmount: lots}`) the path names the field
// that is wrong rather than the first one on the line. When the wrong value
// is a list or a mapping (collection is yaml.SequenceNode or MappingNode),
// a collection of that kind starting on the line is preferred, so that
// `clock:` followed by `- 1` names clock, not clock[0].
func (f *File) pathAtLine(line int, value, prefix string, collection yaml.Kind) string {
	if f.root == nil || line == 0 {
		return prefix
	}
	var first, exact, coll string // coll: the innermost collection of the wrong kind
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if exact != "" {
			return
		}
		hit := func(p string, v *yaml.Node) {
			if first == "" {
				first = p
			}
			if value != "" && v != nil && v.Kind == yaml.ScalarNode && valueMatches(v.Value, value) && exact == "" {
				exact = p
			}
		}
		isWrong := func(v *yaml.Node) bool { return collection != 0 && v.Kind == collection && v.Line == line }
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if isWrong(v) && (coll == "" || under(p, coll)) {
					coll = p
				}
				if v.Kind == yaml.ScalarNode && v.Line == line {
					hit(p, v)
				} else if k.Line == line {
					hit(p, nil)
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if isWrong(item) && (coll == "" || under(p, coll)) {
					coll = p
				}
				if item.Kind == yaml.ScalarNode && item.Line == line {
					hit(p, item)
				}
				walk(item, p)
			}
		}
	}
	walk(f.root, "")
	switch {
	case coll != "":
		return coll
	case exact != "":
		return exact
	case first != "":
		return first
	}
	return prefix
}
