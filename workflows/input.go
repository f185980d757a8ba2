package workflows

import (
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
)

// This file implements input timing exactly as docs/flow-language.md §7
// defines it; the rule numbers there are the contract.

func (m *Machine) typeAhead() string {
	if m.step.Kind == dsl.KindMenu {
		return m.step.Menu.TypeAhead
	}
	return m.step.Collect.TypeAhead
}

func (m *Machine) bargeIn() bool {
	if m.step.Kind == dsl.KindMenu {
		return m.step.Menu.BargeIn
	}
	return m.step.Collect.BargeIn
}

func (m *Machine) flush() {
	if len(m.buffer) > 0 {
		m.log("flush", "%s", strings.Join(m.buffer, ""))
	}
	m.buffer = nil
}

// startAttempt begins an attempt of a collect or menu: the prompt phase,
// then input. reprompt plays before the step's own prompt on retries.
func (m *Machine) startAttempt(reprompt []string) {
	in, s := m.in, m.step
	in.digits, in.active, in.prompting = "", false, false
	var names []string
	names = append(names, reprompt...)
	if s.Kind == dsl.KindMenu {
		g := s.Menu.Greeting
		if in.attempt > 1 && len(s.Menu.ShortGreeting) > 0 {
			g = s.Menu.ShortGreeting
		}
		names = append(names, g...)
	} else {
		names = append(names, s.Collect.Prompts...)
	}
	if m.bargeIn() && len(m.buffer) > 0 {
		m.log("prompt", "skipped: type-ahead %s", strings.Join(m.buffer, ""))
		m.beginInput()
		return
	}
	if len(names) == 0 {
		m.beginInput()
		return
	}
	in.prompting = true
	in.opID = m.newID("prompt")
	m.emit(Command{Kind: CmdPlay, ID: in.opID, Prompts: m.prompts(names), BargeIn: m.bargeIn()})
}

// promptDone ends the prompt phase when the prompt completes.
func (m *Machine) promptDone() {
	if !m.in.prompting {
		return // barged in already
	}
	m.in.prompting = false
	m.beginInput()
}

// beginInput ends the prompt phase: buffered keys are taken in order, then
// the timers start.
func (m *Machine) beginInput() {
	in := m.in
	in.active = true
	for len(m.buffer) > 0 {
		k := m.buffer[0]
		m.buffer = m.buffer[1:]
		m.consume(k)
		if m.in != in || !in.active {
			return // the input ended; the flow has moved on
		}
	}
	if m.step.Kind == dsl.KindMenu {
		m.startTimer("first", m.step.Menu.Timeout.D())
		return
	}
	c := m.step.Collect
	if in.digits == "" {
		m.startTimer("first", c.FirstDigitTimeout.D())
	} else {
		m.startTimer("inter", c.InterDigitTimeout.D())
	}
	if c.OverallTimeout > 0 {
		m.startTimer("overall", c.OverallTimeout.D())
	}
}

func (m *Machine) startTimer(name string, d time.Duration) {
	id := m.newID("timer") + ":" + name
	m.in.timers = append(m.in.timers, id)
	m.emit(Command{Kind: CmdTimer, ID: id, Delay: d})
}

