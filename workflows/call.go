package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// CallWorkflow runs one call: it interprets the call's Plan with a Machine,
// carries out the Machine's commands as activities and durable timers, and
// feeds it the Graph notifications the webhook signals in. Everything that
// decides what the call does lives in the Machine; this function only
// connects it to Temporal.
func CallWorkflow(ctx workflow.Context, in CallInput) (*CallResult, error) {
	if in.Plan == nil {
		return nil, temporal.NewNonRetryableApplicationError("call input has no plan", "BadInput", nil)
	}
	if in.KeepAlive <= 0 {
		in.KeepAlive = defaultKeepAlive
	}
	if in.MaxHistory <= 0 {
		in.MaxHistory = 3000
	}
	var m *Machine
	var err error
	if in.Resume != nil {
		m, err = RestoreMachine(in.Plan, in.Resume.Machine)
	} else {
		m, err = NewMachine(in.Plan, Call{ID: in.CallID, Caller: in.Caller, Callee: in.Callee, Route: in.Route, Outbound: in.Dial != nil})
	}
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadPlan", err)
	}
	s := &shell{ctx: ctx, in: in, m: m, timers: map[string]workflow.CancelFunc{}, seen: map[string]bool{},
		records: map[string]string{}, deadlines: map[string]time.Time{}}
	// Calls started before Graph commands became local activities replay
	// with regular ones; every new run (and every continued one) decides
	// here, before its first command.
	v := workflow.GetVersion(ctx, VersionLocalCommands, workflow.DefaultVersion, versionOperator)
	s.local = v >= versionLocal
	s.leanAttrs = v >= versionLeanAttrs
	m.RerunOnAnswer(v < versionOperator)
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState, s.state, workflow.QueryHandlerOptions{
		Description: "The call now: its step, variables (sensitive ones masked), digits keyed and timeline.",
	}); err != nil {
		return nil, err
	}
	// Operator actions arrive as a signal (the Temporal UI's) or as an
	// update (the CLI's, which is told at once why one is refused); both
	// reach the loop below through ops. Calls from before versionOperator
	// take neither: a signal their earlier code never read must not act
	// when they replay.
	var ops, opSig workflow.ReceiveChannel
	if v >= versionOperator {
		s.operators = true
		opSig = workflow.GetSignalChannelWithOptions(ctx, SignalOperator, workflow.SignalChannelOptions{
			Description: `An operator's action: {"action": "goto", "step": "NAME"}, {"action": "transfer", "to": "+14255550100"} or "hangup" (optional "by" and "note").`,
		})
		queue := workflow.NewBufferedChannel(ctx, 16)
		ops = queue
		err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOperator,
			func(ctx workflow.Context, op Operator) (string, error) {
				// The outcome, once the loop below has taken the action:
				// the call may have moved on since the validator ran.
				f, done := workflow.NewFuture(ctx)
				queue.Send(ctx, opRequest{op: op, done: done})
				var out string
				err := f.Get(ctx, &out)
				return out, err
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, op Operator) error {
				return m.CheckOperator(op)
			}, Description: `An operator's action, answered with its outcome: {"action": "goto", "step": "NAME"}, {"action": "transfer", "to": "+14255550100"} or {"action": "hangup"}.`})
		if err != nil {
			return nil, err
		}
	}
	if in.MediaQueue != "" {
		s.mediaSession()
	}
	if in.Resume != nil {
		s.resume(*in.Resume)
	} else {
		if in.Dial != nil {
			s.dial()
		}
		s.handle(Event{Kind: EvStart})
		s.upsertAttrs(true)
		if in.Incoming != nil {
			s.notify(*in.Incoming)
		}
	}
	sig := workflow.GetSignalChannel(ctx, SignalGraph)
	for !m.Ended() {
		if s.quiet() && (opSig == nil || opSig.Len()+ops.Len() == 0) &&
			(s.historyLength() >= in.MaxHistory || workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			return nil, s.continueAsNew(sig)
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(sig, func(c workflow.ReceiveChannel, _ bool) {
			var n Notification
			c.Receive(ctx, &n)
			s.notify(n)
		})
		if opSig != nil {
			sel.AddReceive(opSig, func(c workflow.ReceiveChannel, _ bool) {
				// Typed by hand in the UI: anything that is JSON is taken,
				// and what is not an action is refused in the timeline
				// rather than failing the workflow task. A payload that
				// decodes to nothing at all is dropped (Receive would wait
				// for the next signal instead).
				var raw any
				if !c.ReceiveAsync(&raw) {
					workflow.GetLogger(ctx).Warn("an operator signal that is not JSON was dropped")
					return
				}
				_ = s.operator(signalOperator(raw))
			})
			sel.AddReceive(ops, func(c workflow.ReceiveChannel, _ bool) {
				var r opRequest
				c.Receive(ctx, &r)
				switch err := s.operator(r.op); {
				case err != nil:
					r.done.Set(nil, err)
				case r.op.Action == OpTransfer:
					r.done.Set("started: transfer (the call's timeline says how it ends)", nil)
				default:
					r.done.Set("done: "+r.op.Action, nil)
				}
			})
		}
		for _, p := range s.pending {
			sel.AddFuture(p.f, s.resolve(p))
		}
		if !sel.HasPending() {
			s.flushAttrs() // the workflow task is about to end
			s.showDetails()
		}
		sel.Select(ctx)
	}
	// Let the last commands (the hang-up, the handler's requests) finish.
	for len(s.commands) > 0 || s.activities() > 0 {
		sel := workflow.NewSelector(ctx)
		for _, p := range s.pending {
			if p.timer == "" {
				sel.AddFuture(p.f, s.resolve(p))
			}
		}
		if !sel.HasPending() {
			s.flushAttrs()
		}
		sel.Select(ctx)
	}
	s.flushAttrs()
	s.showDetails()
	if ops != nil {
		// Updates queued as the call ended are answered, and answered
		// before the workflow completes.
		for {
			var r opRequest
			if !ops.ReceiveAsync(&r) {
				break
			}
			r.done.Set(nil, errors.New("the call has ended"))
		}
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return nil, err
		}
	}
	return &CallResult{Reason: m.Reason(), Vars: m.Vars()}, nil
}

