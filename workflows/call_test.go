package workflows

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// fakeGraph stands in for Graph in workflow tests: its activities record
// what the workflow asked for, and a ticker of delayed callbacks sends the
// notifications Graph would (established after answering, a prompt
// finished two seconds after it started, a transfer outcome).
type fakeGraph struct {
	t          *testing.T
	env        *testsuite.TestWorkflowEnvironment
	mu         sync.Mutex
	calls      []string
	newPlays   []string
	plays      map[string]time.Time
	cancelled  []string
	answered   bool
	est        bool
	transfer   time.Time
	transferOK bool
	notes      int
	idPrefix   string // of the notification ids it makes up
	start      time.Time
}

func newFakeGraph(t *testing.T, limit, tick time.Duration) *fakeGraph {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	g := &fakeGraph{t: t, env: env, plays: map[string]time.Time{}, transferOK: true}
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	record := func(name string) { g.mu.Lock(); g.calls = append(g.calls, name); g.mu.Unlock() }
	reg(ActAnswer, func(_ context.Context, in AnswerInput) error {
		record(ActAnswer)
		g.mu.Lock()
		g.answered = true
		g.mu.Unlock()
		return nil
	})
	reg(ActSubscribe, func(context.Context, MediaInput) error { record(ActSubscribe); return nil })
	reg(ActPlay, func(_ context.Context, in MediaInput) error {
		names := make([]string, len(in.Prompts))
		for i, p := range in.Prompts {
			names[i] = p.Name
		}
		record(ActPlay + " " + strings.Join(names, ","))
		g.mu.Lock()
		g.newPlays = append(g.newPlays, in.ClientContext)
		g.mu.Unlock()
		return nil
	})
	reg(ActCancelMedia, func(context.Context, MediaInput) error {
		record(ActCancelMedia)
		g.mu.Lock()
		for id := range g.plays {
			g.cancelled = append(g.cancelled, id)
			delete(g.plays, id)
		}
		g.cancelled = append(g.cancelled, g.newPlays...)
		g.newPlays = nil
		g.mu.Unlock()
		return nil
	})
	reg(ActTransfer, func(_ context.Context, in ControlInput) error {
		record(ActTransfer + " " + in.Targets[0].ID)
		g.mu.Lock()
		g.transfer = time.Time{}.Add(1) // set on the next tick
		g.mu.Unlock()
		return nil
	})
	reg(ActHangup, func(context.Context, ControlInput) error { record(ActHangup); return nil })
	reg(ActKeepAlive, func(context.Context, ControlInput) error { record(ActKeepAlive); return nil })
	reg(ActReject, func(_ context.Context, in ControlInput) error { record(ActReject + " " + in.Reason); return nil })
	reg(ActRedirect, func(context.Context, ControlInput) error { record(ActRedirect); return nil })
	reg(ActHTTP, func(_ context.Context, in HTTPInput) (HTTPOutput, error) {
		record(ActHTTP + " " + in.Request.URL)
		return HTTPOutput{OK: true, Status: 200, Body: map[string]any{}}, nil
	})
	// One callback at a time: each tick schedules the next.
	var next func()
	next = func() {
		g.tick()
		if env.Now().Sub(g.start) < limit {
			env.RegisterDelayedCallback(next, tick)
		}
	}
	g.start = env.Now()
	env.RegisterDelayedCallback(next, tick)
	return g
}

func (g *fakeGraph) signal(n Notification) {
	g.notes++
	if n.ID == "" {
		n.ID = g.idPrefix + "n" + time.Duration(g.notes).String()
	}
	g.env.SignalWorkflow(SignalGraph, n)
}

