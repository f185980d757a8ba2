package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/graphsim"
)

func TestCallSpec(t *testing.T) {
	dir := t.TempDir()
	writeFlow(t, dir, "hello.yaml", goodFlow)
	wav, err := os.ReadFile(filepath.Join("..", "..", "flows", "prompts", "beep.wav"))
	if err != nil {
		t.Fatal(err)
	}
	say := filepath.Join(dir, "hi.wav")
	os.WriteFile(say, wav, 0o644)

	spec, err := callSpec("hello", dir, "+14255550123", "1@3s,42#@8s", []string{say + "@2s"}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Number != "+14255550100" || spec.From.Phone != "+14255550123" {
		t.Errorf("spec = %+v", spec)
	}
	want := []graphsim.Action{{At: 3 * time.Second, Press: "1"}, {At: 8 * time.Second, Press: "42#"},
		{At: 2 * time.Second, Say: wav}, {At: 30 * time.Second, Hangup: true}}
	if len(spec.Script) != len(want) {
		t.Fatalf("script = %+v", spec.Script)
	}
	for i, a := range spec.Script {
		w := want[i]
		if a.At != w.At || a.Press != w.Press || a.Hangup != w.Hangup || len(a.Say) != len(w.Say) {
			t.Errorf("action %d = %+v; want %+v", i, a, w)
		}
	}
	if spec, _ := callSpec("+14255550999", dir, "user:abc", "", nil, 0); spec.Number != "+14255550999" || spec.From.User != "abc" {
		t.Errorf("by number, from a user = %+v", spec)
	}
	for _, bad := range []struct{ route, press string }{
		{"nope", ""}, {"hello", "1@soon"}, {"hello", "@3s"}, {"hello", "1@-3s"},
	} {
		if _, err := callSpec(bad.route, dir, "", bad.press, nil, 0); err == nil {
			t.Errorf("callSpec(%q, press %q) accepted", bad.route, bad.press)
		}
	}
	if _, err := callSpec("hello", dir, "", "", []string{filepath.Join(dir, "missing.wav")}, 0); err == nil {
		t.Error("a missing --say file was accepted")
	}
}

// TestCallCommand rings a bot that never answers: ivrflow call prints the
// transcript live and returns when the emulator gives up on the call.
func TestCallCommand(t *testing.T) {
	dir := t.TempDir()
	writeFlow(t, dir, "hello.yaml", goodFlow)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer bot.Close()
	api := httptest.NewUnstartedServer(nil)
	emu, err := graphsim.New(graphsim.Config{BaseURL: "http://" + api.Listener.Addr().String(), AppID: "00000000-0000-4000-8000-000000000001",
		CallbackURL: bot.URL, AnswerTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	api.Config.Handler = emu.Handler()
	api.Start()
	defer api.Close()

	code, out, errOut := ivrflow(t, "call", "hello", "--flows", dir, "--emulator", api.URL, "--temporal", "")
	if code != 0 {
		t.Fatalf("call = %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"call ", "ring from phone +14255550123", "ended"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := ivrflow(t, "call", "hello", "--flows", dir, "--emulator", "http://127.0.0.1:1"); code != 1 || !strings.Contains(errOut, "is ivrflow dev running?") {
		t.Errorf("no emulator = %d %q", code, errOut)
	}
	if code, _, errOut := ivrflow(t, "call", "nope", "--flows", dir); code != 2 || !strings.Contains(errOut, "no route or flow named \"nope\"") {
		t.Errorf("unknown route = %d %q", code, errOut)
	}
}

func TestServeNeedsConfig(t *testing.T) {
	code, _, errOut := ivrflow(t, "serve", "--flows", t.TempDir())
	if code != 2 {
		t.Errorf("serve without config = %d; want 2", code)
	}
	for _, want := range []string{"IVRFLOW_GRAPH_APP_ID", "IVRFLOW_GRAPH_APP_SECRET", "IVRFLOW_GRAPH_TENANT", "IVRFLOW_PUBLIC_URL"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("serve's complaint lacks %s:\n%s", want, errOut)
		}
	}
	if code, _, errOut := ivrflow(t, "worker", "--flows", "/nonexistent", "--log-level", "loud"); code != 2 || !strings.Contains(errOut, "--log-level") {
		t.Errorf("worker with a bad log level = %d %q", code, errOut)
	}
}
