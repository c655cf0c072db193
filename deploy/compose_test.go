package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/provider-sandbox/provider-sandbox/internal/testexit"
)

func TestMain(m *testing.M) { testexit.Main(m) }

// nginxConf is deploy/nginx.conf as committed.
func nginxConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	upstreamServer = regexp.MustCompile(`(?m)^(\s*server\s+)([A-Za-z0-9.-]+:\d+)(\s)`)
	listenLine     = regexp.MustCompile(`(?m)^(\s*listen\s+)(\d+);`)
)

// compose is the part of docker-compose.yml the test reads.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// docker-compose.yml cannot be run here (no Docker engine), so its wiring
// is checked against deploy/nginx.conf by reading both: the upstream names
// the three sandbox services on the port they listen on, nginx is the
// service "sandbox" publishing the conf's listen port on loopback only,
// with the conf mounted, and each sandbox allows the Host nginx passes.
func TestComposeMatchesNginxConf(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	conf := nginxConf(t)

	var upstreams []string
	for _, m := range upstreamServer.FindAllStringSubmatch(conf, -1) {
		upstreams = append(upstreams, m[2])
	}
	if want := []string{"sandbox-1:8080", "sandbox-2:8080", "sandbox-3:8080"}; !slices.Equal(upstreams, want) {
		t.Fatalf("nginx.conf upstream servers %v, want %v", upstreams, want)
	}
	listen := listenLine.FindAllStringSubmatch(conf, -1)
	if len(listen) != 1 || listen[0][2] != "8080" {
		t.Fatalf("nginx.conf listen lines %v, want one on 8080", listen)
	}

	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"sandbox", "sandbox-1", "sandbox-2", "sandbox-3"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	proxy := c.Services["sandbox"]
	if !strings.HasPrefix(proxy.Image, "nginx:") {
		t.Errorf("service sandbox is image %q, want nginx", proxy.Image)
	}
	if !slices.Equal(proxy.Ports, []string{"127.0.0.1:8080:" + listen[0][2]}) {
		t.Errorf("nginx publishes %v, want the conf's port on the host's loopback only", proxy.Ports)
	}
	if !slices.Contains(proxy.Volumes, "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro") {
		t.Errorf("nginx volumes %v do not mount deploy/nginx.conf", proxy.Volumes)
	}
	for _, up := range upstreams {
		name, port, _ := strings.Cut(up, ":")
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("upstream %s: no such service", up)
			continue
		}
		if dep, ok := proxy.DependsOn[name]; !ok || dep.Condition != "service_healthy" {
			t.Errorf("nginx does not wait for %s to be healthy: %+v", name, proxy.DependsOn)
		}
		if s.Image != "provider-sandbox:dev" || s.Build != "." {
			t.Errorf("%s: image %q build %v, want the repository's image", name, s.Image, s.Build)
		}
		// The image listens on 0.0.0.0:8080 (the Dockerfile's SANDBOX_ADDR).
		if addr, set := s.Environment["SANDBOX_ADDR"]; set && !strings.HasSuffix(addr, ":"+port) {
			t.Errorf("%s listens on %s, nginx sends to port %s", name, addr, port)
		}
		hosts := strings.Split(s.Environment["SANDBOX_ALLOWED_HOSTS"], ",")
		for _, h := range []string{"sandbox", name} {
			if !slices.Contains(hosts, h) {
				t.Errorf("%s: SANDBOX_ALLOWED_HOSTS %q lacks %q (the Host nginx passes, or the one a scraper uses)", name, hosts, h)
			}
		}
		if len(s.Volumes) != 1 || s.Volumes[0] != name+"-data:/data" {
			t.Errorf("%s volumes %v, want a /data volume of its own", name, s.Volumes)
		} else if _, ok := c.Volumes[name+"-data"]; !ok {
			t.Errorf("volume %s-data is not declared", name)
		}
	}
}
