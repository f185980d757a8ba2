package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
)

// The interpreter is a deterministic state machine: Handle takes one
// event (a tone, a finished operation, a timer, a hang-up) and returns the
// commands the host must carry out (play these prompts, start this timer,
// transfer the call). It never reads a clock or does I/O: every event
// carries the time it happened. The Temporal workflow is one host; the
// flow simulator behind `ivrflow test` is another, so both run exactly the
// same semantics, those of docs/flow-language.md §7.

// EventKind is what happened.
type EventKind string

// The events a host reports.
const (
	// EvStart starts the flow; it is the first event.
	EvStart EventKind = "start"
	// EvEstablished says the call is answered and media can flow.
	EvEstablished EventKind = "established"
	// EvTone is a key the caller pressed, with Graph's sequence id.
	EvTone EventKind = "tone"
	// EvDone says the operation ID finished: OK reports success, Result
	// carries its outcome (a recording, an HTTP response, a sub-reason).
	EvDone EventKind = "done"
	// EvTimer says the timer ID fired.
	EvTimer EventKind = "timer"
	// EvHangup says the call ended outside the flow's control (the caller
	// hung up, Graph dropped it); Reason says why.
	EvHangup EventKind = "hangup"
	// EvOperator is an operator's action on the call, in Operator. One that
	// CheckOperator refuses changes nothing but the timeline.
	EvOperator EventKind = "operator"
)

// Operator is an action an operator takes on a call in progress (the
// workflow's "operator" signal).
type Operator struct {
	// Action is OpHangup, OpGoto or OpTransfer.
	Action string `json:"action"`
	// Step, for OpGoto, is a step of the call's main flow.
	Step string `json:"step,omitempty"`
	// To, for OpTransfer, is where to: an E.164 number, or user:,
	// application: or application_instance: and a GUID
	// (dsl.ParseTarget).
	To string `json:"to,omitempty"`
	// By and Note say who acted and why, for the call's timeline.
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
}

// The operator actions.
const (
	// OpHangup ends the call now (an unanswered incoming call is
	// rejected); the flow's on_hangup runs, with end_reason
	// operator_hangup.
	OpHangup = "hangup"
	// OpGoto leaves the step the call is at (its prompt is stopped, its
	// timers cancelled, keys typed ahead dropped; a sub-flow is left) and
	// goes on at Operator.Step of the main flow.
	OpGoto = "goto"
	// OpTransfer leaves the step as OpGoto does and transfers the
	// answered call to Operator.To; if the transfer fails, the call goes
	// back to the step it was at (in the main flow).
	OpTransfer = "transfer"
)

// Event is one thing that happened to the call.
type Event struct {
	Kind   EventKind      `json:"kind"`
	At     time.Time      `json:"at"`
	ID     string         `json:"id,omitempty"`
	Tone   string         `json:"tone,omitempty"` // 0-9, *, #, A-D
	Seq    int64          `json:"seq,omitempty"`
	OK     bool           `json:"ok,omitempty"`
	Result map[string]any `json:"result,omitempty"`
	Reason string         `json:"reason,omitempty"`
	// Operator is the action of an EvOperator.
	Operator *Operator `json:"operator,omitempty"`
}

// CommandKind is what the host must do.
type CommandKind string

// The commands the interpreter gives.
const (
	CmdAnswer      CommandKind = "answer"      // answer, then report EvEstablished
	CmdSubscribe   CommandKind = "subscribe"   // subscribe to tones
	CmdPlay        CommandKind = "play"        // play Prompts; report EvDone ID
	CmdCancelMedia CommandKind = "cancelMedia" // stop what is playing
	CmdRecord      CommandKind = "record"      // record; report EvDone ID with the recording
	CmdTimer       CommandKind = "timer"       // start timer ID for Delay
	CmdCancelTimer CommandKind = "cancelTimer" // the timer ID is no longer needed
	CmdHTTP        CommandKind = "http"        // make the request; report EvDone ID with {status, body, headers}
	CmdTransfer    CommandKind = "transfer"    // transfer; report EvDone ID (OK false if refused)
	CmdRedirect    CommandKind = "redirect"    // redirect the unanswered call
	CmdReject      CommandKind = "reject"      // reject the unanswered call
	CmdHangup      CommandKind = "hangup"      // end the call
)

