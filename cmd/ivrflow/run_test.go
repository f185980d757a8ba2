package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ivrflow runs the CLI in-process and returns its exit code and output.
func ivrflow(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, func(string) string { return "" }, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFlow(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodFlow = `flow: hello
routes:
  - {name: hello, number: "+14255550100"}
steps:
  greet:
    play: {say: "Hello"}
  ask:
    menu:
      greeting: {say: "Press 1"}
      options: {"1": bye}
      on_max_failures: bye
      on_max_timeouts: bye
  bye:
    hangup:
`

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeFlow(t, dir, "hello.yaml", goodFlow)
	bad := writeFlow(t, dir, "bad.yaml", "flow: bad\nsteps:\n  a:\n    play: {say: hi}\n    next: nowhere\n  b:\n    hangup: {}\n    nxt: a\n")
	writeFlow(t, dir, "hello.test.yaml", "not a flow: [")

	code, out, errOut := ivrflow(t, "validate", good)
	if code != 0 || !strings.HasPrefix(out, "ok  "+good+"  hello  sha256:") || errOut != "" {
		t.Errorf("validate good = %d, %q, %q; want 0 and an ok line", code, out, errOut)
	}

	code, _, errOut = ivrflow(t, "validate", dir)
	want := bad + ":5:11: next: undefined step \"nowhere\"\n" +
		bad + ":8:5: unknown key \"nxt\" in step \"b\" (did you mean \"next\"?)\n" +
		"2 problems in 2 files\n"
	if code != 1 || errOut != want {
		t.Errorf("validate dir = %d, stderr:\n%s\nwant 1, stderr:\n%s", code, errOut, want)
	}
}

func TestValidateRouteConflict(t *testing.T) {
	dir := t.TempDir()
	writeFlow(t, dir, "a.yaml", goodFlow)
	b := writeFlow(t, dir, "b.yaml", strings.Replace(goodFlow, "flow: hello", "flow: other", 1))
	code, _, errOut := ivrflow(t, "validate", "-q", dir)
	if code != 1 || !strings.Contains(errOut, b+":3:5: number +14255550100 is already routed to flow \"hello\"") {
		t.Errorf("validate with a route claimed twice = %d, %q", code, errOut)
	}
}

func TestCompile(t *testing.T) {
	f := writeFlow(t, t.TempDir(), "hello.yaml", goodFlow)
	code, out, errOut := ivrflow(t, "compile", f)
	if code != 0 {
		t.Fatalf("compile = %d, %s", code, errOut)
	}
	var plan struct {
		Flow    string `json:"flow"`
		Version string `json:"version"`
		Steps   []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("compile output is not JSON: %v\n%s", err, out)
	}
	if plan.Flow != "hello" || !strings.HasPrefix(plan.Version, "sha256:") || len(plan.Steps) != 3 {
		t.Errorf("compile = %+v; want flow hello, a version and 3 steps", plan)
	}
	code, _, errOut = ivrflow(t, "compile", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("compile of a missing file = %d, %q", code, errOut)
	}
}

func TestGraph(t *testing.T) {
	f := writeFlow(t, t.TempDir(), "hello.yaml", goodFlow)
	code, out, _ := ivrflow(t, "graph", f)
	for _, want := range []string{"flowchart TD", `s1{"ask<br/><small>menu</small>"}`, `s1 -->|"1"| s2`, "s0 --> s1", "start --> s0"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("graph = %d, output lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = ivrflow(t, "graph", "--format", "dot", f)
	for _, want := range []string{`digraph "hello"`, `"ask" -> "bye" [label="max failures"];`, `"greet" -> "ask";`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("graph --format dot = %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if code, _, errOut := ivrflow(t, "graph", "--format", "svg", f); code != 2 || !strings.Contains(errOut, "mermaid or dot") {
		t.Errorf("graph --format svg = %d, %q; want 2 and the allowed formats", code, errOut)
	}
}

func TestSchema(t *testing.T) {
	code, out, _ := ivrflow(t, "schema")
	var schema map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &schema) != nil || schema["$schema"] == nil {
		t.Errorf("schema = %d and not a JSON Schema:\n%.200s", code, out)
	}
}

func TestHelpAndMisuse(t *testing.T) {
	if code, out, _ := ivrflow(t); code != 0 || !strings.Contains(out, "validate") {
		t.Errorf("no args = %d, %q; want usage", code, out)
	}
	for _, c := range commands() {
		code, _, errOut := ivrflow(t, c.name, "--help")
		if code != 0 || !strings.Contains(errOut, "Usage: ivrflow "+c.name) {
			t.Errorf("%s --help = %d, %q", c.name, code, errOut)
		}
	}
	if code, _, errOut := ivrflow(t, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command = %d, %q", code, errOut)
	}
	if code, _, _ := ivrflow(t, "validate"); code != 2 {
		t.Errorf("validate without paths = %d; want 2", code)
	}
	if code, _, _ := ivrflow(t, "compile", "--nope", "x.yaml"); code != 2 {
		t.Errorf("compile with an unknown flag = %d; want 2", code)
	}
}

// TestExampleFlows validates the shipped examples through the CLI, as a
// user would.
func TestExampleFlows(t *testing.T) {
	code, out, errOut := ivrflow(t, "validate", "../../flows")
	if code != 0 {
		t.Fatalf("validate flows/ = %d:\n%s", code, errOut)
	}
	if !strings.Contains(out, "flows/main-menu.yaml  main-menu") {
		t.Errorf("validate flows/ did not list main-menu.yaml:\n%s", out)
	}
}

// lineWriter passes everything written to a channel, so a test can wait
// for a server's banner without sleeping.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestEmulatorCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(lineWriter, 64)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulator", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, out, io.Discard)
	}()
	var base string
	select {
	case line := <-out:
		base = strings.TrimSpace(strings.TrimPrefix(line, "Graph calls emulator on "))
	case code := <-done:
		t.Fatalf("emulator exited with %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator printed nothing")
	}
	resp, err := http.Get(base + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []map[string]any }
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(jwks.Keys) != 1 || jwks.Keys[0]["kty"] != "RSA" {
		t.Errorf("GET /v1/keys = %d %v", resp.StatusCode, jwks)
	}
	resp, err = http.Get(base + "/v1.0/communications/calls/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("calls API without a token = %d; want 401", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("emulator exited with %d after Ctrl-C; want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not stop")
	}
	if code, _, errOut := ivrflow(t, "emulator", "--addr", "256.0.0.1:1"); code != 1 || !strings.Contains(errOut, "ivrflow emulator:") {
		t.Errorf("emulator on a bad address = %d, %q", code, errOut)
	}
}

func TestDialCommand(t *testing.T) {
	var got webhookDial
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.auth = r.Header.Get("Authorization")
		got.path = r.URL.Path
		json.NewDecoder(r.Body).Decode(&got.body)
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"workflow_id":"dial-abc"}`))
	}))
	defer srv.Close()
	code, out, errOut := ivrflow(t, "dial", "--url", srv.URL, "--token", "tok", "--flow", "step-play", "--phone", "+14255550111")
	if code != 0 || !strings.Contains(out, "dial-abc") {
		t.Fatalf("dial = %d %q %q", code, out, errOut)
	}
	if got.auth != "Bearer tok" || got.path != "/api/dial" || got.body["flow"] != "step-play" {
		t.Errorf("request = %+v", got)
	}
	if code, _, _ := ivrflow(t, "dial", "--url", srv.URL); code != 2 {
		t.Errorf("dial without --flow = %d; want 2", code)
	}
}

type webhookDial struct {
	auth, path string
	body       map[string]any
}

func TestTestCommand(t *testing.T) {
	code, out, errOut := ivrflow(t, "test", "-v", "../../flows")
	if code != 0 || !strings.Contains(out, "scenarios passed, 0 failed") || !strings.Contains(out, "ok    ../../flows/main-menu.test.yaml:") {
		t.Errorf("test flows = %d\n%s\n%s", code, out, errOut)
	}
	dir := t.TempDir()
	flow, _ := os.ReadFile("../../flows/step-menu.yaml")
	os.WriteFile(filepath.Join(dir, "step-menu.yaml"), flow, 0o644)
	os.WriteFile(filepath.Join(dir, "step-menu.test.yaml"), []byte("scenarios:\n  - name: wrong\n    expect: {ending: reject}\n"), 0o644)
	code, _, errOut = ivrflow(t, "test", dir)
	if code != 1 || !strings.Contains(errOut, "FAIL  "+filepath.Join(dir, "step-menu.test.yaml")+":2:5: wrong") || !strings.Contains(errOut, "want reject") {
		t.Errorf("failing scenario = %d\n%s", code, errOut)
	}
}