// opRequest is an operator update waiting for the loop to take it.
type opRequest struct {
	op   Operator
	done workflow.Settable
}

// pendingFuture is an activity or timer the workflow waits for.
type pendingFuture struct {
	f     workflow.Future
	timer string // the timer id, for timers
	then  func(workflow.Future)
	done  bool
}

// shell connects a Machine to Temporal.
type shell struct {
	ctx         workflow.Context
	in          CallInput
	m           *Machine
	pending     []*pendingFuture
	timers      map[string]workflow.CancelFunc
	seen        map[string]bool
	seenOrder   []string          // the keys of seen, oldest first
	records     map[string]string // record operation id → step id
	established bool
	terminated  bool
	transfer    string // the transfer operation in progress
	commands    []command
	busy        bool
	lastStep    string
	lastState   string
	deadlines   map[string]time.Time // when each interpreter timer fires
	keepAliveAt time.Time
	estimate    int  // history events, estimated: see historyLength
	local       bool // Graph commands run as local activities (VersionLocalCommands)
	leanAttrs   bool // search attributes: what changed, once a workflow task (versionLeanAttrs)
	operators   bool // the call takes operator actions (versionOperator)
	attrsDirty  bool // the call's step or state may have changed since the last flushAttrs
}

// VersionLocalCommands is the workflow.GetVersion change id under which
// Graph call-control commands (answer, subscribeToTone, playPrompt,
// cancelMediaProcessing, recordResponse, transfer, redirect, reject,
// keepAlive, hang up) run as local activities, in the worker that runs the
// workflow task: no activity task goes through the server, which takes
// four persistence writes and a second workflow task off each command and
// sends it to Graph within the workflow task that decided it. Version 1:
// local. The default version (histories from before) used regular
// activities. Recording downloads and placing calls stay regular
// activities: a download can take long, and neither is on a caller's
// critical path.
//
// The same change id carries the interpreter's later changes, each a
// version up (Temporal's way of stacking changes: a new change id would
// cost every call another marker and another search attribute write).
// Version 2 (versionLeanAttrs): the search attributes set when the
// workflow starts are not set again, and Step and CallState are updated
// with only what changed, once at the end of a workflow task rather than
// after each event. Each update is a write of the call's row in the
// visibility store; version 1 made one more per call, and one per event
// where a workflow task handled several. Version 3 (versionOperator): the
// call takes operator actions.
const VersionLocalCommands = "graph-commands-local"