// tick sends what Graph would have sent by now.
func (g *fakeGraph) tick() {
	now := g.env.Now()
	g.mu.Lock()
	var out []Notification
	if g.answered && !g.est {
		g.est = true
		out = append(out, Notification{Kind: "call", State: "establishing"}, Notification{Kind: "call", State: "established"})
	}
	for _, id := range g.newPlays {
		g.plays[id] = now
	}
	g.newPlays = nil
	for _, id := range g.cancelled {
		out = append(out, Notification{Kind: "operation", ClientContext: id, Status: "failed", Code: 400, Subcode: 8508})
	}
	g.cancelled = nil
	for _, id := range sortedKeys(g.plays) {
		if now.Sub(g.plays[id]) >= 2*time.Second {
			out = append(out, Notification{Kind: "operation", ClientContext: id, Status: "completed", Code: 200})
			delete(g.plays, id)
		}
	}
	if !g.transfer.IsZero() {
		if g.transfer.Equal(time.Time{}.Add(1)) {
			g.transfer = now
		} else if now.Sub(g.transfer) >= time.Second {
			g.transfer = time.Time{}
			out = append(out, Notification{Kind: "call", State: "transferring"})
			if g.transferOK {
				out = append(out, Notification{Kind: "call", State: "transferAccepted"},
					Notification{Kind: "call", State: "terminated", Deleted: true, Subcode: 7015})
			} else {
				out = append(out, Notification{Kind: "call", State: "established", Code: 500, Subcode: 7000})
			}
		}
	}
	g.mu.Unlock()
	for _, n := range out {
		g.signal(n)
	}
}

func (g *fakeGraph) tones(at time.Duration, keys string) {
	for i, k := range keys {
		key := string(k)
		g.env.RegisterDelayedCallback(func() {
			g.signal(Notification{Kind: "call", State: "established", Tone: key, Seq: int64(1000*at.Seconds()) + int64(i)})
		}, at+time.Duration(i)*100*time.Millisecond)
	}
}

func (g *fakeGraph) run(src string) *CallResult {
	g.t.Helper()
	g.env.RegisterWorkflow(CallWorkflow)
	g.env.ExecuteWorkflow(CallWorkflow, CallInput{CallID: "c1", Caller: "+14255550123", Plan: compile(g.t, src)})
	if !g.env.IsWorkflowCompleted() {
		g.t.Fatal("the workflow did not complete")
	}
	if err := g.env.GetWorkflowError(); err != nil {
		g.t.Fatalf("workflow error: %v", err)
	}
	var res CallResult
	if err := g.env.GetWorkflowResult(&res); err != nil {
		g.t.Fatal(err)
	}
	return &res
}

func (g *fakeGraph) called() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.calls, "\n")
}

func TestCallWorkflowCollect(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.tones(5*time.Second, "1234#")
	res := g.run(collectFlow)
	if res.Reason != "hangup" || res.Vars["acct"] != "1234" {
		t.Errorf("result = %+v; want acct 1234 and a hang-up", res)
	}
	want := "Answer\nSubscribeToTone\nPlayPrompt ask#1\nPlayPrompt ok#4\nHangup"
	if got := g.called(); got != want {
		t.Errorf("activities:\n%s\nwant:\n%s", got, want)
	}
}

func TestCallWorkflowStateQuery(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.tones(5*time.Second, "12")
	g.env.RegisterDelayedCallback(func() {
		v, err := g.env.QueryWorkflow(QueryState)
		if err != nil {
			t.Errorf("state query: %v", err)
			return
		}
		var st State
		v.Get(&st)
		if st.Step != "ask" || st.Digits != "12" || len(st.Timeline) == 0 {
			t.Errorf("state mid-entry = %+v; want step ask with digits 12", st)
		}
	}, 5500*time.Millisecond)
	g.tones(6*time.Second, "34#")
	if res := g.run(collectFlow); res.Vars["acct"] != "1234" {
		t.Errorf("acct = %v", res.Vars["acct"])
	}
}

func TestCallWorkflowBargeInAndDuplicates(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	// The first key arrives during the prompt; every tone is delivered
	// twice, as Graph may.
	for i, k := range "5678#" {
		at := 1500*time.Millisecond + time.Duration(i)*200*time.Millisecond
		key, seq := string(k), int64(i+1)
		for range 2 {
			g.env.RegisterDelayedCallback(func() { g.signal(Notification{Kind: "call", Tone: key, Seq: seq}) }, at)
		}
	}
	res := g.run(collectFlow)
	if res.Vars["acct"] != "5678" {
		t.Errorf("acct = %v; want 5678", res.Vars["acct"])
	}
	if !strings.Contains(g.called(), "CancelMediaProcessing") {
		t.Errorf("no barge-in:\n%s", g.called())
	}
}

