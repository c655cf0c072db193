//go:build linux

package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/provider-sandbox/provider-sandbox/internal/sandbox"
	_ "github.com/provider-sandbox/provider-sandbox/mocks/all"
)

// The default scenario's credentials the traffic uses.
const (
	centiliService   = "3586a2363bcd51a2b3c4d5f34918263a"
	netreferTenant   = "0e0b50ac-5253-4347-b528-251b2f17cfc6"
	netreferClient   = "5a324196-7727-45fd-8ac3-1436cd541d76"
	netreferKey      = "baea25a9f0fe4687845575c07e539a9e9"
	netfinityToken   = "sandbox-netfinity-token"
	namespaceCount   = 50
	perNamespace     = 7 // requests the first round sends in each namespace
	testBudget       = 3 * time.Minute
	requestTimeout   = 15 * time.Second
	startupTimeout   = 30 * time.Second
	concurrentGroups = 8
)

// findNginx returns Debian's nginx (or SANDBOX_NGINX). Without one the test
// is skipped, except in CI (CI set), where .ci/run installs it and a missing
// one is a failure.
func findNginx(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SANDBOX_NGINX"), "/usr/sbin/nginx"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the nginx test needs nginx in CI (.ci/run installs Debian's nginx); set SANDBOX_NGINX to use another")
	}
	t.Skip("skipping: no nginx (apt-get install nginx, or set SANDBOX_NGINX)")
	return ""
}

// childProcAttr has the kernel kill a child when the test process dies, so
// that a -timeout panic (which skips cleanups) leaves no sandbox or nginx
// running, and puts it in its own process group.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// buildSandbox builds cmd/sandbox into dir, with -race when this test
// binary has it (the build then only links what go test compiled).
func buildSandbox(t *testing.T, ctx context.Context, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "sandbox")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/sandbox")...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sandbox: %v\n%s", err, out)
	}
	return bin
}

// process is a child the test started.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = childProcAttr()
	if raceEnabled {
		// A race-enabled process pauses a second when it exits; races still
		// fail it (exit status 66).
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process with SIGTERM (SIGKILL after 10 s) and waits for it.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Errorf("%s did not stop on SIGTERM within 10 s", p.name)
	}
}

var bannerURL = regexp.MustCompile(`^provider-sandbox \S+ listening on (http://\S+)`)

// startSandbox runs the binary on a free port and returns its URL, read
// from the banner's first line as .ci/run does.
func startSandbox(t *testing.T, bin string, i int) (*process, string) {
	t.Helper()
	name := fmt.Sprintf("sandbox-%d", i)
	p := start(t, name, exec.Command(bin, "--addr", "127.0.0.1:0", "--access-log=false", "--allowed-hosts", "sandbox", "--hosts"))
	deadline := time.Now().Add(startupTimeout)
	for time.Now().Before(deadline) {
		first, _, complete := strings.Cut(p.out.String(), "\n")
		if m := bannerURL.FindStringSubmatch(first); complete && m != nil {
			return p, m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", name, p.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s printed no banner within %s: %s", name, startupTimeout, p.out)
	return nil, ""
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nginxConfFor is deploy/nginx.conf with the three upstream servers replaced
// by the sandboxes' addresses and the listen port by a local one.
func nginxConfFor(t *testing.T, upstreams []string, port int) string {
	t.Helper()
	conf := nginxConf(t)
	i := 0
	conf = upstreamServer.ReplaceAllStringFunc(conf, func(line string) string {
		m := upstreamServer.FindStringSubmatch(line)
		if i >= len(upstreams) {
			t.Fatalf("nginx.conf has more upstream servers than %d", len(upstreams))
		}
		i++
		return m[1] + upstreams[i-1] + m[3]
	})
	if i != len(upstreams) {
		t.Fatalf("nginx.conf has %d upstream servers, want %d", i, len(upstreams))
	}
	return listenLine.ReplaceAllString(conf, fmt.Sprintf("${1}127.0.0.1:%d;", port))
}

// client sends requests and holds every answer to its provider's (or the
// admin API's) OpenAPI document. It reports failures with Errorf (it runs
// on several goroutines) and its callers give up on a false answer.
type client struct {
	t    *testing.T
	http *http.Client
}

func (c *client) do(method, rawURL, contentType, body string, header map[string]string) (int, []byte, bool) {
	c.t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		c.t.Error(err)
		return 0, nil, false
	}
	// A request routed by a provider's host name is checked as the path
	// it is served as (/ns/{namespace}/{mount}/...).
	checkPath := ""
	if host, ok := header["Host"]; ok {
		req.Host = host
		checkPath = header[checkPathKey]
		delete(header, "Host")
		delete(header, checkPathKey)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, rawURL, err)
		return 0, nil, false
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Errorf("%s %s: reading the answer: %v", method, rawURL, err)
		return 0, nil, false
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	if checkPath != "" {
		req.URL.Path = checkPath
	}
	if matched, err := sandbox.CheckResponse(req, resp.StatusCode, resp.Header, data); err != nil {
		c.t.Errorf("%v\nbody: %.500s", err, data)
	} else if !matched {
		c.t.Errorf("%s %s matches no operation", method, rawURL)
	}
	return resp.StatusCode, data, true
}

// json sends a request, wants status, and decodes the answer into out;
// false when any of that failed (and was reported).
func (c *client) json(want int, out any, method, rawURL, contentType, body string, header map[string]string) bool {
	c.t.Helper()
	status, data, ok := c.do(method, rawURL, contentType, body, header)
	if !ok {
		return false
	}
	if status != want {
		c.t.Errorf("%s %s: %d, want %d: %.500s", method, rawURL, status, want, data)
		return false
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Errorf("%s %s: %v: %.500s", method, rawURL, err, data)
			return false
		}
	}
	return true
}

