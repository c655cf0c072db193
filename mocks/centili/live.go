package centili

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/scenario"
)

// maxAdminBody caps the body of the live-change endpoints: a pool top-up is
// a few dozen bytes.
const maxAdminBody = 64 << 10

// poolTopUp is the body of POST /__sandbox/centili/pools.
type poolTopUp struct {
	ServiceKey string `yaml:"serviceKey"`
	Operator   string `yaml:"operator"`
	// AddAmount (MB) is added to the pool's totalAmount.
	AddAmount int64 `yaml:"addAmount"`
	// ExpirationDate picks the pool with that expiration, or sets the
	// expiration of the pool it creates.
	ExpirationDate string `yaml:"expirationDate"`
}

// livePool is the answer of POST /__sandbox/centili/pools: the pool after
// the change, as GET /__sandbox/state/centili shows it.
type livePool struct {
	ServiceKey string `json:"serviceKey"`
	poolView
	// Created is true when the service had no such pool before.
	Created bool `json:"created"`
}

// adminPools serves POST /__sandbox/centili/pools: it tops up a pool of the
// namespace's running world, or adds one, without a reset, so that gifts in
// flight, transactions and sessions are kept. The scenario itself is not
// changed: a reset returns to its pools. The change is made under the
// namespace's reset lock (Namespace.Change), so a reset at the same time
// cannot make it land in a world already replaced.
func adminPools(ns *sandbox.Namespace, w http.ResponseWriter, r *http.Request) {
	data, ok := sandbox.ReadAdminDocument(w, r, maxAdminBody)
	if !ok {
		return
	}
	var in poolTopUp
	probs := scenario.DecodeValue("request body", data, &in)
	var out livePool
	if len(probs) == 0 {
		err := ns.Change("centili", func(st any) {
			out, probs = st.(*State).topUp(in, ns.Clock().Now())
		})
		if err != nil {
			sandbox.WriteChangeError(w, ns, "centili", err)
			return
		}
	}
	if len(probs) > 0 {
		sandbox.WriteProblems(w, http.StatusBadRequest, "Invalid pool change",
			fmt.Sprintf("the request has %d problem(s); nothing was changed", len(probs)), probs)
		return
	}
	body, _ := json.MarshalIndent(out, "", "  ")
	sandbox.WriteJSON(w, http.StatusOK, append(body, '\n'))
}

// topUp applies a pool change under the state lock, the same lock every
// assignment holds while it checks and takes a balance: a gift sees the
// pool wholly before or wholly after the top-up, and the pool's assigned
// amount never exceeds its total. Fields are checked with the scenario
// file's rules.
func (s *State) topUp(in poolTopUp, now time.Time) (livePool, []scenario.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var probs []scenario.Problem
	add := func(p *scenario.Problem) {
		if p != nil {
			probs = append(probs, *p)
		}
	}
	sv := s.services[in.ServiceKey]
	if sv == nil {
		p := scenario.Problemf("serviceKey", scenario.SuggestOneOf(in.ServiceKey, s.order), "no service %q", in.ServiceKey)
		if in.ServiceKey == "" {
			p = scenario.Problemf("serviceKey", "e.g. "+firstOr(s.order, "3586a2363bcd51a2b3c4d5f34918263a"), "serviceKey is missing")
		}
		add(&p)
	}
	if p := checkOperator("operator", in.Operator, s.cfg.operatorCodes()); p != nil {
		add(p)
	} else if sv != nil {
		add(packageProblem(sv, in.Operator))
	}
	if in.AddAmount <= 0 {
		add(&scenario.Problem{Path: "addAmount", Hint: "MB to add, e.g. 1000", Message: fmt.Sprintf("addAmount must be positive, got %d", in.AddAmount)})
	}
	var exp time.Time
	if in.ExpirationDate != "" {
		if p := checkExpiration("expirationDate", in.ExpirationDate); p != nil {
			add(p)
		} else {
			exp, _ = parseTime(in.ExpirationDate)
			// A top-up never goes into a pool no gift can use: an
			// expiration date already past is refused, whether it names an
			// existing pool or a new one.
			if (&pool{expires: exp}).expired(now) {
				add(&scenario.Problem{Path: "expirationDate", Hint: fmt.Sprintf("give a date after sandbox now (%s), or leave it out to top up the live pool", now.UTC().Format(timeLayout)),
					Message: fmt.Sprintf("expirationDate %q is in the past; a pool expiring then could never be used", in.ExpirationDate)})
			}
		}
	}
	if len(probs) > 0 {
		return livePool{}, probs
	}
	// Without a date, the operator's live pool that lives longest is topped
	// up (an expired one is skipped: gifts could not use the amount); with
	// one, the pool expiring then.
	var target *pool
	for _, p := range sv.pools {
		if p.operator != in.Operator || p.expired(now) {
			continue
		}
		if in.ExpirationDate != "" && !p.expires.Equal(exp) {
			continue
		}
		if target == nil || p.expires.After(target.expires) {
			target = p
		}
	}
	created := target == nil
	if created {
		if in.ExpirationDate == "" {
			exp = now.UTC().Truncate(time.Second).AddDate(1, 0, 0)
		}
		target = &pool{operator: in.Operator, expires: exp}
		sv.pools = append(sv.pools, target)
		sort.SliceStable(sv.pools, func(i, j int) bool { return sv.pools[i].expires.Before(sv.pools[j].expires) })
	}
	if target.total > math.MaxInt64-in.AddAmount {
		return livePool{}, []scenario.Problem{{Path: "addAmount", Hint: "add less", Message: fmt.Sprintf("totalAmount %d + %d would overflow", target.total, in.AddAmount)}}
	}
	target.total += in.AddAmount
	s.putPoolsLocked(sv)
	return livePool{ServiceKey: sv.key, poolView: target.view(now), Created: created}, nil
}

// packageProblem refuses a pool on an operator the service sells no
// package for: every gift there fails UNSUPPORTED_OPERATOR whatever the
// pool holds, so the top-up would answer 200 and change nothing a client
// sees. Packages are not invented here (their amounts are the service's
// offer); PATCH /__sandbox/scenario adds one.
func packageProblem(sv *service, operator string) *scenario.Problem {
	var ops []string
	for _, pk := range sv.packages {
		if pk.Operator == operator {
			return nil
		}
		if !slices.Contains(ops, pk.Operator) {
			ops = append(ops, pk.Operator)
		}
	}
	hint := "the service has no packages; add one under centili.services[].packages with PATCH /__sandbox/scenario (which resets the namespace)"
	if len(ops) > 0 {
		hint = fmt.Sprintf("its packages are on %s; for %s add a package with PATCH /__sandbox/scenario (which resets the namespace)", strings.Join(ops, ", "), operator)
	}
	return &scenario.Problem{Path: "operator", Hint: hint,
		Message: fmt.Sprintf("service %s sells no package on %s, so no gift could use the pool", sv.key, operator)}
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