// stopTimers cancels the timers whose name is in names (all when none).
func (m *Machine) stopTimers(names ...string) {
	kept := m.in.timers[:0]
	for _, id := range m.in.timers {
		name := id[strings.LastIndexByte(id, ':')+1:]
		if len(names) == 0 || containsStr(names, name) {
			m.emit(Command{Kind: CmdCancelTimer, ID: id})
			continue
		}
		kept = append(kept, id)
	}
	m.in.timers = kept
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tone takes a key the caller pressed.
func (m *Machine) tone(ev Event) {
	key := strings.ToUpper(ev.Tone)
	if len(key) != 1 || !strings.Contains("0123456789*#ABCD", key) {
		return // flash and the like are not input
	}
	if ev.Seq != 0 {
		if ev.Seq <= m.lastSeq {
			m.log("tone-dropped", "%s (sequenceId %d, already past %d)", key, ev.Seq, m.lastSeq)
			return
		}
		m.lastSeq = ev.Seq
	}
	m.log("tone", "%s", key)
	if !m.swallowUntil.IsZero() {
		swallow := !m.now.After(m.swallowUntil) && strings.Contains(m.swallowKeys, key)
		m.swallowUntil, m.swallowKeys = time.Time{}, ""
		if swallow {
			m.log("tone-dropped", "%s ends an entry that was already complete", key)
			return
		}
	}
	if m.handling || m.step == nil {
		return
	}
	if in := m.in; in != nil {
		switch {
		case in.prompting && m.bargeIn():
			m.buffer = append(m.buffer, key)
			in.prompting = false
			m.emit(Command{Kind: CmdCancelMedia})
			m.log("barge-in", "%s", key)
			m.beginInput()
		case in.active:
			m.consume(key)
		default:
			m.buffer = append(m.buffer, key)
		}
		return
	}
	switch m.step.Kind {
	case dsl.KindRecord:
		if strings.Contains(m.step.Record.StopKeys, key) {
			return // it stops the recording; not type-ahead
		}
	case dsl.KindPlay:
		m.buffer = append(m.buffer, key)
		if m.step.Play.BargeIn && m.waitOp != "" {
			m.emit(Command{Kind: CmdCancelMedia})
			m.log("barge-in", "%s", key)
			m.waitOp = ""
			m.goTo(m.step.Next)
		}
		return
	}
	m.buffer = append(m.buffer, key)
}

// consume takes one key into the active input.
func (m *Machine) consume(key string) {
	in, s := m.in, m.step
	if s.Kind == dsl.KindMenu {
		m.stopTimers()
		in.active = false
		for _, o := range s.Menu.Options {
			if o.Key == key {
				if s.Menu.Into != "" {
					m.top().vars[s.Menu.Into] = key
				}
				m.log("menu", "%s", key)
				m.in = nil
				m.goTo(o.Goto)
				return
			}
		}
		m.log("invalid", "%s", key)
		m.failure(false)
		return
	}
	c := s.Collect
	if strings.Contains(c.Terminators, key) {
		if c.KeepTerminator {
			in.digits += key
		}
		m.log("terminator", "%s", key)
		m.endInput(false)
		return
	}
	in.digits += key
	if len(in.digits) >= c.MaxDigits {
		if c.Terminators != "" {
			m.swallowKeys, m.swallowUntil = c.Terminators, m.now.Add(c.InterDigitTimeout.D())
		}
		m.endInput(false)
		return
	}
	m.stopTimers("first", "inter")
	m.startTimer("inter", c.InterDigitTimeout.D())
}

// endInput ends an attempt: with no input, or with the digits collected.
func (m *Machine) endInput(noInput bool) {
	in, s := m.in, m.step
	m.stopTimers()
	in.active = false
	if s.Kind == dsl.KindMenu || noInput {
		m.failure(true)
		return
	}
	c := s.Collect
	digits := in.digits
	if c.KeepTerminator {
		digits = strings.TrimRight(digits, c.Terminators)
	}
	if n := len(digits); n >= c.MinDigits && n <= c.MaxDigits && patternOK(c.Pattern, digits) {
		m.top().vars[c.Into] = in.digits
		m.log("collected", "ok after %d attempt(s)", in.attempt)
		m.in = nil
		m.goTo(s.Next)
		return
	}
	m.log("invalid", "%d digits", len(digits))
	m.failure(false)
}

// pick returns the reprompt for the n-th failure of a kind: the n-th
// prompt, the last one repeating.
func pick(list []string, n int) []string {
	if len(list) == 0 || n <= 0 {
		return nil
	}
	return []string{list[min(n, len(list))-1]}
}

// retry starts the next attempt of a collect or menu with the reprompt for
// this failure, flushing type-ahead when the step says so.
func (m *Machine) retry(noInput bool, noInputPrompts, noMatchPrompts []string) {
	in := m.in
	in.attempt++
	re := pick(noMatchPrompts, in.noMatch)
	if noInput {
		re = pick(noInputPrompts, in.noInput)
	}
	if m.typeAhead() == "flush" {
		m.flush()
	}
	m.startAttempt(re)
}

// failure counts a failed attempt and retries, or leaves the step.
func (m *Machine) failure(noInput bool) {
	in, s := m.in, m.step
	if noInput {
		in.noInput++
	} else {
		in.noMatch++
	}
	if s.Kind == dsl.KindMenu {
		mn := s.Menu
		switch {
		case noInput && in.noInput >= mn.MaxTimeouts:
			m.in = nil
			m.log("menu", "max timeouts")
			m.goTo(mn.OnMaxTimeouts)
		case !noInput && in.noMatch >= mn.MaxFailures:
			m.in = nil
			m.log("menu", "max failures")
			m.goTo(mn.OnMaxFailures)
		default:
			m.retry(noInput, mn.NoInput, mn.Invalid)
		}
		return
	}
	c := s.Collect
	if in.attempt < c.MaxAttempts {
		m.retry(noInput, c.NoInput, c.NoMatch)
		return
	}
	m.top().vars[c.Into] = ""
	m.in = nil
	next, status := c.OnMaxAttempts, "max_attempts"
	if noInput && c.OnTimeout != "" {
		next, status = c.OnTimeout, "timeout"
	}
	if !noInput && c.OnInvalid != "" {
		next, status = c.OnInvalid, "invalid"
	}
	m.log("collected", "%s", status)
	m.goTo(next)
}
