package intarget

import (
	"fmt"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
	"github.com/provider-sandbox/provider-sandbox/mocks/intarget/contract"
)

// Config is the scenario's `intarget:` section.
type Config struct {
	// Auth is how the reference product API wants to be called. InTarget
	// accepts any method the operator documents; Basic is the default.
	Auth AuthConfig `yaml:"auth" json:"auth"`
	// MaxWindow is the largest to-from accepted (Go duration, default 744h = 31 days).
	MaxWindow string `yaml:"maxWindow" json:"maxWindow"`
	// World sets the volume of generated data.
	World WorldConfig `yaml:"world" json:"world"`
	// Faults break the contract on purpose (see docs/intarget.md).
	Faults FaultConfig `yaml:"faults" json:"faults"`
}

// AuthConfig selects HTTP Basic or a header token.
type AuthConfig struct {
	// Type is "basic" (default), "header" or "none".
	Type     string `yaml:"type" json:"type"`
	Username string `yaml:"username" json:"username"`
	Password string `yaml:"password" json:"password"`
	// Header and Token are used when Type is "header", e.g. X-Api-Key.
	Header string `yaml:"header" json:"header"`
	Token  string `yaml:"token" json:"token"`
}

// WorldConfig sets how much happens per hour of sandbox time.
type WorldConfig struct {
	// Start is an RFC 3339 instant where generated history begins. With
	// Start empty and Days 0 history begins at DefaultWorldStart, so the
	// provider's own example window (2020-10-10) and every recent window
	// have data, and a window that has settled gives the same bytes on
	// every run whatever the real clock says. Years 1970 to 2199 only.
	Start string `yaml:"start" json:"start"`
	// Days, when above 0, starts history that many days before the sandbox
	// clock at the moment the namespace is created (instead of Start); at
	// most maxWorldDays.
	Days                 int `yaml:"days" json:"days"`
	PlayersPerHour       int `yaml:"playersPerHour" json:"playersPerHour"`
	LoginsPerHour        int `yaml:"loginsPerHour" json:"loginsPerHour"`
	TransactionsPerHour  int `yaml:"transactionsPerHour" json:"transactionsPerHour"`
	GameSessionsPerHour  int `yaml:"gameSessionsPerHour" json:"gameSessionsPerHour"`
	BetsPerHour          int `yaml:"betsPerHour" json:"betsPerHour"`
	EventsPerHour        int `yaml:"eventsPerHour" json:"eventsPerHour"`
	TournamentEveryHours int `yaml:"tournamentEveryHours" json:"tournamentEveryHours"`
}

// FaultConfig lists the contract violations a scenario can switch on.
type FaultConfig struct {
	// ClosedInterval selects from <= t <= to instead of from <= t < to.
	ClosedInterval bool `yaml:"closedInterval" json:"closedInterval"`
	// LocalTime is a UTC offset such as "+03:00": windows are read and
	// timestamps written in that local time instead of UTC.
	LocalTime string `yaml:"localTime" json:"localTime"`
	// ISOTimestamps writes 2006-01-02T15:04:05Z instead of 2006-01-02 15:04:05.
	ISOTimestamps bool `yaml:"isoTimestamps" json:"isoTimestamps"`
	// PlusNotDecoded treats '+' in the query literally, so from=2020-10-10+07:00:00 is a 400.
	PlusNotDecoded bool `yaml:"plusNotDecoded" json:"plusNotDecoded"`
	// DecreasingTimestamps writes, for rows changed after creation, a cursor
	// earlier than the row's creation timestamp.
	DecreasingTimestamps bool `yaml:"decreasingTimestamps" json:"decreasingTimestamps"`
	// MissingColumn drops a required column, as "entity.column" (e.g. users.registered_at).
	MissingColumn string `yaml:"missingColumn" json:"missingColumn"`
	// LateRows makes a change visible only this long (Go duration) after its
	// timestamp, so a window pulled right after it closes misses rows.
	LateRows string `yaml:"lateRows" json:"lateRows"`
	// DuplicateRows writes about one row in seven twice in the same response.
	DuplicateRows bool `yaml:"duplicateRows" json:"duplicateRows"`
}

func newConfig() any {
	return &Config{
		Auth:      AuthConfig{Type: "basic", Username: "intarget", Password: "sandbox-password"},
		MaxWindow: "744h",
		World: WorldConfig{PlayersPerHour: 3, LoginsPerHour: 6, TransactionsPerHour: 5,
			GameSessionsPerHour: 4, BetsPerHour: 3, EventsPerHour: 2, TournamentEveryHours: 6},
	}
}

// maxWindow returns the parsed MaxWindow (validated before use).
func (c *Config) maxWindow() time.Duration {
	d, _ := time.ParseDuration(c.MaxWindow)
	return d
}

// localOffset returns the LocalTime fault's offset in seconds.
func (f *FaultConfig) localOffset() int {
	if f.LocalTime == "" {
		return 0
	}
	t, _ := time.Parse("-07:00", f.LocalTime)
	_, off := t.Zone()
	return off
}

func (f *FaultConfig) lateBy() time.Duration {
	d, _ := time.ParseDuration(f.LateRows)
	return d
}