func TestCallWorkflowCallerHangsUp(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.env.RegisterDelayedCallback(func() {
		g.signal(Notification{Kind: "call", State: "terminated", Deleted: true, Code: 200, Subcode: 4521})
		g.signal(Notification{Kind: "call", State: "established", Tone: "1", Seq: 9}) // late: changes nothing
	}, 4*time.Second)
	res := g.run(collectFlow)
	if res.Reason != "caller_hangup" {
		t.Errorf("reason = %s", res.Reason)
	}
	if strings.Contains(g.called(), "Hangup") {
		t.Errorf("the workflow hung up a call that had already ended:\n%s", g.called())
	}
}

func TestCallWorkflowTransfer(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.tones(3*time.Second, "1")
	if res := g.run(menuFlow); res.Reason != "transfer" || res.Vars["choice"] != "1" {
		t.Errorf("accepted transfer: %+v", res)
	}
	g = newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.transferOK = false
	g.tones(3*time.Second, "1")
	res := g.run(menuFlow)
	if res.Reason != "hangup" || !strings.Contains(g.called(), "PlayPrompt sorry#") {
		t.Errorf("refused transfer: %+v\n%s", res, g.called())
	}
}

// TestCallWorkflowLongCall keeps a call in a menu for two hours: keepAlive
// is sent every ten minutes, and max_call_duration ends it.
func TestCallWorkflowLongCall(t *testing.T) {
	src := `flow: t
defaults: {max_call_duration: 2h}
steps:
  loop:
    menu:
      greeting: {say: "Press 1 to hear this again"}
      options: {"1": loop}
      timeout: 1m
      max_timeouts: 10
      on_max_failures: loop
      on_max_timeouts: loop
`
	g := newFakeGraph(t, 2*time.Hour+time.Minute, time.Second)
	res := g.run(src)
	if res.Reason != "max_duration" {
		t.Errorf("reason = %s; want max_duration", res.Reason)
	}
	if n := strings.Count(g.called(), ActKeepAlive); n < 11 || n > 12 {
		t.Errorf("%d keepAlives in two hours; want one every ten minutes", n)
	}
	if !strings.HasSuffix(g.called(), "Hangup") {
		t.Errorf("the call was not hung up at the end:\n...%s", g.called()[max(0, len(g.called())-200):])
	}
}

// A call started with its search attributes (StartAttributes) sets only
// Step and CallState, and only when they change: one update per workflow
// task however many events it handled.
func TestCallWorkflowSearchAttributes(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.tones(5*time.Second, "1234#")
	var upserts []string
	g.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		var kv []string
		for k, v := range sa.GetUntypedValues() {
			kv = append(kv, fmt.Sprintf("%s=%v", k.GetName(), v))
		}
		sort.Strings(kv)
		upserts = append(upserts, strings.Join(kv, " "))
	}).Return(nil)
	in := CallInput{CallID: "c1", Caller: "+14255550123", Callee: "+14255550100", Plan: compile(t, collectFlow),
		SearchAttributes: true}
	if err := g.env.SetTypedSearchAttributesOnStart(StartAttributes(in)); err != nil {
		t.Fatal(err)
	}
	g.env.RegisterWorkflow(CallWorkflow)
	g.env.ExecuteWorkflow(CallWorkflow, in)
	if err := g.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CallState=answered",    // established
		"Step=ok",               // 1234# collected
		"CallState=ended Step=", // the prompt done, hung up
	}
	if strings.Join(upserts, "\n") != strings.Join(want, "\n") {
		t.Errorf("search attribute updates:\n%s\nwant:\n%s", strings.Join(upserts, "\n"), strings.Join(want, "\n"))
	}
}

// StartAttributes names the step the call waits in, not a first step that
// moves on at once.
func TestStartAttributes(t *testing.T) {
	plan := compile(t, "flow: t\nvariables: {n: string}\nsteps:\n  init:\n    set: {n: '\"1\"'}\n    next: ask\n"+strings.SplitN(collectFlow, "steps:\n", 2)[1])
	in := CallInput{CallID: "c1", Caller: "+14255550123", Callee: "+14255550100", Plan: plan, SearchAttributes: true}
	sa := StartAttributes(in)
	for key, want := range map[temporal.SearchAttributeKeyKeyword]string{AttrCallID: "c1", AttrFlow: "t",
		AttrCaller: "+14255550123", AttrCallee: "+14255550100", AttrStep: "ask", AttrCallState: "ringing"} {
		if got, ok := sa.GetKeyword(key); !ok || got != want {
			t.Errorf("%s = %q (set %v); want %q", key.GetName(), got, ok, want)
		}
	}
	in.SearchAttributes = false
	if n := StartAttributes(in).Size(); n != 0 {
		t.Errorf("without SearchAttributes, %d attributes; want none", n)
	}
}

