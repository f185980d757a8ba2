package workflows

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
)

func compile(t *testing.T, src string) *dsl.Plan {
	t.Helper()
	p, err := dsl.CompileSource("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("compile:\n%v", err)
	}
	return p
}

// simulate runs a flow with a scripted caller and returns the finished
// simulation.
func simulate(t *testing.T, src string, cfg SimConfig, script func(*Sim)) *Sim {
	t.Helper()
	s, err := NewSim(compile(t, src), Call{ID: "c1", Caller: "+14255550123", Callee: "+14255550100"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if script != nil {
		script(s)
	}
	if _, err := s.Run(3 * time.Hour); err != nil {
		t.Fatalf("%v\nservice log:\n%s", err, strings.Join(s.Log, "\n"))
	}
	return s
}

func logHas(t *testing.T, s *Sim, want ...string) {
	t.Helper()
	all := strings.Join(s.Log, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("service log lacks %q:\n%s", w, all)
		}
	}
}

const collectFlow = `flow: t
steps:
  ask:
    collect:
      into: acct
      prompt: {say: "Enter your account number"}
      min_digits: 4
      max_digits: 6
      first_digit_timeout: 5s
      inter_digit_timeout: 3s
      no_input: {say: "Sorry, I didn't hear you"}
      no_match: {say: "That is not valid"}
      on_max_attempts: fail
  ok:
    play: {say: "Thanks"}
  bye:
    hangup:
  fail:
    set: {acct: '"none"'}
    next: bye
`

func TestCollectTerminated(t *testing.T) {
	// Answer at 0.2 s, prompt 0.2–2.2 s; keys from 3 s.
	s := simulate(t, collectFlow, SimConfig{}, func(s *Sim) { s.Press(3*time.Second, "1234#") })
	if got := s.Machine().Var("acct"); got != "1234" {
		t.Errorf("acct = %v; want 1234", got)
	}
	logHas(t, s, "0.000s answer", "0.200s play ask#1", "3.400s play ok#4", "hangup")
}

func TestCollectBargeIn(t *testing.T) {
	s := simulate(t, collectFlow, SimConfig{}, func(s *Sim) { s.Press(time.Second, "5678#") })
	if got := s.Machine().Var("acct"); got != "5678" {
		t.Errorf("acct = %v; want 5678", got)
	}
	logHas(t, s, "1.000s cancelMediaProcessing")
}

func TestCollectWithoutBargeInKeepsDigits(t *testing.T) {
	src := strings.Replace(collectFlow, "min_digits: 4", "min_digits: 4\n      barge_in: false", 1)
	// Keys during the prompt are kept; input ends by the inter-digit timer,
	// counted from the end of the prompt (2.2 s + 3 s).
	s := simulate(t, src, SimConfig{}, func(s *Sim) { s.Press(time.Second, "4321") })
	if got := s.Machine().Var("acct"); got != "4321" {
		t.Errorf("acct = %v; want 4321", got)
	}
	for _, l := range s.Log {
		if strings.Contains(l, "cancelMediaProcessing") {
			t.Errorf("barge-in off, but the prompt was cancelled: %s", l)
		}
	}
	logHas(t, s, "5.200s play ok#4")
}

func TestCollectFirstDigitTimeoutAndRetries(t *testing.T) {
	s := simulate(t, collectFlow, SimConfig{}, nil)
	if got := s.Machine().Var("acct"); got != "none" {
		t.Errorf("acct = %v; want none (on_max_attempts)", got)
	}
	// Attempt 1: prompt 0.2–2.2, timeout at 7.2. Attempt 2: reprompt and
	// prompt 7.2–11.2, timeout 16.2. Attempt 3: 16.2–20.2, timeout 25.2.
	logHas(t, s, "7.200s play ask#2,ask#1", "16.200s play ask#2,ask#1", "25.200s hangup")
}

func TestCollectDigitAtTheTimeout(t *testing.T) {
	// The first-digit timer would fire at 7.2 s; a key at that same
	// instant still counts.
	s := simulate(t, collectFlow, SimConfig{}, func(s *Sim) { s.Press(7200*time.Millisecond, "9999#") })
	if got := s.Machine().Var("acct"); got != "9999" {
		t.Errorf("acct = %v; want 9999", got)
	}
}

func TestCollectInvalidThenValid(t *testing.T) {
	s := simulate(t, collectFlow, SimConfig{}, func(s *Sim) {
		s.Press(3*time.Second, "12#")    // too short: no match
		s.Press(10*time.Second, "1234#") // during the reprompt: barge-in
	})
	if got := s.Machine().Var("acct"); got != "1234" {
		t.Errorf("acct = %v; want 1234", got)
	}
	logHas(t, s, "play ask#3,ask#1")
}

func TestMaxDigitsSwallowsTerminator(t *testing.T) {
	src := `flow: t
steps:
  ask:
    collect: {into: a, prompt: {say: "Code"}, digits: 3, on_max_attempts: bye}
  ask2:
    collect: {into: b, prompt: {say: "Second"}, min_digits: 1, max_digits: 4, on_max_attempts: bye}
  bye:
    hangup:
`
	// "123" completes a; the # right after is dropped, not taken as b's
	// empty entry; "45#" then fills b.
	s := simulate(t, src, SimConfig{}, func(s *Sim) { s.Press(3*time.Second, "123#"); s.Press(8*time.Second, "45#") })
	if a, b := s.Machine().Var("a"), s.Machine().Var("b"); a != "123" || b != "45" {
		t.Errorf("a, b = %v, %v; want 123, 45", a, b)
	}
}

func TestTypeAheadKeepAndFlush(t *testing.T) {
	src := `flow: t
steps:
  hello:
    play: {say: "Welcome to Contoso"}
  ask:
    collect: {into: a, prompt: {say: "Account"}, digits: 2, type_ahead: keep, on_max_attempts: bye}
  bye:
    hangup:
`
	s := simulate(t, src, SimConfig{}, func(s *Sim) { s.Press(time.Second, "42") })
	if a := s.Machine().Var("a"); a != "42" {
		t.Errorf("type-ahead keep: a = %v; want 42", a)
	}
	for _, l := range s.Log {
		if strings.Contains(l, "play ask#2") {
			t.Errorf("the collect prompt played although the caller typed ahead: %s", l)
		}
	}
	flush := strings.Replace(src, "type_ahead: keep", "type_ahead: flush", 1)
	s = simulate(t, flush, SimConfig{}, func(s *Sim) { s.Press(time.Second, "42") })
	if a := s.Machine().Var("a"); a != "" {
		t.Errorf("type-ahead flush: a = %v; want nothing", a)
	}
}

func TestDuplicateAndLateTones(t *testing.T) {
	s := simulate(t, collectFlow, SimConfig{}, func(s *Sim) {
		s.Tone(3*time.Second, "1", 1)
		s.Tone(3100*time.Millisecond, "1", 1) // duplicate notification
		s.Tone(3200*time.Millisecond, "2", 3)
		s.Tone(3300*time.Millisecond, "9", 2) // late: 3 was already taken
		s.Tone(3400*time.Millisecond, "3", 4)
		s.Tone(3500*time.Millisecond, "4", 5)
		s.Tone(3600*time.Millisecond, "#", 6)
	})
	if got := s.Machine().Var("acct"); got != "1234" {
		t.Errorf("acct = %v; want 1234", got)
	}
}

const menuFlow = `flow: t
variables:
  count: int
steps:
  main:
    menu:
      greeting: {say: "For sales press 1"}
      short_greeting: {say: "Sales 1"}
      options: {"1": sales}
      invalid: {say: "Not an option"}
      no_input: {say: "Are you there"}
      timeout: 4s
      max_failures: 2
      max_timeouts: 2
      into: choice
      on_max_failures: failures
      on_max_timeouts: timeouts
  sales:
    transfer: {to: "+14255550199", on_failure: sorry}
  sorry:
    play: {say: "Sorry"}
    next: end
  failures:
    set: {count: 1}
    next: end
  timeouts:
    set: {count: 2}
    next: end
  end:
    hangup:
`

func TestMenu(t *testing.T) {
	s := simulate(t, menuFlow, SimConfig{}, func(s *Sim) { s.Press(time.Second, "1") })
	if s.Machine().Reason() != "transfer" || s.Machine().Var("choice") != "1" {
		t.Errorf("reason %s, choice %v; want transfer, 1", s.Machine().Reason(), s.Machine().Var("choice"))
	}
	s = simulate(t, menuFlow, SimConfig{}, func(s *Sim) { s.Press(time.Second, "7"); s.Press(5*time.Second, "8") })
	if c := s.Machine().Var("count"); c != int64(1) {
		t.Errorf("two invalid keys: count = %v; want 1 (on_max_failures)", c)
	}
	logHas(t, s, "play main#3,main#2") // invalid, then the short greeting
	s = simulate(t, menuFlow, SimConfig{}, nil)
	if c := s.Machine().Var("count"); c != int64(2) {
		t.Errorf("silence: count = %v; want 2 (on_max_timeouts)", c)
	}
	// One invalid key and one timeout: neither counter reaches 2.
	s = simulate(t, menuFlow, SimConfig{}, func(s *Sim) { s.Press(time.Second, "7"); s.Press(12*time.Second, "1") })
	if s.Machine().Reason() != "transfer" {
		t.Errorf("counters are separate: reason = %s; want transfer", s.Machine().Reason())
	}
}

func TestTransferFailure(t *testing.T) {
	s := simulate(t, menuFlow, SimConfig{Transfer: func(dsl.Target) bool { return false }}, func(s *Sim) { s.Press(time.Second, "1") })
	if s.Machine().Reason() != "hangup" {
		t.Errorf("reason = %s; want hangup after the failure path", s.Machine().Reason())
	}
	logHas(t, s, "transfer phone +14255550199", "play sorry#")
}

func TestHangupRunsHandler(t *testing.T) {
	src := `flow: t
on_hangup: log
steps:
  ask:
    collect: {into: a, prompt: {say: "Code"}, digits: 4, on_max_attempts: bye}
  bye:
    hangup:
  log:
    http:
      method: POST
      url: "https://crm.example.com/calls/{{call.id}}?end={{call.end_reason}}"
      on_error: done
  done:
    hangup:
`
	s := simulate(t, src, SimConfig{}, func(s *Sim) { s.Hangup(time.Second) })
	if s.Machine().Reason() != "caller_hangup" {
		t.Errorf("reason = %s", s.Machine().Reason())
	}
	logHas(t, s, "http POST https://crm.example.com/calls/c1?end=caller_hangup")
	for _, l := range s.Log[strings.Count(strings.Join(s.Log, "\n"), "\n"):] {
		if strings.Contains(l, "hangup") && !strings.Contains(l, "http") {
			t.Errorf("the handler's hangup step sent a hangup after the caller left: %s", l)
		}
	}
}

func TestHTTPFillerAndError(t *testing.T) {
	src := `flow: t
variables:
  n: int
steps:
  dip:
    http:
      url: "https://crm.example.com/a?n={{n}}"
      into: res
      filler: {say: "One moment"}
      filler_after: 1s
      on_error: sorry
  good:
    play: {say: "Your balance is {{res.body.balance}}"}
    next: end
  sorry:
    play: {say: "Sorry"}
  end:
    hangup:
`
	slow := SimConfig{HTTP: func(*Request) (bool, map[string]any, time.Duration) {
		return true, map[string]any{"status": int64(200), "body": map[string]any{"balance": 12.5}}, 3 * time.Second
	}}
	s := simulate(t, src, slow, nil)
	logHas(t, s, "http GET https://crm.example.com/a?n=0", "1.200s play dip#1", "play good#2")
	fail := SimConfig{HTTP: func(*Request) (bool, map[string]any, time.Duration) {
		return false, map[string]any{"status": int64(503)}, 100 * time.Millisecond
	}}
	s = simulate(t, src, fail, nil)
	logHas(t, s, "play sorry#3")
	if res := s.Machine().Var("res").(map[string]any); res["status"] != int64(503) {
		t.Errorf("res = %v; want the failed response too", res)
	}
}

func TestRejectBeforeAnswer(t *testing.T) {
	src := `flow: t
steps:
  screen:
    switch:
      cases:
        - {when: 'call.caller.startsWith("+1425")', goto: no}
      default: hello
  no:
    reject: busy
  hello:
    play: {say: "Hi"}
`
	s := simulate(t, src, SimConfig{}, nil)
	if s.Machine().Reason() != "reject" {
		t.Errorf("reason = %s", s.Machine().Reason())
	}
	if strings.Contains(strings.Join(s.Log, "\n"), "answer") {
		t.Errorf("a rejected call was answered:\n%s", strings.Join(s.Log, "\n"))
	}
}

func TestHours(t *testing.T) {
	src := `flow: t
schedules:
  office:
    time_zone: America/Los_Angeles
    weekly: {mon-fri: "08:00-18:00"}
    holidays: {2026-12-25: {name: Christmas}}
steps:
  check:
    hours: {schedule: office, open: open, closed: closed, holiday: holiday}
  open:
    set: {where: '"open"'}
    next: end
  closed:
    set: {where: '"closed"'}
    next: end
  holiday:
    set: {where: '"holiday"'}
    next: end
  end:
    hangup:
variables:
  where: string
`
	for start, want := range map[string]string{
		"2026-01-05T17:00:00Z": "open",    // Monday 09:00 in Los Angeles
		"2026-01-05T15:00:00Z": "closed",  // Monday 07:00
		"2026-01-10T18:00:00Z": "closed",  // Saturday
		"2026-12-25T18:00:00Z": "holiday", // Christmas, a Friday
	} {
		at, _ := time.Parse(time.RFC3339, start)
		s := simulate(t, src, SimConfig{Start: at}, nil)
		if got := s.Machine().Var("where"); got != want {
			t.Errorf("at %s: %v; want %s", start, got, want)
		}
	}
}

func TestMaxCallDuration(t *testing.T) {
	src := `flow: t
defaults: {max_call_duration: 1m}
steps:
  loop:
    menu:
      greeting: {say: "Press 1 to hear this again"}
      options: {"1": loop}
      timeout: 10s
      max_timeouts: 10
      on_max_failures: loop
      on_max_timeouts: loop
`
	s := simulate(t, src, SimConfig{}, nil)
	if s.Machine().Reason() != "max_duration" {
		t.Errorf("reason = %s; want max_duration", s.Machine().Reason())
	}
	logHas(t, s, "60.000s hangup")
}

// TestExampleFlowsRun runs every example flow with a caller who presses a
// few keys and hangs up: the interpreter must handle each to the end.
func TestExampleFlowsRun(t *testing.T) {
	files, _ := filepath.Glob("../flows/*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".test.yaml") }) // scenarios, not flows
	if len(files) < 10 {
		t.Fatalf("found %d example flows", len(files))
	}
	for _, f := range files {
		plan, err := dsl.CompileFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSim(plan, Call{ID: "c", Caller: "+14255550123", Callee: "+14255550100"}, SimConfig{})
		if err != nil {
			t.Fatal(err)
		}
		s.Press(5*time.Second, "2")
		s.Press(12*time.Second, "123456#")
		s.Hangup(10 * time.Minute)
		if _, err := s.Run(time.Hour); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if s.Machine().Reason() == "error" {
			t.Errorf("%s: the call ended on an error:\n%v", f, s.Machine().Timeline())
		}
	}
}

func TestExpressionErrorsDoNotEndTheCall(t *testing.T) {
	src := `flow: t
variables:
  n: int
steps:
  dip:
    http: {url: "https://crm.example.com/a", into: res, on_error: end}
  pick:
    switch:
      cases:
        - {when: res.body.vip == true, goto: vip}
      default: normal
  vip:
    set: {n: 1}
    next: end
  normal:
    set: {n: res.body.count}
    next: end
  end:
    hangup:
`
	s := simulate(t, src, SimConfig{}, nil) // the response body is {}
	if s.Machine().Reason() != "hangup" || s.Machine().Var("n") != int64(0) {
		t.Errorf("reason %s, n %v; want the default branch, n unchanged", s.Machine().Reason(), s.Machine().Var("n"))
	}
	errs := 0
	for _, e := range s.Machine().Timeline() {
		if e.What == "error" {
			errs++
		}
	}
	if errs != 2 {
		t.Errorf("%d errors in the timeline; want the failed case and the failed set", errs)
	}
}

func TestAnswerPrefetchesStaticPrompts(t *testing.T) {
	src := `flow: t
prompts:
  hello: {say: "Hello", locales: {fr-FR: "Bonjour"}}
  balance: "Your balance is {{n}}"
  beep: {url: "https://cdn.example.com/beep.wav"}
variables:
  n: int
steps:
  greet:
    play: [hello, balance, beep]
`
	m, err := NewMachine(compile(t, src), Call{ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range m.Handle(Event{Kind: EvStart, At: time.Now()}) {
		if c.Kind == CmdAnswer {
			for _, p := range c.Prompts {
				names = append(names, p.Name+"="+p.Text+p.URL)
			}
		}
	}
	if got := strings.Join(names, ","); got != "beep=https://cdn.example.com/beep.wav,hello=Hello" {
		t.Errorf("prefetched %s; want the URL and the static say prompt, not the templated one", got)
	}
}

func TestHangupDuringRecord(t *testing.T) {
	src := `flow: t
on_hangup: log
steps:
  rec:
    record: {into: msg, prompt: {say: "Leave a message"}, max_duration: 60s}
  thanks:
    play: {say: "Thanks"}
  log:
    set: {saved: 'has(msg.status)'}
variables:
  saved: bool
`
	long := SimConfig{Record: func(*dsl.Record) (map[string]any, time.Duration) {
		return map[string]any{"status": "max_duration"}, time.Minute
	}}
	s := simulate(t, src, long, func(s *Sim) { s.Hangup(5 * time.Second) })
	if s.Machine().Reason() != "caller_hangup" || s.Machine().Var("saved") != false {
		t.Errorf("reason %s, saved %v; want the handler to run after a hang-up mid-recording", s.Machine().Reason(), s.Machine().Var("saved"))
	}
	for _, l := range s.Log {
		if strings.Contains(l, "play thanks") {
			t.Errorf("the flow went on after the caller hung up: %s", l)
		}
	}
	logHas(t, s, "0.200s play rec#1", "0.200s record")
}

const operatorFlow = `flow: t
variables:
  logged: bool
on_hangup: log
steps:
  menu:
    menu:
      greeting: {say: "Press 1 for sales"}
      options:
        "1": sales
        "0": agent
      timeout: 5s
      max_timeouts: 10
      on_max_timeouts: menu
      on_max_failures: menu
  sales:
    play: {say: "Connecting you to sales"}
  bye:
    hangup:
  agent:
    play: {say: "An agent will take your call"}
    next: bye
  log:
    set: {logged: "true"}`

// TestOperatorGoto moves a caller stuck in a menu to another step: the
// prompt stops, the menu's timer is cancelled, and the flow goes on there.
func TestOperatorGoto(t *testing.T) {
	s := simulate(t, operatorFlow, SimConfig{}, func(s *Sim) {
		s.Operator(12*time.Second, Operator{Action: OpGoto, Step: "agent", By: "ana", Note: "asked for a person"})
	})
	if s.Machine().Reason() != "hangup" {
		t.Errorf("reason %q", s.Machine().Reason())
	}
	logHas(t, s, "12.000s play agent")
	var saw bool
	for _, e := range s.Machine().Timeline() {
		if e.What == "operator" && e.Detail == "go to agent (ana: asked for a person)" {
			saw = true
		}
	}
	if !saw {
		t.Errorf("the timeline lacks the operator's goto: %+v", s.Machine().Timeline())
	}
	if s.Machine().Var("logged") != true {
		t.Errorf("on_hangup did not run: %v", s.Machine().Vars())
	}
}

// TestOperatorGotoStopsPrompt: a goto during the menu's prompt cancels it.
func TestOperatorGotoStopsPrompt(t *testing.T) {
	s := simulate(t, operatorFlow, SimConfig{}, func(s *Sim) {
		s.Operator(1*time.Second, Operator{Action: OpGoto, Step: "sales"})
	})
	logHas(t, s, "1.000s cancelMediaProcessing", "1.000s play sales")
}

// TestOperatorHangup ends the call; on_hangup runs with end_reason
// operator_hangup.
func TestOperatorHangup(t *testing.T) {
	s := simulate(t, operatorFlow, SimConfig{}, func(s *Sim) {
		s.Operator(7*time.Second, Operator{Action: OpHangup})
	})
	m := s.Machine()
	if m.Reason() != "operator_hangup" || m.Var("logged") != true {
		t.Errorf("reason %q, vars %v; want operator_hangup with on_hangup run", m.Reason(), m.Vars())
	}
	logHas(t, s, "7.000s hangup")
}

// TestOperatorRefused: actions that cannot be taken change nothing but the
// timeline.
func TestOperatorRefused(t *testing.T) {
	m, err := NewMachine(compile(t, operatorFlow), Call{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	m.Handle(Event{Kind: EvStart, At: time.Unix(0, 0)})
	for _, tc := range []struct {
		op   Operator
		want string
	}{
		{Operator{Action: "park"}, `unknown action "park"`},
		{Operator{Action: OpTransfer, To: "sales"}, "transfer needs a target"},
		{Operator{Action: OpTransfer, To: "+14255550120"}, "not answered yet"},
		{Operator{Action: OpGoto}, "goto needs a step"},
		{Operator{Action: OpGoto, Step: "nowhere"}, `flow t has no step "nowhere"`},
	} {
		err := m.CheckOperator(tc.op)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckOperator(%+v) = %v; want %q", tc.op, err, tc.want)
		}
		if cmds := m.Handle(Event{Kind: EvOperator, Operator: &tc.op}); len(cmds) != 0 {
			t.Errorf("%+v: commands %+v", tc.op, cmds)
		}
		if last := m.Timeline()[len(m.Timeline())-1]; last.What != "operator" || !strings.Contains(last.Detail, "refused") {
			t.Errorf("%+v: last timeline entry %+v", tc.op, last)
		}
	}
	if m.Step() != "menu" {
		t.Errorf("step %q; want menu still", m.Step())
	}
	// Answering: hung up.
	cmds := m.Handle(Event{Kind: EvOperator, Operator: &Operator{Action: OpHangup}})
	if len(cmds) == 0 || cmds[0].Kind != CmdHangup {
		t.Errorf("hang-up while answering: commands %+v", cmds)
	}
	if err := m.CheckOperator(Operator{Action: OpHangup}); err == nil {
		t.Error("an operator could act on a call that has ended")
	}

	// Not answered (an http step runs before the answer): rejected.
	m, err = NewMachine(compile(t, `flow: t
steps:
  look:
    http: {url: "https://crm.example.com/x", on_error: hi}
  hi:
    play: {say: "hello"}
`), Call{ID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	m.Handle(Event{Kind: EvStart, At: time.Unix(0, 0)})
	cmds = m.Handle(Event{Kind: EvOperator, Operator: &Operator{Action: OpHangup}})
	if len(cmds) == 0 || cmds[0].Kind != CmdReject || m.Reason() != "operator_hangup" {
		t.Errorf("hang-up before the answer: commands %+v, reason %q; want a reject", cmds, m.Reason())
	}
}

// TestOperatorGotoLimits: a goto keeps to the compiler's rules (no step
// of the hang-up handler, no path to a reject once answering), and one
// taken while the answer is in flight runs its step once, after it.
func TestOperatorGotoLimits(t *testing.T) {
	m, err := NewMachine(compile(t, `flow: t
on_hangup: log
variables:
  n: int
steps:
  gate:
    switch:
      cases: [{when: "call.caller == '+1'", goto: nope}]
      default: hi
  nope:
    reject: {}
  hi:
    play: {say: "hello"}
  look:
    http: {url: "https://crm.example.com/x", on_error: bye}
  bye:
    hangup:
  log:
    set: {n: "n + 1"}
`), Call{ID: "c1", Caller: "+2"})
	if err != nil {
		t.Fatal(err)
	}
	m.Handle(Event{Kind: EvStart, At: time.Unix(0, 0)}) // gate, hi: answering
	for _, tc := range []struct {
		step, want string
	}{
		{"log", `step "log" runs only in the flow's on_hangup handler`},
		{"gate", `step "gate" can lead to a reject or redirect`},
		{"nope", `step "nope" can lead to a reject or redirect`},
	} {
		if err := m.CheckOperator(Operator{Action: OpGoto, Step: tc.step}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("goto %s: %v; want %q", tc.step, err, tc.want)
		}
	}
	// While answering: the step waits for the answer, then runs once.
	if cmds := m.Handle(Event{Kind: EvOperator, Operator: &Operator{Action: OpGoto, Step: "look"}}); len(cmds) != 0 {
		t.Errorf("goto look while answering: commands %+v; want none yet", cmds)
	}
	var sub string
	for _, c := range m.Handle(Event{Kind: EvEstablished, At: time.Unix(1, 0)}) {
		if c.Kind == CmdSubscribe {
			sub = c.ID
		}
	}
	var https int
	for _, c := range m.Handle(Event{Kind: EvDone, ID: sub, OK: true, At: time.Unix(1, 0)}) {
		if c.Kind == CmdHTTP {
			https++
		}
	}
	if https != 1 || m.Step() != "look" {
		t.Errorf("after the answer: %d requests at step %q; want one, at look", https, m.Step())
	}
}

// TestPlacedCallHTTPOnce: a call the flow places starts with an http step
// before the callee answers; the answer does not send the request again
// (calls from before version 3 did, and replay so).
func TestPlacedCallHTTPOnce(t *testing.T) {
	src := `flow: t
steps:
  look:
    http: {url: "https://crm.example.com/x", on_error: hi}
  hi:
    play: {say: "hello"}
`
	for _, legacy := range []bool{false, true} {
		m, err := NewMachine(compile(t, src), Call{ID: "c1", Outbound: true})
		if err != nil {
			t.Fatal(err)
		}
		m.RerunOnAnswer(legacy)
		requests := 0
		count := func(cmds []Command) (sub string) {
			for _, c := range cmds {
				switch c.Kind {
				case CmdHTTP:
					requests++
				case CmdSubscribe:
					sub = c.ID
				}
			}
			return sub
		}
		count(m.Handle(Event{Kind: EvStart, At: time.Unix(0, 0)}))
		sub := count(m.Handle(Event{Kind: EvEstablished, At: time.Unix(1, 0)}))
		count(m.Handle(Event{Kind: EvDone, ID: sub, OK: true, At: time.Unix(1, 0)}))
		if want := map[bool]int{false: 1, true: 2}[legacy]; requests != want {
			t.Errorf("legacy %v: %d requests, want %d", legacy, requests, want)
		}
	}
}

// TestOperatorTransfer: an operator transfers a caller from the menu; a
// refused transfer brings the call back to the menu, an accepted one ends
// the flow.
func TestOperatorTransfer(t *testing.T) {
	for _, accept := range []bool{true, false} {
		var targets []string
		s := simulate(t, operatorFlow, SimConfig{Transfer: func(tg dsl.Target) bool {
			targets = append(targets, tg.Type+" "+tg.ID)
			return accept
		}}, func(s *Sim) {
			s.Operator(12*time.Second, Operator{Action: OpTransfer, To: "+14255550120", By: "ana"})
			s.Press(20*time.Second, "1")
		})
		m := s.Machine()
		if len(targets) != 1 || targets[0] != "phone +14255550120" {
			t.Errorf("accept %v: transfers %q", accept, targets)
		}
		if accept && m.Reason() != "transfer" {
			t.Errorf("accepted: reason %q", m.Reason())
		}
		if !accept {
			logHas(t, s, "13.000s play menu", "play sales") // back to the menu, then 1
			if m.Reason() != "hangup" {
				t.Errorf("refused: reason %q", m.Reason())
			}
		}
		if m.Var("logged") != true {
			t.Errorf("accept %v: on_hangup did not run", accept)
		}
	}
}

// TestOperatorHangupDuringTransfer: a hang-up while an operator's transfer
// is under way ends the call; the transfer failing afterwards changes
// nothing (the hang-up handler is not run again).
func TestOperatorHangupDuringTransfer(t *testing.T) {
	flow := strings.Replace(operatorFlow, `  log:
    set: {logged: "true"}`, `  log:
    http: {url: "https://calllog.example.com/x", on_error: logged}
  logged:
    set: {logged: "true"}`, 1)
	m, err := NewMachine(compile(t, flow), Call{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	m.Handle(Event{Kind: EvStart, At: time.Unix(0, 0)})
	var sub string
	for _, c := range m.Handle(Event{Kind: EvEstablished, At: time.Unix(1, 0)}) {
		if c.Kind == CmdSubscribe {
			sub = c.ID
		}
	}
	m.Handle(Event{Kind: EvDone, ID: sub, OK: true, At: time.Unix(1, 0)})
	var transfer string
	for _, c := range m.Handle(Event{Kind: EvOperator, Operator: &Operator{Action: OpTransfer, To: "+14255550120"}, At: time.Unix(5, 0)}) {
		if c.Kind == CmdTransfer {
			transfer = c.ID
		}
	}
	if transfer == "" {
		t.Fatal("no transfer command")
	}
	m.Handle(Event{Kind: EvOperator, Operator: &Operator{Action: OpHangup}, At: time.Unix(6, 0)})
	before := len(m.Timeline())
	cmds := m.Handle(Event{Kind: EvDone, ID: transfer, OK: false, At: time.Unix(7, 0)})
	if m.Ended() || m.Step() != "log" {
		t.Fatalf("the hang-up handler should still be waiting on its request, at %q", m.Step())
	}
	if len(cmds) != 0 || len(m.Timeline()) != before || m.Reason() != "operator_hangup" {
		t.Errorf("the late transfer failure: commands %+v, timeline %+v, reason %q", cmds, m.Timeline()[before:], m.Reason())
	}
}
