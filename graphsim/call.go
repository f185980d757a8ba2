package graphsim

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Call states as the service writes them.
const (
	stateIncoming      = "incoming"
	stateEstablishing  = "establishing"
	stateEstablished   = "established"
	stateTransferring  = "transferring"
	stateTransferAcc   = "transferAccepted"
	stateTerminating   = "terminating"
	stateTerminated    = "terminated"
	directionIncoming  = "incoming"
	directionOutgoing  = "outgoing"
	odataCall          = "#microsoft.graph.call"
	odataResultInfo    = "#microsoft.graph.resultInfo"
	odataNotification  = "#microsoft.graph.commsNotification"
	odataNotifications = "#microsoft.graph.commsNotifications"
)

// endReason is why a call ended, with the resultInfo the service reports
// (call-delete.md's table).
type endReason struct {
	code    int
	subcode int
	message string
	by      string // who ended it, for the transcript
}

var (
	endBotHangup    = endReason{200, 5001, "The conversation has ended.", "bot"}
	endCallerUser   = endReason{200, 4521, "Call ended by the other participant in peer-to-peer call.", "caller"}
	endCallerPSTN   = endReason{200, 540000, "Call ended by the PSTN User.", "caller"}
	endTransferred  = endReason{0, 7015, "GracefulTransferCompleted", "transfer"}
	endNoAnswer     = endReason{408, 1106, "An acknowledgement was not received for the call acceptance in the allotted time.", "timeout"}
	endKeepAlive    = endReason{408, 8537, "Keep Alive timeout, cleaned up inactive call.", "timeout"}
	endCalleeAbsent = endReason{408, 10057, "Call timed out due to no signaling from callee endpoints.", "callee"}
	endRejected     = endReason{by: "bot (reject)"}
	endRedirected   = endReason{by: "bot (redirect)"}
	endServiceGone  = endReason{500, 1005, "Server encountered connectivity error with Bot's media. Please check media connectivity between Bot and Microsoft.", "service"}
)

// call is one call leg between the bot and a caller (or a callee, for
// calls the bot places).
type call struct {
	e         *Emulator
	id        string
	chainID   string
	tenant    string
	direction string
	source    map[string]any // participantInfo
	targets   []any          // invitationParticipantInfo
	routes    []any          // callRoutes (dialed number)
	phone     bool           // the remote party is a phone number
	myPartID  string         // the bot's participant id
	created   time.Time
	out       *outbox
	caller    *Caller
	ended     chan struct{}

	// guarded by e.mu
	state          string
	callbackURI    string
	answered       time.Time
	subscribed     bool
	toneSeq        int64
	ops            map[string]*operation
	queue          []*operation // media operations waiting, in order
	current        *operation   // the media operation running
	answerTimer    *time.Timer
	keepAliveTimer *time.Timer
	transcript     []Event
	speech         []segment // what the caller has said, in time order
	tones          []toneEvent
	result         *endReason
	mediaWake      chan struct{}
	changed        chan struct{} // closed and replaced at every transcript event
	endOnce        sync.Once
}

// segment is audio the caller said starting at a time.
type segment struct {
	start time.Time
	a     audio
}

type toneEvent struct {
	at  time.Time
	key string
}

// Event is one line of a call's transcript: what happened, when (since the
// call started), and details.
type Event struct {
	At     time.Duration `json:"at"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail,omitempty"`
}

// String formats the event as "+1.250s kind detail".
func (ev Event) String() string {
	s := fmt.Sprintf("+%.3fs %s", ev.At.Seconds(), ev.Kind)
	if ev.Detail != "" {
		s += " " + ev.Detail
	}
	return s
}

// logEvent appends to the transcript; the caller holds e.mu.
func (c *call) logEvent(kind, format string, args ...any) {
	c.transcript = append(c.transcript, Event{At: time.Since(c.created), Kind: kind, Detail: fmt.Sprintf(format, args...)})
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
}

func (c *call) resourceURL() string { return "/communications/calls/" + c.id }

