package dsl

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // time zones compile the same on every host

	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Limits the compiler enforces. Graph's own limits are noted where they
// come from.
const (
	maxPlayPrompts    = 20  // Graph playPrompt takes at most 20 prompts
	maxRedirectTarget = 25  // Graph redirect takes at most 25 targets
	maxDigits         = 128 // as FreeSWITCH play_and_get_digits
	dtmfKeys          = "0123456789*#ABCD"
)

var (
	nameRe  = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	varRe   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	e164Re  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	guidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	clockRe = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})$`)
	dateRe  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// defaultDefaults are the settings a flow gets when it says nothing.
func defaultDefaults() Defaults {
	return Defaults{
		Locale:            "en-US",
		BargeIn:           true,
		TypeAhead:         "keep",
		Terminators:       "#",
		FirstDigitTimeout: Duration(5 * time.Second),
		InterDigitTimeout: Duration(3 * time.Second),
		MaxAttempts:       3,
		MaxCallDuration:   Duration(time.Hour),
		HTTPTimeout:       Duration(5 * time.Second),
		HTTPRetries:       2,
		FillerAfter:       Duration(2 * time.Second),
	}
}

// stepInfo is what the parser keeps about a step beyond the Plan: where its
// parts are and what it reads and writes, for the graph checks.
type stepInfo struct {
	key      *yaml.Node
	writes   []string // variables a set step assigns
	reads    []string // identifiers switch conditions read
	fellInto bool     // Next was filled in by falling through
}

// parser builds one Plan from one flow file.
type parser struct {
	walker
	plan     *Plan
	steps    map[string]*stepInfo
	order    []string
	vars     map[string]*Var
	varPos   map[string]*yaml.Node
	exprs    []exprCheck
	prompts  map[string]*yaml.Node // named prompts and where they are defined
	files    []promptFile          // prompt files to check once the fs is known
	subflows []subflowUse
	sets     []pendingSet
	inline   int
	// broken is set when a step or a reference to one could not be read;
	// the unreachable-step check is then skipped, as its reports would
	// only echo the first mistake.
	broken bool
}

type promptFile struct {
	node *yaml.Node
	name string // the key in plan.Prompts
	path string
	loc  string // locale variant, or ""
}

type subflowUse struct {
	node *yaml.Node
	step int // index in plan.Steps
	args map[string]*yaml.Node
}

// parseFlow parses and validates one flow document into a Plan. Problems
// are added to errs; the Plan is returned even when there are some, so later
// checks can run.
func parseFlow(file string, doc *yaml.Node, errs *ErrorList) (*Plan, *parser) {
	p := &parser{
		walker:  walker{file: file, errs: errs},
		plan:    &Plan{Format: PlanFormat, Defaults: defaultDefaults()},
		steps:   map[string]*stepInfo{},
		vars:    map[string]*Var{},
		varPos:  map[string]*yaml.Node{},
		prompts: map[string]*yaml.Node{},
	}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	top := p.fields(root, "a flow", topKeys)
	if _, ok := top["flow"]; !ok {
		p.errorf(root, "missing flow: give the flow a name, like flow: main-menu")
	}
	if _, ok := top["steps"]; !ok {
		p.errorf(root, "missing steps: a flow needs at least one step")
	}
	if e, ok := top["flow"]; ok {
		if s, ok := p.str(e.val, "flow"); ok {
			if !nameRe.MatchString(s) {
				p.errorf(e.val, "flow name %q must be lowercase letters, digits, - and _, starting with a letter", s)
			}
			p.plan.Flow = s
		}
	}
	if e, ok := top["description"]; ok {
		p.plan.Description, _ = p.str(e.val, "description")
	}
	if e, ok := top["defaults"]; ok {
		p.defaults(e.val)
	}
	if e, ok := top["routes"]; ok {
		p.routes(e.val)
	}
	if e, ok := top["params"]; ok {
		p.declare(e.val, "params", true)
	}
	if e, ok := top["variables"]; ok {
		p.declare(e.val, "variables", false)
	}
	if len(p.plan.Routes) > 0 {
		for _, v := range p.plan.Params {
			if v.Required {
				p.errorf(p.varPos[v.Name], "param %q is required, but the flow has routes and a call routed to it brings no params; give the param a default instead", v.Name)
			}
		}
	}
	if e, ok := top["secrets"]; ok {
		for _, n := range p.list(e.val) {
			if s, ok := p.str(n, "a secret name"); ok {
				if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(s) {
					p.errorf(n, "secret name %q must be letters, digits and _", s)
				}
				p.plan.Secrets = append(p.plan.Secrets, s)
			}
		}
	}
	if e, ok := top["prompts"]; ok {
		for _, pe := range p.entries(e.val, "prompts") {
			if !nameRe.MatchString(pe.name) {
				p.errorf(pe.key, "prompt name %q must be lowercase letters, digits, - and _", pe.name)
			}
			p.prompts[pe.name] = pe.key
		}
		for _, pe := range p.entries(e.val, "prompts") {
			p.definePrompt(pe.name, pe.val)
		}
	}
	if e, ok := top["schedules"]; ok {
		for _, se := range p.entries(e.val, "schedules") {
			if !nameRe.MatchString(se.name) {
				p.errorf(se.key, "schedule name %q must be lowercase letters, digits, - and _", se.name)
			}
			p.schedule(se.name, se.val)
		}
	}
	var stepEntries []entry
	if e, ok := top["steps"]; ok {
		stepEntries = p.entries(e.val, "steps")
		if len(stepEntries) == 0 && p.resolve(e.val) != nil {
			p.errorf(e.val, "steps is empty; a flow needs at least one step")
		}
	}
	for _, se := range stepEntries {
		if !nameRe.MatchString(se.name) {
			p.errorf(se.key, "step id %q must be lowercase letters, digits, - and _, starting with a letter", se.name)
		}
		p.steps[se.name] = &stepInfo{key: se.key}
		p.order = append(p.order, se.name)
	}
	if e, ok := top["start"]; ok {
		p.plan.Start = p.ref(e.val, "start")
	} else if len(p.order) > 0 {
		p.plan.Start = p.order[0]
	}
	if e, ok := top["on_hangup"]; ok {
		p.plan.OnHangup = p.ref(e.val, "on_hangup")
	}
	for _, se := range stepEntries {
		p.step(se)
	}
	// Non-terminal steps without next fall through to the following step;
	// the last one ends the flow.
	for i := range p.plan.Steps {
		s := &p.plan.Steps[i]
		if s.Next == "" && fallsThrough(s.Kind) && i+1 < len(p.plan.Steps) {
			s.Next = p.plan.Steps[i+1].ID
			p.steps[s.ID].fellInto = true
		}
	}
	return p.plan, p
}

// fallsThrough reports whether a step of kind k continues to the next step
// in the file when it has no next.
func fallsThrough(k Kind) bool {
	switch k {
	case KindPlay, KindCollect, KindRecord, KindSet, KindHTTP, KindSubflow:
		return true
	}
	return false
}

func (p *parser) defaults(n *yaml.Node) {
	f := p.fields(n, "defaults", defaultsKeys)
	d := &p.plan.Defaults
	if e, ok := f["locale"]; ok {
		d.Locale = p.locale(e.val)
	}
	if e, ok := f["voice"]; ok {
		d.Voice, _ = p.str(e.val, "voice")
	}
	if e, ok := f["barge_in"]; ok {
		d.BargeIn, _ = p.boolean(e.val, "barge_in")
	}
	if e, ok := f["type_ahead"]; ok {
		d.TypeAhead = p.typeAhead(e.val)
	}
	if e, ok := f["terminators"]; ok {
		d.Terminators = p.keys(e.val, "terminators")
	}
	p.digitTimers(f, &d.FirstDigitTimeout, &d.InterDigitTimeout, &d.OverallTimeout)
	if e, ok := f["max_attempts"]; ok {
		d.MaxAttempts, _ = p.integer(e.val, "max_attempts", 1, 10)
	}
	if e, ok := f["max_call_duration"]; ok {
		d.MaxCallDuration, _ = p.duration(e.val, "max_call_duration", time.Minute, 24*time.Hour)
	}
	if e, ok := f["http_timeout"]; ok {
		d.HTTPTimeout, _ = p.duration(e.val, "http_timeout", 100*time.Millisecond, time.Minute)
	}
	if e, ok := f["http_retries"]; ok {
		d.HTTPRetries, _ = p.integer(e.val, "http_retries", 0, 10)
	}
	if e, ok := f["filler_after"]; ok {
		d.FillerAfter, _ = p.duration(e.val, "filler_after", 0, time.Minute)
	}
	p.timerSanity(n, d.FirstDigitTimeout, d.InterDigitTimeout, d.OverallTimeout)
}

// digitTimers reads the three input timers of defaults or a collect step.
func (p *parser) digitTimers(f map[string]entry, first, inter, overall *Duration) {
	if e, ok := f["first_digit_timeout"]; ok {
		*first, _ = p.duration(e.val, "first_digit_timeout", 500*time.Millisecond, 10*time.Minute)
	}
	if e, ok := f["inter_digit_timeout"]; ok {
		*inter, _ = p.duration(e.val, "inter_digit_timeout", 500*time.Millisecond, 10*time.Minute)
	}
	if e, ok := f["overall_timeout"]; ok {
		*overall, _ = p.duration(e.val, "overall_timeout", 0, 30*time.Minute)
	}
}

// requiredRef reads the step id under key, reporting at n (with why) when
// the key is missing.
func (p *parser) requiredRef(f map[string]entry, n *yaml.Node, key, why string) string {
	if e, ok := f[key]; ok {
		return p.ref(e.val, key)
	}
	p.errorf(n, "%s", why)
	return ""
}

// timerSanity reports contradictory input timers: a digit timer that can
// never expire because the overall timer always fires first.
func (p *parser) timerSanity(n *yaml.Node, first, inter, overall Duration) {
	if overall == 0 {
		return
	}
	if inter > overall {
		p.errorf(n, "inter_digit_timeout %s is longer than overall_timeout %s; it could never expire", inter.D(), overall.D())
	}
	if first > overall {
		p.errorf(n, "first_digit_timeout %s is longer than overall_timeout %s; it could never expire", first.D(), overall.D())
	}
}

func (p *parser) locale(n *yaml.Node) string {
	s, ok := p.str(n, "locale")
	if !ok {
		return ""
	}
	if _, err := language.Parse(s); err != nil {
		p.errorf(n, "locale %q is not a BCP 47 language tag like en-US", s)
	}
	return s
}

func (p *parser) typeAhead(n *yaml.Node) string {
	s, ok := p.str(n, "type_ahead")
	if ok && s != "keep" && s != "flush" {
		p.errorf(n, "type_ahead must be keep or flush, not %q", s)
		return "keep"
	}
	return s
}

// keys reads a string of DTMF keys, such as "#" or "*#".
func (p *parser) keys(n *yaml.Node, what string) string {
	written, ok := p.str(n, what)
	if !ok {
		return ""
	}
	s := strings.ToUpper(written)
	for _, r := range s {
		if !strings.ContainsRune(dtmfKeys, r) {
			p.errorf(n, "%s %q: %q is not a phone key (0-9, *, #, A-D)", what, written, r)
			return ""
		}
		if strings.Count(s, string(r)) > 1 {
			p.errorf(n, "%s %q lists %q twice", what, written, r)
			return ""
		}
	}
	return s
}

func (p *parser) routes(n *yaml.Node) {
	r := p.resolve(n)
	if r == nil {
		return
	}
	if r.Kind != yaml.SequenceNode {
		p.errorf(r, "routes must be a list, not %s", describe(r))
		return
	}
	for _, item := range r.Content {
		f := p.fields(item, "a route", routeKeys)
		rt := Route{Pos: p.pos(p.resolve(item))}
		if e, ok := f["name"]; ok {
			rt.Name, _ = p.str(e.val, "route name")
			if rt.Name != "" && !nameRe.MatchString(rt.Name) {
				p.errorf(e.val, "route name %q must be lowercase letters, digits, - and _", rt.Name)
			}
		} else {
			p.errorf(item, "a route needs a name (ivrflow call NAME places a call to it)")
		}
		if e, ok := f["number"]; ok {
			if s, ok := p.str(e.val, "number"); ok {
				if !e164Re.MatchString(s) {
					p.errorf(e.val, "number %q is not an E.164 number like +14255550100", s)
				}
				rt.Number = s
			}
		}
		if e, ok := f["identity"]; ok {
			if s, ok := p.str(e.val, "identity"); ok {
				if !guidRe.MatchString(s) {
					p.errorf(e.val, "identity %q is not an application, application instance or user id (a GUID)", s)
				}
				rt.Identity = strings.ToLower(s)
			}
		}
		if e, ok := f["caller"]; ok {
			if s, ok := p.str(e.val, "caller"); ok {
				if !e164Re.MatchString(s) && !regexp.MustCompile(`^\+[0-9]{0,14}\*$`).MatchString(s) {
					p.errorf(e.val, "caller %q is not an E.164 number or a prefix like +44*", s)
				}
				rt.Caller = s
			}
		}
		if e, ok := f["default"]; ok {
			rt.Default, _ = p.boolean(e.val, "default")
		}
		for _, prev := range p.plan.Routes {
			if prev.Name == rt.Name && rt.Name != "" {
				p.errorf(item, "route %q is defined twice (first at line %d)", rt.Name, prev.Pos.Line)
			}
		}
		p.plan.Routes = append(p.plan.Routes, rt)
	}
}

// declare reads the params or variables section.
func (p *parser) declare(n *yaml.Node, what string, params bool) {
	for _, e := range p.entries(n, what) {
		if !varRe.MatchString(e.name) {
			p.errorf(e.key, "variable name %q must be lowercase letters, digits and _, starting with a letter or _", e.name)
			continue
		}
		if contains(reserved, e.name) {
			p.errorf(e.key, "%q is a built-in name; choose another variable name", e.name)
			continue
		}
		if prev, dup := p.varPos[e.name]; dup {
			p.errorf(e.key, "variable %q is declared twice (first at line %d)", e.name, prev.Line)
			continue
		}
		v := &Var{Name: e.name, Type: TypeString}
		val := p.resolve(e.val)
		var def *yaml.Node
		if val != nil && val.Kind == yaml.ScalarNode {
			v.Type = p.varType(val)
		} else if val != nil {
			f := p.fields(val, "variable "+strconv.Quote(e.name), varKeys)
			if t, ok := f["type"]; ok {
				v.Type = p.varType(t.val)
			}
			if d, ok := f["default"]; ok {
				def = d.val
			}
			if r, ok := f["required"]; ok {
				v.Required, _ = p.boolean(r.val, "required")
				if !params {
					p.errorf(r.key, "required applies to params only")
				}
			}
			if s, ok := f["sensitive"]; ok {
				v.Sensitive, _ = p.boolean(s.val, "sensitive")
			}
			if d, ok := f["description"]; ok {
				p.str(d.val, "description")
			}
		}
		if def != nil {
			v.Default = p.literal(def, v)
		}
		p.vars[e.name] = v
		p.varPos[e.name] = e.key
		if params {
			p.plan.Params = append(p.plan.Params, *v)
		}
	}
}

func (p *parser) varType(n *yaml.Node) VarType {
	s, ok := p.str(n, "type")
	if !ok {
		return TypeString
	}
	types := []string{"string", "int", "double", "bool", "map", "list"}
	if !contains(types, s) {
		p.errorf(n, "unknown type %q%s", s, suggestOrList(s, types))
		return TypeString
	}
	return VarType(s)
}

// literal converts a default value to JSON, checking it fits the type.
func (p *parser) literal(n *yaml.Node, v *Var) json.RawMessage {
	r := p.resolve(n)
	if r == nil {
		return nil
	}
	bad := func() json.RawMessage {
		p.errorf(r, "default for %s variable %q must be a %s, not %s", v.Type, v.Name, v.Type, describe(r))
		return nil
	}
	var val any
	switch v.Type {
	case TypeString:
		if r.Kind != yaml.ScalarNode || isNull(r) {
			return bad()
		}
		val = r.Value
	case TypeInt:
		if r.Tag != "!!int" {
			return bad()
		}
		i, err := strconv.ParseInt(r.Value, 0, 64)
		if err != nil {
			return bad()
		}
		val = i
	case TypeDouble:
		if r.Tag != "!!int" && r.Tag != "!!float" {
			return bad()
		}
		f, err := strconv.ParseFloat(r.Value, 64)
		if err != nil {
			return bad()
		}
		val = f
	case TypeBool:
		b, ok := p.boolean(r, "default")
		if !ok {
			return nil
		}
		val = b
	case TypeMap, TypeList:
		p.errorf(r, "%s variables start empty; set them with a set step", v.Type)
		return nil
	}
	b, _ := json.Marshal(val)
	return b
}

// ref reads a step id and checks it exists.
func (p *parser) ref(n *yaml.Node, what string) string {
	s, ok := p.str(n, what)
	if !ok {
		return ""
	}
	if _, ok := p.steps[s]; !ok {
		p.broken = true
		p.errorf(n, "%s: undefined step %q%s", what, s, suggest(s, p.order))
		return ""
	}
	return s
}

// promptRefs reads a prompt reference or a list of them: names of prompts,
// or inline prompts that are hoisted into the Plan's prompts.
func (p *parser) promptRefs(n *yaml.Node, owner string) []string {
	var out []string
	items := p.list(n)
	for _, item := range items {
		if name := p.promptRef(item, owner); name != "" {
			out = append(out, name)
		}
	}
	if len(items) > maxPlayPrompts {
		p.errorf(n, "%d prompts in one list; Graph plays at most %d at once (split them over two steps)", len(items), maxPlayPrompts)
	}
	return out
}

func (p *parser) promptRef(n *yaml.Node, owner string) string {
	r := p.resolve(n)
	if r == nil {
		return ""
	}
	if r.Kind == yaml.ScalarNode && !isNull(r) {
		if _, ok := p.prompts[r.Value]; !ok {
			names := make([]string, 0, len(p.prompts))
			for k := range p.prompts {
				names = append(names, k)
			}
			slices.Sort(names)
			p.errorf(r, "undefined prompt %q%s; an inline prompt is written {say: ...} or {file: ...}", r.Value, suggest(r.Value, names))
			return ""
		}
		return r.Value
	}
	if r.Kind != yaml.MappingNode {
		p.errorf(r, "a prompt is a prompt name or {say: ...}, {file: ...} or {url: ...}, not %s", describe(r))
		return ""
	}
	p.inline++
	name := fmt.Sprintf("%s#%d", owner, p.inline)
	p.definePrompt(name, r)
	return name
}

// definePrompt reads a prompt definition: text to say (shorthand), or a
// mapping with exactly one of say, file, url and optional variants.
func (p *parser) definePrompt(name string, n *yaml.Node) {
	pr := p.promptBody(name, n, "", promptKeys)
	if p.plan.Prompts == nil {
		p.plan.Prompts = map[string]Prompt{}
	}
	p.plan.Prompts[name] = pr
}

func (p *parser) promptBody(name string, n *yaml.Node, loc string, keys []string) Prompt {
	var pr Prompt
	r := p.resolve(n)
	if r == nil {
		return pr
	}
	what := fmt.Sprintf("prompt %q", name)
	if loc != "" {
		what = fmt.Sprintf("prompt %q locale %s", name, loc)
	}
	if r.Kind == yaml.ScalarNode && !isNull(r) {
		if strings.TrimSpace(r.Value) == "" {
			p.errorf(r, "%s: the text to say is empty", what)
		}
		pr.Say = p.template(r, what, false)
		return pr
	}
	if isNull(r) {
		p.errorf(r, "%s is empty; give it text to say, or {say: ...}, {file: ...} or {url: ...}", what)
		return pr
	}
	f := p.fields(r, what, keys)
	count := 0
	if e, ok := f["say"]; ok {
		count++
		if s, ok := p.str(e.val, "say"); ok {
			if strings.TrimSpace(s) == "" {
				p.errorf(e.val, "%s: say is empty", what)
			}
			pr.Say = p.template(e.val, what, false)
		}
	}
	if e, ok := f["file"]; ok {
		count++
		if s, ok := p.str(e.val, "file"); ok {
			pr.File = s
			p.files = append(p.files, promptFile{node: e.val, name: name, path: s, loc: loc})
		}
	}
	if e, ok := f["url"]; ok {
		count++
		if s, ok := p.str(e.val, "url"); ok {
			if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") || len(s) < 10 {
				p.errorf(e.val, "%s: url %q must be an absolute http or https URL", what, s)
			}
			pr.URL = s
		}
	}
	if count != 1 && (count > 0 || len(f) > 0 || r.Kind == yaml.MappingNode) {
		p.errorf(r, "%s needs exactly one of say, file or url", what)
	}
	if e, ok := f["locale"]; ok {
		pr.Locale = p.locale(e.val)
	}
	if e, ok := f["voice"]; ok {
		pr.Voice, _ = p.str(e.val, "voice")
	}
	if (pr.Locale != "" || pr.Voice != "") && len(pr.Say) == 0 && count == 1 {
		p.errorf(r, "%s: locale and voice apply to say prompts only", what)
	}
	if e, ok := f["locales"]; ok {
		for _, le := range p.entries(e.val, "locales") {
			p.locale(le.key)
			if pr.Locales == nil {
				pr.Locales = map[string]Prompt{}
			}
			pr.Locales[le.name] = p.promptBody(name, le.val, le.name, variantKeys)
		}
	}
	return pr
}

// template parses text with {{ }} holes and queues the holes for checking.
func (p *parser) template(n *yaml.Node, what string, secrets bool) Template {
	s, ok := p.str(n, what)
	if !ok {
		return nil
	}
	t, err := parseTemplate(s)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return nil
	}
	for _, part := range t {
		if part.Expr != "" {
			p.exprs = append(p.exprs, exprCheck{pos: p.pos(n), src: part.Expr, secrets: secrets})
		}
	}
	return t
}

// expr queues a CEL expression for checking against a wanted type.
func (p *parser) expr(n *yaml.Node, want VarType, what string, refs *[]string) string {
	s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	p.exprs = append(p.exprs, exprCheck{pos: p.pos(p.resolve(n)), src: s, want: want, what: what, refs: refs})
	return s
}

func (p *parser) schedule(name string, n *yaml.Node) {
	f := p.fields(n, fmt.Sprintf("schedule %q", name), scheduleKeys)
	var sc Schedule
	if e, ok := f["time_zone"]; ok {
		if s, ok := p.str(e.val, "time_zone"); ok {
			if _, err := time.LoadLocation(s); err != nil || s == "" || s == "Local" {
				p.errorf(e.val, "time_zone %q is not an IANA time zone like Europe/London", s)
			}
			sc.TimeZone = s
		}
	} else {
		p.errorf(n, "schedule %q needs a time_zone, like Europe/London", name)
	}
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	if e, ok := f["weekly"]; ok {
		seen := [7]bool{}
		for _, de := range p.entries(e.val, "weekly") {
			from, to, ok := strings.Cut(de.name, "-")
			a, b := slices.Index(days, from), slices.Index(days, to)
			if !ok {
				b = a
			}
			if a < 0 || b < 0 || b < a {
				p.errorf(de.key, "%q is not a day or day range like mon, mon-fri (a week runs sun to sat; write sat and sun separately)%s", de.name, suggest(de.name, days))
				continue
			}
			iv := p.intervals(de.val)
			for d := a; d <= b; d++ {
				if seen[d] {
					p.errorf(de.key, "%s is given hours twice", days[d])
				}
				seen[d] = true
				sc.Weekly[d] = iv
			}
		}
	}
	if e, ok := f["holidays"]; ok {
		for _, he := range p.entries(e.val, "holidays") {
			if _, err := time.Parse("2006-01-02", he.name); err != nil || !dateRe.MatchString(he.name) {
				p.errorf(he.key, "holiday %q is not a date like 2026-12-25", he.name)
				continue
			}
			h := Holiday{Date: he.name}
			v := p.resolve(he.val)
			if v != nil && v.Kind == yaml.MappingNode {
				hf := p.fields(v, "holiday "+he.name, []string{"name", "hours"})
				if x, ok := hf["name"]; ok {
					h.Name, _ = p.str(x.val, "name")
				}
				if x, ok := hf["hours"]; ok {
					h.Hours = p.intervals(x.val)
				}
			} else {
				h.Hours = p.intervals(he.val)
			}
			sc.Holidays = append(sc.Holidays, h)
		}
		slices.SortFunc(sc.Holidays, func(a, b Holiday) int { return strings.Compare(a.Date, b.Date) })
	}
	if p.plan.Schedules == nil {
		p.plan.Schedules = map[string]Schedule{}
	}
	p.plan.Schedules[name] = sc
}

// intervals reads "closed", "08:00-18:00" or a list of such ranges.
func (p *parser) intervals(n *yaml.Node) []Interval {
	var out []Interval
	items := p.list(n)
	for _, item := range items {
		s, ok := p.str(item, "hours")
		if !ok {
			continue
		}
		if s == "closed" {
			if len(items) > 1 {
				p.errorf(item, "closed can't be mixed with opening ranges; list only the ranges when open")
			}
			continue
		}
		m := clockRe.FindStringSubmatch(s)
		if m == nil {
			p.errorf(item, "hours %q must be closed or a range like 08:00-18:00", s)
			continue
		}
		h1, _ := strconv.Atoi(m[1])
		m1, _ := strconv.Atoi(m[2])
		h2, _ := strconv.Atoi(m[3])
		m2, _ := strconv.Atoi(m[4])
		from, to := h1*60+m1, h2*60+m2
		if h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || to > 24*60 || from >= to {
			p.errorf(item, "hours %q: the range must run forward within one day (00:00-24:00)", s)
			continue
		}
		for _, o := range out {
			if from < o.To && o.From < to {
				p.errorf(item, "hours %q overlap another range of the same day", s)
			}
		}
		out = append(out, Interval{From: from, To: to})
	}
	slices.SortFunc(out, func(a, b Interval) int { return a.From - b.From })
	return out
}

// target reads a transfer or redirect target: an E.164 number, or a
// mapping naming a user, phone, application or application instance.
func (p *parser) target(n *yaml.Node) (Target, bool) {
	r := p.resolve(n)
	if r == nil {
		return Target{}, false
	}
	if r.Kind == yaml.ScalarNode && !isNull(r) {
		if !e164Re.MatchString(r.Value) {
			p.errorf(r, "target %q is not an E.164 number like +14255550100; for a user write {user: <id>}", r.Value)
			return Target{}, false
		}
		return Target{Type: "phone", ID: r.Value}, true
	}
	f := p.fields(r, "a target", targetKeys)
	var t Target
	for _, typ := range []string{"user", "phone", "application", "application_instance"} {
		e, ok := f[typ]
		if !ok {
			continue
		}
		if t.Type != "" {
			p.errorf(e.key, "a target names one party; it already has %s", t.Type)
			continue
		}
		s, ok := p.str(e.val, typ)
		if !ok {
			return t, false
		}
		t.Type, t.ID = typ, s
		if typ == "phone" && !e164Re.MatchString(s) {
			p.errorf(e.val, "phone %q is not an E.164 number like +14255550100", s)
		}
		if typ != "phone" && !guidRe.MatchString(s) {
			p.errorf(e.val, "%s id %q is not a GUID like 550fae72-d251-43ec-868c-373732c2704f", typ, s)
		}
	}
	if t.Type == "" {
		p.errorf(r, "a target needs one of user, phone, application or application_instance")
		return t, false
	}
	if e, ok := f["display_name"]; ok {
		t.DisplayName, _ = p.str(e.val, "display_name")
	}
	if e, ok := f["tenant_id"]; ok {
		if s, ok := p.str(e.val, "tenant_id"); ok {
			if !guidRe.MatchString(s) {
				p.errorf(e.val, "tenant_id %q is not a GUID", s)
			}
			t.TenantID = s
		}
	}
	return t, true
}

// into declares (or checks) the variable a step writes its result to.
func (p *parser) into(n *yaml.Node, t VarType, sensitive bool) string {
	s, ok := p.str(n, "into")
	if !ok {
		return ""
	}
	if !varRe.MatchString(s) || contains(reserved, s) {
		p.errorf(n, "into: %q is not a usable variable name", s)
		return ""
	}
	if v, ok := p.vars[s]; ok {
		if v.Type != t {
			p.errorf(n, "into: variable %q is %s, but this step stores a %s", s, v.Type, t)
		}
		v.Sensitive = v.Sensitive || sensitive
		return s
	}
	p.vars[s] = &Var{Name: s, Type: t, Sensitive: sensitive}
	p.varPos[s] = n
	return s
}
