package callback

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Outbox is a dispatcher's deliveries as a namespace snapshot keeps them:
// the pending ones with what is needed to send them, the settled ones with
// every attempt. Restore reads it back.
type Outbox struct {
	// Seq is the last delivery number handed out (ids go on from it).
	Seq int `json:"seq"`
	// Dropped counts the settled deliveries already dropped (MaxSettled).
	Dropped    int64           `json:"dropped"`
	Deliveries []SavedDelivery `json:"deliveries"`
}

// SavedDelivery is one delivery of an Outbox.
type SavedDelivery struct {
	ID     string      `json:"id"`
	Key    string      `json:"key,omitempty"`
	URL    string      `json:"url"`
	Header http.Header `json:"headers"`
	// Body is the request body when it is JSON, else BodyText holds it.
	Body     json.RawMessage `json:"body,omitempty"`
	BodyText string          `json:"bodyText,omitempty"`
	Meta     map[string]any  `json:"meta,omitempty"`
	Policy   SavedPolicy     `json:"policy"`
	State    string          `json:"state"`
	// CreatedAt, Due (the first attempt's due time), NextAttemptAt and
	// FinishedAt are sandbox times.
	CreatedAt     time.Time  `json:"createdAt"`
	Due           time.Time  `json:"due"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
	Attempts      []Attempt  `json:"attempts"`
}

// SavedPolicy is a Policy with its durations written as Go durations.
type SavedPolicy struct {
	Retries    int    `json:"retries"`
	RetryDelay string `json:"retryDelay"`
	Timeout    string `json:"timeout"`
}

// Save returns the deliveries List shows, oldest first, for a snapshot.
// A delivery whose attempt is in flight is saved as due at that attempt:
// its result is not known yet, so a restored outbox makes it again.
func (d *Dispatcher) Save() Outbox {
	d.mu.Lock()
	defer d.mu.Unlock()
	hide := d.hiddenLocked()
	out := Outbox{Seq: d.seq, Dropped: d.dropped + int64(hide), Deliveries: make([]SavedDelivery, 0, len(d.all)-hide)}
	for _, dl := range d.all {
		if hide > 0 && dl.settled {
			hide--
			continue
		}
		sd := dl.savedLocked()
		if sd.State == StateSending {
			sd.State = StatePending
		}
		out.Deliveries = append(out.Deliveries, sd)
	}
	return out
}

// savedLocked renders a delivery as a snapshot or its record keeps it.
func (dl *delivery) savedLocked() SavedDelivery {
	v := dl.viewLocked()
	sd := SavedDelivery{ID: v.ID, Key: v.Key, URL: v.URL, Header: dl.req.Header.Clone(), Meta: v.Meta,
		Policy: SavedPolicy{Retries: dl.req.Policy.Retries, RetryDelay: dl.req.Policy.RetryDelay.String(), Timeout: dl.req.Policy.Timeout.String()},
		State:  v.State, CreatedAt: v.CreatedAt, Due: dl.due, NextAttemptAt: v.NextAttemptAt, FinishedAt: v.FinishedAt, Attempts: v.Attempts}
	if sd.Header == nil {
		sd.Header = http.Header{}
	}
	if json.Valid(dl.req.Body) {
		sd.Body = append(json.RawMessage(nil), dl.req.Body...)
	} else {
		sd.BodyText = string(dl.req.Body)
	}
	return sd
}

// Restore fills a dispatcher that has sent nothing yet with a saved
// outbox. Settled deliveries are kept as they were and never sent again;
// pending ones are scheduled on the sandbox clock at their next attempt
// (those sharing a key one after another, as before), with accept as their
// success rule. Nothing is changed when Restore fails. With Records, every
// restored delivery and the counters are written: the records then hold
// the whole outbox, as LoadRecords needs them.
func (d *Dispatcher) Restore(o Outbox, accept func(SavedDelivery) func(status int, body []byte) error) error {
	list := make([]parsedDelivery, 0, len(o.Deliveries))
	ids := map[string]bool{}
	for i, sd := range o.Deliveries {
		p, err := d.parseSaved(sd, fmt.Sprintf("deliveries[%d]", i), ids, accept)
		if err != nil {
			return err
		}
		p.dl.ord = i + 1
		list = append(list, p)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.all) > 0 || d.closed {
		return fmt.Errorf("callback: Restore needs a dispatcher that has sent nothing")
	}
	d.installLocked(list, max(o.Seq, len(list)), max(o.Dropped, 0))
	if d.rec != nil {
		d.putCountersLocked()
		for _, p := range list {
			d.putLocked(p.dl)
		}
	}
	return nil
}

// parsedDelivery is a saved delivery read back, with the due time of its
// next attempt.
type parsedDelivery struct {
	dl   *delivery
	next time.Time
}

// parseSaved reads one saved delivery; at names it in errors, ids holds
// the ids read before it (and takes its own).
func (d *Dispatcher) parseSaved(sd SavedDelivery, at string, ids map[string]bool, accept func(SavedDelivery) func(status int, body []byte) error) (parsedDelivery, error) {
	if sd.ID == "" || ids[sd.ID] {
		return parsedDelivery{}, fmt.Errorf("%s: id %q is empty or used twice", at, sd.ID)
	}
	ids[sd.ID] = true
	retryDelay, err1 := time.ParseDuration(sd.Policy.RetryDelay)
	timeout, err2 := time.ParseDuration(sd.Policy.Timeout)
	if err1 != nil || err2 != nil || sd.Policy.Retries < 0 || retryDelay < 0 || timeout < 0 {
		return parsedDelivery{}, fmt.Errorf("%s.policy: retries %d, retryDelay %q and timeout %q are not a retry policy (durations such as 30s)", at, sd.Policy.Retries, sd.Policy.RetryDelay, sd.Policy.Timeout)
	}
	body := []byte(sd.BodyText)
	if len(sd.Body) > 0 {
		body = append([]byte(nil), sd.Body...)
	}
	req := Request{Key: sd.Key, URL: sd.URL, Header: sd.Header, Body: body, Meta: sd.Meta,
		Policy: Policy{Retries: sd.Policy.Retries, RetryDelay: retryDelay, Timeout: timeout}}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	dl := &delivery{req: req, due: sd.Due,
		pub: Delivery{ID: sd.ID, Source: d.opt.Source, Key: sd.Key, Method: http.MethodPost, URL: sd.URL, Meta: sd.Meta,
			State: sd.State, CreatedAt: sd.CreatedAt, FinishedAt: sd.FinishedAt, MaxAttempts: 1 + sd.Policy.Retries,
			Attempts: append([]Attempt{}, sd.Attempts...)}}
	p := parsedDelivery{dl: dl, next: sd.Due}
	switch sd.State {
	case StateDelivered, StateFailed, StateCancelled:
		dl.settled = true
	case StatePending, StateSending:
		if len(sd.Attempts) > sd.Policy.Retries {
			return parsedDelivery{}, fmt.Errorf("%s: a pending delivery has made %d of its %d attempts already", at, len(sd.Attempts), 1+sd.Policy.Retries)
		}
		if sd.NextAttemptAt != nil {
			p.next = *sd.NextAttemptAt
		}
		dl.req.Accept = accept(sd)
	default:
		return parsedDelivery{}, fmt.Errorf("%s.state: %q is not one of pending, sending, delivered, failed, cancelled", at, sd.State)
	}
	return p, nil
}

// installLocked puts parsed deliveries, oldest first, into an empty
// outbox and schedules the pending ones on the sandbox clock (those
// sharing a key one after another: only the first of a key is armed).
func (d *Dispatcher) installLocked(list []parsedDelivery, seq int, dropped int64) {
	d.seq, d.dropped = seq, dropped
	for _, p := range list {
		dl := p.dl
		d.all = append(d.all, dl)
		if dl.settled {
			d.settled++
			continue
		}
		if dl.req.Key == "" {
			d.scheduleLocked(dl, p.next)
			continue
		}
		q := append(d.queues[dl.req.Key], dl)
		d.queues[dl.req.Key] = q
		if len(q) == 1 {
			d.scheduleLocked(dl, p.next)
		} else {
			t := dl.due
			dl.pub.State, dl.pub.NextAttemptAt = StatePending, &t
		}
	}
}
