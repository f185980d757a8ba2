// Package flowtest runs scenario files against flows without a phone: a
// scripted caller presses keys at given moments, stays silent or hangs up;
// data dips, transfers and recordings answer as the scenario says; and the
// call is checked against what the scenario expects (prompts heard,
// transfer target, variables, how the call ended). Time is simulated, so a
// two-minute silence takes no time at all.
package flowtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/workflows"
)

// File is a scenario file: flows/NAME.test.yaml tests flows/NAME.yaml
// unless Flow names another file.
type File struct {
	Flow      string     `yaml:"flow"`
	Scenarios []Scenario `yaml:"scenarios"`
}

// Scenario is one simulated call.
type Scenario struct {
	Name   string `yaml:"name"`
	Caller string `yaml:"caller"`
	// Start is when the call arrives (RFC 3339); default a Monday 10:00 UTC.
	Start string `yaml:"start"`
	// Press sends keys at moments after the call arrives.
	Press []Press `yaml:"press"`
	// Hangup is when the caller hangs up; empty means never.
	Hangup string `yaml:"hangup"`
	// Operator is what operators do to the call, and when (the operator
	// signal of a running call).
	Operator []OperatorAction `yaml:"operator"`
	// HTTP answers data dips whose URL starts with URL.
	HTTP []HTTPAnswer `yaml:"http"`
	// Transfer is accept (default) or refuse.
	Transfer string `yaml:"transfer"`
	// Record is what every record step gets, e.g. {status: ok,
	// duration_s: 4}; default silence.
	Record map[string]any `yaml:"record"`
	Expect Expect         `yaml:"expect"`
	line   int
}

// Press is keys pressed at a moment.
type Press struct {
	At   string `yaml:"at"`
	Keys string `yaml:"keys"`
}

// OperatorAction is an operator's action at a moment: hang up, or go to
// a step of the flow.
type OperatorAction struct {
	At     string `yaml:"at"`
	Action string `yaml:"action"` // hangup, goto or transfer
	Step   string `yaml:"step"`
	To     string `yaml:"to"` // for transfer: +E.164, or user:GUID ...
}

// HTTPAnswer is the canned response to a data dip.
type HTTPAnswer struct {
	URL    string `yaml:"url"`
	Status int    `yaml:"status"`
	Body   any    `yaml:"body"`
	Delay  string `yaml:"delay"`
}

// Expect is what the call must do.
type Expect struct {
	// Ending is how the call ends: hangup, caller_hangup, transfer,
	// redirect, reject, max_duration or operator_hangup.
	Ending string `yaml:"ending"`
	// Transfer is the id (number or user id) the call is transferred to.
	Transfer string `yaml:"transfer"`
	// Prompts must be heard in this order (others may play in between).
	Prompts []string `yaml:"prompts"`
	// Vars are variables' values at the end.
	Vars map[string]any `yaml:"vars"`
	// Steps must be run, in this order (others may run in between).
	Steps []string `yaml:"steps"`
}

// Result is the outcome of one scenario.
type Result struct {
	Scenario string
	Pos      dsl.Pos // where the scenario is written
	Failures []string
	Took     time.Duration // simulated time
}

// RunFile runs every scenario of a scenario file.
func RunFile(path string) ([]Result, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err == nil && len(doc.Content) > 0 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "scenarios" {
				for j, item := range root.Content[i+1].Content {
					if j < len(f.Scenarios) {
						f.Scenarios[j].line = item.Line
					}
				}
			}
		}
	}
	flow := f.Flow
	if flow == "" {
		flow = strings.TrimSuffix(filepath.Base(path), ".test.yaml") + ".yaml"
	}
	flowPath := filepath.Join(filepath.Dir(path), flow)
	plan, err := dsl.CompileFile(flowPath)
	if err != nil {
		return nil, err
	}
	if len(f.Scenarios) == 0 {
		return nil, fmt.Errorf("%s: no scenarios", path)
	}
	var out []Result
	for _, sc := range f.Scenarios {
		r := run(plan, flowPath, sc)
		r.Pos = dsl.Pos{File: path, Line: sc.line, Col: 5}
		out = append(out, r)
	}
	return out, nil
}