// traffic is one namespace's first round through nginx: a Centili token
// and two gifts, a NetRefer token and a batch of two registrations, two
// Netfinity sends.
func traffic(c *client, base, ns string) bool {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	ok := c.json(200, &tok, "POST", base+"/centili/realms/api/protocol/openid-connect/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"password"}, "client_id": {"datagifting"}, "username": {"merchant@sandbox.test"},
			"password": {"sandbox-password"}}.Encode(), nil)
	for g := 1; ok && g <= 2; g++ {
		ok = c.json(200, nil, "POST", base+"/centili/datagifting/v1/service/transaction", "application/json",
			fmt.Sprintf(`{"serviceKey":%q,"msisdn":"4366124567","clientId":"%s-gift-%d","amount":100}`, centiliService, ns, g),
			map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	}
	if !ok || !c.json(200, &tok, "POST", base+"/netrefer/login/"+netreferTenant+"/oauth2/v2.0/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"password"}, "client_id": {netreferClient}, "client_secret": {"sandbox-netrefer-secret"},
			"username": {"operator@sandbox.test"}, "password": {"sandbox-password"},
			"scope": {"api://" + netreferClient + "/Events.Injestion"}}.Encode(), nil) {
		return false
	}
	var batch bytes.Buffer
	batch.WriteString("[")
	for e := 1; e <= 2; e++ {
		if e > 1 {
			batch.WriteString(",")
		}
		fmt.Fprintf(&batch, `{"eventId":"%s-reg-%d","customerId":"%s-cust-%d","brandId":1,"timestamp":"2026-01-01T00:00:00Z",`+
			`"registrationDate":"2026-01-01T00:00:00Z","countryCode":"MT","currency":"EUR","bTag":""}`, ns, e, ns, e)
	}
	batch.WriteString("]")
	ok = c.json(200, nil, "POST", base+"/netrefer/di/v1/registrations", "application/json", batch.String(),
		map[string]string{"Authorization": "Bearer " + tok.AccessToken, "Ocp-Apim-Subscription-Key": netreferKey})
	for m := 1; ok && m <= 2; m++ {
		ok = send(c, base, fmt.Sprintf("%s message %d", ns, m))
	}
	return ok
}

// checkPathKey, in a request's header map, is the path form a host-routed
// request is checked as; it is not sent.
const checkPathKey = "check-path"

// hostSend sends a Netfinity message to Netfinity's real host name through
// front, naming the namespace in X-Sandbox-Namespace (docs/hosts.md).
func hostSend(c *client, front, ns, text string) bool {
	return c.json(200, nil, "POST", front+"/v2/sms/notification/send", "application/json",
		`{"msisdn":"359881234567","text":"`+text+`"}`,
		map[string]string{"Host": "api.netfinity.bg", sandbox.HeaderNamespace: ns, checkPathKey: "/ns/" + ns + "/netfinity/v2/sms/notification/send",
			"Accept": "application/json", "Authorization": "Bearer " + netfinityToken})
}