// Command is one thing the host must do.
type Command struct {
	Kind    CommandKind    `json:"kind"`
	ID      string         `json:"id,omitempty"` // operation or timer id; use it as Graph's clientContext
	Prompts []Prompt       `json:"prompts,omitempty"`
	BargeIn bool           `json:"barge_in,omitempty"`
	Delay   time.Duration  `json:"delay,omitempty"`
	Record  *dsl.Record    `json:"record,omitempty"`
	HTTP    *Request       `json:"http,omitempty"`
	Targets []dsl.Target   `json:"targets,omitempty"`
	Timeout time.Duration  `json:"timeout,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Meta    map[string]any `json:"meta,omitempty"`
}

// Prompt is a prompt ready to play: a file, a URL, or text rendered to
// speech in a locale and voice.
type Prompt struct {
	Name   string `json:"name"`
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	URL    string `json:"url,omitempty"`
	Text   string `json:"text,omitempty"`
	Locale string `json:"locale,omitempty"`
	Voice  string `json:"voice,omitempty"`
}

// Request is an http step's request with its templates filled in, except
// the secrets, which the activity fills in so they never enter history.
type Request struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Timeout time.Duration     `json:"timeout"`
	Retries int               `json:"retries"`
}

// Entry is one line of a call's timeline, kept for the state query and
// the transcript of flow tests.
type Entry struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step,omitempty"`
	What   string    `json:"what"`
	Detail string    `json:"detail,omitempty"`
}

// input is the state of a collect or menu step in progress.
type input struct {
	attempt   int
	noInput   int // failed attempts without input (collect), or timeouts (menu)
	noMatch   int // failed attempts with invalid input, or invalid keys (menu)
	prompting bool
	opID      string // the prompt being played
	digits    string
	active    bool // collecting digits (after the prompt phase)
	timers    []string
	swallow   time.Time // a terminator before this time is dropped (after max digits)
}

// frame is a running flow: the main flow, or a sub-flow and where to go
// back to.
type frame struct {
	plan   *dsl.Plan
	ret    string // step to continue at in the caller
	into   string // caller variable receiving the return values
	vars   map[string]any
	called string // the step that called this sub-flow
}

// Machine interprets a Plan for one call.
type Machine struct {
	root      *dsl.Plan
	call      map[string]string
	evals     map[string]*evaluator
	stack     []*frame
	step      *dsl.Step
	now       time.Time
	started   time.Time
	locale    string
	buffer    []string // type-ahead: keys pressed and not yet consumed
	lastSeq   int64
	answered  bool
	answering bool
	// opTransfer is the operator's transfer in progress.
	opTransfer string
	// rerunOnAnswer keeps the behaviour of calls from before
	// versionOperator: the current step ran again when the answer
	// completed, even one already under way.
	rerunOnAnswer bool
	subscribing   string // the tone subscription Graph must take before media
	outbound      bool
	waitOp        string // the operation the current step waits for
	in            *input
	seq           int
	out           []Command
	ended         bool
	handling      bool // running the on_hangup handler
	// a terminator pressed just after a max-length entry is dropped (§7)
	swallowKeys  string
	swallowUntil time.Time
	reason       string
	timeline     []Entry
}

// Call describes the call a Machine runs for, as the built-in call map
// exposes it.
type Call struct {
	ID     string
	Caller string
	Callee string
	Route  string
	// Outbound is a call the flow placed: it is answered by the callee,
	// not by the flow.
	Outbound bool
}

// NewMachine prepares a Machine for a Plan and a call.
func NewMachine(plan *dsl.Plan, c Call) (*Machine, error) {
	m := &Machine{root: plan, evals: map[string]*evaluator{}, locale: plan.Defaults.Locale, outbound: c.Outbound, answering: c.Outbound,
		call: map[string]string{"id": c.ID, "caller": c.Caller, "callee": c.Callee, "route": c.Route, "flow": plan.Flow, "version": plan.Version}}
	f, err := m.newFrame(plan, nil)
	if err != nil {
		return nil, err
	}
	m.stack = []*frame{f}
	return m, nil
}

func (m *Machine) newFrame(plan *dsl.Plan, params map[string]any) (*frame, error) {
	if _, ok := m.evals[plan.Flow]; !ok {
		ev, err := newEvaluator(plan.Vars)
		if err != nil {
			return nil, fmt.Errorf("flow %s: %w", plan.Flow, err)
		}
		m.evals[plan.Flow] = ev
	}
	vars := map[string]any{}
	for _, v := range plan.Vars {
		vars[v.Name] = zero(v.Type)
		if len(v.Default) > 0 {
			if d, err := decodeDefault(v); err == nil {
				vars[v.Name] = d
			}
		}
		if p, ok := params[v.Name]; ok {
			vars[v.Name] = coerce(v.Type, p)
		}
	}
	return &frame{plan: plan, vars: vars}, nil
}

