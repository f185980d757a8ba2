package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
	"gopkg.in/yaml.v3"
)

// TestProductionStack rehearses docker-compose.yml without Docker: each of
// its services runs here as the process its image would run, with the
// environment the compose file gives it (read from the file, with host
// names, ports and container paths mapped to this machine):
//
//   - postgresql: a PostgreSQL server of its own in a temporary directory;
//   - temporal-schema: deploy/temporal/setup-postgres.sh with
//     temporal-sql-tool, twice (it claims to be idempotent);
//   - temporal: the Temporal server (go.temporal.io/server/cmd/server,
//     configured from the environment alone, as the temporalio/server
//     image is) with 512 history shards, on PostgreSQL, reading
//     deploy/temporal/dynamicconfig/ivrflow.yaml;
//   - temporal-namespace: the namespace is created through the SDK, with
//     the compose file's retention (the script uses the temporal CLI,
//     which this test does not build);
//   - webhook, worker and media: ivrflow built as the Dockerfile builds it
//     (CGO_ENABLED=0, -tags noembed), with deploy/ivrflow.env.example's
//     settings filled in and Graph played by ivrflow emulator.
//
// A call through it must run the main menu to its transfer and be found
// by its search attributes, and the three ivrflow services must stop
// cleanly on SIGTERM within the compose file's stop_grace_period.
func TestProductionStack(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	compose := readCompose(t, filepath.Join(root, "docker-compose.yml"))
	// A container gets only what the compose file gives it, not the
	// environment of the shell that ran docker compose.
	var clean []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			clean = append(clean, k+"="+v)
		}
	}
	inContainer := func(env map[string]string) []string { return append(append([]string(nil), clean...), envList(env)...) }
	bin := t.TempDir()
	build := func(out, pkg string, env []string, flags ...string) string {
		path := filepath.Join(bin, out)
		args := append(append([]string{"build"}, flags...), "-o", path, pkg)
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), "GOTOOLCHAIN=local"), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		return path
	}
	ivrflow := build("ivrflow", "./cmd/ivrflow", []string{"CGO_ENABLED=0"}, "-tags", "noembed", "-trimpath")
	build("temporal-sql-tool", "go.temporal.io/server/cmd/tools/sql", nil)
	temporalServer := build("temporal-server", "go.temporal.io/server/cmd/server", nil)

	// postgresql
	pgPort := freePort(t)
	pgEnv := compose.env(t, "postgresql", nil)
	startPostgres(t, pgPort, pgEnv["POSTGRES_USER"], pgEnv["POSTGRES_PASSWORD"])

	// temporal-schema, twice.
	schemaEnv := compose.env(t, "temporal-schema", map[string]string{"SQL_HOST": "127.0.0.1", "SQL_PORT": pgPort})
	for i := range 2 {
		cmd := exec.Command("sh", compose.hostPath(t, "temporal-schema", "/setup-postgres.sh"))
		cmd.Env = append(inContainer(schemaEnv), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("setup-postgres.sh, run %d: %v\n%s", i+1, err, b)
		}
	}

	// temporal
	// Temporal keeps its services' ports in a smallint column of its
	// cluster_membership table: they must be below 32768, where the
	// kernel's ephemeral ports (freePort's) are not.
	ports := map[string]string{"POSTGRES_SEEDS": "127.0.0.1", "DB_PORT": pgPort, "BIND_ON_IP": "127.0.0.1",
		"PROMETHEUS_ENDPOINT": "127.0.0.1:" + freePort(t)}
	low := lowPorts(t, 12)
	for i, svc := range []string{"FRONTEND", "INTERNAL_FRONTEND", "MATCHING", "HISTORY", "WORKER"} {
		ports[svc+"_GRPC_PORT"] = low[2*i]
		ports[svc+"_MEMBERSHIP_PORT"] = low[2*i+1]
	}
	ports["FRONTEND_HTTP_PORT"] = low[10]
	ports["INTERNAL_FRONTEND_HTTP_PORT"] = low[11]
	temporalEnv := compose.env(t, "temporal", ports)
	temporalEnv["DYNAMIC_CONFIG_FILE_PATH"] = compose.hostPath(t, "temporal", temporalEnv["DYNAMIC_CONFIG_FILE_PATH"])
	server := startBinary(t, temporalServer, inContainer(temporalEnv), "start")
	frontend := "127.0.0.1:" + ports["FRONTEND_GRPC_PORT"]

	// temporal-namespace
	nsEnv := compose.env(t, "temporal-namespace", nil)
	namespace := nsEnv["TEMPORAL_NAMESPACE"]
	retention, err := time.ParseDuration(nsEnv["NAMESPACE_RETENTION"])
	if err != nil {
		t.Fatalf("temporal-namespace NAMESPACE_RETENTION: %v", err)
	}
	nc := waitTemporal(t, server, frontend)
	if err := nc.Register(context.Background(), &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(retention)}); err != nil {
		t.Fatalf("register namespace %s: %v", namespace, err)
	}

	// Graph, played by the emulator.
	hookPort := freePort(t)
	emu := startBinary(t, ivrflow, clean, "emulator", "--addr", "127.0.0.1:0", "--callback", "http://127.0.0.1:"+hookPort+"/api/calls")
	emuURL := emu.waitLine(regexp.MustCompile(`^Graph calls emulator on (\S+)`), time.Minute)[1]
	tenant := emu.waitLine(regexp.MustCompile(`token endpoint\s+\S+/([^/]+)/oauth2/v2.0/token \(client id (\S+)\)`), 10*time.Second)

	// webhook, worker and media: the example settings filled in.
	settings := readEnvExample(t, filepath.Join(root, "deploy", "ivrflow.env.example"))
	for _, k := range []string{"IVRFLOW_PUBLIC_URL", "IVRFLOW_GRAPH_TENANT", "IVRFLOW_GRAPH_APP_ID", "IVRFLOW_GRAPH_APP_SECRET"} {
		if !settings[k] {
			t.Errorf("deploy/ivrflow.env.example does not name %s, which every deployment must set", k)
		}
	}
	fill := map[string]string{
		"IVRFLOW_PUBLIC_URL":       "http://127.0.0.1:" + hookPort,
		"IVRFLOW_GRAPH_TENANT":     tenant[1],
		"IVRFLOW_GRAPH_APP_ID":     tenant[2],
		"IVRFLOW_GRAPH_APP_SECRET": "emulator-secret",
		"IVRFLOW_GRAPH_URL":        emuURL + "/v1.0",
		"IVRFLOW_GRAPH_TOKEN_URL":  emuURL + "/" + tenant[1] + "/oauth2/v2.0/token",
		"IVRFLOW_GRAPH_JWKS_URL":   emuURL + "/v1/keys",
		"IVRFLOW_LOG_LEVEL":        "warn",
		// Not in the compose file: the webhook is checked draining on stop.
		"IVRFLOW_SHUTDOWN_DELAY": "2s",
	}
	for k := range settings {
		if _, ok := fill[k]; !ok {
			fill[k] = "test-" + strings.ToLower(k)
		}
	}
	data := t.TempDir()
	// Where each service listens here: the webhook's and the media
	// worker's public ports, and the worker's and the media worker's
	// metrics ports (each container has its own :9090).
	addrs := map[string]string{"webhook": "127.0.0.1:" + hookPort, "media": "127.0.0.1:" + freePort(t)}
	metrics := map[string]string{"worker": "127.0.0.1:" + freePort(t), "media": "127.0.0.1:" + freePort(t)}
	services := map[string]*proc{}
	for _, name := range []string{"webhook", "worker", "media"} {
		env := compose.env(t, name, map[string]string{
			"IVRFLOW_TEMPORAL_ADDRESS": frontend,
			"IVRFLOW_ADDR":             addrs["webhook"],
			"IVRFLOW_METRICS_ADDR":     metrics[name],
			"IVRFLOW_MEDIA_ADDR":       addrs["media"],
			"IVRFLOW_MEDIA_UDP_PORT":   freeUDPPort(t),
		})
		if name != "webhook" && env["IVRFLOW_METRICS_ADDR"] != metrics[name] {
			t.Fatalf("%s: the compose file gives it no IVRFLOW_METRICS_ADDR", name)
		}
		env["IVRFLOW_FLOWS"] = compose.hostPath(t, name, env["IVRFLOW_FLOWS"])
		if env["IVRFLOW_DATA"] != "/data" {
			t.Fatalf("%s: IVRFLOW_DATA = %q; the test maps /data (the ivrflow-data volume)", name, env["IVRFLOW_DATA"])
		}
		env["IVRFLOW_DATA"] = data
		for k, v := range fill {
			if _, ok := env[k]; !ok { // environment: wins over env_file
				env[k] = v
			}
		}
		services[name] = startBinary(t, ivrflow, inContainer(env), compose.Services[name].Command...)
	}
	for _, c := range []struct{ name, url string }{
		{"webhook", "http://" + addrs["webhook"] + "/readyz"},
		{"worker", "http://" + metrics["worker"] + "/readyz"},
		{"media", "http://" + addrs["media"] + "/healthz"}, // the compose health check's
		{"media", "http://" + metrics["media"] + "/readyz"},
	} {
		waitHTTP(t, services[c.name], c.url, http.StatusOK, "", time.Minute)
	}
	// The media worker's metrics are on its private port only: its public
	// one faces callers.
	waitHTTP(t, services["media"], "http://"+addrs["media"]+"/metrics", http.StatusNotFound, "", 5*time.Second)
	resp, err := http.Get("http://" + metrics["media"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(scrape), "\nivrflow_media_calls ") {
		t.Errorf("the media worker's private /metrics lacks ivrflow_media_calls:\n%.500s", scrape)
	}

	// A call, as TestDevCall places it on ivrflow dev.
	call := startBinary(t, ivrflow, clean, "call", "main-menu", "--press", "1@1500ms", "--emulator", emuURL,
		"--temporal", frontend, "--namespace", namespace, "--flows", filepath.Join(root, "flows"))
	checkMainMenuCall(t, call, temporalClient(t, devInfo{grpc: frontend, namespace: namespace}), namespace)

	// docker compose stop: SIGTERM, then SIGKILL after stop_grace_period.
	for _, name := range []string{"webhook", "worker", "media"} {
		grace, err := time.ParseDuration(compose.Services[name].StopGracePeriod)
		if err != nil {
			grace = 10 * time.Second // Docker's default
		}
		p := services[name]
		p.cmd.Process.Signal(syscall.SIGTERM)
		killed := time.After(grace)
		if name == "webhook" { // its shutdown delay: not ready, still serving
			waitHTTP(t, nil, "http://"+addrs["webhook"]+"/readyz", http.StatusServiceUnavailable, "stopping", 2*time.Second)
		}
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("%s after SIGTERM: %v\n%s", name, p.err, p.output())
			}
		case <-killed:
			t.Errorf("%s still running %v after SIGTERM (its stop_grace_period):\n%s", name, grace, p.output())
		}
	}
}