func send(c *client, base, text string) bool {
	return c.json(200, nil, "POST", base+"/netfinity/v2/sms/notification/send", "application/json",
		`{"msisdn":"359881234567","text":"`+text+`"}`,
		map[string]string{"Accept": "application/json", "Authorization": "Bearer " + netfinityToken})
}

// livePerInstance lists the live namespaces of each instance (asked
// directly: GET /__sandbox/namespaces creates none), default left out.
func livePerInstance(c *client, urls []string) []map[string]bool {
	out := make([]map[string]bool, len(urls))
	for i, u := range urls {
		var live struct {
			Namespaces []string `json:"namespaces"`
		}
		c.json(200, &live, "GET", u+"/__sandbox/namespaces", "", "", nil)
		out[i] = map[string]bool{}
		for _, n := range live.Namespaces {
			if n != sandbox.DefaultNamespace {
				out[i][n] = true
			}
		}
	}
	return out
}

// journalOps lists the operations of a namespace's journal on one
// instance, sorted, and checks every entry names the namespace.
func journalOps(c *client, base, ns string) []string {
	var entries []struct {
		Namespace string `json:"namespace"`
		Operation string `json:"operation"`
	}
	c.json(200, &entries, "GET", base+"/ns/"+ns+"/__sandbox/requests?limit=1000", "", "", nil)
	ops := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Namespace != ns {
			c.t.Errorf("journal of %s has an entry of namespace %q", ns, e.Namespace)
		}
		ops = append(ops, e.Operation)
	}
	sort.Strings(ops)
	return ops
}

// stateCounts reads what a namespace holds on one instance: Centili
// transactions, NetRefer customers, Netfinity messages.
func stateCounts(c *client, base, ns string) [3]int {
	var centili struct {
		Transactions []json.RawMessage `json:"transactions"`
	}
	var netrefer struct {
		Clients []struct {
			Customers []json.RawMessage `json:"customers"`
		} `json:"clients"`
	}
	var netfinity struct {
		Messages []json.RawMessage `json:"messages"`
	}
	c.json(200, &centili, "GET", base+"/ns/"+ns+"/__sandbox/state/centili", "", "", nil)
	c.json(200, &netrefer, "GET", base+"/ns/"+ns+"/__sandbox/state/netrefer", "", "", nil)
	c.json(200, &netfinity, "GET", base+"/ns/"+ns+"/__sandbox/state/netfinity", "", "", nil)
	customers := 0
	for _, cl := range netrefer.Clients {
		customers += len(cl.Customers)
	}
	return [3]int{len(centili.Transactions), customers, len(netfinity.Messages)}
}

func namespaceName(i int) string { return fmt.Sprintf("ci-%02d", i) }

