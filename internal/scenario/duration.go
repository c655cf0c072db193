package scenario

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a Go duration written as text ("1s", "10m") in scenario files
// and in GET /__sandbox/scenario. A provider config field of this type
// decodes with a located problem when the text is not a duration.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads "90s"-style text.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError carrying the line lets the scenario loader name the
	// field path, and decoding goes on to report other problems too.
	if n.Kind != yaml.ScalarNode {
		// Worded like yaml.v3's own type errors, so that the loader names
		// the key (not the list's first item) and describes the type.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s into scenario.Duration", n.Line, n.ShortTag())}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration such as 3s or 10m", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// ScenarioShape describes a duration in type errors.
func (Duration) ScenarioShape() (expected, hint string) {
	return "a duration such as 3s or 10m", "a number and a unit: 500ms, 90s, 10m or 1h30m"
}

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "90s"-style text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