// composeFile is the part of docker-compose.yml the rehearsal reads.
type composeFile struct {
	Services map[string]struct {
		Environment     map[string]string `yaml:"environment"`
		Command         []string          `yaml:"command"`
		Volumes         []string          `yaml:"volumes"`
		StopGracePeriod string            `yaml:"stop_grace_period"`
	} `yaml:"services"`
	dir string
}

func readCompose(t *testing.T, path string) *composeFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f.dir = filepath.Dir(path)
	return &f
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// env returns a service's environment with ${VAR:-default} interpolated
// (from this process's environment, as Compose does) and the given
// variables replaced; a replaced variable the service does not set is an
// error unless it is a port or an address the test adds for its own sake.
func (f *composeFile) env(t *testing.T, service string, replace map[string]string) map[string]string {
	t.Helper()
	s, ok := f.Services[service]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %s", service)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		env[k] = interpolation.ReplaceAllStringFunc(v, func(m string) string {
			sub := interpolation.FindStringSubmatch(m)
			if v := os.Getenv(sub[1]); v != "" { // :- also replaces an empty value
				return v
			}
			return sub[2]
		})
	}
	for k, v := range replace {
		if _, set := env[k]; set || strings.HasSuffix(k, "_PORT") {
			env[k] = v
		}
	}
	return env
}