// Three sandbox processes behind Debian's nginx with deploy/nginx.conf: 50
// namespaces of mixed traffic each end up whole (journal and state) on
// exactly one instance; the bare URLs on one fixed instance; the event
// stream passes unbuffered; and when one instance stops, only its
// namespaces move (to fresh namespaces elsewhere), while every other
// namespace's requests still reach the instance that holds it.
func TestNginxSpreadsNamespacesOverInstances(t *testing.T) {
	nginx := findNginx(t)
	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()
	bin := buildSandbox(t, ctx, t.TempDir())

	var urls, addrs []string
	var procs []*process
	for i := 1; i <= 3; i++ {
		p, u := startSandbox(t, bin, i)
		procs = append(procs, p)
		urls = append(urls, u)
		addrs = append(addrs, strings.TrimPrefix(u, "http://"))
	}
	prefix := t.TempDir()
	// nginx's workers run as nobody when the test is root: let them reach
	// the temporary directories nginx makes under the prefix.
	if err := os.Chmod(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(nginxConfFor(t, addrs, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := start(t, "nginx", exec.Command(nginx, "-p", prefix+"/", "-c", confPath, "-g", "daemon off;"))
	front := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &client{t: t, http: &http.Client{Timeout: requestTimeout}}
	for deadline := time.Now().Add(startupTimeout); ; {
		if resp, err := c.http.Get(front + "/__sandbox/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-proxy.done:
			t.Fatalf("nginx exited: %s", proxy.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not answer within %s: %s", startupTimeout, proxy.out)
		}
	}

	// Round one: every namespace's traffic through nginx, eight at a time.
	var wg sync.WaitGroup
	work := make(chan string)
	for range concurrentGroups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ns := range work {
				_ = traffic(c, front+"/ns/"+ns, ns) // failures are reported; checked below
			}
		}()
	}
	for i := range namespaceCount {
		work <- namespaceName(i)
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	wantOps := []string{"assignData", "assignData", "ingestRegistrations", "keycloakToken",
		"sendSmsNotification", "sendSmsNotification", "token"}
	live := livePerInstance(c, urls)
	owner := map[string]int{}
	for i := range namespaceCount {
		ns := namespaceName(i)
		var on []int
		for k := range live {
			if live[k][ns] {
				on = append(on, k)
			}
		}
		if len(on) != 1 {
			t.Errorf("namespace %s is live on instances %v, want exactly one", ns, on)
			continue
		}
		owner[ns] = on[0]
		if ops := journalOps(c, urls[on[0]], ns); !slices.Equal(ops, wantOps) {
			t.Errorf("journal of %s on sandbox-%d: %v, want %v", ns, on[0]+1, ops, wantOps)
		}
		if got := stateCounts(c, urls[on[0]], ns); got != [3]int{2, 2, 2} {
			t.Errorf("state of %s on sandbox-%d: %d transactions, %d customers, %d messages; want 2 each", ns, on[0]+1, got[0], got[1], got[2])
		}
	}
	perInstance := make([]int, len(urls))
	for k := range live {
		perInstance[k] = len(live[k])
		if len(live[k]) == 0 {
			t.Errorf("sandbox-%d holds no namespace of %d: the hash does not spread them", k+1, namespaceCount)
		}
	}
	t.Logf("namespaces per instance: %v", perInstance)
	if t.Failed() {
		t.FailNow()
	}

	// A request on a provider's own host name carries its namespace in
	// X-Sandbox-Namespace: nginx hashes that, so it reaches the same instance.
	extra := map[string]int{} // Netfinity sends beyond round one
	for i := range namespaceCount {
		ns := namespaceName(i)
		hostSend(c, front, ns, ns+" by host name")
		extra[ns]++
	}
	for k, l := range livePerInstance(c, urls) {
		for ns := range l {
			if owner[ns] != k {
				t.Errorf("a request by host name for %s (on sandbox-%d) created it on sandbox-%d", ns, owner[ns]+1, k+1)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The bare URLs are namespace default, hashed as "default", so they and
	// /ns/default/ reach one fixed instance.
	for i := range 3 {
		send(c, front, fmt.Sprintf("bare %d", i))
	}
	send(c, front+"/ns/default", "prefixed default")
	home := -1
	for k, u := range urls {
		n := len(journalOps(c, u, sandbox.DefaultNamespace))
		switch {
		case n == 4 && home < 0:
			home = k
		case n != 0:
			t.Errorf("sandbox-%d's default namespace has %d entries, want 4 on one instance and 0 elsewhere", k+1, n)
		}
	}
	if home < 0 {
		t.Fatal("no instance holds the default namespace's four requests")
	}

	// Server-Sent Events pass through nginx unbuffered: the event of a
	// request arrives while the stream stays open.
	checkEventStream(t, c, front, namespaceName(0))
	if t.Failed() {
		t.FailNow()
	}

	// A fault that resets the connection must not make nginx take the
	// instance for dead (max_fails=0): the namespaces it holds, the faulty
	// one included, stay where they are.
	extra[namespaceName(0)]++ // the stream check's send
	faulty := ""
	for i := range namespaceCount {
		if ns := namespaceName(i); owner[ns] == home {
			faulty = ns
			break
		}
	}
	if faulty == "" {
		t.Fatalf("sandbox-%d holds no namespace", home+1)
	}
	c.json(201, nil, "POST", front+"/ns/"+faulty+"/__sandbox/faults", "application/json",
		`{"id":"drop","match":{"provider":"netfinity","operation":"sendSmsNotification"},"times":1,"reset":true}`, nil)
	resetStatus := nginxStatus(t, c, "POST", front+"/ns/"+faulty+"/netfinity/v2/sms/notification/send",
		`{"msisdn":"359881234567","text":"reset"}`)
	if resetStatus != http.StatusBadGateway {
		t.Errorf("a reset through nginx answered %d, want nginx's 502", resetStatus)
	}
	for i := range namespaceCount {
		if ns := namespaceName(i); owner[ns] == home {
			send(c, front+"/ns/"+ns, "after the reset")
			extra[ns]++
		}
	}
	for k, l := range livePerInstance(c, urls) {
		for ns := range l {
			if owner[ns] != k {
				t.Errorf("after a reset fault in %s, namespace %s (on sandbox-%d) was also created on sandbox-%d", faulty, ns, owner[ns]+1, k+1)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Stop an instance that holds namespaces but not the bare URLs.
	stopped := -1
	for k := range urls {
		if k != home && perInstance[k] > 0 {
			stopped = k
			break
		}
	}
	procs[stopped].stop(t)
	for i := range namespaceCount {
		send(c, front+"/ns/"+namespaceName(i), "after the stop")
	}
	send(c, front, "bare after the stop")
	if n := len(journalOps(c, urls[home], sandbox.DefaultNamespace)); n != 5 {
		t.Errorf("the bare URLs left sandbox-%d: its default namespace has %d entries, want 5", home+1, n)
	}

	survivors := []int{}
	for k := range urls {
		if k != stopped {
			survivors = append(survivors, k)
		}
	}
	after := make([]map[string]bool, len(urls))
	for _, k := range survivors {
		after[k] = livePerInstance(c, []string{urls[k]})[0]
	}
	moved := 0
	for i := range namespaceCount {
		ns := namespaceName(i)
		var on []int
		for _, k := range survivors {
			if after[k][ns] {
				on = append(on, k)
			}
		}
		if len(on) != 1 {
			t.Errorf("after the stop, namespace %s is live on %v, want exactly one instance", ns, on)
			continue
		}
		ops := journalOps(c, urls[on[0]], ns)
		if owner[ns] == stopped {
			// Moved: a fresh namespace on another instance, holding only
			// what came after the stop.
			moved++
			if !slices.Equal(ops, []string{"sendSmsNotification"}) {
				t.Errorf("moved namespace %s on sandbox-%d: journal %v, want only the request after the stop", ns, on[0]+1, ops)
			}
			continue
		}
		if on[0] != owner[ns] {
			t.Errorf("namespace %s moved from sandbox-%d to sandbox-%d, though its instance still runs", ns, owner[ns]+1, on[0]+1)
			continue
		}
		// Round one, the sends since (the reset one is journaled too, but
		// stored no message) and the one after the stop.
		want := slices.Clone(wantOps)
		sends := extra[ns] + 1
		if ns == faulty {
			sends++
		}
		for range sends {
			want = append(want, "sendSmsNotification")
		}
		sort.Strings(want)
		if !slices.Equal(ops, want) {
			t.Errorf("namespace %s on sandbox-%d: journal %v, want %v", ns, on[0]+1, ops, want)
		}
		if got, msgs := stateCounts(c, urls[on[0]], ns), 2+extra[ns]+1; got != [3]int{2, 2, msgs} {
			t.Errorf("state of %s on sandbox-%d: %v, want 2 transactions, 2 customers, %d messages", ns, on[0]+1, got, msgs)
		}
	}
	if moved != perInstance[stopped] {
		t.Errorf("%d namespaces moved, want the %d sandbox-%d held", moved, perInstance[stopped], stopped+1)
	}
	t.Logf("stopped sandbox-%d: %d namespaces moved, %d stayed", stopped+1, moved, namespaceCount-moved)
	select {
	case <-proxy.done:
		t.Fatalf("nginx exited: %s", proxy.out)
	default:
	}
	if ctx.Err() != nil {
		t.Fatalf("the test ran past its budget of %s", testBudget)
	}
}

// nginxStatus sends a Netfinity send whose answer is nginx's own (a 502
// for a connection the sandbox reset), so it is not held to the spec.
func nginxStatus(t *testing.T, c *client, method, rawURL, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+netfinityToken)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// checkEventStream opens GET /ns/{ns}/__sandbox/events through nginx,
// sends a request in the namespace and waits for its event.
func checkEventStream(t *testing.T, c *client, front, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", front+"/ns/"+ns+"/__sandbox/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("event stream through nginx: %v", err)
	}
	defer resp.Body.Close()
	if matched, err := sandbox.CheckResponse(req, resp.StatusCode, resp.Header, nil); err != nil || !matched {
		t.Fatalf("event stream answer: matched %v, %v", matched, err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	// The stream's opening comment, then the event of a request sent now.
	if first := <-lines; first != ": events of namespace "+ns {
		t.Fatalf("first line of the stream %q", first)
	}
	send(c, front+"/ns/"+ns, "while streaming")
	for line := range lines {
		if line == "event: request" {
			return
		}
	}
	t.Fatalf("no request event through nginx within %s", requestTimeout)
}
