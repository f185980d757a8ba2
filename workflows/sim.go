package workflows

import (
	"container/heap"
	"fmt"
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
)

// Sim runs a Plan against a scripted caller on a virtual clock: no Graph,
// no Temporal, no waiting. A two-minute silence takes no time. It is the
// engine behind flow tests, and it models the service the way the Graph
// emulator does (prompts take time, answering takes a moment, cancelled
// media stops at once).
type Sim struct {
	m       *Machine
	now     time.Time
	queue   simQueue
	seq     int
	toneSeq int64
	playing map[string]*simItem // play operations in progress
	timers  map[string]*simItem
	cfg     SimConfig
	// Log is what the simulated service saw, in order.
	Log []string
}

// SimConfig sets up a simulation.
type SimConfig struct {
	// Start is when the call arrives; the zero time means 2026-01-05
	// 10:00 UTC, a Monday morning.
	Start time.Time
	// PromptDuration returns how long a prompt plays; default 2 s for
	// every prompt.
	PromptDuration func(Prompt) time.Duration
	// AnswerDelay is how long answering takes; default 200 ms.
	AnswerDelay time.Duration
	// HTTP answers http steps: ok, the result map ({status, body}), and
	// how long it takes. Default: 200 with an empty body after 100 ms.
	HTTP func(*Request) (bool, map[string]any, time.Duration)
	// Transfer says whether a transfer target accepts.
	Transfer func(dsl.Target) bool
	// Record returns the outcome of a record step: {status, duration_s}.
	Record func(*dsl.Record) (map[string]any, time.Duration)
}

type simItem struct {
	at    time.Time
	seq   int
	ev    Event
	index int
	gone  bool
}

type simQueue []*simItem

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i]; q[i].index, q[j].index = i, j }
func (q *simQueue) Push(x any)   { it := x.(*simItem); it.index = len(*q); *q = append(*q, it) }
func (q *simQueue) Pop() any     { old := *q; it := old[len(old)-1]; *q = old[:len(old)-1]; return it }
func (s *Sim) schedule(at time.Time, ev Event) *simItem {
	s.seq++
	ev.At = at
	it := &simItem{at: at, seq: s.seq, ev: ev}
	heap.Push(&s.queue, it)
	return it
}

// NewSim prepares a simulated call of plan.
func NewSim(plan *dsl.Plan, call Call, cfg SimConfig) (*Sim, error) {
	m, err := NewMachine(plan, call)
	if err != nil {
		return nil, err
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	}
	if cfg.PromptDuration == nil {
		cfg.PromptDuration = func(Prompt) time.Duration { return 2 * time.Second }
	}
	if cfg.AnswerDelay == 0 {
		cfg.AnswerDelay = 200 * time.Millisecond
	}
	if cfg.HTTP == nil {
		cfg.HTTP = func(*Request) (bool, map[string]any, time.Duration) {
			return true, map[string]any{"status": int64(200), "body": map[string]any{}}, 100 * time.Millisecond
		}
	}
	if cfg.Transfer == nil {
		cfg.Transfer = func(dsl.Target) bool { return true }
	}
	if cfg.Record == nil {
		cfg.Record = func(r *dsl.Record) (map[string]any, time.Duration) {
			return map[string]any{"status": "silence", "duration_s": 0.0}, r.InitialSilence.D()
		}
	}
	s := &Sim{m: m, now: cfg.Start, cfg: cfg, playing: map[string]*simItem{}, timers: map[string]*simItem{}}
	s.schedule(cfg.Start, Event{Kind: EvStart})
	return s, nil
}

// Machine is the interpreter the simulation drives.
func (s *Sim) Machine() *Machine { return s.m }

// Press schedules keys pressed at an offset from the call's start, 100 ms
// apart.
func (s *Sim) Press(at time.Duration, keys string) {
	for i, k := range keys {
		s.schedule(s.cfg.Start.Add(at+time.Duration(i)*100*time.Millisecond), Event{Kind: EvTone, Tone: string(k)})
	}
}

// Tone schedules one tone with an explicit sequence id, for duplicate and
// reordering tests.
func (s *Sim) Tone(at time.Duration, key string, seq int64) {
	s.schedule(s.cfg.Start.Add(at), Event{Kind: EvTone, Tone: key, Seq: seq})
}

// Hangup schedules the caller hanging up.
func (s *Sim) Hangup(at time.Duration) {
	s.schedule(s.cfg.Start.Add(at), Event{Kind: EvHangup, Reason: "caller"})
}

// Operator schedules an operator's action.
func (s *Sim) Operator(at time.Duration, op Operator) {
	s.schedule(s.cfg.Start.Add(at), Event{Kind: EvOperator, Operator: &op})
}