// The versions of VersionLocalCommands.
const (
	versionLocal     workflow.Version = 1
	versionLeanAttrs workflow.Version = 2
	// versionOperator: the call takes operator actions (SignalOperator,
	// UpdateOperator), and a step already under way when the answer
	// completes is not run again (Machine.RerunOnAnswer).
	versionOperator workflow.Version = 3
)

// localCommands lists the activities run locally from version 1.
var localCommands = map[string]bool{
	ActAnswer: true, ActSubscribe: true, ActPlay: true, ActCancelMedia: true, ActRecord: true,
	ActTransfer: true, ActRedirect: true, ActReject: true, ActHangup: true, ActKeepAlive: true,
}

func (s *shell) resolve(p *pendingFuture) func(workflow.Future) {
	return func(f workflow.Future) {
		p.done = true
		s.prune()
		p.then(f)
	}
}

// activities counts the activities in flight.
func (s *shell) activities() int {
	n := 0
	for _, p := range s.pending {
		if p.timer == "" {
			n++
		}
	}
	return n
}

func (s *shell) prune() {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if !p.done {
			kept = append(kept, p)
		}
	}
	s.pending = kept
}

// handle feeds an event to the Machine and carries out its commands.
func (s *shell) handle(ev Event) {
	ev.At = workflow.Now(s.ctx)
	for _, c := range s.m.Handle(ev) {
		s.do(c)
	}
	if ev.Kind != EvStart {
		s.upsertAttrs(false)
	}
}

// activityOptions for Graph call control: short, bounded retries; 4xx
// errors are not retried (the activities mark them non-retryable).
func (s *shell) activity(name string) workflow.Context {
	return workflow.WithActivityOptions(s.ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Second,
		Summary:                name,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Second, MaximumAttempts: 4,
		},
	})
}

// localActivity is activity's counterpart for local activities: the same
// timeouts and retries, run by the workflow's worker.
func (s *shell) localActivity(name string) workflow.Context {
	return workflow.WithLocalActivityOptions(s.ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Second,
		Summary:                name,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Second, MaximumAttempts: 4,
		},
	})
}

// mediaActivity is activity's counterpart for an app-hosted call: the
// activity runs on the media worker's own task queue, and waits at most
// 10 s for it to take the task (a process that died takes none).
func (s *shell) mediaActivity(name string) workflow.Context {
	opts := workflow.GetActivityOptions(s.activity(name))
	opts.TaskQueue = s.in.MediaQueue
	opts.ScheduleToStartTimeout = 10 * time.Second
	return workflow.WithActivityOptions(s.ctx, opts)
}

// mediaSessionHeartbeat is how long the MediaSession activity may go
// without a heartbeat before the call is taken for lost with its media
// worker.
const mediaSessionHeartbeat = 10 * time.Second