// TestCallWorkflowOperator: a goto signalled as the UI sends it (any
// JSON), an update refused by its validator, and an update that hangs up.
func TestCallWorkflowOperator(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.env.RegisterDelayedCallback(func() {
		g.env.SignalWorkflow(SignalOperator, map[string]any{"action": "goto", "step": "agent", "by": "ana"})
	}, 10*time.Second)
	g.env.RegisterDelayedCallback(func() {
		g.env.SignalWorkflow(SignalOperator, "explode") // refused, in the timeline
	}, 10500*time.Millisecond)
	var refused, accepted error
	var result string
	g.env.RegisterDelayedCallback(func() {
		g.env.UpdateWorkflow(UpdateOperator, "u1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { refused = err },
			OnAccept:   func() { t.Error("a goto to a missing step was accepted") },
			OnComplete: func(any, error) {},
		}, Operator{Action: OpGoto, Step: "nowhere"})
	}, 11*time.Second)
	g.env.RegisterDelayedCallback(func() {
		g.env.UpdateWorkflow(UpdateOperator, "u2", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { accepted = err },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if s, ok := v.(string); ok {
					result = s
				}
				if err != nil {
					accepted = err
				}
			},
		}, Operator{Action: OpHangup, Note: "test"})
	}, 11500*time.Millisecond)
	flow := strings.Replace(operatorFlow, "  agent:\n    play: {say: \"An agent will take your call\"}\n    next: bye\n",
		"  agent:\n    play: {say: \"An agent will take your call\"}\n    next: wait\n  wait:\n    menu:\n      greeting: {say: \"Hold on\"}\n      options: {\"1\": bye}\n      timeout: 5s\n      max_timeouts: 10\n      on_max_timeouts: wait\n      on_max_failures: wait\n", 1)
	res := g.run(flow)
	if res.Reason != "operator_hangup" || res.Vars["logged"] != true {
		t.Errorf("result %+v; want operator_hangup with on_hangup run", res)
	}
	if refused == nil || !strings.Contains(refused.Error(), `no step "nowhere"`) {
		t.Errorf("the goto to a missing step: rejected with %v", refused)
	}
	if accepted != nil || result != "done: hangup" {
		t.Errorf("the hang-up update: %q, %v", result, accepted)
	}
	called := g.called()
	if !strings.Contains(called, "PlayPrompt menu#1\nPlayPrompt agent") || !strings.HasSuffix(called, "Hangup") {
		t.Errorf("activities:\n%s", called)
	}
}

// TestCallWorkflowOperatorTransfer: a transfer signalled as the UI sends
// it goes to Graph, and the accepted transfer ends the call.
func TestCallWorkflowOperatorTransfer(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.env.RegisterDelayedCallback(func() {
		g.env.SignalWorkflow(SignalOperator, map[string]any{"action": "transfer", "to": "+14255550120", "by": "ana"})
	}, 10*time.Second)
	res := g.run(operatorFlow)
	if res.Reason != "transfer" || res.Vars["logged"] != true {
		t.Errorf("result %+v; want a transfer, with on_hangup run", res)
	}
	if called := g.called(); !strings.Contains(called, "Transfer +14255550120") {
		t.Errorf("activities:\n%s", called)
	}
}

func TestCallDetails(t *testing.T) {
	m, err := NewMachine(compile(t, operatorFlow), Call{ID: "c1", Caller: "+14255550123"})
	if err != nil {
		t.Fatal(err)
	}
	m.Handle(Event{Kind: EvStart, At: time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)})
	in := CallInput{Caller: "+14255550123", Callee: "+14255550100", Plan: m.root}
	got := callDetails(in, m, true)
	for _, want := range []string{"**ringing**, flow **t**, at step **menu**", "+14255550123 → +14255550100", "- 09:30:00 start: flow t", "`operator` signal"} {
		if !strings.Contains(got, want) {
			t.Errorf("details lack %q:\n%s", want, got)
		}
	}
	if got := callDetails(in, m, false); strings.Contains(got, "operator") {
		t.Errorf("details offer operator actions to a call that takes none:\n%s", got)
	}
}