// Validate reports every unusable value with a hint.
func (c *Config) Validate() []scenario.Problem {
	var ps []scenario.Problem
	switch c.Auth.Type {
	case "basic":
		if c.Auth.Username == "" || c.Auth.Password == "" {
			ps = append(ps, scenario.Problemf("auth", "set auth.username and auth.password", "basic auth needs a username and a password"))
		}
	case "header":
		if c.Auth.Header == "" || c.Auth.Token == "" {
			ps = append(ps, scenario.Problemf("auth", "e.g. header: X-Api-Key, token: secret", "header auth needs auth.header and auth.token"))
		}
	case "none":
	default:
		ps = append(ps, scenario.Problemf("auth.type", scenario.SuggestOneOf(c.Auth.Type, []string{"basic", "header", "none"}), "unknown auth type %q", c.Auth.Type))
	}
	if d, err := time.ParseDuration(c.MaxWindow); err != nil || d <= 0 {
		ps = append(ps, scenario.Problemf("maxWindow", "a Go duration such as 744h", "maxWindow %q is not a positive duration", c.MaxWindow))
	}
	w := c.World
	if w.Start != "" {
		if st, err := time.Parse(time.RFC3339, w.Start); err != nil {
			ps = append(ps, scenario.Problemf("world.start", "an RFC 3339 instant such as 2026-01-01T00:00:00Z", "world.start %q is not RFC 3339", w.Start))
		} else if st.Before(minWorldStart) || !st.Before(maxWorldStart) {
			ps = append(ps, scenario.Problemf("world.start", "an instant from "+minWorldStart.Format(time.RFC3339)+" up to (not including) "+
				maxWorldStart.Format(time.RFC3339)+", such as the default "+DefaultWorldStart,
				"world.start %q is outside the years 1970 to 2199 (a typo for a recent year?)", w.Start))
		} else if w.Days > 0 {
			ps = append(ps, scenario.Problemf("world.days", `set world.start (a fixed beginning) or world.days (relative to the clock), and the other to "" / 0`,
				"world.start %q and world.days %d both say where history begins", w.Start, w.Days))
		}
	}
	if w.Days < 0 || w.Days > maxWorldDays {
		ps = append(ps, scenario.Problemf("world.days", fmt.Sprintf("between 0 and %d (about 54 years); for a fixed beginning set world.start", maxWorldDays),
			"world.days is %d", w.Days))
	}
	for name, v := range map[string]int{"playersPerHour": w.PlayersPerHour, "loginsPerHour": w.LoginsPerHour,
		"transactionsPerHour": w.TransactionsPerHour, "gameSessionsPerHour": w.GameSessionsPerHour,
		"betsPerHour": w.BetsPerHour, "eventsPerHour": w.EventsPerHour} {
		if v < 0 || v > maxPerHour {
			ps = append(ps, scenario.Problemf("world."+name, fmt.Sprintf("between 0 and %d", maxPerHour), "world.%s is %d", name, v))
		}
	}
	if w.TournamentEveryHours < 1 {
		ps = append(ps, scenario.Problemf("world.tournamentEveryHours", "at least 1", "world.tournamentEveryHours is %d", w.TournamentEveryHours))
	}
	f := c.Faults
	if f.LocalTime != "" {
		if _, err := time.Parse("-07:00", f.LocalTime); err != nil {
			ps = append(ps, scenario.Problemf("faults.localTime", "an offset such as +03:00", "faults.localTime %q is not a UTC offset", f.LocalTime))
		}
	}
	if f.LateRows != "" {
		if d, err := time.ParseDuration(f.LateRows); err != nil || d <= 0 {
			ps = append(ps, scenario.Problemf("faults.lateRows", "a Go duration such as 15m", "faults.lateRows %q is not a positive duration", f.LateRows))
		}
	}
	if f.MissingColumn != "" {
		ent, col, _ := strings.Cut(f.MissingColumn, ".")
		e, ok := contract.Lookup(ent)
		fd, fok := contract.Field{}, false
		if ok {
			fd, fok = e.Field(col)
		}
		if !fok || !fd.Required && !fd.Added {
			ps = append(ps, scenario.Problemf("faults.missingColumn", scenario.SuggestOneOf(f.MissingColumn, requiredColumns()), "faults.missingColumn %q is not a required column", f.MissingColumn))
		}
	}
	return ps
}

// DefaultWorldStart is where generated history begins unless world.start or
// world.days says otherwise: early enough to hold InTarget's documented
// example window (2020-10-10 07:00-08:00), and fixed, so ids and rows do not
// depend on when the sandbox was started.
const DefaultWorldStart = "2020-01-01T00:00:00Z"

// world.start must lie in [minWorldStart, maxWorldStart) and world.days be
// at most maxWorldDays. The hour arithmetic works for any instant; the
// bounds catch typos that would otherwise give an empty world without a
// word: a start in 1026 or 0026 (history before the Unix epoch is no
// operator's), or in 3026 (no window would hold data for a thousand years).
var (
	minWorldStart = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxWorldStart = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

const maxWorldDays = 20000

// requiredColumns lists every "entity.column" faults.missingColumn may name.
func requiredColumns() []string {
	var out []string
	for _, e := range contract.Entities {
		for _, f := range e.Fields {
			if f.Required || f.Added {
				out = append(out, e.Name+"."+f.Name)
			}
		}
	}
	return out
}

// maxPerHour bounds ids: an entity's id is bucket*maxPerHour+index+1.
const maxPerHour = 100000
