package netrefer

import (
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
)

// ingestKinds maps each ingestion operation to its event type.
var ingestKinds = map[string]kind{
	"ingestRegistrations":      kRegistration,
	"ingestCustomerUpdates":    kCustomerUpdate,
	"ingestDeposits":           kDeposit,
	"ingestWithdrawals":        kWithdrawal,
	"ingestActivities":         kActivity,
	"ingestAdjustments":        kAdjustment,
	"ingestCorrections":        kCorrection,
	"ingestDepositCorrections": kDepositCorrection,
}

// IngestResponse is the body of 200, 207 and per-event 400 answers.
type IngestResponse struct {
	Received int           `json:"received"`
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Results  []EventResult `json:"results"`
}

// EventResult is the outcome of one event, in request order.
type EventResult struct {
	Index   int    `json:"index"`
	EventID string `json:"eventId,omitempty"`
	Status  string `json:"status"`
	// InterpretedAs names what an accepted event did when that differs from
	// the endpoint's event type (a re-sent deposit with amount 0 is a
	// Chargeback; a re-sent activity is a Correction or a BetVoid).
	InterpretedAs string       `json:"interpretedAs,omitempty"`
	Errors        []EventError `json:"errors,omitempty"`
}

func ingestHandler(k kind) sandbox.Handler {
	return func(c *sandbox.Call) {
		s := c.State.(*state)
		// Checked before the payload is read: a payload in progress may
		// take the count past the limit, by at most limits.maxEvents.
		if limit, n := s.cfg.Limits.MaxStoredEvents, s.stored.Load(); n >= int64(limit) {
			s.refused.Add(1)
			s.putMeta()
			c.W.Header().Set(sandbox.HeaderHint, fmt.Sprintf("the sandbox stores at most %d events per namespace (netrefer.limits.maxStoredEvents) "+
				"and drops none, since later answers depend on them; POST /__sandbox/reset empties this namespace, or raise the limit", limit))
			writeAPIM(c, http.StatusInsufficientStorage, fmt.Sprintf("The payload was not processed: this namespace stores %d events, the most the sandbox keeps.", n))
			return
		}
		cl := s.keys[subscriptionKey(c.R)]
		status, body := s.ingest(cl, k, c.R.Header.Get("Content-Type"), c.Body, c.Now())
		if res, ok := body.(IngestResponse); ok && res.Accepted > 0 {
			s.stored.Add(int64(res.Accepted))
			s.putMeta()
		}
		c.JSON(status, body)
	}
}

// ingest processes one payload for a client and returns the status and body.
func (s *state) ingest(cl *client, k kind, contentType string, payload []byte, now time.Time) (int, any) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		shown := contentType
		if shown == "" {
			shown = "none"
		}
		return http.StatusUnsupportedMediaType, apimError{StatusCode: 415,
			Message: fmt.Sprintf("Unsupported content type '%s'; send the events as application/json.", shorten(shown))}
	}
	raws, perr := splitPayload(payload, s.cfg.Limits.MaxEvents)
	if perr != nil {
		return http.StatusBadRequest, apimError{StatusCode: 400, Message: perr.msg}
	}
	events := make([]event, len(raws))
	for i, raw := range raws {
		e := &events[i]
		e.decode(k, raw, i)
		if e.EventType != "" && e.EventType != k.String() {
			return http.StatusBadRequest, apimError{StatusCode: 400, Message: fmt.Sprintf(
				"JSON with multiple structures is not processed: event %d is a '%s' event but this endpoint takes %s events.", i, shorten(e.EventType), k)}
		}
		e.checkStatic(cl.brands, now)
	}
	res := IngestResponse{Received: len(events), Results: make([]EventResult, len(events))}
	st := cl.store
	// An eventId is taken once an event carrying it is accepted: a copy
	// after a rejected event is judged on its own, one after an accepted
	// event is DI-1006 (DI-1005 when accepted in an earlier payload).
	acceptedAt := make(map[string]int, len(events))
	st.mu.Lock()
	for i := range events {
		e := &events[i]
		r := &res.Results[i]
		r.Index, r.EventID = i, e.EventID
		if e.EventID != "" && e.ok(fEventID) {
			if first, dup := acceptedAt[e.EventID]; dup {
				e.fail(CodeDuplicateInBatch, fEventID, "eventId '%s' appears more than once in this payload (first accepted at index %d).", shorten(e.EventID), first)
			}
		}
		var out outcome
		if len(e.errs) == 0 {
			if out = st.apply(e); len(e.errs) == 0 {
				acceptedAt[e.EventID] = i
			}
		} else if e.EventID != "" && e.ok(fEventID) {
			if _, done := st.processed[e.EventID]; done {
				e.fail(CodeAlreadyProcessed, fEventID, "eventId '%s' was already processed.", shorten(e.EventID))
			}
		}
		if len(e.errs) > 0 {
			r.Status, r.Errors = "Rejected", e.errs
			res.Rejected++
			continue
		}
		r.Status = "Accepted"
		if string(out) != k.String() {
			r.InterpretedAs = string(out)
		}
		res.Accepted++
	}
	st.mu.Unlock()
	switch {
	case res.Rejected == 0:
		return http.StatusOK, res
	case res.Accepted == 0:
		return http.StatusBadRequest, res
	}
	return http.StatusMultiStatus, res
}
