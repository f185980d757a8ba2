package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/prompts"
	"github.com/ivrflow/ivrflow/workflows"
)

const appID = "0efc74f7-41c3-47a4-8775-7259bfef4241"

// rig is a Graph emulator, a webhook that records what it is told, a
// prompt store, and the activities wired to them.
type rig struct {
	emu   *graphsim.Emulator
	calls *Calls
	env   *testsuite.TestActivityEnvironment
	mu    sync.Mutex
	notes []map[string]any
	got   chan struct{}
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{got: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	hook := httptest.NewServer(mux)
	t.Cleanup(hook.Close)
	store := &prompts.Store{Dir: t.TempDir(), Source: "../flows", BaseURL: hook.URL}
	mux.Handle("/prompts/", store.Handler())
	mux.HandleFunc("/api/calls", func(w http.ResponseWriter, req *http.Request) {
		var body struct{ Value []map[string]any }
		json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		r.notes = append(r.notes, body.Value...)
		r.mu.Unlock()
		r.got <- struct{}{}
		w.WriteHeader(http.StatusAccepted)
	})
	api := httptest.NewUnstartedServer(nil)
	emu, err := graphsim.New(graphsim.Config{BaseURL: "http://" + api.Listener.Addr().String(), AppID: appID, AppSecret: "s", CallbackURL: hook.URL + "/api/calls", BeepDuration: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api.Config.Handler = emu.Handler()
	api.Start()
	t.Cleanup(api.Close)
	t.Cleanup(emu.Close)
	gc, err := graph.NewClient(graph.Config{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: appID, ClientSecret: "s", TokenURL: emu.TokenURL(), BaseURL: emu.GraphURL()})
	if err != nil {
		t.Fatal(err)
	}
	r.emu = emu
	r.calls = &Calls{Graph: gc, Prompts: store, CallbackURL: hook.URL + "/api/calls", RecordingDir: t.TempDir()}
	var s testsuite.WorkflowTestSuite
	r.env = s.NewTestActivityEnvironment()
	r.calls.Register(r.env)
	(&DataDips{}).Register(r.env)
	return r
}

// wait returns the first notification so far that matches.
func (r *rig) wait(t *testing.T, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.notes); seen++ {
			if pred(r.notes[seen]) {
				n := r.notes[seen]
				r.mu.Unlock()
				return n
			}
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("no %s notification", what)
		}
	}
}

func data(n map[string]any) map[string]any { d, _ := n["resourceData"].(map[string]any); return d }

func TestCallActivitiesAgainstEmulator(t *testing.T) {
	r := newRig(t)
	cl, err := r.emu.Ring(graphsim.CallerSpec{})
	if err != nil {
		t.Fatal(err)
	}
	id := cl.ID()
	r.wait(t, "incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	plan, err := dsl.CompileFile("../flows/step-play.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var prefetch []workflows.Prompt
	for name, p := range plan.Prompts {
		if p.File != "" {
			prefetch = append(prefetch, workflows.Prompt{Name: name, File: p.File, SHA256: p.SHA256})
		}
	}
	if _, err := r.env.ExecuteActivity(workflows.ActAnswer, workflows.AnswerInput{CallID: id, Prefetch: prefetch}); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	r.wait(t, "established", func(n map[string]any) bool { return data(n)["state"] == "established" })
	if _, err := r.env.ExecuteActivity(workflows.ActSubscribe, workflows.MediaInput{CallID: id, ClientContext: "s1"}); err != nil {
		t.Fatalf("SubscribeToTone: %v", err)
	}
	// A spoken prompt and a file prompt, played for real by the emulator.
	play := workflows.MediaInput{CallID: id, ClientContext: "c:play:1", Prompts: append([]workflows.Prompt{
		{Name: "hi", Text: "Hi.", Locale: "en-US"}}, prefetch...)}
	if _, err := r.env.ExecuteActivity(workflows.ActPlay, play); err != nil {
		t.Fatalf("PlayPrompt: %v", err)
	}
	done := data(r.wait(t, "play completion", func(n map[string]any) bool { return data(n)["clientContext"] == "c:play:1" }))
	if done["status"] != "completed" {
		t.Errorf("play = %v; want completed (the emulator fetched and played both prompts)", done)
	}
	rec := &dsl.Record{Beep: true, MaxDuration: dsl.Duration(5 * time.Second), InitialSilence: dsl.Duration(time.Second), MaxSilence: dsl.Duration(time.Second), StopKeys: "#"}
	if _, err := r.env.ExecuteActivity(workflows.ActRecord, workflows.MediaInput{CallID: id, ClientContext: "c:rec:1", Record: rec}); err != nil {
		t.Fatalf("RecordResponse: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.WaitFor(ctx, "record", 0); err != nil {
		t.Fatal(err)
	}
	wav, _ := os.ReadFile("../flows/prompts/beep.wav")
	cl.Say(wav)
	cl.Press("#")
	rd := data(r.wait(t, "record completion", func(n map[string]any) bool { return data(n)["clientContext"] == "c:rec:1" }))
	v, err := r.env.ExecuteActivity(workflows.ActDownload, workflows.DownloadInput{CallID: id, Step: "rec", Location: rd["recordingLocation"].(string), Token: rd["recordingAccessToken"].(string)})
	if err != nil {
		t.Fatalf("DownloadRecording: %v", err)
	}
	var out workflows.DownloadOutput
	v.Get(&out)
	if out.Bytes < 44 || !strings.HasPrefix(out.URI, "file://") {
		t.Fatalf("download = %+v", out)
	}
	if st, err := os.Stat(strings.TrimPrefix(out.URI, "file://")); err != nil || st.Size() != out.Bytes {
		t.Errorf("stored recording: %v, %v", st, err)
	}
	if _, err := r.env.ExecuteActivity(workflows.ActKeepAlive, workflows.ControlInput{CallID: id}); err != nil {
		t.Errorf("KeepAlive: %v", err)
	}
	if _, err := r.env.ExecuteActivity(workflows.ActHangup, workflows.ControlInput{CallID: id}); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	// Hanging up an ended call is fine; a keepAlive on it is refused for good.
	if _, err := r.env.ExecuteActivity(workflows.ActHangup, workflows.ControlInput{CallID: id}); err != nil {
		t.Errorf("second Hangup: %v", err)
	}
	_, err = r.env.ExecuteActivity(workflows.ActKeepAlive, workflows.ControlInput{CallID: id})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("KeepAlive on an ended call = %v; want a non-retryable error", err)
	}
}

func TestRejectAndTransferAgainstEmulator(t *testing.T) {
	r := newRig(t)
	cl, _ := r.emu.Ring(graphsim.CallerSpec{})
	r.wait(t, "incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	if _, err := r.env.ExecuteActivity(workflows.ActReject, workflows.ControlInput{CallID: cl.ID(), Reason: "busy"}); err != nil {
		t.Fatalf("Reject: %v", err)
	}
	cl2, _ := r.emu.Ring(graphsim.CallerSpec{})
	r.wait(t, "incoming", func(n map[string]any) bool { return data(n)["id"] == cl2.ID() })
	r.env.ExecuteActivity(workflows.ActAnswer, workflows.AnswerInput{CallID: cl2.ID()})
	r.wait(t, "established", func(n map[string]any) bool { return data(n)["state"] == "established" })
	if _, err := r.env.ExecuteActivity(workflows.ActTransfer, workflows.ControlInput{CallID: cl2.ID(), Targets: []dsl.Target{{Type: "phone", ID: "+14255550199"}}}); err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	r.wait(t, "transferAccepted", func(n map[string]any) bool { return data(n)["state"] == "transferAccepted" })
	tr := ""
	for _, e := range cl2.Transcript() {
		tr += e.String() + "\n"
	}
	if !strings.Contains(tr, "transfer to phone +14255550199") {
		t.Errorf("transcript:\n%s", tr)
	}
}

func TestHTTPRequest(t *testing.T) {
	var gotAuth string
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		gotAuth = req.Header.Get("Authorization")
		attempts++
		if strings.Contains(req.URL.Path, "down") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(req.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"balance": 12.5, "echo": string(b)})
	}))
	defer srv.Close()
	d := &DataDips{Secret: func(n string) string { return map[string]string{"CRM_TOKEN": "t0k"}[n] }}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	d.Register(env)
	req := &workflows.Request{Method: "POST", URL: srv.URL + "/a", Body: `{"x":1}`, Timeout: 5 * time.Second,
		Headers: map[string]string{"Authorization": "Bearer {{secrets.CRM_TOKEN}}"}}
	v, err := env.ExecuteActivity(workflows.ActHTTP, workflows.HTTPInput{CallID: "c", Request: req})
	if err != nil {
		t.Fatal(err)
	}
	var out workflows.HTTPOutput
	v.Get(&out)
	body, _ := out.Body.(map[string]any)
	if !out.OK || out.Status != 200 || body["balance"] != 12.5 || body["echo"] != `{"x":1}` || gotAuth != "Bearer t0k" {
		t.Errorf("out = %+v, auth %q", out, gotAuth)
	}
	req.URL = srv.URL + "/down"
	_, err = env.ExecuteActivity(workflows.ActHTTP, workflows.HTTPInput{CallID: "c", Request: req})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() || !appErr.HasDetails() {
		t.Fatalf("503 = %v; want a retryable error with the response", err)
	}
	var failed workflows.HTTPOutput
	appErr.Details(&failed)
	if failed.Status != 503 {
		t.Errorf("failed response = %+v", failed)
	}
	req.Headers["Authorization"] = "Bearer {{secrets.MISSING}}"
	_, err = env.ExecuteActivity(workflows.ActHTTP, workflows.HTTPInput{CallID: "c", Request: req})
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), "MISSING") {
		t.Errorf("missing secret = %v; want a non-retryable error naming it", err)
	}
}