func dur(s, what string, fails *[]string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		*fails = append(*fails, fmt.Sprintf("%s %q is not a duration like 5s", what, s))
	}
	return d
}

// run plays one scenario.
func run(plan *dsl.Plan, flowPath string, sc Scenario) Result {
	res := Result{Scenario: sc.Name}
	fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
	if checkScenario(plan, sc, fail); len(res.Failures) > 0 {
		return res
	}
	cfg := workflows.SimConfig{}
	if sc.Start != "" {
		t, err := time.Parse(time.RFC3339, sc.Start)
		if err != nil {
			fail("start %q is not an RFC 3339 time", sc.Start)
		}
		cfg.Start = t
	}
	var transferred []string
	cfg.Transfer = func(t dsl.Target) bool {
		transferred = append(transferred, t.ID)
		return sc.Transfer != "refuse"
	}
	answers := sc.HTTP
	cfg.HTTP = func(r *workflows.Request) (bool, map[string]any, time.Duration) {
		for _, a := range answers {
			if strings.HasPrefix(r.URL, a.URL) {
				st := a.Status
				if st == 0 {
					st = 200
				}
				d := dur(a.Delay, "delay", &res.Failures)
				return st/100 == 2, map[string]any{"status": int64(st), "body": a.Body, "headers": map[string]any{}}, d
			}
		}
		return false, map[string]any{"status": int64(0), "error": "no canned response for " + r.URL}, 100 * time.Millisecond
	}
	if sc.Record != nil {
		rec := sc.Record
		cfg.Record = func(r *dsl.Record) (map[string]any, time.Duration) {
			secs, _ := rec["duration_s"].(float64)
			if n, ok := rec["duration_s"].(int); ok {
				secs = float64(n)
			}
			return rec, time.Duration(secs * float64(time.Second))
		}
	}
	s, err := workflows.NewSim(plan, workflows.Call{ID: "test", Caller: sc.Caller}, cfg)
	if err != nil {
		fail("%v", err)
		return res
	}
	for _, p := range sc.Press {
		s.Press(dur(p.At, "at", &res.Failures), p.Keys)
	}
	if sc.Hangup != "" {
		s.Hangup(dur(sc.Hangup, "hangup", &res.Failures))
	}
	for _, op := range sc.Operator {
		s.Operator(dur(op.At, "operator at", &res.Failures), workflows.Operator{Action: op.Action, Step: op.Step, To: op.To, By: "scenario"})
	}
	took, err := s.Run(6 * time.Hour)
	res.Took = took
	if err != nil {
		fail("%v", err)
	}
	m := s.Machine()
	var played, steps []string
	for _, l := range s.Log {
		if _, names, ok := strings.Cut(l, " play "); ok {
			played = append(played, strings.Split(names, ",")...)
		}
	}
	lastStep := ""
	for _, e := range m.Timeline() {
		if e.What == "step" && (len(steps) == 0 || steps[len(steps)-1] != e.Step) {
			steps = append(steps, e.Step)
		}
		if e.Step != "" {
			lastStep = e.Step
		}
	}
	where := ""
	if st := plan.Step(lastStep); st != nil {
		where = fmt.Sprintf(" (last step %s at %s:%d:%d)", lastStep, flowPath, st.Pos.Line, st.Pos.Col)
	}
	for _, e := range m.Timeline() {
		if e.What == "operator" && strings.Contains(e.Detail, " refused: ") {
			fail("operator action %s", e.Detail)
		}
	}
	ex := sc.Expect
	if ex.Ending != "" && m.Reason() != ex.Ending {
		fail("ending: got %s, want %s%s", m.Reason(), ex.Ending, where)
	}
	if ex.Transfer != "" && !slices.Contains(transferred, ex.Transfer) {
		fail("transfer: got %v, want %s%s", transferred, ex.Transfer, where)
	}
	if missing := subsequence(ex.Prompts, played); missing != "" {
		fail("prompts: %s was not heard in order; heard %s%s", missing, strings.Join(played, ", "), where)
	}
	if missing := subsequence(ex.Steps, steps); missing != "" {
		fail("steps: %s was not run in order; ran %s%s", missing, strings.Join(steps, ", "), where)
	}
	for _, name := range sortedKeys(ex.Vars) {
		want, got := ex.Vars[name], m.Var(name)
		if !same(got, want) {
			fail("variable %s: got %v, want %v%s", name, got, want, where)
		}
	}
	return res
}

