package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/ivrflow/ivrflow/activities"
	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/prompts"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

const (
	appID     = "0efc74f7-41c3-47a4-8775-7259bfef4241"
	dialToken = "dial-secret"
)

// stack is ivrflow running for real in one process: a Temporal server
// (in memory), a worker, the webhook, and the Graph emulator that calls
// it.
type stack struct {
	hookURL  string
	t        *testing.T
	emu      *graphsim.Emulator
	client   client.Client
	ts       *temporaltest.TestServer
	register func(worker.Registry)
	worker   worker.Worker
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames() {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if _, err := c.OperatorService().AddSearchAttributes(context.Background(), &operatorservice.AddSearchAttributesRequest{
		Namespace: ts.GetDefaultNamespace(), SearchAttributes: attrs}); err != nil {
		t.Fatalf("register search attributes: %v", err)
	}

	mux := http.NewServeMux()
	hook := httptest.NewServer(mux)
	t.Cleanup(hook.Close)
	api := httptest.NewUnstartedServer(nil)
	emu, err := graphsim.New(graphsim.Config{BaseURL: "http://" + api.Listener.Addr().String(), AppID: appID,
		AppSecret: "secret", CallbackURL: hook.URL + "/api/calls"})
	if err != nil {
		t.Fatal(err)
	}
	api.Config.Handler = emu.Handler()
	api.Start()
	t.Cleanup(api.Close)
	t.Cleanup(emu.Close)

	gc, err := graph.NewClient(graph.Config{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: appID,
		ClientSecret: "secret", TokenURL: emu.TokenURL(), BaseURL: emu.GraphURL()})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := graph.NewTokenValidator(context.Background(), graph.TokenConfig{JWKSURL: emu.JWKSURL(), Audience: appID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tokens.Close() })
	router, err := webhook.LoadRouter("../flows")
	if err != nil {
		t.Fatal(err)
	}
	store := &prompts.Store{Dir: t.TempDir(), Source: "../flows", BaseURL: hook.URL}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := webhook.NewServer(webhook.Config{AppID: appID, Logger: log, SearchAttributes: true, DialToken: dialToken}, webhook.Deps{
		Tokens: tokens, Temporal: c, Router: router, Prompts: store.Handler(),
		Rejecter: webhook.RejecterFunc(func(ctx context.Context, id, reason string) error {
			return gc.Reject(ctx, id, &graph.RejectRequest{Reason: graph.RejectReason(reason)})
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", h)

	calls := &activities.Calls{Graph: gc, Prompts: store, CallbackURL: hook.URL + "/api/calls", RecordingDir: t.TempDir()}
	dips := &activities.DataDips{Client: &http.Client{Timeout: 2 * time.Second}}
	s := &stack{hookURL: hook.URL, t: t, emu: emu, client: c, ts: ts, register: func(r worker.Registry) {
		r.RegisterWorkflow(workflows.CallWorkflow)
		calls.Register(r)
		dips.Register(r)
	}}
	s.worker = ts.NewWorker(workflows.TaskQueue, s.register)
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// result waits for a call's workflow and returns how it ended.
func (s *stack) result(cl *graphsim.Caller) workflows.CallResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The webhook starts the workflow when the incoming call is notified;
	// by the time the bot answers, it exists.
	if _, err := cl.WaitFor(ctx, "answer", 0); err != nil {
		s.t.Fatalf("the bot never answered: %v\n%s", err, transcript(cl))
	}
	return s.finish(ctx, cl)
}

// resultAny is result for calls the bot may also reject or redirect.
func (s *stack) resultAny(cl *graphsim.Caller) workflows.CallResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	select {
	case <-cl.Done():
	case <-ctx.Done():
		s.t.Fatalf("the call never ended\n%s", transcript(cl))
	}
	return s.finish(ctx, cl)
}

func (s *stack) finish(ctx context.Context, cl *graphsim.Caller) workflows.CallResult {
	s.t.Helper()
	var res workflows.CallResult
	if err := s.client.GetWorkflow(ctx, webhook.WorkflowID(cl.ID()), "").Get(ctx, &res); err != nil {
		s.t.Fatalf("call workflow: %v\ntranscript:\n%s", err, transcript(cl))
	}
	if err := cl.Wait(ctx); err != nil {
		s.t.Fatalf("the call did not end: %v\n%s", err, transcript(cl))
	}
	return res
}

func transcript(cl *graphsim.Caller) string {
	var b strings.Builder
	for _, e := range cl.Transcript() {
		fmt.Fprintln(&b, e)
	}
	return b.String()
}

// TestMainMenuTransfer calls the main menu's number, presses 1 during the
// welcome (barge-in, type-ahead into the menu) and is transferred to sales.
func TestMainMenuTransfer(t *testing.T) {
	s := startStack(t)
	cl, err := s.emu.Ring(graphsim.CallerSpec{From: graphsim.Party{Phone: "+14255550123"}, Number: "+14255550100",
		Script: []graphsim.Action{{At: 1500 * time.Millisecond, Press: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	res := s.result(cl)
	s.saveHistory(webhook.WorkflowID(cl.ID()), "main-menu-transfer")
	tr := transcript(cl)
	if res.Reason != "transfer" {
		t.Errorf("reason = %s; want transfer\n%s", res.Reason, tr)
	}
	for _, want := range []string{"answer", "subscribeToTone", "play http", "tone 1 delivered", "transfer to phone +14255550120", "ended by transfer"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, tr)
		}
	}
	// Operators find the call in the Temporal UI by its search attributes.
	q := `Flow = "main-menu" AND Caller = "+14255550123" AND CallState = "ended" AND CallId = "` + cl.ID() + `"`
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := s.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q})
		if err == nil && len(resp.Executions) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility query %s found nothing (%v)", q, err)
		}
		<-time.After(100 * time.Millisecond) // visibility is eventually consistent
	}
}

// TestCollectAndHangup runs the collect example: the caller keys a ZIP code
// and hangs up later; the flow's variables show the digits.
func TestCollectAndHangup(t *testing.T) {
	s := startStack(t)
	cl, err := s.emu.Ring(graphsim.CallerSpec{From: graphsim.Party{Phone: "+14255550123"}, Number: "+14255550141",
		Script: []graphsim.Action{{At: 2 * time.Second, Press: "98052"}, {At: 6 * time.Second, Hangup: true}}})
	if err != nil {
		t.Fatal(err)
	}
	res := s.result(cl)
	s.saveHistory(webhook.WorkflowID(cl.ID()), "step-collect-hangup")
	if res.Reason != "caller_hangup" || res.Vars["zip"] != "98052" {
		t.Errorf("result = %+v; want zip 98052 and a caller hang-up\n%s", res, transcript(cl))
	}
}

// TestWorkerCrash stops the worker in the middle of a call, lets the
// caller key digits while no worker runs, and starts a new worker: the
// call goes on from its history and no digit is lost.
func TestWorkerCrash(t *testing.T) {
	s := startStack(t)
	cl, err := s.emu.Ring(graphsim.CallerSpec{From: graphsim.Party{Phone: "+14255550123"}, Number: "+14255550141"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	at, err := cl.WaitFor(ctx, "play", 0)
	if err != nil {
		t.Fatalf("%v\n%s", err, transcript(cl))
	}
	s.worker.Stop() // the worker process dies while the ZIP prompt plays
	if err := cl.Press("98052"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if at, err = cl.WaitFor(ctx, "tone", at); err != nil {
			t.Fatalf("%v\n%s", err, transcript(cl))
		}
	}
	s.worker = s.ts.NewWorker(workflows.TaskQueue, s.register) // a new worker takes over
	if _, err := cl.WaitFor(ctx, "play", at); err != nil {     // the flow moves on to its next prompt
		t.Fatalf("%v\n%s", err, transcript(cl))
	}
	cl.Hangup()
	res := s.result(cl)
	if res.Vars["zip"] != "98052" || res.Reason != "caller_hangup" {
		t.Errorf("result = %+v; want the ZIP keyed while no worker ran\n%s", res, transcript(cl))
	}
}

// TestOperatorActions: an operator moves a silent caller from the main
// menu to sales (an update, as the CLI sends it), after a signal the call
// refuses (as a mistyped action from the UI would be) and an update its
// validator refuses; the caller is transferred, and the call's timeline
// shows all three.
func TestOperatorActions(t *testing.T) {
	s := startStack(t)
	cl, err := s.emu.Ring(graphsim.CallerSpec{From: graphsim.Party{Phone: "+14255550123"}, Number: "+14255550100"})
	if err != nil {
		t.Fatal(err)
	}
	wid := webhook.WorkflowID(cl.ID())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Wait for the menu.
	for {
		v, err := s.client.QueryWorkflow(ctx, wid, "", workflows.QueryState)
		var st workflows.State
		if err == nil && v.Get(&st) == nil && st.Step == "main" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the call never reached the menu: %v\n%s", err, transcript(cl))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What the Temporal UI shows: the call's current details, and the
	// signal operators send, with its description.
	v, err := s.client.QueryWorkflow(ctx, wid, "", "__temporal_workflow_metadata")
	var md sdkpb.WorkflowMetadata
	if err == nil {
		err = v.Get(&md)
	}
	if err != nil {
		t.Fatal(err)
	}
	var signals []string
	for _, d := range md.GetDefinition().GetSignalDefinitions() {
		signals = append(signals, d.GetName()+": "+d.GetDescription())
	}
	if !strings.Contains(md.GetCurrentDetails(), "at step **main**") || !strings.Contains(strings.Join(signals, "\n"), `operator: An operator's action`) {
		t.Errorf("workflow metadata: details %q, signals %q", md.GetCurrentDetails(), signals)
	}
	if err := s.client.SignalWorkflow(ctx, wid, "", workflows.SignalOperator, map[string]string{"action": "transfer"}); err != nil {
		t.Fatal(err)
	}
	update := func(op workflows.Operator) (string, error) {
		h, err := s.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wid, UpdateName: workflows.UpdateOperator,
			Args: []any{op}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			return "", err
		}
		var out string
		err = h.Get(ctx, &out)
		return out, err
	}
	if _, err := update(workflows.Operator{Action: workflows.OpGoto, Step: "salse"}); err == nil || !strings.Contains(err.Error(), `no step "salse"`) {
		t.Errorf("a goto to a missing step: %v; want it refused", err)
	}
	if out, err := update(workflows.Operator{Action: workflows.OpGoto, Step: "sales", By: "ana"}); err != nil || out != "done: goto" {
		t.Errorf("goto sales: %q, %v", out, err)
	}
	res := s.result(cl)
	s.saveHistory(wid, "operator-goto-transfer")
	if res.Reason != "transfer" || !strings.Contains(transcript(cl), "transfer to phone +14255550120") {
		t.Errorf("result %+v; want a transfer to sales\n%s", res, transcript(cl))
	}
	v, err = s.client.QueryWorkflow(ctx, wid, "", workflows.QueryState)
	var st workflows.State
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range st.Timeline {
		if e.What == "operator" {
			ops = append(ops, e.Detail)
		}
	}
	if len(ops) != 2 || !strings.Contains(ops[0], `transfer refused: transfer needs a target`) || ops[1] != "go to sales (ana)" {
		t.Errorf("operator entries in the timeline: %q", ops)
	}
}
