package centili

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
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
// changed: a reset returns to its pools.
func adminPools(ns *sandbox.Namespace, w http.ResponseWriter, r *http.Request) {
	st, ok := ns.State("centili")
	if !ok {
		sandbox.WriteProblem(w, http.StatusNotFound, "No Centili", "the centili provider is not mounted")
		return
	}
	data, err := scenario.ReadAll(r.Body, maxAdminBody)
	if err != nil {
		sandbox.WriteProblem(w, http.StatusRequestEntityTooLarge, "Body too large", err.Error())
		return
	}
	var in poolTopUp
	probs := scenario.DecodeValue("request body", data, &in)
	var out livePool
	if len(probs) == 0 {
		out, probs = st.(*State).topUp(in, ns.Clock().Now())
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
	sv, ok := s.services[in.ServiceKey]
	if !ok {
		p := scenario.Problemf("serviceKey", scenario.SuggestOneOf(in.ServiceKey, s.order), "no service %q", in.ServiceKey)
		if in.ServiceKey == "" {
			p = scenario.Problemf("serviceKey", "e.g. "+firstOr(s.order, "3586a2363bcd51a2b3c4d5f34918263a"), "serviceKey is missing")
		}
		add(&p)
	}
	add(checkOperator("operator", in.Operator, s.cfg.operatorCodes()))
	if in.AddAmount <= 0 {
		add(&scenario.Problem{Path: "addAmount", Hint: "MB to add, e.g. 1000", Message: fmt.Sprintf("addAmount must be positive, got %d", in.AddAmount)})
	}
	var exp time.Time
	if in.ExpirationDate != "" {
		if p := checkExpiration("expirationDate", in.ExpirationDate); p != nil {
			add(p)
		} else {
			exp, _ = parseTime(in.ExpirationDate)
		}
	}
	if len(probs) > 0 {
		return livePool{}, probs
	}
	// Without a date, the pool of the operator that lives longest is topped
	// up; with one, the pool expiring then.
	var target *pool
	for _, p := range sv.pools {
		if p.operator != in.Operator {
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
	return livePool{ServiceKey: sv.key, poolView: target.view(now), Created: created}, nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