// hostPath maps a path inside a service's container to the repository
// file its bind mount (a volume from ./) puts there.
func (f *composeFile) hostPath(t *testing.T, service, inside string) string {
	t.Helper()
	for _, v := range f.Services[service].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "./") {
			continue
		}
		if rest, ok := strings.CutPrefix(inside, parts[1]); ok && (rest == "" || rest[0] == '/') {
			return filepath.Join(f.dir, parts[0], rest)
		}
	}
	t.Fatalf("no bind mount of service %s holds %s", service, inside)
	return ""
}

// readEnvExample returns the settings deploy/ivrflow.env.example names.
func readEnvExample(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = true
		}
	}
	if len(keys) == 0 {
		t.Fatalf("%s names no settings", path)
	}
	return keys
}

func envList(env map[string]string) []string {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// startPostgres runs a PostgreSQL server of the test's own on port, with
// the superuser and password the compose file gives its postgresql
// service. PostgreSQL refuses to run as root: as root, it runs as the
// postgres user the Debian package creates.
func startPostgres(t *testing.T, port, superuser, password string) {
	t.Helper()
	initdb := ""
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		major := func(p string) int {
			n, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(filepath.Dir(p))), ".")[0])
			return n
		}
		sort.Slice(m, func(i, j int) bool { return major(m[i]) < major(m[j]) })
		initdb = m[len(m)-1] // the newest
	} else if p, err := exec.LookPath("initdb"); err == nil {
		initdb = p
	} else {
		t.Fatal("PostgreSQL is needed (its initdb and postgres programs): apt-get install postgresql")
	}
	dir, err := os.MkdirTemp("", "ivrflow-postgres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}
	data := filepath.Join(dir, "data")
	if b, err := run(initdb, "-D", data, "-U", superuser, "--pwfile", pwfile, "-A", "scram-sha-256", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, b)
	}
	pg := run(filepath.Join(filepath.Dir(initdb), "postgres"), "-D", data, "-p", port, "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	var log lockedBuffer
	pg.Stdout, pg.Stderr = &log, &log
	pg.WaitDelay = 5 * time.Second
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = pg.Wait(); close(exited) }()
	t.Cleanup(func() {
		pg.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			pg.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(log.String(), "ready to accept connections") {
		select {
		case <-exited:
			t.Fatalf("postgres exited: %v\n%s", exitErr, log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres not ready in a minute:\n%s", log.String())
		}
	}
}

// waitTemporal waits for the server's frontend to answer.
func waitTemporal(t *testing.T, server *proc, frontend string) client.NamespaceClient {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, err := client.Dial(client.Options{HostPort: frontend})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
		}
		if err == nil {
			break
		}
		select {
		case <-server.done:
			t.Fatalf("temporal server exited: %v\n%s", server.err, tail(server.output(), 4000))
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporal server at %s not up in 2 minutes: %v\n%s", frontend, err, tail(server.output(), 4000))
		}
	}
	nc, err := client.NewNamespaceClient(client.Options{HostPort: frontend})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// waitHTTP waits until GET url answers code and, unless body is empty,
// body; p, when not nil, must go on running meanwhile.
func waitHTTP(t *testing.T, p *proc, url string, code int, body string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == code && (body == "" || strings.TrimSpace(string(b)) == body) {
				return
			}
			err = fmt.Errorf("%s %q", resp.Status, b)
		}
		var exited <-chan struct{}
		if p != nil {
			exited = p.done
		}
		select {
		case <-exited:
			t.Fatalf("%s exited (%v) before %s answered:\n%s", p.cmd.Args, p.err, url, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out := ""
			if p != nil {
				out = p.output()
			}
			t.Fatalf("GET %s: %v after %v; want %d %s\n%s", url, err, within, code, body, out)
		}
	}
}

// lowPorts returns n TCP ports between 20000 and 32767 that are free now.
func lowPorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for p := 20000 + rand.IntN(10000); len(ports) < n && p < 32768; p++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		ports = append(ports, strconv.Itoa(p))
	}
	if len(ports) < n {
		t.Fatalf("found %d free ports below 32768; want %d", len(ports), n)
	}
	return ports
}

func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	return port
}

// lockedBuffer is a bytes.Buffer a process may write while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
