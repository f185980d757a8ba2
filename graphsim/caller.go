package graphsim

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Party is one end of a call: a Teams user, a phone number, or (as a
// target) the bot's application or an application instance.
type Party struct {
	User                string `json:"user,omitempty"`
	Phone               string `json:"phone,omitempty"`
	Application         string `json:"application,omitempty"`
	ApplicationInstance string `json:"application_instance,omitempty"`
	DisplayName         string `json:"display_name,omitempty"`
}

// identitySet writes the party as Graph's identitySet.
func (p Party) identitySet(tenant string) map[string]any {
	id := func(v string) map[string]any {
		m := map[string]any{"@odata.type": "#microsoft.graph.identity", "id": v}
		if p.DisplayName != "" {
			m["displayName"] = p.DisplayName
		}
		return m
	}
	s := map[string]any{"@odata.type": "#microsoft.graph.identitySet"}
	switch {
	case p.Phone != "":
		s["phone"] = id(p.Phone)
	case p.User != "":
		u := id(p.User)
		u["tenantId"] = tenant
		s["user"] = u
	case p.ApplicationInstance != "":
		a := id(p.ApplicationInstance)
		a["tenantId"] = tenant
		s["applicationInstance"] = a
	default:
		s["application"] = id(p.Application)
	}
	return s
}

// Action is one thing a scripted caller does, At a time after the call is
// established.
type Action struct {
	At time.Duration `json:"at"`
	// Press sends these keys (0-9, *, #, A-D), ToneInterval apart.
	Press string `json:"press,omitempty"`
	// Say speaks a WAV file (PCM mono 16-bit, 8 or 16 kHz).
	Say []byte `json:"say,omitempty"`
	// Hangup ends the call from the caller's side.
	Hangup bool `json:"hangup,omitempty"`
}

// CallerSpec describes a scripted caller ringing the bot.
type CallerSpec struct {
	// From is who calls; default a Teams user.
	From Party `json:"from"`
	// To is what was called; default the bot's application. Number, when
	// set, is the dialed number the service puts in callRoutes.
	To     Party  `json:"to"`
	Number string `json:"number,omitempty"`
	// Script runs once the bot has answered.
	Script []Action `json:"script,omitempty"`
	// RefuseTransfer makes every transfer target decline.
	RefuseTransfer bool `json:"refuse_transfer,omitempty"`
}

// Caller is a scripted caller on a call: drive it with Press, Say and
// Hangup, and read what the bot did with Transcript.
type Caller struct {
	e    *Emulator
	c    *call
	spec CallerSpec
}

var keysRe = regexp.MustCompile(`^[0-9*#A-Da-d]+$`)

// Ring places an incoming call to the bot: the bot receives the created
// notification at Config.CallbackURL and has AnswerTimeout to answer,
// reject or redirect it.
func (e *Emulator) Ring(spec CallerSpec) (*Caller, error) {
	if e.cfg.CallbackURL == "" {
		return nil, errors.New("graphsim: ring: Config.CallbackURL (the bot's webhook) is not set")
	}
	for _, a := range spec.Script {
		if a.Press != "" && !keysRe.MatchString(a.Press) {
			return nil, fmt.Errorf("graphsim: ring: press %q: keys are 0-9, *, #, A-D", a.Press)
		}
		if len(a.Say) > 0 {
			if _, err := decodeWAV(a.Say); err != nil {
				return nil, fmt.Errorf("graphsim: ring: say: %w", err)
			}
		}
	}
	if spec.From == (Party{}) {
		spec.From = Party{User: newID(), DisplayName: "Test Caller"}
	}
	if spec.To == (Party{}) {
		spec.To = Party{Application: e.cfg.AppID, DisplayName: "ivrflow"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("graphsim: ring: the emulator is closed")
	}
	c := e.newCall(directionIncoming)
	c.callbackURI = e.cfg.CallbackURL
	c.phone = spec.From.Phone != ""
	c.source = map[string]any{
		"@odata.type":  "#microsoft.graph.participantInfo",
		"identity":     spec.From.identitySet(c.tenant),
		"endpointType": "default",
		"region":       "amer",
		"languageId":   "en-us",
		"id":           newID(),
	}
	c.targets = []any{map[string]any{
		"@odata.type": "#microsoft.graph.invitationParticipantInfo",
		"identity":    spec.To.identitySet(c.tenant),
	}}
	if spec.Number != "" {
		c.routes = []any{map[string]any{
			"@odata.type": "#microsoft.graph.callRoute",
			"routingType": "lookup",
			"original":    Party{Phone: spec.Number}.identitySet(c.tenant),
			"final":       Party{Phone: spec.Number}.identitySet(c.tenant),
		}}
	}
	cl := &Caller{e: e, c: c, spec: spec}
	c.caller = cl
	c.state = stateIncoming
	c.notify("created", c.resourceURL(), c.fullResource(stateIncoming))
	c.logEvent("ring", "from %s to %s", describeParty(spec.From), describeParty(spec.To))
	c.answerTimer = time.AfterFunc(e.cfg.AnswerTimeout, func() {
		e.mu.Lock()
		unanswered := c.state == stateIncoming
		e.mu.Unlock()
		if unanswered {
			c.end(endNoAnswer)
		}
	})
	return cl, nil
}

// newCall registers a call; the caller holds e.mu.
func (e *Emulator) newCall(direction string) *call {
	c := &call{
		e: e, id: newID(), chainID: newID(), tenant: e.cfg.TenantID, direction: direction,
		created: time.Now(), ops: map[string]*operation{}, ended: make(chan struct{}), changed: make(chan struct{}),
		myPartID: newID(),
	}
	c.out = newOutbox(e, c)
	e.calls[normID(c.id)] = c
	return c
}

func describeParty(p Party) string {
	switch {
	case p.Phone != "":
		return "phone " + p.Phone
	case p.User != "":
		return "user " + p.User
	case p.ApplicationInstance != "":
		return "application instance " + p.ApplicationInstance
	}
	return "application " + p.Application
}

// ID is the call's id, as Graph names it.
func (cl *Caller) ID() string { return cl.c.id }

// Done is closed when the call has ended.
func (cl *Caller) Done() <-chan struct{} { return cl.c.ended }

// Wait blocks until the call has ended and every notification about it has
// been delivered, or ctx ends.
func (cl *Caller) Wait(ctx context.Context) error {
	select {
	case <-cl.c.ended:
	case <-ctx.Done():
		return ctx.Err()
	}
	return cl.c.out.wait(ctx)
}

// State is the call's current state.
func (cl *Caller) State() string {
	cl.e.mu.Lock()
	defer cl.e.mu.Unlock()
	return cl.c.state
}

// Transcript is everything that happened on the call so far.
func (cl *Caller) Transcript() []Event {
	cl.e.mu.Lock()
	defer cl.e.mu.Unlock()
	return append([]Event(nil), cl.c.transcript...)
}

// Press sends keys, ToneInterval apart. It returns when the last was sent.
func (cl *Caller) Press(keys string) error {
	if !keysRe.MatchString(keys) {
		return fmt.Errorf("graphsim: press %q: keys are 0-9, *, #, A-D", keys)
	}
	for i, k := range strings.ToUpper(keys) {
		if i > 0 {
			select {
			case <-time.After(cl.e.cfg.ToneInterval):
			case <-cl.c.ended:
				return errCallEnded
			}
		}
		cl.e.mu.Lock()
		if cl.c.state != stateEstablished {
			st := cl.c.state
			cl.e.mu.Unlock()
			return fmt.Errorf("graphsim: press: the call is %s", st)
		}
		cl.c.tone(string(k))
		cl.e.mu.Unlock()
	}
	return nil
}

var errCallEnded = errors.New("graphsim: the call has ended")

// Say speaks a WAV file into the call, starting now. Like speaking, it
// takes as long as the audio: it returns when the audio has been said, or
// the call has ended.
func (cl *Caller) Say(wavFile []byte) error {
	a, err := decodeWAV(wavFile)
	if err != nil {
		return fmt.Errorf("graphsim: say: %w", err)
	}
	cl.e.mu.Lock()
	if cl.c.terminal() {
		cl.e.mu.Unlock()
		return errCallEnded
	}
	cl.c.speech = append(cl.c.speech, segment{start: time.Now(), a: a})
	cl.c.logEvent("say", "%.2fs of audio", a.duration().Seconds())
	cl.e.mu.Unlock()
	select {
	case <-time.After(a.duration()):
		return nil
	case <-cl.c.ended:
		return errCallEnded
	}
}

// WaitFor blocks until the transcript has an event of the given kind (such
// as "beep", "record", "play", "transfer") at or after position from, and
// returns the position after it. A scripted caller uses it to act when the
// bot does something: speak after the beep, press a key during a prompt.
func (cl *Caller) WaitFor(ctx context.Context, kind string, from int) (int, error) {
	for {
		cl.e.mu.Lock()
		tr := cl.c.transcript
		changed := cl.c.changed
		cl.e.mu.Unlock()
		for i := from; i < len(tr); i++ {
			if tr[i].Kind == kind {
				return i + 1, nil
			}
		}
		from = len(tr)
		select {
		case <-changed:
		case <-ctx.Done():
			return from, fmt.Errorf("graphsim: waiting for %q: %w", kind, ctx.Err())
		}
	}
}

// Hangup ends the call from the caller's side.
func (cl *Caller) Hangup() {
	why := endCallerUser
	if cl.c.phone {
		why = endCallerPSTN
	}
	cl.c.end(why)
}

// run plays the script, each action at its time after establishment.
func (cl *Caller) run(c *call) {
	start := time.Now()
	for _, a := range cl.spec.Script {
		select {
		case <-time.After(time.Until(start.Add(a.At))):
		case <-c.ended:
			return
		}
		switch {
		case a.Press != "":
			_ = cl.Press(a.Press)
		case len(a.Say) > 0:
			_ = cl.Say(a.Say)
		case a.Hangup:
			cl.Hangup()
			return
		}
	}
}
