package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	"github.com/provider-sandbox/provider-sandbox/internal/sandboxtest"
)

// wantEvent fails unless ev is named name and its data equals want as JSON.
// latencyMicros, which no test can know, is checked to be present and
// left out of the comparison.
func wantEvent(t *testing.T, ev sandboxtest.Event, name, want string) {
	t.Helper()
	if ev.Name != name {
		t.Fatalf("event %q (%s), want %q", ev.Name, ev.Data, name)
	}
	var got, exp map[string]any
	if err := json.Unmarshal(ev.Data, &got); err != nil {
		t.Fatalf("event data is not a JSON object: %s", ev.Data)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if _, ok := exp["latencyMicros"]; !ok {
		if l, ok := got["latencyMicros"].(float64); name == "request" && (!ok || l < 0) {
			t.Errorf("latencyMicros = %v, want a number ≥ 0", got["latencyMicros"])
		}
		delete(got, "latencyMicros")
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if !bytes.Equal(g, e) {
		t.Fatalf("%s event\n got: %s\nwant: %s", name, g, e)
	}
}

func requestEvent(id, ns, op, method, path string, status int, faults string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "time": "2026-01-02T03:04:05Z", "namespace": ns, "provider": "echo",
		"operation": op, "method": method, "path": path, "status": status, "faults": json.RawMessage(faults)})
	return string(b)
}

func TestEventStreamHeaders(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	s := h.Events("")
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := s.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if c := s.Comment(); c != "events of namespace default" {
		t.Errorf("first comment %q", c)
	}
	// Under a namespace prefix the stream is that namespace's.
	if c := h.Events("ci-9").Comment(); c != "events of namespace ci-9" {
		t.Errorf("first comment under /ns/ci-9: %q", c)
	}
}

