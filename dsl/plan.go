package dsl

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PlanFormat is the format number of the Plan JSON. It changes only when a
// Plan written by one release can no longer be read by the next.
const PlanFormat = 1

// Plan is a compiled flow: every default applied, every reference resolved,
// every expression type-checked. It is plain data, serialisable to JSON and
// back without loss, and it is what a call workflow interprets. A call keeps
// the Plan it started with.
type Plan struct {
	// Format is PlanFormat at the time of compilation.
	Format int `json:"format"`
	// Version is a content hash of the Plan (with Version itself empty),
	// "sha256:" and 16 hex digits.
	Version string `json:"version"`
	// Flow is the flow's name.
	Flow        string `json:"flow"`
	Description string `json:"description,omitempty"`
	// Source is the flow file's name, relative to its directory; step
	// positions refer to it.
	Source   string   `json:"source"`
	Defaults Defaults `json:"defaults"`
	Routes   []Route  `json:"routes,omitempty"`
	// Params are the flow's inputs when it runs as a sub-flow.
	Params []Var `json:"params,omitempty"`
	// Vars holds every variable the flow uses, declared or implied by an
	// `into`, sorted by name. Params are listed here too.
	Vars []Var `json:"vars,omitempty"`
	// Secrets names values the worker supplies at run time (from its
	// environment), usable only in http templates and never stored in a
	// call's history.
	Secrets   []string            `json:"secrets,omitempty"`
	Prompts   map[string]Prompt   `json:"prompts,omitempty"`
	Schedules map[string]Schedule `json:"schedules,omitempty"`
	// Start is the first step.
	Start string `json:"start"`
	// OnHangup is the step the hang-up handler starts at, if any.
	OnHangup string `json:"on_hangup,omitempty"`
	Steps    []Step `json:"steps"`
	// Subflows holds every flow reachable through subflow steps, by name;
	// only the root Plan has them.
	Subflows map[string]*Plan `json:"subflows,omitempty"`
}

// Defaults are the flow-wide settings steps inherit.
type Defaults struct {
	Locale            string   `json:"locale"`
	Voice             string   `json:"voice,omitempty"`
	BargeIn           bool     `json:"barge_in"`
	TypeAhead         string   `json:"type_ahead"`
	Terminators       string   `json:"terminators"`
	FirstDigitTimeout Duration `json:"first_digit_timeout"`
	InterDigitTimeout Duration `json:"inter_digit_timeout"`
	OverallTimeout    Duration `json:"overall_timeout,omitempty"`
	MaxAttempts       int      `json:"max_attempts"`
	MaxCallDuration   Duration `json:"max_call_duration"`
	HTTPTimeout       Duration `json:"http_timeout"`
	HTTPRetries       int      `json:"http_retries"`
	FillerAfter       Duration `json:"filler_after"`
}

// Route says which calls a flow answers.
type Route struct {
	Name string `json:"name"`
	// Number is the dialed E.164 number (the notification's callRoutes).
	Number string `json:"number,omitempty"`
	// Identity is the id of the target application, application instance
	// or user the call was placed to.
	Identity string `json:"identity,omitempty"`
	// Caller is an E.164 number, or a prefix ending in '*'.
	Caller string `json:"caller,omitempty"`
	// Default marks the route taken when no other route matches.
	Default bool `json:"default,omitempty"`
	Pos     Pos  `json:"pos"`
}

