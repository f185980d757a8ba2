package dsl

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// step parses one entry of steps: a mapping with exactly one kind key plus
// the common keys next and description.
func (p *parser) step(se entry) {
	info := p.steps[se.name]
	r := p.resolve(se.val)
	if r == nil || r.Kind != yaml.MappingNode {
		p.broken = true
	}
	if r == nil {
		return
	}
	if r.Kind != yaml.MappingNode {
		p.errorf(r, "step %q must be a mapping with one of %s", se.name, strings.Join(kindKeys(), ", "))
		return
	}
	s := Step{ID: se.name, Pos: p.pos(se.key)}
	var body entry
	var nextE *entry
	for _, e := range p.entries(r, "step "+strconv.Quote(se.name)) {
		switch {
		case contains(kindKeys(), e.name):
			if s.Kind != "" {
				p.errorf(e.key, "step %q is already a %s step; one step does one thing (split it into two steps)", se.name, s.Kind)
				continue
			}
			s.Kind, body = Kind(e.name), e
		case e.name == "next":
			nextE = &e
		case e.name == "description":
			p.str(e.val, "description")
		default:
			p.errorf(e.key, "unknown key %q in step %q%s", e.name, se.name, suggest(e.name, append(kindKeys(), stepCommon...)))
		}
	}
	if s.Kind == "" {
		p.broken = true
		p.errorf(se.key, "step %q has no kind; give it one of %s", se.name, strings.Join(kindKeys(), ", "))
		return
	}
	if nextE != nil {
		if fallsThrough(s.Kind) {
			s.Next = p.ref(nextE.val, "next")
		} else {
			p.errorf(nextE.key, "a %s step %s; next is never taken", s.Kind, leavesBy(s.Kind))
		}
	}
	d := &p.plan.Defaults
	v := body.val
	owner := se.name
	switch s.Kind {
	case KindPlay:
		s.Play = &Play{BargeIn: d.BargeIn}
		if r := p.resolve(v); r != nil && r.Kind == yaml.MappingNode && hasKey(r, "prompts") {
			f := p.fields(r, "play", playKeys)
			s.Play.Prompts = p.promptRefs(f["prompts"].val, owner)
			if e, ok := f["barge_in"]; ok {
				s.Play.BargeIn, _ = p.boolean(e.val, "barge_in")
			}
		} else {
			s.Play.Prompts = p.promptRefs(v, owner)
		}
		if r := p.resolve(v); r == nil || isNull(r) || r.Kind == yaml.SequenceNode && len(r.Content) == 0 {
			p.errorf(body.key, "play needs at least one prompt")
		}
	case KindCollect:
		s.Collect = p.collect(v, owner)
	case KindMenu:
		s.Menu = p.menu(v, owner)
	case KindRecord:
		s.Record = p.record(v, owner)
	case KindSet:
		for _, e := range p.entries(v, "set") {
			s.Set = append(s.Set, Assign{Name: e.name})
			info.writes = append(info.writes, e.name)
			p.deferSet(e, len(s.Set)-1)
		}
		if len(s.Set) == 0 {
			p.errorf(body.key, "set needs at least one variable: expression pair")
		}
	case KindSwitch:
		s.Switch = p.switchStep(v, info)
	case KindHTTP:
		s.HTTP = p.httpStep(v, owner)
	case KindTransfer:
		f := p.fields(v, "transfer", transferKeys)
		s.Transfer = &Transfer{}
		if e, ok := f["to"]; ok {
			s.Transfer.Target, _ = p.target(e.val)
		} else {
			p.errorf(body.key, "transfer needs to: (an E.164 number or {user: <id>})")
		}
		s.Transfer.OnFailure = p.requiredRef(f, body.key, "on_failure", "transfer needs on_failure: the step to take when the target does not accept (a successful transfer ends the flow)")
	case KindRedirect:
		f := p.fields(v, "redirect", redirectKeys)
		s.Redirect = &Redirect{Timeout: Duration(55 * time.Second)}
		if e, ok := f["to"]; ok {
			for _, item := range p.list(e.val) {
				if t, ok := p.target(item); ok {
					s.Redirect.Targets = append(s.Redirect.Targets, t)
				}
			}
			if r := p.resolve(e.val); r == nil || isNull(r) || r.Kind == yaml.SequenceNode && len(r.Content) == 0 {
				p.errorf(e.key, "redirect needs at least one target")
			}
			if len(s.Redirect.Targets) > maxRedirectTarget {
				p.errorf(e.key, "redirect has %d targets; Graph allows at most %d", len(s.Redirect.Targets), maxRedirectTarget)
			}
			if len(s.Redirect.Targets) > 1 {
				s.Redirect.Timeout = Duration(60 * time.Second)
			}
		} else {
			p.errorf(body.key, "redirect needs to: one target or a list of them")
		}
		if e, ok := f["timeout"]; ok {
			s.Redirect.Timeout = p.seconds(e.val, "timeout", 15, 90)
		}
	case KindReject:
		s.Reject = &Reject{Reason: "none"}
		r := p.resolve(v)
		rn := v
		if r != nil && r.Kind == yaml.MappingNode {
			f := p.fields(r, "reject", rejectKeys)
			rn = nil
			if e, ok := f["reason"]; ok {
				rn = e.val
			}
		}
		if rn != nil && !isNull(p.resolve(rn)) {
			if reason, ok := p.str(rn, "reason"); ok {
				if !contains([]string{"none", "busy", "forbidden"}, reason) {
					p.errorf(rn, "reject reason must be none, busy or forbidden, not %q", reason)
				}
				s.Reject.Reason = reason
			}
		}
	case KindHangup:
		if r := p.resolve(v); r != nil && !isNull(r) && !(r.Kind == yaml.MappingNode && len(r.Content) == 0) {
			p.errorf(r, "hangup takes no settings (write hangup: {}), not %s", describe(r))
		}
	case KindGoto:
		s.Next = p.ref(v, "goto")
	case KindSubflow:
		s.Subflow = &Subflow{}
		f := p.fields(v, "subflow", subflowKeys)
		use := subflowUse{node: body.key, args: map[string]*yaml.Node{}}
		if e, ok := f["flow"]; ok {
			if name, ok := p.str(e.val, "flow"); ok {
				if !nameRe.MatchString(name) {
					p.errorf(e.val, "flow name %q must be lowercase letters, digits, - and _", name)
				}
				s.Subflow.Flow = name
				use.node = e.val
			}
		} else {
			p.errorf(body.key, "subflow needs flow: the name of the flow to run (its file is NAME.yaml beside this one)")
		}
		if e, ok := f["params"]; ok {
			for _, pe := range p.entries(e.val, "params") {
				s.Subflow.Params = append(s.Subflow.Params, Assign{Name: pe.name})
				use.args[pe.name] = pe.val
			}
		}
		if e, ok := f["into"]; ok {
			s.Subflow.Into = p.into(e.val, TypeMap, false)
		}
		p.subflows = append(p.subflows, use)
	case KindReturn:
		for _, e := range p.entries(v, "return") {
			s.Return = append(s.Return, Assign{Name: e.name, Expr: p.expr(e.val, "", "return value "+strconv.Quote(e.name), nil)})
		}
	case KindHours:
		s.Hours = p.hoursStep(v, owner)
	}
	p.plan.Steps = append(p.plan.Steps, s)
	// Subflow uses refer to their step by index, known only now.
	if s.Kind == KindSubflow {
		p.subflows[len(p.subflows)-1].step = len(p.plan.Steps) - 1
	}
}