func (m *Machine) top() *frame { return m.stack[len(m.stack)-1] }

// Ended reports whether the flow has finished; Reason says how.
func (m *Machine) Ended() bool { return m.ended }

// Reason is how the call ended: hangup (the flow hung up), caller_hangup,
// transfer, redirect, reject, max_duration or error.
func (m *Machine) Reason() string { return m.reason }

// Step is the id of the step running, "" when none.
func (m *Machine) Step() string {
	if m.step == nil {
		return ""
	}
	return m.step.ID
}

// Timeline is what happened so far.
func (m *Machine) Timeline() []Entry { return m.timeline }

// Vars returns the main flow's variables, with sensitive ones masked.
func (m *Machine) Vars() map[string]any {
	out := map[string]any{}
	f := m.stack[0]
	for _, v := range f.plan.Vars {
		if v.Sensitive {
			out[v.Name] = "***"
			continue
		}
		out[v.Name] = f.vars[v.Name]
	}
	out["locale"] = m.locale
	return out
}

// Digits returns what the caller has keyed so far: the entry of the collect
// or menu running (masked when the step is sensitive) and the type-ahead
// not yet taken.
func (m *Machine) Digits() (entry, typeAhead string) {
	if m.in != nil {
		entry = m.in.digits
		if m.step != nil && m.step.Kind == dsl.KindCollect && m.step.Collect.Sensitive {
			entry = strings.Repeat("*", len(entry))
		}
	}
	return entry, strings.Join(m.buffer, "")
}

// Var returns a variable of the main flow, unmasked, or the call's locale
// (for tests).
func (m *Machine) Var(name string) any {
	if name == "locale" {
		return m.locale
	}
	return m.stack[0].vars[name]
}

func (m *Machine) log(what, format string, args ...any) {
	m.timeline = append(m.timeline, Entry{At: m.now, Step: m.Step(), What: what, Detail: fmt.Sprintf(format, args...)})
}

func (m *Machine) emit(c Command) { m.out = append(m.out, c) }

func (m *Machine) newID(kind string) string {
	m.seq++
	return m.call["id"] + ":" + kind + ":" + strconv.Itoa(m.seq)
}

// Handle processes one event and returns the commands to carry out, in
// order.
func (m *Machine) Handle(ev Event) []Command {
	m.out = nil
	if !ev.At.IsZero() {
		m.now = ev.At
	}
	if m.ended {
		return nil
	}
	switch ev.Kind {
	case EvStart:
		m.started = m.now
		m.emit(Command{Kind: CmdTimer, ID: "max_call_duration", Delay: m.root.Defaults.MaxCallDuration.D()})
		m.log("start", "flow %s %s", m.root.Flow, m.root.Version)
		m.enter(m.root.Start)
	case EvEstablished:
		if m.answering && m.subscribing == "" {
			// Subscribe to tones before the first prompt, so no early key
			// is lost, and go on once Graph has taken the subscription.
			m.subscribing = m.newID("subscribe")
			m.log("answered", "")
			m.emit(Command{Kind: CmdSubscribe, ID: m.subscribing})
		}
	case EvTone:
		m.tone(ev)
	case EvDone:
		m.done(ev)
	case EvTimer:
		if ev.ID == "max_call_duration" {
			m.log("max_call_duration", "reached after %s", m.root.Defaults.MaxCallDuration.D())
			m.emit(Command{Kind: CmdHangup}) // hanging up stops whatever plays
			m.finish("max_duration")
			return m.out
		}
		m.timer(ev.ID)
	case EvOperator:
		m.operator(ev.Operator)
	case EvHangup:
		m.log("hangup", "%s", ev.Reason)
		if m.outbound && !m.answered {
			m.finish("no_answer")
			break
		}
		m.finish("caller_hangup")
	}
	return m.out
}

