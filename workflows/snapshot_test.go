package workflows

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// TestSnapshotRoundTrip takes a Machine mid-entry through JSON and checks
// the restored one behaves exactly like the original from there on.
func TestSnapshotRoundTrip(t *testing.T) {
	plan := compile(t, collectFlow)
	m, err := NewMachine(plan, Call{ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	feed := func(m *Machine, ev Event) []Command { ev.At = at; return m.Handle(ev) }
	feed(m, Event{Kind: EvStart})
	sub := feed(m, Event{Kind: EvEstablished})[0].ID
	play := feed(m, Event{Kind: EvDone, ID: sub, OK: true})[0].ID
	feed(m, Event{Kind: EvDone, ID: play, OK: true})
	feed(m, Event{Kind: EvTone, Tone: "1", Seq: 1})
	feed(m, Event{Kind: EvTone, Tone: "2", Seq: 2})

	b, err := json.Marshal(m.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	r, err := RestoreMachine(plan, snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{{Kind: EvTone, Tone: "2", Seq: 2}, {Kind: EvTone, Tone: "3", Seq: 3}, {Kind: EvTone, Tone: "4", Seq: 4}, {Kind: EvTone, Tone: "#", Seq: 5}} {
		a, b := feed(m, ev), feed(r, ev)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("after %+v the restored machine gave %+v; the original %+v", ev, b, a)
		}
	}
	if m.Var("acct") != "1234" || r.Var("acct") != "1234" {
		t.Errorf("acct = %v and %v; want 1234 (the duplicate tone 2 is dropped by both)", m.Var("acct"), r.Var("acct"))
	}
}

// TestContinueAsNew makes a call continue as a new run while its prompt
// plays, then finishes it in the new run from the carried state.
func TestContinueAsNew(t *testing.T) {
	g := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g.env.RegisterWorkflow(CallWorkflow)
	g.env.ExecuteWorkflow(CallWorkflow, CallInput{CallID: "c1", Caller: "+14255550123", Plan: compile(t, collectFlow), MaxHistory: 15})
	var can *workflow.ContinueAsNewError
	if err := g.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v; want continue-as-new", err)
	}
	var next CallInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	r := next.Resume
	if r == nil || r.Machine.Step != "ask" || r.Machine.Input == nil || !r.Machine.Input.Prompting || !r.Established {
		t.Fatalf("resume = %+v; want the collect prompt playing on an established call", r)
	}
	if _, ok := r.Timers["max_call_duration"]; !ok {
		t.Errorf("the max call duration timer was not carried: %v", r.Timers)
	}

	if len(r.Seen) == 0 {
		t.Fatal("the ids of the notifications handled were not carried")
	}

	g2 := newFakeGraph(t, 2*time.Minute, 250*time.Millisecond)
	g2.idPrefix = "run2-" // Graph's notification ids are unique
	next.MaxHistory = 0
	prompt := r.Machine.Input.OpID
	g2.env.RegisterDelayedCallback(func() {
		g2.signal(Notification{Kind: "operation", ClientContext: prompt, Status: "completed"})
		// Graph delivers again a notification the first run handled: a
		// key pressed then must not count twice.
		g2.env.SignalWorkflow(SignalGraph, Notification{ID: r.Seen[len(r.Seen)-1], Kind: "call", State: "established", Tone: "9", Seq: 1})
	}, time.Second)
	g2.tones(2*time.Second, "1234#")
	g2.t = t
	g2.env.RegisterWorkflow(CallWorkflow)
	g2.env.ExecuteWorkflow(CallWorkflow, next)
	if err := g2.env.GetWorkflowError(); err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	var res CallResult
	g2.env.GetWorkflowResult(&res)
	if res.Vars["acct"] != "1234" || res.Reason != "hangup" {
		t.Errorf("resumed run = %+v; want acct 1234", res)
	}
	if c := g2.called(); c != "PlayPrompt ok#4\nHangup" {
		t.Errorf("resumed run activities:\n%s", c)
	}
}