// Run plays the call until the flow ends or until limit of virtual time
// has passed, and returns the virtual time the call took.
func (s *Sim) Run(limit time.Duration) (time.Duration, error) {
	end := s.cfg.Start.Add(limit)
	for s.queue.Len() > 0 && !s.m.Ended() {
		it := heap.Pop(&s.queue).(*simItem)
		if it.gone {
			continue
		}
		if it.at.After(end) {
			return limit, fmt.Errorf("the call was still running after %s (at step %q)", limit, s.m.Step())
		}
		s.now = it.at
		ev := it.ev
		if ev.Kind == EvTone && ev.Seq == 0 {
			s.toneSeq++
			ev.Seq = s.toneSeq
		} else if ev.Kind == EvTone && ev.Seq > s.toneSeq {
			s.toneSeq = ev.Seq
		}
		if ev.Kind == EvDone {
			delete(s.playing, ev.ID)
		}
		if ev.Kind == EvTimer {
			delete(s.timers, ev.ID)
		}
		for _, c := range s.m.Handle(ev) {
			s.do(c)
		}
	}
	if !s.m.Ended() {
		return s.now.Sub(s.cfg.Start), fmt.Errorf("the flow is waiting at step %q and nothing more will happen", s.m.Step())
	}
	return s.now.Sub(s.cfg.Start), nil
}

func (s *Sim) logf(format string, args ...any) {
	s.Log = append(s.Log, fmt.Sprintf("%7.3fs ", s.now.Sub(s.cfg.Start).Seconds())+fmt.Sprintf(format, args...))
}

// do carries out a command as the service would.
func (s *Sim) do(c Command) {
	switch c.Kind {
	case CmdAnswer:
		s.logf("answer")
		s.schedule(s.now.Add(s.cfg.AnswerDelay), Event{Kind: EvEstablished})
	case CmdSubscribe:
		s.logf("subscribeToTone")
		s.schedule(s.now, Event{Kind: EvDone, ID: c.ID, OK: true})
	case CmdPlay:
		var d time.Duration
		var names []string
		for _, p := range c.Prompts {
			d += s.cfg.PromptDuration(p)
			names = append(names, p.Name)
		}
		s.logf("play %s", strings.Join(names, ","))
		s.playing[c.ID] = s.schedule(s.now.Add(d), Event{Kind: EvDone, ID: c.ID, OK: true})
	case CmdCancelMedia:
		s.logf("cancelMediaProcessing")
		for id, it := range s.playing {
			it.gone = true
			delete(s.playing, id)
			s.schedule(s.now, Event{Kind: EvDone, ID: id, OK: false})
		}
	case CmdRecord:
		res, d := s.cfg.Record(c.Record)
		if _, ok := res["uri"]; !ok && res["status"] != "silence" {
			res["uri"] = "sim://recording/" + c.ID // what the real download step adds
		}
		// The prompt, then the beep, then the recording (§7 rule 30).
		var names []string
		for _, p := range c.Prompts {
			d += s.cfg.PromptDuration(p)
			names = append(names, p.Name)
		}
		if len(names) > 0 {
			s.logf("play %s", strings.Join(names, ","))
		}
		if c.Record.Beep {
			d += 300 * time.Millisecond
		}
		s.logf("record")
		s.playing[c.ID] = s.schedule(s.now.Add(d), Event{Kind: EvDone, ID: c.ID, OK: true, Result: res})
	case CmdTimer:
		s.timers[c.ID] = s.schedule(s.now.Add(c.Delay), Event{Kind: EvTimer, ID: c.ID})
	case CmdCancelTimer:
		if it, ok := s.timers[c.ID]; ok {
			it.gone = true
			delete(s.timers, c.ID)
		}
	case CmdHTTP:
		ok, res, d := s.cfg.HTTP(c.HTTP)
		s.logf("http %s %s", c.HTTP.Method, c.HTTP.URL)
		s.schedule(s.now.Add(d), Event{Kind: EvDone, ID: c.ID, OK: ok, Result: res})
	case CmdTransfer:
		ok := s.cfg.Transfer(c.Targets[0])
		s.logf("transfer %s %s", c.Targets[0].Type, c.Targets[0].ID)
		s.schedule(s.now.Add(time.Second), Event{Kind: EvDone, ID: c.ID, OK: ok})
	case CmdRedirect:
		s.logf("redirect %s", c.Targets[0].ID)
	case CmdReject:
		s.logf("reject %s", c.Reason)
	case CmdHangup:
		s.logf("hangup")
	}
}