// CheckOperator says why an operator's action cannot be taken now, or
// returns nil.
func (m *Machine) CheckOperator(op Operator) error {
	switch {
	case m.ended:
		return errors.New("the call has ended")
	case m.handling:
		return errors.New("the call is ending: its on_hangup handler is running")
	}
	if op.Action != OpHangup && (m.opTransfer != "" || m.step != nil && m.step.Kind == dsl.KindTransfer && m.waitOp != "") {
		return errors.New("a transfer is in progress")
	}
	switch op.Action {
	case OpHangup:
		return nil
	case OpTransfer:
		if _, err := dsl.ParseTarget(op.To); err != nil {
			return fmt.Errorf(`transfer needs a target, {"action": "transfer", "to": "+14255550120"}: %w`, err)
		}
		if !m.answered {
			return errors.New("the call is not answered yet")
		}
		return nil
	case OpGoto:
		main := m.stack[0].plan
		if op.Step == "" {
			return errors.New(`goto needs a step: {"action": "goto", "step": "NAME"}`)
		}
		if main.Step(op.Step) == nil {
			return fmt.Errorf("flow %s has no step %q", main.Flow, op.Step)
		}
		// The compiler's rules hold for operators too: the hang-up handler's
		// steps run only as the handler, and an answered call can no longer
		// be rejected or redirected.
		if !reachable(main, main.Start)[op.Step] {
			return fmt.Errorf("step %q runs only in the flow's on_hangup handler", op.Step)
		}
		if (m.answered || m.answering) && mayReject(main, op.Step) {
			return fmt.Errorf("step %q can lead to a reject or redirect, which an answered call cannot take", op.Step)
		}
		return nil
	}
	return fmt.Errorf("unknown action %q: %s, %s or %s", op.Action, OpHangup, OpGoto, OpTransfer)
}

// reachable lists the steps of plan reachable from step from.
func reachable(plan *dsl.Plan, from string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(id string) {
		st := plan.Step(id)
		if st == nil || seen[id] {
			return
		}
		seen[id] = true
		for _, t := range st.Transitions() {
			visit(t.To)
		}
	}
	visit(from)
	return seen
}

// mayReject reports whether a reject or redirect step of plan, or of a
// sub-flow it runs, is reachable from step from. Sub-flows are those
// plan.Subflows holds (a main flow holds all it reaches).
func mayReject(plan *dsl.Plan, from string) bool {
	seen := map[*dsl.Plan]bool{}
	var in func(p *dsl.Plan, from string) bool
	in = func(p *dsl.Plan, from string) bool {
		seen[p] = true
		for _, id := range sortedKeys(reachable(p, from)) {
			switch st := p.Step(id); st.Kind {
			case dsl.KindReject, dsl.KindRedirect:
				return true
			case dsl.KindSubflow:
				if sub := plan.Subflows[st.Subflow.Flow]; sub != nil && !seen[sub] && in(sub, sub.Start) {
					return true
				}
			}
		}
		return false
	}
	return in(plan, from)
}

// RerunOnAnswer makes the Machine run the current step again when the
// answer completes, even one already under way, as calls started before
// workflow version 3 did (an http step a placed call starts with was sent
// twice). Their histories replay only so.
func (m *Machine) RerunOnAnswer(on bool) { m.rerunOnAnswer = on }

// NoteOperator puts an operator's action the host refused in the call's
// timeline, as the Machine does with those it refuses.
func (m *Machine) NoteOperator(op Operator, err error) {
	m.log("operator", "%s refused: %v", op.Action, err)
}

// operator takes an operator's action, or notes why it cannot.
func (m *Machine) operator(op *Operator) {
	if op == nil {
		return
	}
	if err := m.CheckOperator(*op); err != nil {
		m.log("operator", "%s refused: %v", op.Action, err)
		return
	}
	who := cmp.Or(op.By, "operator")
	if op.Note != "" {
		who += ": " + op.Note
	}
	switch op.Action {
	case OpHangup:
		m.log("operator", "hang up (%s)", who)
		if !m.answered && !m.answering && !m.outbound {
			m.emit(Command{Kind: CmdReject, Reason: "none"})
		} else {
			m.emit(Command{Kind: CmdHangup}) // hanging up stops whatever plays
		}
		m.finish("operator_hangup")
	case OpGoto:
		m.log("operator", "go to %s (%s)", op.Step, who)
		m.leaveStep()
		m.stack = m.stack[:1]
		m.buffer = nil
		m.swallowKeys, m.swallowUntil = "", time.Time{}
		if m.answering {
			// The answer in flight runs the step once the call is up
			// (done, on the tone subscription); running it now as well
			// would run it twice.
			m.step = m.top().plan.Step(op.Step)
			return
		}
		m.enter(op.Step)
	case OpTransfer:
		to, _ := dsl.ParseTarget(op.To)
		m.log("operator", "transfer to %s %s (%s)", to.Type, to.ID, who)
		// Where the call goes back to if the transfer fails: its step, or
		// in a sub-flow, the main flow's step that runs the sub-flow.
		resume := m.Step()
		if len(m.stack) > 1 {
			resume = m.stack[1].called
		}
		m.leaveStep()
		m.stack = m.stack[:1]
		m.buffer = nil
		m.swallowKeys, m.swallowUntil = "", time.Time{}
		m.step = m.top().plan.Step(resume)
		m.opTransfer = m.newID("transfer")
		m.emit(Command{Kind: CmdTransfer, ID: m.opTransfer, Targets: []dsl.Target{to}})
	}
}