// mediaSession runs the MediaSession activity of an app-hosted call on its
// media worker. It returns when the worker has ended the call (and sent
// the terminated notification); if it fails, the worker is gone with the
// call's audio, and the call ends here as hung up, so on_hangup runs. It
// is waited for like a timer: the call does not wait for it to end.
func (s *shell) mediaSession() {
	ctx := workflow.WithActivityOptions(s.ctx, workflow.ActivityOptions{
		TaskQueue:              s.in.MediaQueue,
		ScheduleToStartTimeout: mediaSessionHeartbeat,
		StartToCloseTimeout:    48 * time.Hour,
		HeartbeatTimeout:       mediaSessionHeartbeat,
		Summary:                "media session",
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	s.estimate += 4
	f := workflow.ExecuteActivity(ctx, ActMediaSession, MediaSessionInput{CallID: s.in.CallID})
	s.pending = append(s.pending, &pendingFuture{f: f, timer: "media-session", then: func(f workflow.Future) {
		err := f.Get(s.ctx, nil)
		if err == nil || s.terminated {
			return
		}
		workflow.GetLogger(s.ctx).Warn("media worker lost; ending the call", "error", err)
		s.notify(Notification{ID: "media-session-lost", Kind: "call", State: "terminated", Code: 500, Subcode: 1005,
			Message: "media worker lost: " + err.Error()})
	}})
}

// command is a Graph call-control activity waiting its turn.
type command struct {
	name, summary string
	arg           any
	then          func(workflow.Future)
}

// run queues a Graph command; then (if set) gets its future when it
// finishes. Commands go to Graph one at a time, in order: a
// cancelMediaProcessing must not overtake the playPrompt before it, nor a
// playPrompt the cancel meant for the prompt before.
func (s *shell) run(name, summary string, arg any, then func(workflow.Future)) {
	if then == nil {
		then = func(f workflow.Future) {
			if err := f.Get(s.ctx, nil); err != nil {
				workflow.GetLogger(s.ctx).Warn("activity failed", "activity", name, "error", err)
			}
		}
	}
	s.commands = append(s.commands, command{name, summary, arg, then})
	s.next()
}

// next starts the first queued command unless one is in flight.
func (s *shell) next() {
	if s.busy || len(s.commands) == 0 {
		return
	}
	c := s.commands[0]
	s.commands = s.commands[1:]
	s.busy = true
	var f workflow.Future
	if s.in.MediaQueue != "" && (localCommands[c.name] || c.name == ActDownload) {
		s.estimate += 6
		f = workflow.ExecuteActivity(s.mediaActivity(c.summary), c.name, c.arg)
	} else if s.local && localCommands[c.name] {
		s.estimate += 2 // the marker, and now and then a workflow task
		f = workflow.ExecuteLocalActivity(s.localActivity(c.summary), c.name, c.arg)
	} else {
		s.estimate += 6 // scheduled, started, completed, and a workflow task
		f = workflow.ExecuteActivity(s.activity(c.summary), c.name, c.arg)
	}
	s.pending = append(s.pending, &pendingFuture{f: f, then: func(f workflow.Future) {
		s.busy = false
		c.then(f)
		s.next()
	}})
}

// done reports an operation finished, unless the activity that started it
// failed (then it finished, unsuccessfully).
func (s *shell) doneOnFailure(id string) func(workflow.Future) {
	return func(f workflow.Future) {
		if err := f.Get(s.ctx, nil); err != nil {
			workflow.GetLogger(s.ctx).Warn("media operation failed", "id", id, "error", err)
			s.handle(Event{Kind: EvDone, ID: id, OK: false, Result: map[string]any{"status": "failed", "error": err.Error()}})
		}
	}
}

// do carries out one command.
func (s *shell) do(c Command) {
	id := s.in.CallID
	switch c.Kind {
	case CmdAnswer:
		s.run(ActAnswer, "answer", AnswerInput{CallID: id, Prefetch: c.Prompts}, nil)
	case CmdSubscribe:
		opID := c.ID
		s.run(ActSubscribe, "subscribe to tones", MediaInput{CallID: id, ClientContext: opID}, func(f workflow.Future) {
			if err := f.Get(s.ctx, nil); err != nil {
				workflow.GetLogger(s.ctx).Warn("subscribeToTone failed", "error", err)
			}
			s.handle(Event{Kind: EvDone, ID: opID, OK: true})
		})
	case CmdPlay:
		s.run(ActPlay, fmt.Sprintf("play %d prompt(s)", len(c.Prompts)), MediaInput{CallID: id, ClientContext: c.ID, Prompts: c.Prompts}, s.doneOnFailure(c.ID))
	case CmdCancelMedia:
		s.run(ActCancelMedia, "cancel media", MediaInput{CallID: id}, nil)
	case CmdRecord:
		s.records[c.ID] = s.m.Step()
		s.run(ActRecord, "record", MediaInput{CallID: id, ClientContext: c.ID, Prompts: c.Prompts, Record: c.Record}, s.doneOnFailure(c.ID))
	case CmdTimer:
		s.timer(c.ID, c.Delay)
	case CmdCancelTimer:
		if cancel, ok := s.timers[c.ID]; ok {
			cancel()
			delete(s.timers, c.ID)
			delete(s.deadlines, c.ID)
			for _, p := range s.pending {
				if p.timer == c.ID {
					p.done = true
				}
			}
			s.prune()
		}
	case CmdHTTP:
		opID := c.ID
		actx := workflow.WithActivityOptions(s.ctx, workflow.ActivityOptions{
			StartToCloseTimeout: c.HTTP.Timeout + time.Second,
			Summary:             c.HTTP.Method + " " + c.HTTP.URL,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2,
				MaximumInterval: 5 * time.Second, MaximumAttempts: int32(c.HTTP.Retries + 1),
			},
		})
		f := workflow.ExecuteActivity(actx, ActHTTP, HTTPInput{CallID: id, Request: c.HTTP})
		s.pending = append(s.pending, &pendingFuture{f: f, then: func(f workflow.Future) {
			var out HTTPOutput
			err := f.Get(s.ctx, &out)
			var appErr *temporal.ApplicationError
			if err != nil && errors.As(err, &appErr) && appErr.HasDetails() {
				_ = appErr.Details(&out)
			}
			res := map[string]any{"status": int64(out.Status), "body": out.Body, "headers": out.Header}
			if err != nil && out.Error == "" {
				res["error"] = err.Error()
			}
			s.handle(Event{Kind: EvDone, ID: opID, OK: err == nil && out.OK, Result: res})
		}})
	case CmdTransfer:
		s.transfer = c.ID
		opID := c.ID
		s.run(ActTransfer, "transfer", ControlInput{CallID: id, Targets: c.Targets}, func(f workflow.Future) {
			if err := f.Get(s.ctx, nil); err != nil && s.transfer == opID {
				s.transfer = ""
				s.handle(Event{Kind: EvDone, ID: opID, OK: false})
			}
		})
	case CmdRedirect:
		s.run(ActRedirect, "redirect", ControlInput{CallID: id, Targets: c.Targets, Timeout: c.Timeout}, nil)
	case CmdReject:
		s.run(ActReject, "reject", ControlInput{CallID: id, Reason: c.Reason}, nil)
	case CmdHangup:
		if !s.terminated {
			s.run(ActHangup, "hang up", ControlInput{CallID: id}, nil)
		}
	}
}

// signalOperator makes an Operator of what an operator signal carried:
// an action as JSON, or the bare name of one ("hangup").
func signalOperator(v any) Operator {
	switch x := v.(type) {
	case string:
		return Operator{Action: x}
	case map[string]any:
		str := func(k string) string { s, _ := x[k].(string); return s }
		return Operator{Action: str("action"), Step: str("step"), To: str("to"), By: str("by"), Note: str("note")}
	default:
		return Operator{Action: fmt.Sprintf("%.100v", v)} // refused, and shown as it came
	}
}

// operator hands an operator's action to the Machine, which takes it or
// notes in the timeline why not; the error says why not.
func (s *shell) operator(op Operator) error {
	s.estimate += 4 // the signal or update, and the workflow task
	err := s.m.CheckOperator(op)
	if err == nil && s.in.CallID == "" {
		// A call the flow places has no id until Graph has created it;
		// a hang-up sent now would go to no call.
		err = errors.New("the call is still being placed")
		s.m.NoteOperator(op, err)
		return err
	}
	workflow.GetLogger(s.ctx).Info("operator action", "action", op.Action, "step", op.Step, "by", op.By, "refused", err)
	s.handle(Event{Kind: EvOperator, Operator: &op})
	return err
}

// notify turns a Graph notification into interpreter events.
func (s *shell) notify(n Notification) {
	s.estimate += 4 // the signal and the workflow task it causes
	if n.ID != "" {
		if s.seen[n.ID] {
			return // a duplicate delivery
		}
		s.seen[n.ID] = true
		s.seenOrder = append(s.seenOrder, n.ID)
	}
	if n.Kind == "operation" {
		s.operation(n)
		return
	}
	if s.terminated {
		return // terminal states are sticky: late notifications change nothing
	}
	if n.Tone != "" {
		s.handle(Event{Kind: EvTone, Tone: n.Tone, Seq: n.Seq})
		return
	}
	switch n.State {
	case "established":
		if s.transfer != "" && n.Code >= 400 {
			op := s.transfer
			s.transfer = ""
			s.handle(Event{Kind: EvDone, ID: op, OK: false})
			return
		}
		if !s.established {
			s.established = true
			s.keepAlive()
			s.handle(Event{Kind: EvEstablished})
		}
	case "transferAccepted":
		if s.transfer != "" {
			op := s.transfer
			s.transfer = ""
			s.handle(Event{Kind: EvDone, ID: op, OK: true})
		}
	case "terminated":
		s.terminated = true
		if s.transfer != "" {
			op := s.transfer
			s.transfer = ""
			s.handle(Event{Kind: EvDone, ID: op, OK: true})
			return
		}
		s.handle(Event{Kind: EvHangup, Reason: fmt.Sprintf("%d/%d %s", n.Code, n.Subcode, n.Message)})
	}
}

// operation handles a finished Graph operation.
func (s *shell) operation(n Notification) {
	id := n.ClientContext
	step, isRecord := s.records[id]
	if !isRecord {
		s.handle(Event{Kind: EvDone, ID: id, OK: n.Status == "completed"})
		return
	}
	delete(s.records, id)
	status := recordStatus(n)
	if n.Status != "completed" || n.RecordingLocation == "" {
		s.handle(Event{Kind: EvDone, ID: id, OK: status == "silence", Result: map[string]any{"status": status}})
		return
	}
	// Download at once: Graph discards recordings shortly after the call.
	s.run(ActDownload, "download recording", DownloadInput{CallID: s.in.CallID, Step: step, Location: n.RecordingLocation, Token: n.RecordingToken},
		func(f workflow.Future) {
			var out DownloadOutput
			if err := f.Get(s.ctx, &out); err != nil {
				s.handle(Event{Kind: EvDone, ID: id, OK: false, Result: map[string]any{"status": "failed", "error": err.Error()}})
				return
			}
			s.handle(Event{Kind: EvDone, ID: id, OK: true, Result: map[string]any{
				"status": status, "uri": out.URI, "duration_s": out.Duration, "bytes": out.Bytes}})
		})
}

// recordStatus names how a recording ended, for the record step's
// variable.
func recordStatus(n Notification) string {
	switch n.CompletionReason {
	case "stopToneDetected":
		return "stop_key"
	case "maxRecordDurationReached":
		return "max_duration"
	case "maxSilenceTimeout":
		return "ok"
	case "initialSilenceTimeout":
		return "silence"
	}
	if n.Subcode == 8515 {
		return "max_duration"
	}
	if n.Status == "completed" {
		return "ok"
	}
	return "failed"
}

// dial places the call; the flow runs once the callee answers. A call Graph
// refuses to place ends the flow as unanswered.
func (s *shell) dial() {
	s.run(ActPlaceCall, "place the call", DialInput{Dial: *s.in.Dial}, func(f workflow.Future) {
		var id string
		if err := f.Get(s.ctx, &id); err != nil {
			workflow.GetLogger(s.ctx).Warn("call not placed", "error", err)
			s.terminated = true
			s.handle(Event{Kind: EvHangup, Reason: "not placed: " + err.Error()})
			return
		}
		s.in.CallID = id
		s.m.call["id"] = id
	})
}

// timer starts an interpreter timer.
func (s *shell) timer(id string, d time.Duration) {
	tctx, cancel := workflow.WithCancel(s.ctx)
	s.timers[id] = cancel
	s.deadlines[id] = workflow.Now(s.ctx).Add(d)
	s.estimate += 2
	f := workflow.NewTimer(tctx, d)
	s.pending = append(s.pending, &pendingFuture{f: f, timer: id, then: func(f workflow.Future) {
		delete(s.timers, id)
		delete(s.deadlines, id)
		if f.Get(s.ctx, nil) == nil {
			s.handle(Event{Kind: EvTimer, ID: id})
		}
	}})
}

// historyLength is the run's history length; where the SDK does not know
// it (the test environment) it is estimated from what the run did.
func (s *shell) historyLength() int {
	if n := workflow.GetInfo(s.ctx).GetCurrentHistoryLength(); n > 0 {
		return n
	}
	return s.estimate
}

// quiet reports whether nothing is in flight but timers: a point where
// the call can continue as a new run.
func (s *shell) quiet() bool {
	return len(s.commands) == 0 && s.activities() == 0 && !s.terminated
}

// continueAsNew hands the call to a new run, with every notification
// received so far.
func (s *shell) continueAsNew(sig workflow.ReceiveChannel) error {
	r := Resume{Machine: s.m.Snapshot(), Established: s.established, Transfer: s.transfer,
		Records: s.records, Timers: s.deadlines, KeepAlive: s.keepAliveAt,
		Seen: s.seenOrder[max(0, len(s.seenOrder)-maxCarriedSeen):]}
	for {
		var n Notification
		if !sig.ReceiveAsync(&n) {
			break
		}
		r.Pending = append(r.Pending, n)
	}
	next := s.in
	next.Incoming, next.Resume = nil, &r
	workflow.GetLogger(s.ctx).Info("continuing the call as a new run", "history_length", workflow.GetInfo(s.ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(s.ctx, CallWorkflow, next)
}

// maxCarriedSeen bounds the notification ids a run hands the next (see
// Resume.Seen). Graph redelivers a notification it got no answer to within
// seconds; a call continues as new every few thousand events, so 500 ids
// reach back well past any redelivery. Carrying them changes no command a
// recorded history holds (the SDK matches a continue-as-new by its type,
// not its input), and a run started without them behaves as before, so it
// needs no version.
const maxCarriedSeen = 500

// resume picks a call up from the previous run: its timers, its
// keepAlive and the notifications that run had not handled.
func (s *shell) resume(r Resume) {
	s.established, s.transfer = r.Established, r.Transfer
	if r.Records != nil {
		s.records = r.Records
	}
	now := workflow.Now(s.ctx)
	for _, id := range sortedKeys(r.Timers) {
		s.timer(id, max(r.Timers[id].Sub(now), 0))
	}
	if s.established && s.in.MediaQueue == "" {
		s.keepAliveAt = r.KeepAlive
		s.keepAliveIn(max(r.KeepAlive.Sub(now), 0))
	}
	for _, id := range r.Seen {
		s.seen[id] = true
		s.seenOrder = append(s.seenOrder, id)
	}
	s.upsertAttrs(true)
	for _, n := range r.Pending {
		s.notify(n)
	}
}

// keepAlive sends Graph's keepAlive every interval while the call lasts.
// An app-hosted call has no Graph call to keep alive: its MediaSession
// watches the media worker instead.
func (s *shell) keepAlive() {
	if s.in.MediaQueue == "" {
		s.keepAliveIn(s.in.KeepAlive)
	}
}

func (s *shell) keepAliveIn(d time.Duration) {
	s.keepAliveAt = workflow.Now(s.ctx).Add(d)
	f := workflow.NewTimer(s.ctx, d)
	s.pending = append(s.pending, &pendingFuture{f: f, timer: "keepalive", then: func(workflow.Future) {
		if s.terminated || s.m.Ended() {
			return
		}
		s.run(ActKeepAlive, "keepAlive", ControlInput{CallID: s.in.CallID}, nil)
		s.keepAlive()
	}})
}

// State is what the state query returns.
type State struct {
	Step   string         `json:"step"`
	Ended  bool           `json:"ended"`
	Reason string         `json:"reason,omitempty"`
	Vars   map[string]any `json:"vars"`
	// Digits is the entry in progress; TypeAhead, keys not yet taken.
	Digits    string  `json:"digits,omitempty"`
	TypeAhead string  `json:"type_ahead,omitempty"`
	Timeline  []Entry `json:"timeline"`
}

func (s *shell) state() (State, error) {
	digits, ahead := s.m.Digits()
	return State{Step: s.m.Step(), Ended: s.m.Ended(), Reason: s.m.Reason(), Vars: s.m.Vars(),
		Digits: digits, TypeAhead: ahead, Timeline: s.m.Timeline()}, nil
}
