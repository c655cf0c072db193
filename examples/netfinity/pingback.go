package netfinity

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// Pingback is one status change of a message, as Netfinity POSTs it to the
// service's callback URL.
type Pingback struct {
	UUID string `json:"uuid"`
	// ID is SMS.ID as sent, nil when the message had none.
	ID      *string `json:"id"`
	Service string  `json:"service"` // sms.notification
	// Timestamp is "YYYY-MM-DD HH:MM:SS".
	Timestamp string `json:"timestamp"`
	Payload   struct {
		Status Status `json:"status"`
		// Meta carries a voucher with 301 (delayed for insufficient funds).
		Meta *struct {
			Voucher *struct {
				UUID    string `json:"uuid"`
				Expires string `json:"expires"`
			} `json:"voucher"`
		} `json:"meta,omitempty"`
	} `json:"payload"`
}

// Status is a processing or delivery status.
type Status struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// The statuses a message ends in. 201 (queued) ends processing but delivery
// statuses follow it; 202, 203 and 301 are on the way.
const (
	StatusDelivered           = 204
	StatusRejectedFunds       = 400
	StatusRejectedFlood       = 401
	StatusRejectedDestination = 501
	StatusInternalError       = 502
	StatusRemoteNetworkFailed = 503
)

// Final reports whether no status follows this one.
func (s Status) Final() bool {
	switch s.Code {
	case StatusDelivered, StatusRejectedFunds, StatusRejectedFlood, StatusRejectedDestination,
		StatusInternalError, StatusRemoteNetworkFailed:
		return true
	}
	return false
}

// maxPingbackBytes bounds what the receiver reads; a pingback is a few
// hundred bytes.
const maxPingbackBytes = 64 << 10

// PingbackHandler is the receiver for the service's callback URL. It decodes
// each pingback and passes it to handle, then confirms it the way Netfinity
// requires: 200 with JSON that contains the uuid. Anything else counts as a
// failed attempt that Netfinity retries (three times, three seconds apart), so
// when handle returns an error (say, the database is down) the handler answers
// 503 and the pingback comes again. handle must therefore accept a pingback it
// has seen before. A body that is not a pingback gets 400.
func PingbackHandler(handle func(context.Context, Pingback) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "pingbacks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		var p Pingback
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPingbackBytes))
		if err != nil || json.Unmarshal(data, &p) != nil || p.UUID == "" {
			http.Error(w, "not a Netfinity pingback", http.StatusBadRequest)
			return
		}
		if err := handle(r.Context(), p); err != nil {
			http.Error(w, "not stored, send it again: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"uuid": p.UUID})
	})
}