// TestEventStreamCarriesItsNamespaceOnly: a request in one namespace
// reaches that namespace's streams and no other. Streams deliver in order,
// so a stray event from an earlier request elsewhere would come first.
func TestEventStreamCarriesItsNamespaceOnly(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	a := h.Events("a")
	def := h.Events("")

	h.Do("POST", "/ns/b/echo/items", sandboxtest.JSONBody(`{"name":"b","qty":1}`)).WantStatus(201)
	res := h.Do("POST", "/ns/a/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":2}`)).WantStatus(201)
	wantEvent(t, a.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), "a", "createItem", "POST", "/ns/a/echo/items", 201, `[]`))

	// Admin requests are not provider exchanges: no event.
	h.Admin("GET", "a", "/requests", nil, nil)
	res = h.Do("GET", "/echo/itemz", nil).WantStatus(404)
	wantEvent(t, def.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), "default", "", "GET", "/echo/itemz", 404, `[]`))

	res = h.Do("GET", "/ns/a/echo/items", nil).WantStatus(200)
	wantEvent(t, a.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), "a", "listItems", "GET", "/ns/a/echo/items", 200, `[]`))
}

// TestEventStreamAnnouncesAdminChanges: clock, fault and scenario changes
// each send their event; a reset keeps the stream open.
func TestEventStreamAnnouncesAdminChanges(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const ns = "x"
	s := h.Events(ns)

	h.Admin("POST", ns, "/clock", map[string]any{"advance": "90s"}, nil)
	wantEvent(t, s.Next(), "clock", `{"now":"2026-01-02T03:05:35Z","frozen":true}`)
	h.Admin("POST", ns, "/clock", map[string]any{"set": "2026-01-02T03:04:05Z"}, nil)
	wantEvent(t, s.Next(), "clock", `{"now":"2026-01-02T03:04:05Z","frozen":true}`)

	rule := map[string]any{"id": "down", "match": map[string]any{"provider": "echo"}, "respond": map[string]any{"status": 503}}
	if st := h.Admin("POST", ns, "/faults", rule, nil); st != 201 {
		t.Fatalf("POST /faults: %d", st)
	}
	wantEvent(t, s.Next(), "faults", `{"count":1}`)
	res := h.Do("GET", "/ns/x/echo/items", nil).WantStatus(503)
	wantEvent(t, s.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), ns, "listItems", "GET", "/ns/x/echo/items", 503, `["down"]`))
	if st := h.Admin("DELETE", ns, "/faults/down", nil, nil); st != 204 {
		t.Fatalf("DELETE /faults/down: %d", st)
	}
	wantEvent(t, s.Next(), "faults", `{"count":0}`)
	h.Admin("POST", ns, "/faults", rule, nil)
	wantEvent(t, s.Next(), "faults", `{"count":1}`)
	h.Admin("DELETE", ns, "/faults", nil, nil)
	wantEvent(t, s.Next(), "faults", `{"count":0}`)
	// A refused rule changes nothing and says nothing.
	if st := h.Admin("POST", ns, "/faults", map[string]any{"respond": map[string]any{"status": 99}}, nil); st != 400 {
		t.Fatalf("invalid rule: %d", st)
	}

	renamed := strings.Replace(echoScenario, "name: echo-test", "name: renamed", 1)
	h.Do("PUT", "/ns/x/__sandbox/scenario", sandboxtest.RawBody("application/yaml", []byte(renamed))).WantStatus(200)
	wantEvent(t, s.Next(), "scenario", `{"name":"renamed"}`)
	h.Do("PATCH", "/ns/x/__sandbox/scenario", sandboxtest.RawBody("application/merge-patch+json", []byte(`{"name":"patched"}`))).WantStatus(200)
	wantEvent(t, s.Next(), "scenario", `{"name":"patched"}`)
	h.Admin("POST", ns, "/reset", nil, nil)
	wantEvent(t, s.Next(), "scenario", `{"name":"patched"}`)

	res = h.Do("GET", "/ns/x/echo/items", nil).WantStatus(200)
	wantEvent(t, s.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), ns, "listItems", "GET", "/ns/x/echo/items", 200, `[]`))
	if n := s.Pending(); n != 0 {
		t.Errorf("%d unexpected events left", n)
	}
}

func TestEventStreamKeepalive(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	h.Server.SetStreamSettings(0, 5*time.Millisecond, 0)
	s := h.Events("")
	s.Comment() // the greeting
	if c := s.Comment(); c != "keepalive" {
		t.Errorf("comment %q, want keepalive", c)
	}
}

// TestEventStreamThroughAccessLog: with an access log the response writer
// is wrapped; the stream must still flush each event, and is logged once
// when it ends.
func TestEventStreamThroughAccessLog(t *testing.T) {
	t.Parallel()
	sc, probs := sandbox.LoadScenario("echo", []byte(echoScenario))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var mu sync.Mutex
	var logged []sandbox.Exchange
	srv, err := sandbox.New(sandbox.Config{Scenario: sc, AccessLog: func(e sandbox.Exchange) {
		mu.Lock()
		logged = append(logged, e)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.CloseStreams(); hs.Close(); srv.Close() })
	h := &sandboxtest.Harness{T: t, Server: srv, HTTP: hs, URL: hs.URL, Client: hs.Client()}

	s := h.Events("")
	res := h.Do("GET", "/echo/items", nil).WantStatus(200)
	wantEvent(t, s.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), "default", "listItems", "GET", "/echo/items", 200, `[]`))
	s.Close()
	waitUntil(t, "the stream's access log record", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range logged {
			if e.Path == "/__sandbox/events" {
				if e.Status != 200 || e.Provider != "admin" || e.Operation != "/events" {
					t.Errorf("stream logged as %+v", e)
				}
				return true
			}
		}
		return false
	})
}

// waitUntil polls cond; it fails after 10 s (a bound, not a latency claim).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stallListener hands out connections whose writes block while stalled is
// set, as a subscriber that stops reading does once its TCP window is full.
type stallListener struct {
	net.Listener
	stalled *atomic.Bool
	release chan struct{}
}

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return stallConn{Conn: c, l: l}, nil
}

type stallConn struct {
	net.Conn
	l stallListener
}

func (c stallConn) Write(p []byte) (int, error) {
	if c.l.stalled.Load() {
		<-c.l.release
	}
	return c.Conn.Write(p)
}

type statsView struct {
	Now       string `json:"now"`
	Providers map[string]struct {
		Requests          int `json:"requests"`
		RequestsPerMinute int `json:"requestsPerMinute"`
		Errors            int `json:"errors"`
		ServerErrors      int `json:"serverErrors"`
		PendingCallbacks  int `json:"pendingCallbacks"`
	} `json:"providers"`
	Subscribers   int `json:"subscribers"`
	DroppedEvents int `json:"droppedEvents"`
}

func stats(t *testing.T, h *sandboxtest.Harness, ns string) statsView {
	t.Helper()
	var v statsView
	if st := h.Admin("GET", ns, "/stats", nil, &v); st != 200 {
		t.Fatalf("GET /stats: %d", st)
	}
	return v
}

// TestStalledSubscriberDropsEventsAndNeverBlocksRequests: a subscriber
// whose socket takes nothing more must not hold up a single request; the
// events it cannot take are dropped, counted in /stats, and reported with
// one "dropped" event once it reads again. Every event is either received
// or counted as dropped.
func TestStalledSubscriberDropsEventsAndNeverBlocksRequests(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const buffer, sent = 8, 40
	h.Server.SetStreamSettings(buffer, 0, time.Millisecond)
	var stalled atomic.Bool
	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	streamSrv := httptest.NewUnstartedServer(h.Server)
	streamSrv.Listener.Close()
	streamSrv.Listener = stallListener{Listener: ln, stalled: &stalled, release: release}
	streamSrv.Start()
	var once sync.Once
	unstall := func() { once.Do(func() { stalled.Store(false); close(release) }) }
	t.Cleanup(func() { unstall(); streamSrv.Close() })
	sh := &sandboxtest.Harness{T: t, Server: h.Server, HTTP: streamSrv, URL: streamSrv.URL, Client: streamSrv.Client()}
	s := sh.Events("slow")
	s.Comment() // the stream is open and its first write went through
	stalled.Store(true)

	for i := 0; i < sent; i++ {
		h.Do("GET", "/ns/slow/echo/items", nil).WantStatus(200)
	}
	st := stats(t, h, "slow")
	if st.Providers["echo"].Requests != sent {
		t.Fatalf("requests = %d, want %d", st.Providers["echo"].Requests, sent)
	}
	// The writer holds at most one queue's worth, the queue another.
	if st.DroppedEvents < sent-2*buffer || st.DroppedEvents > sent {
		t.Fatalf("droppedEvents = %d, want between %d and %d", st.DroppedEvents, sent-2*buffer, sent)
	}

	unstall()
	received := 0
	for {
		ev := s.Next()
		if ev.Name == "request" {
			received++
			continue
		}
		wantEvent(t, ev, "dropped", `{"count":`+itoa(st.DroppedEvents)+`}`)
		break
	}
	if received+st.DroppedEvents != sent {
		t.Errorf("received %d + dropped %d, want %d in all", received, st.DroppedEvents, sent)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestStreamEndsWhenNamespaceIsDeleted; a reset (above) keeps it.
func TestStreamEndsWhenNamespaceIsDeleted(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	s := h.Events("gone")
	s.Comment()
	if st := h.Admin("DELETE", "", "/namespaces/gone", nil, nil); st != 204 {
		t.Fatalf("DELETE: %d", st)
	}
	if !s.Ended() {
		t.Fatal("stream still open after its namespace was deleted")
	}
}

// TestOpenStreamKeepsNamespaceFromEviction: a dashboard watching a
// namespace is a use of it; once it disconnects the namespace idles as any
// other.
func TestOpenStreamKeepsNamespaceFromEviction(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	s := h.Events("watched")
	s.Comment()
	h.Server.AgeNamespace("watched", 24*time.Hour)
	if n := h.Server.EvictIdle(); n != 0 {
		t.Fatalf("evicted %d namespaces with a stream open", n)
	}
	s.Close()
	waitUntil(t, "eviction after the stream closed", func() bool {
		h.Server.AgeNamespace("watched", 24*time.Hour)
		return h.Server.EvictIdle() == 1
	})
}

// TestStatsAfterKnownRequests: exact counters after a known sequence, per
// namespace, started again by a reset but not by clearing the journal.
func TestStatsAfterKnownRequests(t *testing.T) {
	t.Parallel()
	h := sandboxtest.New(t, echoScenario)
	const ns = "st"
	h.Do("POST", "/ns/st/echo/items", sandboxtest.JSONBody(`{"name":"a","qty":1}`)).WantStatus(201)
	h.Do("POST", "/ns/st/echo/items", sandboxtest.JSONBody(`{"name":"b","qty":2}`)).WantStatus(201)
	h.Do("GET", "/ns/st/echo/items", nil).WantStatus(200)
	h.Do("GET", "/ns/st/echo/itemz", nil).WantStatus(404)
	h.Do("POST", "/ns/st/echo/items", sandboxtest.JSONBody(`{"name":"c"}`)).WantStatus(400)
	h.Do("GET", "/ns/st/echo/items", nil, sandboxtest.Header("X-Block", "1")).WantStatus(403)
	h.Do("GET", "/ns/st/echo/panic", nil).WantStatus(500)
	h.Do("GET", "/echo/items", nil).WantStatus(200) // another namespace
	h.Admin("GET", ns, "/requests", nil, nil)       // admin: not counted

	s := h.Events(ns)
	s.Comment()
	got := stats(t, h, ns)
	e := got.Providers["echo"]
	if e.Requests != 7 || e.RequestsPerMinute != 7 || e.Errors != 4 || e.ServerErrors != 1 || e.PendingCallbacks != 0 {
		t.Errorf("echo stats %+v, want 7 requests, 7 per minute, 4 errors, 1 server error, 0 pending", e)
	}
	if got.Now != "2026-01-02T03:04:05Z" || got.Subscribers != 1 || got.DroppedEvents != 0 || len(got.Providers) != len(sandbox.Providers()) {
		t.Errorf("stats %+v", got)
	}
	if d := stats(t, h, "").Providers["echo"]; d.Requests != 1 || d.Errors != 0 {
		t.Errorf("default namespace stats %+v, want 1 request", d)
	}
	h.Admin("DELETE", ns, "/requests", nil, nil)
	if n := stats(t, h, ns).Providers["echo"].Requests; n != 7 {
		t.Errorf("after DELETE /requests: %d requests, want 7 (the counters are not the journal)", n)
	}
	h.Admin("POST", ns, "/reset", nil, nil)
	if e := stats(t, h, ns).Providers["echo"]; e.Requests != 0 || e.Errors != 0 || e.RequestsPerMinute != 0 {
		t.Errorf("after reset: %+v, want zeros", e)
	}
	s.Close()
	waitUntil(t, "the subscriber to leave", func() bool { return stats(t, h, ns).Subscribers == 0 })
}

// streamHandlers counts goroutines serving an event stream.
func streamHandlers() int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	return strings.Count(buf.String(), "sandbox.(*Server).getEvents")
}

// TestStreamsLeaveNoGoroutines: every way a stream ends (client
// disconnect, namespace deleted, server stopping streams) ends its
// goroutine, and a reset keeps it. Not parallel: it counts goroutines.
func TestStreamsLeaveNoGoroutines(t *testing.T) {
	before := streamHandlers()
	h := sandboxtest.New(t, echoScenario)
	var streams []*sandboxtest.EventStream
	for _, ns := range []string{"l1", "l2", "l3", "l4"} {
		s := h.Events(ns)
		s.Comment()
		streams = append(streams, s)
	}
	if n := streamHandlers() - before; n != 4 {
		t.Fatalf("%d stream goroutines, want 4", n)
	}
	streams[0].Close()
	h.Admin("DELETE", "", "/namespaces/l2", nil, nil)
	h.Admin("POST", "l3", "/reset", nil, nil)
	wantEvent(t, streams[2].Next(), "scenario", `{"name":"echo-test"}`)
	waitUntil(t, "two stream goroutines to end", func() bool { return streamHandlers()-before == 2 })
	h.Server.CloseStreams()
	waitUntil(t, "every stream goroutine to end", func() bool { return streamHandlers() == before })
	for _, s := range streams[1:] {
		if !s.Ended() {
			t.Error("a stream is still open after CloseStreams")
		}
	}
}

// TestStreamOutlivesReadTimeoutAndEndsOnShutdown: the command line's
// http.Server has a ReadTimeout, which would cancel a long request; a
// stream clears it. Shutdown ends streams first instead of waiting for them
// until its deadline.
func TestStreamOutlivesReadTimeoutAndEndsOnShutdown(t *testing.T) {
	t.Parallel()
	sc, probs := sandbox.LoadScenario("echo", []byte(echoScenario))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	srv, err := sandbox.New(sandbox.Config{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetStreamSettings(0, 40*time.Millisecond, 0)
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ReadTimeout = 20 * time.Millisecond
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Close() })
	h := &sandboxtest.Harness{T: t, Server: srv, HTTP: hs, URL: hs.URL, Client: hs.Client()}
	s := h.Events("")
	s.Comment()
	for i := 0; i < 3; i++ { // each keepalive comes after the read timeout has passed
		if c := s.Comment(); c != "keepalive" {
			t.Fatalf("comment %q", c)
		}
	}
	res := h.Do("GET", "/echo/items", nil).WantStatus(200)
	wantEvent(t, s.Next(), "request", requestEvent(res.Header.Get(sandbox.HeaderRequestID), "default", "listItems", "GET", "/echo/items", 200, `[]`))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(ctx, hs.Config); err != nil {
		t.Fatalf("Shutdown with a stream open: %v", err)
	}
	if !s.Ended() {
		t.Error("stream still open after Shutdown")
	}
}