// callResource is the call as notifications carry it.
func (c *call) callResource(state string, extra map[string]any) map[string]any {
	r := map[string]any{
		"@odata.type": odataCall,
		"@odata.id":   c.resourceURL(),
		"state":       state,
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

// fullResource is the call with everything the service echoes on an
// incoming call or a redirect.
func (c *call) fullResource(state string) map[string]any {
	r := c.callResource(state, map[string]any{
		"id":                  c.id,
		"direction":           c.direction,
		"callbackUri":         c.callbackURI,
		"source":              c.source,
		"targets":             c.targets,
		"requestedModalities": []any{"audio"},
		"tenantId":            c.tenant,
		"myParticipantId":     c.myPartID,
		"callChainId":         c.chainID,
	})
	if len(c.routes) > 0 {
		r["callRoutes"] = c.routes
	}
	return r
}

func resultInfo(code, subcode int, msg string) map[string]any {
	return map[string]any{"@odata.type": odataResultInfo, "code": code, "subcode": subcode, "message": msg}
}

// notify queues a notification about the call; the caller holds e.mu.
func (c *call) notify(changeType, resourceURL string, data map[string]any) {
	c.out.push(map[string]any{
		"@odata.type":  odataNotification,
		"changeType":   changeType,
		"resourceUrl":  resourceURL,
		"resourceData": data,
	})
}

// setState moves the call to state and notifies the bot; the caller holds
// e.mu.
func (c *call) setState(state string, extra map[string]any) {
	c.state = state
	c.notify("updated", c.resourceURL(), c.callResource(state, extra))
}

// terminal reports whether the call has ended; the caller holds e.mu.
func (c *call) terminal() bool { return c.state == stateTerminated }

// end terminates the call for the given reason, once: it fails nothing
// (operations in progress get no completion, as with the service), stops
// timers and notifies the bot.
func (c *call) end(why endReason) {
	c.endOnce.Do(func() {
		e := c.e
		e.mu.Lock()
		c.stopTimers()
		c.result = &why
		switch why {
		case endRejected:
			c.state = stateTerminated
			c.notify("deleted", c.resourceURL(), map[string]any{"@odata.type": odataCall, "@odata.id": c.resourceURL()})
		case endRedirected:
			c.state = stateTerminated
			c.notify("deleted", c.resourceURL(), c.fullResource(stateTerminated))
		default:
			if why == endBotHangup {
				c.setState(stateTerminating, nil)
			}
			c.state = stateTerminated
			c.notify("deleted", c.resourceURL(), c.callResource(stateTerminated, map[string]any{
				"resultInfo": resultInfo(why.code, why.subcode, why.message),
			}))
		}
		c.logEvent("ended", "by %s (%d/%d %s)", why.by, why.code, why.subcode, why.message)
		// Recordings stay downloadable for a while after the call.
		for _, r := range e.recordings {
			if r.callID == c.id && r.expires.IsZero() {
				r.expires = time.Now().Add(e.cfg.RecordingTTL)
			}
		}
		if c.current != nil {
			c.current.cancel()
		}
		e.mu.Unlock()
		close(c.ended)
		c.out.close()
		// Forget the call (and its recordings) once they can no longer be
		// downloaded; until then GET answers 404 as for any ended call.
		time.AfterFunc(e.cfg.RecordingTTL, func() { e.forget(c) })
		e.log.Info("call ended", "call_id", c.id, "by", why.by, "code", why.code, "subcode", why.subcode)
	})
}

func (c *call) stopTimers() {
	if c.answerTimer != nil {
		c.answerTimer.Stop()
	}
	if c.keepAliveTimer != nil {
		c.keepAliveTimer.Stop()
	}
}

// resetKeepAlive restarts the 45-minute inactivity timer; the caller holds
// e.mu.
func (c *call) resetKeepAlive() {
	if c.keepAliveTimer != nil {
		c.keepAliveTimer.Stop()
	}
	c.keepAliveTimer = time.AfterFunc(c.e.cfg.KeepAliveTimeout, func() { c.end(endKeepAlive) })
}

// establish runs the answer sequence: establishing, established, then
// established with active audio. With the reorder fault the first two
// arrive swapped, as the service documents they may.
func (c *call) establish() {
	c.answered = time.Now()
	first, second := stateEstablishing, stateEstablished
	if c.e.faults.ReorderEstablishing {
		first, second = second, first
	}
	c.setState(first, nil)
	c.setState(second, nil)
	c.state = stateEstablished
	c.setState(stateEstablished, map[string]any{"mediaState": map[string]any{"@odata.type": "#microsoft.graph.callMediaState", "audio": "active"}})
	c.resetKeepAlive()
	c.logEvent("established", "")
	if c.caller != nil {
		go c.caller.run(c)
	}
}

// keys pressed by the caller, delivered as tone notifications when the bot
// subscribed; the caller holds e.mu.
func (c *call) tone(key string) {
	c.tones = append(c.tones, toneEvent{at: time.Now(), key: key})
	if c.current != nil {
		c.current.tone(key)
	}
	if !c.subscribed {
		// The service delivers no tones before subscribeToTone
		// (undocumented; this is what the samples assume).
		c.logEvent("tone", "%s not delivered: the bot has not subscribed to tones", key)
		return
	}
	c.toneSeq++
	c.notify("updated", c.resourceURL(), c.callResource(stateEstablished, map[string]any{
		"toneInfo": map[string]any{"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": c.toneSeq, "tone": toneName(key)},
	}))
	c.logEvent("tone", "%s delivered as sequenceId %d", key, c.toneSeq)
}

// toneName maps a key to Graph's tone enum.
func toneName(key string) string {
	switch key {
	case "*":
		return "star"
	case "#":
		return "pound"
	case "A", "B", "C", "D":
		return strings.ToLower(key)
	}
	return "tone" + key
}

// forget drops an ended call and its recordings.
func (e *Emulator) forget(c *call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.calls, normID(c.id))
	for id, r := range e.recordings {
		if r.callID == c.id {
			delete(e.recordings, id)
		}
	}
}