// leavesBy says how a step kind without next leaves, for error messages.
func leavesBy(k Kind) string {
	switch k {
	case KindMenu:
		return "leaves through its options and on_max_failures/on_max_timeouts"
	case KindSwitch:
		return "leaves through its cases and default"
	case KindHours:
		return "leaves through open, closed and holiday"
	case KindGoto:
		return "jumps to its target"
	case KindTransfer:
		return "ends the flow when the transfer succeeds and takes on_failure when it does not"
	case KindReturn:
		return "returns from the flow"
	}
	return "ends the call"
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// pendingSet is a set assignment checked once all variables are known.
type pendingSet struct {
	e    entry
	step int // index in plan.Steps
	i    int // index in the step's Set
}

func (p *parser) deferSet(e entry, i int) {
	p.sets = append(p.sets, pendingSet{e: e, step: len(p.plan.Steps), i: i})
}

// seconds reads a duration that Graph takes in whole seconds.
func (p *parser) seconds(n *yaml.Node, what string, lo, hi int) Duration {
	d, ok := p.duration(n, what, time.Duration(lo)*time.Second, time.Duration(hi)*time.Second)
	if ok && d.D()%time.Second != 0 {
		p.errorf(n, "%s must be whole seconds (Graph takes seconds), not %s", what, d.D())
	}
	return d
}

func (p *parser) collect(n *yaml.Node, owner string) *Collect {
	d := &p.plan.Defaults
	c := &Collect{
		MinDigits: 1, MaxDigits: 20,
		Terminators:       d.Terminators,
		FirstDigitTimeout: d.FirstDigitTimeout,
		InterDigitTimeout: d.InterDigitTimeout,
		OverallTimeout:    d.OverallTimeout,
		BargeIn:           d.BargeIn,
		TypeAhead:         d.TypeAhead,
		MaxAttempts:       d.MaxAttempts,
	}
	f := p.fields(n, "collect", collectKeys)
	if e, ok := f["sensitive"]; ok {
		c.Sensitive, _ = p.boolean(e.val, "sensitive")
	}
	if e, ok := f["into"]; ok {
		c.Into = p.into(e.val, TypeString, c.Sensitive)
	} else {
		p.errorf(n, "collect needs into: the variable that receives the digits")
	}
	if e, ok := f["prompt"]; ok {
		c.Prompts = p.promptRefs(e.val, owner)
	}
	exact, hasExact := f["digits"]
	if hasExact {
		if v, ok := p.integer(exact.val, "digits", 1, maxDigits); ok {
			c.MinDigits, c.MaxDigits = v, v
		}
		for _, k := range []string{"min_digits", "max_digits"} {
			if e, ok := f[k]; ok {
				p.errorf(e.key, "%s contradicts digits: %s (digits sets both minimum and maximum)", k, exact.val.Value)
			}
		}
	} else {
		maxOK := true
		if e, ok := f["max_digits"]; ok {
			c.MaxDigits, maxOK = p.integer(e.val, "max_digits", 1, maxDigits)
		}
		if e, ok := f["min_digits"]; ok {
			var minOK bool
			c.MinDigits, minOK = p.integer(e.val, "min_digits", 0, maxDigits)
			if _, set := f["max_digits"]; !set {
				c.MaxDigits = max(c.MaxDigits, c.MinDigits)
			}
			if minOK && maxOK && c.MinDigits > c.MaxDigits {
				p.errorf(e.val, "min_digits %d is more than max_digits %d", c.MinDigits, c.MaxDigits)
			}
		}
	}
	if e, ok := f["terminators"]; ok {
		c.Terminators = p.keys(e.val, "terminators")
	}
	if e, ok := f["keep_terminator"]; ok {
		c.KeepTerminator, _ = p.boolean(e.val, "keep_terminator")
		if c.KeepTerminator && c.Terminators == "" {
			p.errorf(e.key, "keep_terminator is set but the step has no terminators")
		}
	}
	p.digitTimers(f, &c.FirstDigitTimeout, &c.InterDigitTimeout, &c.OverallTimeout)
	p.timerSanity(n, c.FirstDigitTimeout, c.InterDigitTimeout, c.OverallTimeout)
	if e, ok := f["barge_in"]; ok {
		c.BargeIn, _ = p.boolean(e.val, "barge_in")
	}
	if e, ok := f["type_ahead"]; ok {
		c.TypeAhead = p.typeAhead(e.val)
	}
	if e, ok := f["max_attempts"]; ok {
		c.MaxAttempts, _ = p.integer(e.val, "max_attempts", 1, 10)
	}
	if e, ok := f["pattern"]; ok {
		if s, ok := p.str(e.val, "pattern"); ok {
			if _, err := regexp.Compile(s); err != nil {
				p.errorf(e.val, "pattern %q is not a valid regular expression: %v", s, err)
			} else if _, err := regexp.Compile("^(?:" + s + ")$"); err != nil {
				p.errorf(e.val, "pattern %q can't be anchored to the whole input: %v", s, err)
			}
			c.Pattern = s
		}
	}
	if e, ok := f["no_input"]; ok {
		c.NoInput = p.promptRefs(e.val, owner)
	}
	if e, ok := f["no_match"]; ok {
		c.NoMatch = p.promptRefs(e.val, owner)
	}
	if e, ok := f["on_timeout"]; ok {
		c.OnTimeout = p.ref(e.val, "on_timeout")
	}
	if e, ok := f["on_invalid"]; ok {
		c.OnInvalid = p.ref(e.val, "on_invalid")
	}
	if e, ok := f["on_max_attempts"]; ok {
		c.OnMaxAttempts = p.ref(e.val, "on_max_attempts")
	}
	_, t := f["on_timeout"]
	_, i := f["on_invalid"]
	_, m := f["on_max_attempts"]
	switch {
	case m:
	case !t && !i:
		p.errorf(n, "collect has no path for failed input: add on_max_attempts (taken when every attempt timed out or was invalid)")
	case !t:
		p.errorf(n, "collect has no path for no input: add on_timeout or on_max_attempts")
	case !i:
		p.errorf(n, "collect has no path for invalid input: add on_invalid or on_max_attempts")
	}
	if c.MaxAttempts > 1 && len(c.NoInput)+len(c.NoMatch) == 0 && len(c.Prompts) == 0 {
		p.errorf(n, "collect retries %d times but has no prompt, no_input or no_match: the caller hears nothing between attempts", c.MaxAttempts)
	}
	return c
}

func (p *parser) menu(n *yaml.Node, owner string) *Menu {
	d := &p.plan.Defaults
	m := &Menu{Timeout: d.FirstDigitTimeout, MaxFailures: d.MaxAttempts, MaxTimeouts: d.MaxAttempts, BargeIn: d.BargeIn, TypeAhead: d.TypeAhead}
	f := p.fields(n, "menu", menuKeys)
	if e, ok := f["greeting"]; ok {
		m.Greeting = p.promptRefs(e.val, owner)
		if r := p.resolve(e.val); r == nil || isNull(r) || r.Kind == yaml.SequenceNode && len(r.Content) == 0 {
			p.errorf(e.key, "menu greeting needs at least one prompt")
		}
	} else {
		p.errorf(n, "menu needs greeting: the prompt that lists the options")
	}
	if e, ok := f["short_greeting"]; ok {
		m.ShortGreeting = p.promptRefs(e.val, owner)
	}
	if e, ok := f["options"]; ok {
		for _, oe := range p.entries(e.val, "options") {
			key := strings.ToUpper(oe.name)
			if len(key) != 1 || !strings.ContainsRune(dtmfKeys, rune(key[0])) {
				p.errorf(oe.key, "menu option %q must be one phone key (0-9, *, #, A-D)", oe.name)
				continue
			}
			if slices.ContainsFunc(m.Options, func(o MenuOption) bool { return o.Key == key }) {
				p.errorf(oe.key, "menu option %q is given twice (keys A-D are the same in either case)", key)
				continue
			}
			m.Options = append(m.Options, MenuOption{Key: key, Goto: p.ref(oe.val, "option "+key)})
		}
		if r := p.resolve(e.val); len(m.Options) == 0 && (r == nil || r.Kind != yaml.SequenceNode) {
			p.errorf(e.key, "menu has no options")
		}
	} else {
		p.errorf(n, "menu needs options: key: step pairs, like \"1\": sales")
	}
	if e, ok := f["invalid"]; ok {
		m.Invalid = p.promptRefs(e.val, owner)
	}
	if e, ok := f["no_input"]; ok {
		m.NoInput = p.promptRefs(e.val, owner)
	}
	if e, ok := f["timeout"]; ok {
		m.Timeout, _ = p.duration(e.val, "timeout", 500*time.Millisecond, 10*time.Minute)
	}
	if e, ok := f["max_failures"]; ok {
		m.MaxFailures, _ = p.integer(e.val, "max_failures", 1, 10)
	}
	if e, ok := f["max_timeouts"]; ok {
		m.MaxTimeouts, _ = p.integer(e.val, "max_timeouts", 1, 10)
	}
	if e, ok := f["barge_in"]; ok {
		m.BargeIn, _ = p.boolean(e.val, "barge_in")
	}
	if e, ok := f["type_ahead"]; ok {
		m.TypeAhead = p.typeAhead(e.val)
	}
	if e, ok := f["into"]; ok {
		m.Into = p.into(e.val, TypeString, false)
	}
	m.OnMaxFailures = p.requiredRef(f, n, "on_max_failures", "menu has no path for invalid choices: add on_max_failures")
	m.OnMaxTimeouts = p.requiredRef(f, n, "on_max_timeouts", "menu has no path for no input: add on_max_timeouts")
	return m
}

func (p *parser) record(n *yaml.Node, owner string) *Record {
	r := &Record{Beep: true, MaxDuration: Duration(60 * time.Second), InitialSilence: Duration(5 * time.Second), MaxSilence: Duration(5 * time.Second)}
	f := p.fields(n, "record", recordKeys)
	if e, ok := f["into"]; ok {
		r.Into = p.into(e.val, TypeMap, false)
	} else {
		p.errorf(n, "record needs into: the variable that receives the recording")
	}
	if e, ok := f["prompt"]; ok {
		refs := p.promptRefs(e.val, owner)
		if len(refs) > 1 {
			p.errorf(e.val, "record plays one prompt (a Graph limit); play the others in a play step before it")
		}
		if len(refs) > 0 {
			r.Prompt = refs[0]
		}
	}
	if e, ok := f["beep"]; ok {
		r.Beep, _ = p.boolean(e.val, "beep")
	}
	if e, ok := f["max_duration"]; ok {
		r.MaxDuration = p.seconds(e.val, "max_duration", 1, 120)
	}
	if e, ok := f["initial_silence"]; ok {
		r.InitialSilence = p.seconds(e.val, "initial_silence", 1, 120)
	}
	if e, ok := f["max_silence"]; ok {
		r.MaxSilence = p.seconds(e.val, "max_silence", 1, 120)
	}
	if e, ok := f["stop_keys"]; ok {
		r.StopKeys = p.keys(e.val, "stop_keys")
	}
	if e, ok := f["on_silence"]; ok {
		r.OnSilence = p.ref(e.val, "on_silence")
	}
	return r
}

func (p *parser) switchStep(n *yaml.Node, info *stepInfo) *Switch {
	sw := &Switch{}
	f := p.fields(n, "switch", switchKeys)
	if e, ok := f["cases"]; ok {
		r := p.resolve(e.val)
		if r != nil && r.Kind != yaml.SequenceNode {
			p.errorf(r, "cases must be a list of {when: expression, goto: step}")
		} else if r != nil {
			for _, item := range r.Content {
				cf := p.fields(item, "a case", caseKeys)
				var c Case
				if w, ok := cf["when"]; ok {
					c.When = p.expr(w.val, TypeBool, "a switch condition", &info.reads)
				} else {
					p.errorf(item, "a case needs when: a condition")
				}
				if g, ok := cf["goto"]; ok {
					c.Goto = p.ref(g.val, "goto")
				} else {
					p.errorf(item, "a case needs goto: the step to take")
				}
				sw.Cases = append(sw.Cases, c)
			}
		}
	} else {
		p.errorf(n, "switch needs cases")
	}
	sw.Default = p.requiredRef(f, n, "default", "switch needs default: the step to take when no case matches")
	return sw
}

func (p *parser) httpStep(n *yaml.Node, owner string) *HTTP {
	d := &p.plan.Defaults
	h := &HTTP{Method: "GET", Timeout: d.HTTPTimeout, Retries: d.HTTPRetries}
	f := p.fields(n, "http", httpKeys)
	if e, ok := f["method"]; ok {
		if s, ok := p.str(e.val, "method"); ok {
			s = strings.ToUpper(s)
			if !contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, s) {
				p.errorf(e.val, "method must be GET, POST, PUT, PATCH or DELETE, not %q", s)
			}
			h.Method = s
		}
	}
	if e, ok := f["url"]; ok {
		h.URL = p.template(e.val, "url", true)
		if len(h.URL) > 0 {
			lead := h.URL[0].Text
			_, rest, scheme := strings.Cut(lead, "://")
			switch {
			case !strings.HasPrefix(lead, "https://") && !strings.HasPrefix(lead, "http://"):
				p.errorf(e.val, "url must start with http:// or https://")
			case len(h.URL) > 1 && !strings.ContainsAny(rest, "/?#") || !scheme || rest == "":
				p.errorf(e.val, "url must name its host literally; expressions may fill in the path and query only")
			}
		}
	} else {
		p.errorf(n, "http needs url")
	}
	if e, ok := f["headers"]; ok {
		for _, he := range p.entries(e.val, "headers") {
			h.Headers = append(h.Headers, Header{Name: he.name, Value: p.template(he.val, "header "+he.name, true)})
		}
	}
	if e, ok := f["body"]; ok {
		h.Body = p.template(e.val, "body", true)
		if h.Method == "GET" || h.Method == "DELETE" {
			p.errorf(e.key, "a %s request has no body; use POST, PUT or PATCH", h.Method)
		}
	}
	if e, ok := f["timeout"]; ok {
		h.Timeout, _ = p.duration(e.val, "timeout", 100*time.Millisecond, time.Minute)
	}
	if e, ok := f["retries"]; ok {
		h.Retries, _ = p.integer(e.val, "retries", 0, 10)
	}
	if e, ok := f["into"]; ok {
		h.Into = p.into(e.val, TypeMap, false)
	}
	if e, ok := f["filler"]; ok {
		h.Filler = p.promptRefs(e.val, owner)
		h.FillerAfter = d.FillerAfter
	}
	if e, ok := f["filler_after"]; ok {
		h.FillerAfter, _ = p.duration(e.val, "filler_after", 0, time.Minute)
		if h.Filler == nil {
			p.errorf(e.key, "filler_after is set but there is no filler prompt")
		}
	}
	h.OnError = p.requiredRef(f, n, "on_error", "http needs on_error: the step to take when the request fails, times out or answers non-2xx")
	return h
}