// operatorTransferDone ends an operator's transfer: the call is gone, or
// back at the step it left.
func (m *Machine) operatorTransferDone(ok bool) {
	m.opTransfer = ""
	if ok {
		m.log("transfer", "accepted")
		m.finish("transfer")
		return
	}
	m.buffer = nil // keys pressed while on hold belong to no prompt
	if m.step == nil {
		m.log("operator", "transfer failed; the flow ends")
		m.endOfFlow(nil)
		return
	}
	m.log("operator", "transfer failed; back to %s", m.step.ID)
	m.enter(m.step.ID)
}

// leaveStep abandons the step the call is at, wherever it waits: its
// input's timers, what it plays or records, an http step's filler. The
// operation it waited for is forgotten, so its completion is ignored.
func (m *Machine) leaveStep() {
	media := false
	if m.in != nil {
		media = m.in.prompting
		m.stopTimers()
		m.in = nil
	}
	if m.waitOp != "" && m.step != nil {
		switch m.step.Kind {
		case dsl.KindPlay, dsl.KindRecord:
			media = true
		case dsl.KindHTTP:
			m.emit(Command{Kind: CmdCancelTimer, ID: m.waitOp + ":filler"})
			media = len(m.step.HTTP.Filler) > 0
		}
	}
	m.waitOp = ""
	if media && m.answered {
		m.emit(Command{Kind: CmdCancelMedia})
	}
}

// finish ends the flow and runs the hang-up handler of the main flow once.
func (m *Machine) finish(reason string) {
	if m.handling {
		m.ended = true
		return
	}
	m.reason = reason
	m.call["end_reason"] = reason
	m.in = nil
	m.waitOp = ""
	m.opTransfer = "" // its outcome no longer steers the flow
	main := m.stack[0]
	if main.plan.OnHangup == "" {
		m.step = nil
		m.ended = true
		m.log("end", "%s", reason)
		return
	}
	m.handling = true
	m.stack = m.stack[:1]
	m.log("on_hangup", "%s", reason)
	m.enter(main.plan.OnHangup)
}

// enter starts a step of the current flow; "" ends the flow.
func (m *Machine) enter(id string) {
	f := m.top()
	if id == "" {
		m.endOfFlow(nil)
		return
	}
	m.step = f.plan.Step(id)
	if m.step == nil {
		m.fail(fmt.Errorf("no step %q in flow %s", id, f.plan.Flow))
		return
	}
	m.run()
}

// needsAnswer reports whether the current step needs the call answered.
func (m *Machine) needsAnswer() bool {
	s := m.step
	switch s.Kind {
	case dsl.KindPlay, dsl.KindCollect, dsl.KindMenu, dsl.KindRecord, dsl.KindTransfer:
		return true
	case dsl.KindHTTP:
		return len(s.HTTP.Filler) > 0
	}
	return false
}

// run executes the current step, following steps that finish at once.
func (m *Machine) run() {
	for guard := 0; m.step != nil && !m.ended; guard++ {
		if guard > 10000 {
			m.fail(fmt.Errorf("step %s: more than 10000 steps without waiting", m.step.ID))
			return
		}
		if !m.handling && !m.answered && m.needsAnswer() {
			if !m.answering {
				m.answering = true
				m.emit(Command{Kind: CmdAnswer, Prompts: m.prefetch()})
			}
			return
		}
		next, wait := m.exec()
		if wait {
			return
		}
		if next == "\x00end" {
			return
		}
		m.step = m.top().plan.Step(next)
		if next == "" {
			m.step = nil
			m.endOfFlow(nil)
		}
	}
}

// prefetch lists what Graph can fetch while answering: the main flow's
// file and URL prompts, and its say: prompts whose text has no
// expressions, in the call's locale.
func (m *Machine) prefetch() []Prompt {
	var names []string
	for _, name := range sortedKeys(m.root.Prompts) {
		p := m.root.Prompts[name]
		if v, ok := p.Locales[m.locale]; ok {
			p = v
		}
		static := len(p.Say) > 0
		for _, part := range p.Say {
			static = static && part.Expr == ""
		}
		if p.File != "" || p.URL != "" || static {
			names = append(names, name)
		}
	}
	return m.prompts(names)
}

