package workflows

import (
	"fmt"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
)

// Snapshot is a Machine's whole state as plain data, so a long call can
// continue as a new workflow run (continue-as-new) where it left off.
type Snapshot struct {
	Stack        []FrameSnapshot   `json:"stack"`
	Step         string            `json:"step,omitempty"`
	Call         map[string]string `json:"call"`
	Started      time.Time         `json:"started"`
	Locale       string            `json:"locale"`
	Buffer       []string          `json:"buffer,omitempty"`
	LastSeq      int64             `json:"last_seq,omitempty"`
	Answered     bool              `json:"answered,omitempty"`
	Answering    bool              `json:"answering,omitempty"`
	Subscribing  string            `json:"subscribing,omitempty"`
	Outbound     bool              `json:"outbound,omitempty"`
	WaitOp       string            `json:"wait_op,omitempty"`
	OpTransfer   string            `json:"op_transfer,omitempty"`
	Input        *InputSnapshot    `json:"input,omitempty"`
	Seq          int               `json:"seq"`
	Handling     bool              `json:"handling,omitempty"`
	Reason       string            `json:"reason,omitempty"`
	SwallowKeys  string            `json:"swallow_keys,omitempty"`
	SwallowUntil time.Time         `json:"swallow_until,omitzero"`
	Timeline     []Entry           `json:"timeline,omitempty"`
}

// FrameSnapshot is one running flow of a Snapshot.
type FrameSnapshot struct {
	Flow   string         `json:"flow"`
	Ret    string         `json:"ret,omitempty"`
	Into   string         `json:"into,omitempty"`
	Called string         `json:"called,omitempty"`
	Vars   map[string]any `json:"vars"`
}

// InputSnapshot is a collect or menu in progress.
type InputSnapshot struct {
	Attempt   int      `json:"attempt"`
	NoInput   int      `json:"no_input"`
	NoMatch   int      `json:"no_match"`
	Prompting bool     `json:"prompting,omitempty"`
	OpID      string   `json:"op_id,omitempty"`
	Digits    string   `json:"digits,omitempty"`
	Active    bool     `json:"active,omitempty"`
	Timers    []string `json:"timers,omitempty"`
}

// keptTimeline is how much of the timeline a new run carries.
const keptTimeline = 50

// Snapshot returns the Machine's state.
func (m *Machine) Snapshot() Snapshot {
	s := Snapshot{Step: m.Step(), Call: m.call, Started: m.started, Locale: m.locale, Buffer: m.buffer,
		LastSeq: m.lastSeq, Answered: m.answered, Answering: m.answering, Subscribing: m.subscribing,
		Outbound: m.outbound, WaitOp: m.waitOp, OpTransfer: m.opTransfer, Seq: m.seq, Handling: m.handling, Reason: m.reason,
		SwallowKeys: m.swallowKeys, SwallowUntil: m.swallowUntil}
	s.Timeline = m.timeline[max(0, len(m.timeline)-keptTimeline):]
	for _, f := range m.stack {
		s.Stack = append(s.Stack, FrameSnapshot{Flow: f.plan.Flow, Ret: f.ret, Into: f.into, Called: f.called, Vars: f.vars})
	}
	if in := m.in; in != nil {
		s.Input = &InputSnapshot{Attempt: in.attempt, NoInput: in.noInput, NoMatch: in.noMatch, Prompting: in.prompting,
			OpID: in.opID, Digits: in.digits, Active: in.active, Timers: in.timers}
	}
	return s
}

// RestoreMachine rebuilds a Machine from a Snapshot taken on the same
// Plan. Variables get their declared types back (JSON turns integers into
// floats).
func RestoreMachine(plan *dsl.Plan, s Snapshot) (*Machine, error) {
	m := &Machine{root: plan, evals: map[string]*evaluator{}, call: s.Call, started: s.Started, locale: s.Locale,
		buffer: s.Buffer, lastSeq: s.LastSeq, answered: s.Answered, answering: s.Answering, subscribing: s.Subscribing,
		outbound: s.Outbound, waitOp: s.WaitOp, opTransfer: s.OpTransfer, seq: s.Seq, handling: s.Handling, reason: s.Reason,
		swallowKeys: s.SwallowKeys, swallowUntil: s.SwallowUntil, timeline: s.Timeline}
	if m.call == nil {
		m.call = map[string]string{}
	}
	for _, fs := range s.Stack {
		p := plan
		if fs.Flow != plan.Flow {
			p = plan.Subflows[fs.Flow]
		}
		if p == nil {
			return nil, fmt.Errorf("restore: flow %s is not in the plan", fs.Flow)
		}
		f, err := m.newFrame(p, nil)
		if err != nil {
			return nil, err
		}
		for _, v := range p.Vars {
			if val, ok := fs.Vars[v.Name]; ok {
				f.vars[v.Name] = coerce(v.Type, val)
			}
		}
		f.ret, f.into, f.called = fs.Ret, fs.Into, fs.Called
		m.stack = append(m.stack, f)
	}
	if len(m.stack) == 0 {
		return nil, fmt.Errorf("restore: the snapshot has no flow")
	}
	if s.Step != "" {
		if m.step = m.top().plan.Step(s.Step); m.step == nil {
			return nil, fmt.Errorf("restore: no step %q in flow %s", s.Step, m.top().plan.Flow)
		}
	}
	if in := s.Input; in != nil {
		m.in = &input{attempt: in.Attempt, noInput: in.NoInput, noMatch: in.NoMatch, prompting: in.Prompting,
			opID: in.OpID, digits: in.Digits, active: in.Active, timers: in.Timers}
	}
	return m, nil
}