func (p *parser) hoursStep(n *yaml.Node, owner string) *Hours {
	h := &Hours{}
	f := p.fields(n, "hours", hoursKeys)
	if e, ok := f["schedule"]; ok {
		r := p.resolve(e.val)
		if r != nil && r.Kind == yaml.MappingNode {
			h.Schedule = owner
			if _, clash := p.plan.Schedules[owner]; clash {
				p.errorf(e.key, "an inline schedule takes its step's name, and a schedule %q already exists", owner)
			}
			p.schedule(owner, r)
		} else if s, ok := p.str(e.val, "schedule"); ok {
			if _, ok := p.plan.Schedules[s]; !ok {
				names := make([]string, 0, len(p.plan.Schedules))
				for k := range p.plan.Schedules {
					names = append(names, k)
				}
				p.errorf(e.val, "undefined schedule %q%s", s, suggest(s, names))
			}
			h.Schedule = s
		}
	} else {
		p.errorf(n, "hours needs schedule: a schedule name or an inline schedule")
	}
	h.Open = p.requiredRef(f, n, "open", "hours needs open: the step to take during opening hours")
	h.Closed = p.requiredRef(f, n, "closed", "hours needs closed: the step to take outside opening hours")
	if e, ok := f["holiday"]; ok {
		h.Holiday = p.ref(e.val, "holiday")
	}
	return h
}
