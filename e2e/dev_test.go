package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/workflows"
)

// The tests below run the ivrflow binary as a person would: ivrflow dev in
// one process, ivrflow call (and ivrflow emulator) in others.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// ivrflowBinary builds cmd/ivrflow once per test run.
func ivrflowBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ivrflow-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ivrflow")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binPath, "../cmd/ivrflow")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running ivrflow command whose output is watched line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
	done  chan struct{}
	err   error
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return startBinary(t, ivrflowBinary(t), append(os.Environ(), "IVRFLOW_LOG_LEVEL=warn"), args...)
}

// startBinary runs bin with args in the environment env (this process's
// when nil).
func startBinary(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, lines: make(chan string, 1000), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{p: p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitLine waits for a line of standard output matching re and returns its
// submatches.
func (p *proc) waitLine(re *regexp.Regexp, within time.Duration) []string {
	p.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-p.lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before printing %s:\n%s", p.cmd.Args, p.err, re, p.output())
		case <-deadline:
			p.t.Fatalf("%s printed no %s in %v:\n%s", p.cmd.Args, re, within, p.output())
		}
	}
}

// interrupt sends Ctrl-C and waits for a clean exit.
func (p *proc) interrupt(within time.Duration) {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Fatalf("%s after Ctrl-C: %v\n%s", p.cmd.Args, p.err, p.output())
		}
	case <-time.After(within):
		p.t.Fatalf("%s did not stop within %v of Ctrl-C:\n%s", p.cmd.Args, within, p.output())
	}
}

func (p *proc) wait(within time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		p.t.Fatalf("%s still running after %v:\n%s", p.cmd.Args, within, p.output())
		return nil
	}
}

var (
	grpcLine = regexp.MustCompile(`Temporal gRPC\s+(\S+) \(namespace (\S+)\)`)
	emuLine  = regexp.MustCompile(`Graph emulator\s+(http://\S+)`)
	uiLine   = regexp.MustCompile(`Temporal Web UI\s+(http://[^/]+)`)
	hookLine = regexp.MustCompile(`webhook\s+(http://\S+)/api/calls`)
	readyRe  = regexp.MustCompile(`^Ctrl-C stops everything`)
)

// devInfo is what ivrflow dev printed about itself.
type devInfo struct{ grpc, namespace, emulator, ui, webhook string }

func startDev(t *testing.T, args ...string) (*proc, devInfo) {
	t.Helper()
	base := []string{"dev", "--temporal-port", "0", "--ui-port", "0", "--emulator-port", "0", "--media-port", "0"}
	p := startProc(t, append(base, args...)...)
	p.waitLine(readyRe, 3*time.Minute)
	out := p.output()
	find := func(re *regexp.Regexp) []string {
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ivrflow dev printed no %s:\n%s", re, out)
		}
		return m
	}
	g := find(grpcLine)
	d := devInfo{grpc: g[1], namespace: g[2], emulator: find(emuLine)[1], ui: find(uiLine)[1], webhook: find(hookLine)[1]}
	return p, d
}

func temporalClient(t *testing.T, d devInfo) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: d.grpc, Namespace: d.namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// checkMainMenuCall waits for an ivrflow call of the main menu that
// presses 1 during the welcome to end, and checks its transcript (the
// transfer to sales) and that the call's workflow is found by its search
// attributes.
func checkMainMenuCall(t *testing.T, call *proc, c client.Client, namespace string) {
	t.Helper()
	id := call.waitLine(regexp.MustCompile(`^call (\S+) \(workflow (\S+)\)`), 30*time.Second)[1]
	if err := call.wait(2 * time.Minute); err != nil {
		t.Fatalf("ivrflow call: %v\n%s", err, call.output())
	}
	out := call.output()
	for _, want := range []string{"answer", "subscribeToTone", "play http", "tone 1 delivered",
		"transfer to phone +14255550120", "ended by transfer", "ended: transfer"} {
		if !strings.Contains(out, want) {
			t.Errorf("ivrflow call output lacks %q:\n%s", want, out)
		}
	}
	q := `Flow = "main-menu" AND Caller = "+14255550123" AND CallState = "ended" AND CallId = "` + id + `"`
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: q})
		if err == nil && len(resp.Executions) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility query %s found nothing (%v)", q, err)
		}
		time.Sleep(100 * time.Millisecond) // visibility is eventually consistent
	}
}