// exec runs the current step. It returns the next step, or wait true when
// the step waits for an event.
func (m *Machine) exec() (next string, wait bool) {
	s := m.step
	f := m.top()
	m.log("step", "%s", s.Kind)
	switch s.Kind {
	case dsl.KindPlay:
		m.waitOp = m.newID("play")
		m.emit(Command{Kind: CmdPlay, ID: m.waitOp, Prompts: m.prompts(s.Play.Prompts), BargeIn: s.Play.BargeIn})
		return "", true
	case dsl.KindCollect, dsl.KindMenu:
		m.in = &input{attempt: 1}
		if m.typeAhead() == "flush" {
			m.flush()
		}
		m.startAttempt(nil)
		return "", true // the input logic moves on by itself, even at once on type-ahead
	case dsl.KindRecord:
		m.waitOp = m.newID("record")
		var pr []Prompt
		if s.Record.Prompt != "" {
			pr = m.prompts([]string{s.Record.Prompt})
		}
		m.emit(Command{Kind: CmdRecord, ID: m.waitOp, Prompts: pr, Record: s.Record})
		return "", true
	case dsl.KindSet:
		for _, a := range s.Set {
			v, err := m.eval(a.Expr)
			if err != nil {
				// The variable keeps its value; the call goes on (§7).
				m.log("error", "set %s: %v", a.Name, err)
				continue
			}
			if a.Name == "locale" {
				m.locale = format(v)
				continue
			}
			f.vars[a.Name] = coerce(varType(f.plan, a.Name), v)
		}
		return s.Next, false
	case dsl.KindSwitch:
		for _, c := range s.Switch.Cases {
			v, err := m.eval(c.When)
			if err != nil {
				// A condition that can't be evaluated (a missing map key,
				// say) is false; the call goes on (§7).
				m.log("error", "case %s: %v", c.When, err)
				continue
			}
			if b, _ := v.(bool); b {
				m.log("switch", "%s", c.When)
				return c.Goto, false
			}
		}
		return s.Switch.Default, false
	case dsl.KindHTTP:
		req, err := m.request(s.HTTP)
		if err != nil {
			return m.failStep(err)
		}
		m.waitOp = m.newID("http")
		m.emit(Command{Kind: CmdHTTP, ID: m.waitOp, HTTP: req})
		if len(s.HTTP.Filler) > 0 {
			m.emit(Command{Kind: CmdTimer, ID: m.waitOp + ":filler", Delay: s.HTTP.FillerAfter.D()})
		}
		return "", true
	case dsl.KindTransfer:
		m.waitOp = m.newID("transfer")
		m.emit(Command{Kind: CmdTransfer, ID: m.waitOp, Targets: []dsl.Target{s.Transfer.Target}})
		return "", true
	case dsl.KindRedirect:
		m.emit(Command{Kind: CmdRedirect, Targets: s.Redirect.Targets, Timeout: s.Redirect.Timeout.D()})
		m.finish("redirect")
		return "\x00end", false
	case dsl.KindReject:
		m.emit(Command{Kind: CmdReject, Reason: s.Reject.Reason})
		m.finish("reject")
		return "\x00end", false
	case dsl.KindHangup:
		if m.handling {
			m.ended = true
			m.log("end", "%s", m.reason)
			return "\x00end", false
		}
		m.emit(Command{Kind: CmdHangup})
		m.finish("hangup")
		return "\x00end", false
	case dsl.KindGoto:
		return s.Next, false
	case dsl.KindSubflow:
		sub := m.root.Subflows[s.Subflow.Flow]
		if sub == nil {
			return m.failStep(fmt.Errorf("sub-flow %s is not in the plan", s.Subflow.Flow))
		}
		params := map[string]any{}
		for _, a := range s.Subflow.Params {
			v, err := m.eval(a.Expr)
			if err != nil {
				m.log("error", "param %s: %v", a.Name, err) // the param keeps its default (§7)
				continue
			}
			params[a.Name] = v
		}
		nf, err := m.newFrame(sub, params)
		if err != nil {
			return m.failStep(err)
		}
		nf.ret, nf.into, nf.called = s.Next, s.Subflow.Into, s.ID
		m.stack = append(m.stack, nf)
		m.log("subflow", "%s", sub.Flow)
		return sub.Start, false
	case dsl.KindReturn:
		vals := map[string]any{}
		for _, a := range s.Return {
			v, err := m.eval(a.Expr)
			if err != nil {
				m.log("error", "return %s: %v", a.Name, err) // returned as null (§7)
				vals[a.Name] = nil
				continue
			}
			vals[a.Name] = v
		}
		return m.endOfFlow(vals), false
	case dsl.KindHours:
		return m.hours(s.Hours), false
	}
	return m.failStep(fmt.Errorf("unknown step kind %q", s.Kind))
}