// Var is a flow variable.
type Var struct {
	Name string  `json:"name"`
	Type VarType `json:"type"`
	// Default is the initial value, JSON-encoded; empty means the type's
	// zero value.
	Default   json.RawMessage `json:"default,omitempty"`
	Required  bool            `json:"required,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// VarType is the type of a flow variable.
type VarType string

// The variable types.
const (
	TypeString VarType = "string"
	TypeInt    VarType = "int"
	TypeDouble VarType = "double"
	TypeBool   VarType = "bool"
	TypeMap    VarType = "map"
	TypeList   VarType = "list"
)

// Prompt is one piece of audio: a file served to Graph, a URL Graph fetches,
// or text rendered to speech.
type Prompt struct {
	// File is relative to the flow's directory; SHA256 is its content hash.
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	URL    string `json:"url,omitempty"`
	// Say is text to speak; it may hold {{ expressions }}.
	Say    Template `json:"say,omitempty"`
	Locale string   `json:"locale,omitempty"`
	Voice  string   `json:"voice,omitempty"`
	// Locales holds per-locale variants, chosen by the call's locale.
	Locales map[string]Prompt `json:"locales,omitempty"`
}

// Template is text with {{ expression }} holes. A template without holes is
// one literal part.
type Template []TemplatePart

// TemplatePart is a literal (Text) or a CEL expression (Expr) whose value is
// formatted into the text.
type TemplatePart struct {
	Text string `json:"text,omitempty"`
	Expr string `json:"expr,omitempty"`
}

// Schedule is a weekly opening schedule with holidays, in a time zone.
type Schedule struct {
	TimeZone string `json:"time_zone"`
	// Weekly holds the open intervals per weekday, Sunday first (as
	// time.Weekday).
	Weekly   [7][]Interval `json:"weekly"`
	Holidays []Holiday     `json:"holidays,omitempty"`
}

// Interval is [From, To) in minutes after local midnight.
type Interval struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Holiday replaces the weekly schedule on one date. No intervals means
// closed all day.
type Holiday struct {
	Date  string     `json:"date"`
	Name  string     `json:"name,omitempty"`
	Hours []Interval `json:"hours,omitempty"`
}

// Kind is a step kind. The set is closed.
type Kind string

// The step kinds.
const (
	KindPlay     Kind = "play"
	KindCollect  Kind = "collect"
	KindMenu     Kind = "menu"
	KindRecord   Kind = "record"
	KindSet      Kind = "set"
	KindSwitch   Kind = "switch"
	KindHTTP     Kind = "http"
	KindTransfer Kind = "transfer"
	KindRedirect Kind = "redirect"
	KindReject   Kind = "reject"
	KindHangup   Kind = "hangup"
	KindGoto     Kind = "goto"
	KindSubflow  Kind = "subflow"
	KindReturn   Kind = "return"
	KindHours    Kind = "hours"
)

// Kinds lists every step kind in the order the reference documents them.
func Kinds() []Kind {
	return []Kind{KindPlay, KindCollect, KindMenu, KindRecord, KindSet, KindSwitch, KindHTTP,
		KindTransfer, KindRedirect, KindReject, KindHangup, KindGoto, KindSubflow, KindReturn, KindHours}
}

// Step is one compiled step. Exactly the body matching Kind is set. Next is
// where the step goes when it succeeds; it is empty for steps that end the
// call or the flow.
type Step struct {
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	Pos  Pos    `json:"pos"`
	Next string `json:"next,omitempty"`

	Play     *Play     `json:"play,omitempty"`
	Collect  *Collect  `json:"collect,omitempty"`
	Menu     *Menu     `json:"menu,omitempty"`
	Record   *Record   `json:"record,omitempty"`
	Set      []Assign  `json:"set,omitempty"`
	Switch   *Switch   `json:"switch,omitempty"`
	HTTP     *HTTP     `json:"http,omitempty"`
	Transfer *Transfer `json:"transfer,omitempty"`
	Redirect *Redirect `json:"redirect,omitempty"`
	Reject   *Reject   `json:"reject,omitempty"`
	Subflow  *Subflow  `json:"subflow,omitempty"`
	Return   []Assign  `json:"return,omitempty"`
	Hours    *Hours    `json:"hours,omitempty"`
}

// Play plays prompts in order.
type Play struct {
	Prompts []string `json:"prompts"`
	BargeIn bool     `json:"barge_in"`
}

// Collect gathers digits into a variable. Next is taken on success.
type Collect struct {
	Into              string   `json:"into"`
	Prompts           []string `json:"prompts,omitempty"`
	MinDigits         int      `json:"min_digits"`
	MaxDigits         int      `json:"max_digits"`
	Terminators       string   `json:"terminators,omitempty"`
	KeepTerminator    bool     `json:"keep_terminator,omitempty"`
	FirstDigitTimeout Duration `json:"first_digit_timeout"`
	InterDigitTimeout Duration `json:"inter_digit_timeout"`
	OverallTimeout    Duration `json:"overall_timeout,omitempty"`
	BargeIn           bool     `json:"barge_in"`
	TypeAhead         string   `json:"type_ahead"`
	MaxAttempts       int      `json:"max_attempts"`
	Pattern           string   `json:"pattern,omitempty"`
	NoInput           []string `json:"no_input,omitempty"`
	NoMatch           []string `json:"no_match,omitempty"`
	Sensitive         bool     `json:"sensitive,omitempty"`
	OnTimeout         string   `json:"on_timeout,omitempty"`
	OnInvalid         string   `json:"on_invalid,omitempty"`
	OnMaxAttempts     string   `json:"on_max_attempts,omitempty"`
}

// Menu offers options chosen by one key.
type Menu struct {
	Greeting      []string     `json:"greeting"`
	ShortGreeting []string     `json:"short_greeting,omitempty"`
	Options       []MenuOption `json:"options"`
	Invalid       []string     `json:"invalid,omitempty"`
	NoInput       []string     `json:"no_input,omitempty"`
	Timeout       Duration     `json:"timeout"`
	MaxFailures   int          `json:"max_failures"`
	MaxTimeouts   int          `json:"max_timeouts"`
	BargeIn       bool         `json:"barge_in"`
	TypeAhead     string       `json:"type_ahead"`
	Into          string       `json:"into,omitempty"`
	OnMaxFailures string       `json:"on_max_failures"`
	OnMaxTimeouts string       `json:"on_max_timeouts"`
}

// MenuOption maps a key to a step.
type MenuOption struct {
	Key  string `json:"key"`
	Goto string `json:"goto"`
}

// Record records the caller into a variable.
type Record struct {
	Into           string   `json:"into"`
	Prompt         string   `json:"prompt,omitempty"`
	Beep           bool     `json:"beep"`
	MaxDuration    Duration `json:"max_duration"`
	InitialSilence Duration `json:"initial_silence"`
	MaxSilence     Duration `json:"max_silence"`
	StopKeys       string   `json:"stop_keys,omitempty"`
	OnSilence      string   `json:"on_silence,omitempty"`
}

// Assign sets a variable (or, in return, a result field) to an expression.
type Assign struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// Switch takes the first case whose condition is true, else Default.
type Switch struct {
	Cases   []Case `json:"cases"`
	Default string `json:"default"`
}

// Case is one branch of a switch.
type Case struct {
	When string `json:"when"`
	Goto string `json:"goto"`
}

// HTTP is a data dip: one HTTP request whose response lands in a variable.
type HTTP struct {
	Method      string   `json:"method"`
	URL         Template `json:"url"`
	Headers     []Header `json:"headers,omitempty"`
	Body        Template `json:"body,omitempty"`
	Timeout     Duration `json:"timeout"`
	Retries     int      `json:"retries"`
	Into        string   `json:"into,omitempty"`
	Filler      []string `json:"filler,omitempty"`
	FillerAfter Duration `json:"filler_after,omitempty"`
	OnError     string   `json:"on_error"`
}

// Header is one request header.
type Header struct {
	Name  string   `json:"name"`
	Value Template `json:"value"`
}

// Target is a party a call can be transferred or redirected to.
type Target struct {
	// Type is user, phone, application or application_instance.
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
	TenantID    string `json:"tenant_id,omitempty"`
}

// Transfer hands the call to a target; success ends the flow.
type Transfer struct {
	Target    Target `json:"target"`
	OnFailure string `json:"on_failure"`
}

// Redirect sends an unanswered call elsewhere; it ends the flow.
type Redirect struct {
	Targets []Target `json:"targets"`
	Timeout Duration `json:"timeout"`
}

// Reject declines an unanswered call; it ends the flow.
type Reject struct {
	Reason string `json:"reason"`
}

// Subflow runs another flow and continues at Next when it returns.
type Subflow struct {
	Flow   string   `json:"flow"`
	Params []Assign `json:"params,omitempty"`
	Into   string   `json:"into,omitempty"`
}

// Hours branches on a schedule at the current time.
type Hours struct {
	Schedule string `json:"schedule"`
	Open     string `json:"open"`
	Closed   string `json:"closed"`
	Holiday  string `json:"holiday,omitempty"`
}

// Duration is a time.Duration written as Go duration text ("1m30s") in JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads duration text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Step returns the step with the given id, or nil.
func (p *Plan) Step(id string) *Step {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i]
		}
	}
	return nil
}

// hash returns the content hash of p, computed with Version empty.
func (p *Plan) hash() (string, error) {
	c := *p
	c.Version = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("hash plan %s: %w", p.Flow, err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:8]), nil
}

// Transitions lists where a step can go next, as (label, step) pairs in a
// fixed order. The label is "" for the plain next step.
func (s *Step) Transitions() []Transition {
	var out []Transition
	add := func(label, to string) {
		if to != "" {
			out = append(out, Transition{Label: label, To: to})
		}
	}
	add("", s.Next)
	switch s.Kind {
	case KindCollect:
		add("timeout", s.Collect.OnTimeout)
		add("invalid", s.Collect.OnInvalid)
		add("max attempts", s.Collect.OnMaxAttempts)
	case KindMenu:
		for _, o := range s.Menu.Options {
			add(o.Key, o.Goto)
		}
		add("max failures", s.Menu.OnMaxFailures)
		add("max timeouts", s.Menu.OnMaxTimeouts)
	case KindRecord:
		add("silence", s.Record.OnSilence)
	case KindSwitch:
		for _, c := range s.Switch.Cases {
			add(c.When, c.Goto)
		}
		add("default", s.Switch.Default)
	case KindHTTP:
		add("error", s.HTTP.OnError)
	case KindTransfer:
		add("failure", s.Transfer.OnFailure)
	case KindHours:
		add("open", s.Hours.Open)
		add("closed", s.Hours.Closed)
		add("holiday", s.Hours.Holiday)
	}
	return out
}

// Transition is one edge of the step graph.
type Transition struct {
	Label string
	To    string
}

// ParseTarget reads a transfer target written as one string, as an
// operator types it: an E.164 number (+14255550120), or TYPE:ID with TYPE
// user, application or application_instance and ID a GUID.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		if !e164Re.MatchString(s) {
			return Target{}, fmt.Errorf("%q is not an E.164 number like +14255550100", s)
		}
		return Target{Type: "phone", ID: s}, nil
	}
	typ, id, ok := strings.Cut(s, ":")
	switch {
	case !ok || (typ != "user" && typ != "application" && typ != "application_instance"):
		return Target{}, fmt.Errorf("target %q is neither an E.164 number (+14255550100) nor user:, application: or application_instance: and a GUID", s)
	case !guidRe.MatchString(id):
		return Target{}, fmt.Errorf("%s id %q is not a GUID like 550fae72-d251-43ec-868c-373732c2704f", typ, id)
	}
	return Target{Type: typ, ID: id}, nil
}