// TestDevCall runs ivrflow dev, calls the main menu with ivrflow call,
// pressing 1 during the welcome, and checks the live transcript, the
// workflow's search attributes, the Web UI and a clean Ctrl-C.
func TestDevCall(t *testing.T) {
	dev, d := startDev(t, "--memory", "--port", "0", "--data", t.TempDir(), "--flows", "../flows")
	call := startProc(t, "call", "main-menu", "--press", "1@1500ms", "--emulator", d.emulator,
		"--temporal", d.grpc, "--namespace", d.namespace, "--flows", "../flows")
	checkMainMenuCall(t, call, temporalClient(t, d), d.namespace)

	// The webhook's /metrics: its own, the SDK's (the worker runs in
	// this process) and Go's.
	resp, err := http.Get(d.webhook + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\nivrflow_webhook_notifications_total{", "\ntemporal_workflow_task_schedule_to_start_latency_seconds_bucket{",
		"\ntemporal_local_activity_execution_latency_seconds_count{", "\ngo_goroutines "} {
		if !strings.Contains(string(scrape), want) {
			t.Errorf("the webhook's /metrics lacks %q", strings.TrimSpace(want))
		}
	}

	for _, path := range []string{"/", "/api/v1/namespaces/" + d.namespace + "/workflows"} {
		resp, err := http.Get(d.ui + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Web UI GET %s: %s", path, resp.Status)
		}
	}
	dev.interrupt(30 * time.Second)
}

const restartFlow = `flow: restart
routes:
  - name: restart
    number: "+14255550190"
steps:
  code:
    collect:
      into: code
      prompt: {say: "Enter your four digit code."}
      digits: 4
      first_digit_timeout: 90s
      max_attempts: 1
      on_max_attempts: bye
  thanks:
    play: {say: "Thank you."}
    next: bye
  bye:
    hangup: {}
`

// TestDevRestart stops ivrflow dev in the middle of a call and starts it
// again on the same database: the call, held by an emulator running on its
// own (as Graph would hold it), goes on and finishes with the digits keyed
// after the restart.
func TestDevRestart(t *testing.T) {
	flows := t.TempDir()
	if err := os.WriteFile(filepath.Join(flows, "restart.yaml"), []byte(restartFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	port := freePort(t)
	// Graph keeps retrying a notification the webhook does not take; here
	// for up to 30 s, which covers the restart.
	emu := startProc(t, "emulator", "--addr", "127.0.0.1:0", "--callback", "http://127.0.0.1:"+port+"/api/calls",
		"--delivery-attempts", "150", "--delivery-backoff", "200ms")
	emuURL := emu.waitLine(regexp.MustCompile(`^Graph calls emulator on (\S+)`), time.Minute)[1]
	args := []string{"--data", data, "--flows", flows, "--port", port, "--emulator", emuURL}

	dev, _ := startDev(t, args...)
	var created struct{ ID string }
	control(t, http.MethodPost, emuURL+"/_emulator/calls", `{"from":{"phone":"+14255550123"},"number":"+14255550190"}`, &created)
	waitEvent(t, emuURL, created.ID, "play")
	dev.interrupt(30 * time.Second)

	dev, d := startDev(t, args...)
	control(t, http.MethodPost, emuURL+"/_emulator/calls/"+created.ID+"/press", `{"keys":"2468"}`, nil)
	tr := waitEvent(t, emuURL, created.ID, "ended")

	c := temporalClient(t, d)
	var res workflows.CallResult
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.GetWorkflow(ctx, "call-"+strings.ReplaceAll(strings.ToLower(created.ID), "-", ""), "").Get(ctx, &res); err != nil {
		t.Fatalf("call workflow: %v\n%s", err, tr)
	}
	if res.Vars["code"] != "2468" {
		t.Errorf("code = %v; want 2468 (vars %v)\n%s", res.Vars["code"], res.Vars, tr)
	}
	for _, want := range []string{"tone 2 delivered", "tone 8 delivered", "ended by bot"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, tr)
		}
	}
	if n := strings.Count(tr, "play http"); n != 2 {
		t.Errorf("%d prompts played; want 2 (the question, then thanks)\n%s", n, tr)
	}
	dev.interrupt(30 * time.Second)
	emu.interrupt(10 * time.Second)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// control calls the emulator's control API.
func control(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// waitEvent long-polls a call's transcript until an event of kind shows,
// and returns the transcript so far.
func waitEvent(t *testing.T, emuURL, id, kind string) string {
	t.Helper()
	var tr strings.Builder
	next := 0
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var page struct {
			Events []struct{ At, Kind, Detail string }
			Next   int
			Ended  bool
		}
		control(t, http.MethodGet, fmt.Sprintf("%s/_emulator/calls/%s/events?from=%d&wait=10s", emuURL, id, next), "", &page)
		found := false
		for _, ev := range page.Events {
			fmt.Fprintf(&tr, "%s %s %s\n", ev.At, ev.Kind, ev.Detail)
			found = found || ev.Kind == kind
		}
		next = page.Next
		if found {
			return tr.String()
		}
		if page.Ended {
			t.Fatalf("the call ended without %q:\n%s", kind, tr.String())
		}
	}
	t.Fatalf("no %q within 2 minutes:\n%s", kind, tr.String())
	return ""
}