// endOfFlow returns from a sub-flow (to the step after its caller), or
// ends the main flow, which hangs up.
func (m *Machine) endOfFlow(vals map[string]any) string {
	if len(m.stack) > 1 {
		f := m.top()
		m.stack = m.stack[:len(m.stack)-1]
		if f.into != "" {
			if vals == nil {
				vals = map[string]any{}
			}
			m.top().vars[f.into] = vals
		}
		m.log("return", "from %s", f.plan.Flow)
		if f.ret == "" {
			m.step = nil
			return m.endOfFlow(nil)
		}
		return f.ret
	}
	if m.handling {
		m.ended = true
		m.step = nil
		m.log("end", "%s", m.reason)
		return "\x00end"
	}
	m.emit(Command{Kind: CmdHangup})
	m.finish("hangup")
	return "\x00end"
}

// failStep handles a runtime error in a step: the call can't go on safely,
// so it ends (and the hang-up handler runs).
func (m *Machine) failStep(err error) (string, bool) {
	m.fail(err)
	return "\x00end", false
}

func (m *Machine) fail(err error) {
	m.log("error", "%v", err)
	if m.handling {
		m.ended = true
		return
	}
	m.emit(Command{Kind: CmdHangup})
	m.finish("error")
}

func varType(p *dsl.Plan, name string) dsl.VarType {
	for _, v := range p.Vars {
		if v.Name == name {
			return v.Type
		}
	}
	return ""
}

// activation is what expressions can read.
func (m *Machine) activation() map[string]any {
	f := m.top()
	act := make(map[string]any, len(f.vars)+3)
	//workflowcheck:ignore building a map from a map: order does not matter
	for k, v := range f.vars {
		act[k] = v
	}
	act["call"] = m.call
	act["now"] = m.now
	act["locale"] = m.locale
	return act
}

func (m *Machine) eval(src string) (any, error) {
	return m.evals[m.top().plan.Flow].eval(src, m.activation())
}

// prompts resolves prompt names in the current flow: the variant for the
// call's locale, and say text rendered.
func (m *Machine) prompts(names []string) []Prompt {
	f := m.top()
	var out []Prompt
	for _, n := range names {
		p, ok := f.plan.Prompts[n]
		if !ok {
			continue
		}
		loc := p.Locale
		if v, ok := p.Locales[m.locale]; ok {
			p, loc = v, m.locale
		}
		if loc == "" {
			loc = m.locale
		}
		voice := p.Voice
		if voice == "" {
			voice = f.plan.Defaults.Voice
		}
		r := Prompt{Name: n, File: p.File, SHA256: p.SHA256, URL: p.URL, Locale: loc}
		if len(p.Say) > 0 {
			text, err := m.evals[f.plan.Flow].render(p.Say, m.activation())
			if err != nil {
				m.log("error", "prompt %s: %v", n, err)
				continue
			}
			r.Text, r.Voice = text, voice
		}
		out = append(out, r)
	}
	return out
}

func (m *Machine) request(h *dsl.HTTP) (*Request, error) {
	ev := m.evals[m.top().plan.Flow]
	act := m.activation()
	// Secrets stay as {{secrets.NAME}} for the activity to fill in.
	fill := func(t dsl.Template) (string, error) {
		var b strings.Builder
		for _, p := range t {
			switch {
			case p.Expr == "":
				b.WriteString(p.Text)
			case strings.Contains(p.Expr, "secrets"):
				b.WriteString("{{" + p.Expr + "}}")
			default:
				v, err := ev.eval(p.Expr, act)
				if err != nil {
					return "", err
				}
				b.WriteString(format(v))
			}
		}
		return b.String(), nil
	}
	r := &Request{Method: h.Method, Timeout: h.Timeout.D(), Retries: h.Retries, Headers: map[string]string{}}
	var err error
	if r.URL, err = fill(h.URL); err != nil {
		return nil, err
	}
	for _, hd := range h.Headers {
		if r.Headers[hd.Name], err = fill(hd.Value); err != nil {
			return nil, err
		}
	}
	if r.Body, err = fill(h.Body); err != nil {
		return nil, err
	}
	return r, nil
}