// subsequence returns the first wanted item not found in order in got.
func subsequence(want, got []string) string {
	i := 0
	for _, w := range want {
		for i < len(got) && got[i] != w {
			i++
		}
		if i == len(got) {
			return w
		}
		i++
	}
	return ""
}

// same compares a variable with an expected YAML value. Both go through
// JSON first, so numbers compare by value at any depth.
func same(got, want any) bool {
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			return v
		}
		var out any
		if json.Unmarshal(b, &out) != nil {
			return v
		}
		return out
	}
	return reflect.DeepEqual(norm(got), norm(want))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var endings = []string{"hangup", "caller_hangup", "transfer", "redirect", "reject", "max_duration", "operator_hangup", "no_answer", "error"}

// checkScenario reports mistakes in the scenario itself: names the flow
// does not have, values the runner does not know, nothing expected.
func checkScenario(plan *dsl.Plan, sc Scenario, fail func(string, ...any)) {
	ex := sc.Expect
	if ex.Ending == "" && ex.Transfer == "" && len(ex.Prompts)+len(ex.Steps)+len(ex.Vars) == 0 {
		fail("the scenario expects nothing; give it an expect: with an ending, steps, prompts, vars or a transfer")
	}
	if ex.Ending != "" && !slices.Contains(endings, ex.Ending) {
		fail("ending %q is not one of %s", ex.Ending, strings.Join(endings, ", "))
	}
	if sc.Transfer != "" && sc.Transfer != "accept" && sc.Transfer != "refuse" {
		fail("transfer %q must be accept or refuse", sc.Transfer)
	}
	for _, op := range sc.Operator {
		switch {
		case op.Action != workflows.OpHangup && op.Action != workflows.OpGoto && op.Action != workflows.OpTransfer:
			fail("operator action %q must be %s, %s or %s", op.Action, workflows.OpHangup, workflows.OpGoto, workflows.OpTransfer)
		case op.Action == workflows.OpGoto && plan.Step(op.Step) == nil:
			fail("operator goto: step %q is not in the main flow", op.Step)
		case op.Action == workflows.OpTransfer:
			if _, err := dsl.ParseTarget(op.To); err != nil {
				fail("operator transfer: %v", err)
			}
		}
	}
	all := map[string]bool{}
	prompts := map[string]bool{}
	vars := map[string]bool{"locale": true}
	for _, p := range append([]*dsl.Plan{plan}, subflows(plan)...) {
		for _, st := range p.Steps {
			all[st.ID] = true
		}
		for name := range p.Prompts {
			prompts[name] = true
		}
	}
	for _, v := range plan.Vars {
		vars[v.Name] = true
	}
	for _, st := range ex.Steps {
		if !all[st] {
			fail("step %q is not in the flow", st)
		}
	}
	for _, p := range ex.Prompts {
		if !prompts[p] {
			fail("prompt %q is not in the flow", p)
		}
	}
	for _, v := range sortedKeys(ex.Vars) {
		if !vars[v] {
			fail("variable %q is not in the flow", v)
		}
	}
}

func subflows(p *dsl.Plan) []*dsl.Plan {
	var out []*dsl.Plan
	for _, name := range sortedKeys(anyMap(p.Subflows)) {
		out = append(out, p.Subflows[name])
	}
	return out
}

func anyMap(m map[string]*dsl.Plan) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