// hours picks the branch of an hours step for the current time.
func (m *Machine) hours(h *dsl.Hours) string {
	sc := m.top().plan.Schedules[h.Schedule]
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	t := m.now.In(loc)
	minute := t.Hour()*60 + t.Minute()
	in := func(ivs []dsl.Interval) bool {
		return slices.ContainsFunc(ivs, func(iv dsl.Interval) bool { return minute >= iv.From && minute < iv.To })
	}
	date := t.Format(time.DateOnly)
	for _, hol := range sc.Holidays {
		if hol.Date != date {
			continue
		}
		if in(hol.Hours) {
			return h.Open
		}
		if h.Holiday != "" {
			return h.Holiday
		}
		return h.Closed
	}
	if in(sc.Weekly[t.Weekday()]) {
		return h.Open
	}
	return h.Closed
}

// done handles a finished operation.
func (m *Machine) done(ev Event) {
	if m.answering && ev.ID == m.subscribing {
		m.answering = false
		m.answered = true
		// The step the answer held up starts now; one already under way
		// (an http step of a call the flow placed, sent before the callee
		// answered) is left to finish.
		if m.rerunOnAnswer || (m.waitOp == "" && m.in == nil) {
			m.run()
		}
		return
	}
	if m.opTransfer != "" && ev.ID == m.opTransfer {
		m.operatorTransferDone(ev.OK)
		return
	}
	if m.in != nil && ev.ID == m.in.opID {
		m.promptDone()
		return
	}
	if ev.ID != m.waitOp || m.step == nil {
		return // a late completion of something already left behind
	}
	s := m.step
	m.waitOp = ""
	f := m.top()
	var next string
	switch s.Kind {
	case dsl.KindPlay:
		next = s.Next
	case dsl.KindRecord:
		res := ev.Result
		if res == nil {
			res = map[string]any{}
		}
		f.vars[s.Record.Into] = res
		reason, _ := res["status"].(string)
		m.log("recorded", "%s", reason)
		next = s.Next
		if reason == "silence" && s.Record.OnSilence != "" {
			next = s.Record.OnSilence
		}
	case dsl.KindHTTP:
		m.emit(Command{Kind: CmdCancelTimer, ID: ev.ID + ":filler"})
		if s.HTTP.Into != "" {
			f.vars[s.HTTP.Into] = orEmpty(ev.Result)
		}
		next = s.Next
		if !ev.OK {
			m.log("http", "failed: %v", ev.Result["status"])
			next = s.HTTP.OnError
		}
	case dsl.KindTransfer:
		if ev.OK {
			m.log("transfer", "accepted")
			m.finish("transfer")
			return
		}
		m.log("transfer", "failed")
		next = s.Transfer.OnFailure
	default:
		return
	}
	m.goTo(next)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// goTo continues at a step of the current flow.
func (m *Machine) goTo(id string) {
	if id == "" {
		m.step = nil
		m.endOfFlow(nil)
		return
	}
	m.enter(id)
}

// timer handles a timer that fired.
func (m *Machine) timer(id string) {
	if m.step != nil && m.step.Kind == dsl.KindHTTP && id == m.waitOp+":filler" {
		m.log("filler", "the request is slow")
		m.emit(Command{Kind: CmdPlay, ID: m.newID("filler"), Prompts: m.prompts(m.step.HTTP.Filler), BargeIn: false})
		return
	}
	if m.in == nil || !slices.Contains(m.in.timers, id) {
		return // cancelled
	}
	switch {
	case strings.HasSuffix(id, ":first"):
		m.log("timeout", "no first digit")
		m.endInput(true)
	case strings.HasSuffix(id, ":inter"), strings.HasSuffix(id, ":overall"):
		m.log("timeout", "%s", id[strings.LastIndexByte(id, ':')+1:])
		m.endInput(m.in.digits == "")
	}
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](mp map[string]V) []string {
	keys := make([]string, 0, len(mp))
	//workflowcheck:ignore the keys are sorted before use
	for k := range mp {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func decodeDefault(v dsl.Var) (any, error) {
	s := strings.TrimSpace(string(v.Default))
	switch v.Type {
	case dsl.TypeInt:
		return strconv.ParseInt(s, 10, 64)
	case dsl.TypeDouble:
		return strconv.ParseFloat(s, 64)
	case dsl.TypeBool:
		return strconv.ParseBool(s)
	case dsl.TypeString:
		return strconv.Unquote(s)
	}
	return zero(v.Type), nil
}

// patternOK reports whether digits match a collect's pattern, anchored.
func patternOK(pattern, digits string) bool {
	if pattern == "" {
		return true
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	return err == nil && re.MatchString(digits)
}
