package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pion/opus"
	"github.com/pion/webrtc/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/media/dtmf"
	"github.com/ivrflow/ivrflow/media/g711"
	"github.com/ivrflow/ivrflow/media/rfc4733"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

// Call states, as Graph names them.
const (
	stateEstablishing = "establishing"
	stateEstablished  = "established"
	stateTerminated   = "terminated"
)

// endReason is why a call ended: the resultInfo of its terminated
// notification, as Graph would report it (call-delete.md's table), and who
// ended it, for the transcript.
type endReason struct {
	code, subcode int
	message, by   string
}

var (
	endHangup     = endReason{200, 5001, "The conversation has ended.", "flow"}
	endCaller     = endReason{200, 4521, "Call ended by the other participant in peer-to-peer call.", "caller"}
	endLost       = endReason{200, 4521, "The caller's connection was lost.", "network"}
	endStopping   = endReason{500, 1005, "The media worker holding the call stopped.", "media worker"}
	endUnanswered = endReason{408, 1106, "An acknowledgement was not received for the call acceptance in the allotted time.", "timeout"}
	endDetached   = endReason{500, 1005, "The call's workflow no longer runs.", "media worker"}
	endRejected   = endReason{403, 0, "The flow rejected the call.", "flow"}
	endRedirected = endReason{0, 0, "The flow redirected the call, which a WebRTC call cannot follow.", "flow"}
)

// recentFor is how long an ended call still answers GET /calls/ID and
// late activities.
const recentFor = 5 * time.Minute

// entry is a line of a call's transcript.
type entry struct {
	AtMS int64  `json:"at_ms"`
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// Status is what GET /calls/ID returns.
type Status struct {
	ID         string   `json:"id"`
	Route      string   `json:"route"`
	Flow       string   `json:"flow"`
	State      string   `json:"state"`
	Digits     string   `json:"digits"`
	Transcript []entry  `json:"transcript"`
	EndReason  string   `json:"end_reason,omitempty"`
	Recordings []string `json:"recordings,omitempty"`
}

// call is one WebRTC call the Server holds.
type call struct {
	s                       *Server
	id, route, flow, caller string
	pc                      *webrtc.PeerConnection
	out                     *webrtc.TrackLocalStaticSample
	began                   time.Time

	mu         sync.Mutex
	state      string
	subscribed bool
	toneSeq    int64
	noteSeq    int64
	digits     []rune
	transcript []entry
	endReason  string
	recordings []string
	ops        []*op
	current    *op
	rec        *recording
	sessions   int
	detachedAt time.Time
	outbox     []workflows.Notification

	wake    chan struct{} // a media operation was queued
	kick    chan struct{} // a notification was queued
	ended   chan struct{} // closed once the call has ended
	flushed chan struct{} // closed once its last notification is sent
	endOnce sync.Once
}

// errNoWorkflow marks an offer refused because its workflow did not start.
var errNoWorkflow = errors.New("workflow not started")

// accept answers an SDP offer with a new call and starts its workflow.
func (s *Server) accept(ctx context.Context, offer string, plan *dsl.Plan, route, caller string) (*call, string, error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, "", echo.NewHTTPError(http.StatusServiceUnavailable, "the media worker is stopping")
	case len(s.calls) >= s.cfg.MaxCalls:
		s.mu.Unlock()
		return nil, "", echo.NewHTTPError(http.StatusServiceUnavailable, fmt.Sprintf("the media worker holds its most calls (%d); try another", s.cfg.MaxCalls))
	}
	s.mu.Unlock()
	if !strings.Contains(offer, "m=audio") {
		return nil, "", errors.New("the offer has no audio (m=audio) section")
	}

	servers, err := s.cfg.ICE.servers()
	if err != nil {
		return nil, "", fmt.Errorf("ICE servers: %w", err)
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{ICEServers: servers})
	if err != nil {
		return nil, "", fmt.Errorf("peer connection: %w", err)
	}
	c := &call{s: s, id: randomID(), route: route, flow: plan.Flow, caller: caller, pc: pc, began: time.Now(),
		state: stateEstablishing, wake: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		ended: make(chan struct{}), flushed: make(chan struct{})}
	c.detachedAt = c.began
	answer, err := c.negotiate(offer)
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}

	s.mu.Lock()
	s.calls[c.id] = c
	s.mu.Unlock()
	c.log("state", "incoming call from %s to route %s (flow %s)", caller, route, plan.Flow)
	go c.sendNotifications()
	go c.runMedia()
	go c.supervise()

	incoming := workflows.Notification{ID: c.id + "-incoming", Kind: "call", State: "incoming"}
	in := workflows.CallInput{CallID: c.id, Caller: caller, Callee: route, Route: route, Plan: plan,
		Incoming: &incoming, SearchAttributes: s.cfg.SearchAttributes, MediaQueue: s.cfg.TaskQueue}
	opts := client.StartWorkflowOptions{
		ID:                    webhook.WorkflowID(c.id),
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         fmt.Sprintf("WebRTC call from %s to %s (flow %s)", caller, route, plan.Flow),
		Memo:                  map[string]any{webhook.MemoFlowSource: plan.Source},
		TypedSearchAttributes: workflows.StartAttributes(in),
	}
	if _, err := s.cfg.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowCall, in); err != nil {
		c.log("error", "the call's workflow did not start: %v", err)
		c.end(endDetached)
		return nil, "", echo.NewHTTPError(http.StatusServiceUnavailable, "the call's workflow did not start: "+err.Error()).SetInternal(errNoWorkflow)
	}
	s.log.Info("WebRTC call", "call_id", c.id, "route", route, "flow", plan.Flow, "caller", caller)
	return c, answer, nil
}

// gatherWait is how long an answer waits for ICE gathering to finish
// before it goes with the candidates it has.
const gatherWait = 2 * time.Second

// negotiate takes the offer, adds the call's outgoing audio and returns the
// answer with every ICE candidate in it (no trickle).
func (c *call) negotiate(offer string) (string, error) {
	pc := c.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("the offer is not valid SDP: %w", err)
	}
	// Answer PCMU first whatever the offer's order: the caller sends the
	// first codec of the answer. Only codecs the offer has are named, with
	// the offer's payload types (the caller sends with those).
	upper := strings.ToUpper(offer)
	prefs := preferred(offer)
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeAudio && len(prefs) > 0 {
			if err := tr.SetCodecPreferences(prefs); err != nil {
				c.s.log.Debug("codec preferences not set", "call_id", c.id, "error", err)
			}
		}
	}
	pcmu := strings.Contains(upper, "PCMU/8000")
	if !pcmu && !strings.Contains(upper, "OPUS/48000") {
		return "", echo.NewHTTPError(http.StatusNotAcceptable, "the offer has neither PCMU (G.711 µ-law) nor Opus audio")
	}
	if pcmu {
		out, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "ivrflow")
		if err != nil {
			return "", err
		}
		sender, err := pc.AddTrack(out)
		if err != nil {
			return "", fmt.Errorf("the offer takes no audio from us: %w", err)
		}
		c.out = out
		go func() { // RTCP must be read for the interceptors to work
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
	} else {
		c.log("media", "the caller offers Opus only: it is decoded, but the caller hears no prompts (ivrflow has no Opus encoder)")
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			c.read(t)
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			c.log("state", "media connected")
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go c.end(endLost)
		}
	})
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("no answer to the offer (it must offer PCMU, G.711 µ-law): %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	// A STUN or TURN server that does not answer must not cost the call:
	// after a while the answer goes with the candidates gathered so far.
	select {
	case <-gathered:
	case <-time.After(gatherWait):
		select {
		case <-gathered:
		default:
			if !strings.Contains(pc.LocalDescription().SDP, "a=candidate:") {
				select {
				case <-gathered:
				case <-time.After(5*time.Second - gatherWait):
				}
			}
			c.s.log.Warn("answering before ICE gathering finished: a STUN or TURN server is slow or unreachable", "call_id", c.id)
		}
	}
	if !strings.Contains(pc.LocalDescription().SDP, "a=candidate:") {
		return "", echo.NewHTTPError(http.StatusServiceUnavailable, "the media worker found no network address to offer for the call's audio (no ICE candidates)")
	}
	if c.out == nil && !strings.Contains(strings.ToUpper(pc.LocalDescription().SDP), "OPUS/48000") {
		return "", echo.NewHTTPError(http.StatusNotAcceptable, "the offer has neither PCMU (G.711 µ-law) nor Opus (opus/48000/2) audio")
	}
	return pc.LocalDescription().SDP, nil
}

var rtpmapRe = regexp.MustCompile(`(?m)^a=rtpmap:(\d+) ([^/\s]+)/(\d+)`)

// preferred returns the codecs of codecPreference that the offer has, in
// that order, each with the offer's payload type.
func preferred(offer string) []webrtc.RTPCodecParameters {
	pts := map[string]webrtc.PayloadType{}
	for _, m := range rtpmapRe.FindAllStringSubmatch(offer, -1) {
		key := strings.ToLower(m[2] + "/" + m[3])
		if _, seen := pts[key]; !seen {
			pt, _ := strconv.Atoi(m[1])
			pts[key] = webrtc.PayloadType(pt)
		}
	}
	var out []webrtc.RTPCodecParameters
	for _, c := range codecPreference {
		if pt, ok := pts[strings.ToLower(strings.TrimPrefix(c.MimeType, "audio/")+"/"+strconv.Itoa(int(c.ClockRate)))]; ok {
			c.PayloadType = pt
			out = append(out, c)
		}
	}
	return out
}

// read is the read loop of the caller's audio. It decodes, detects digits
// and feeds the recording, and never waits on anything else. Timestamps
// are kept in 8 kHz units, the call's timeline, whatever the codec's clock
// (Opus, and Chromium's telephone-events beside it, count at 48 kHz).
func (c *call) read(t *webrtc.TrackRemote) {
	det := dtmf.NewDetector(dtmf.Config{})
	scale := uint32(1) // RTP units per 8 kHz sample
	var dec *opus.Decoder
	if strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeOpus) {
		d, err := opus.NewDecoderWithOutput(8000, 1)
		if err != nil {
			c.log("error", "Opus decoder: %v", err)
			return
		}
		dec, scale = &d, 6
	}
	// What each payload type carries, learnt from pion, which resolves a
	// packet's codec as it reads it.
	kinds := map[uint8]string{}
	kind := func(pt uint8) string {
		k, ok := kinds[pt]
		if !ok {
			k = strings.ToLower(t.Codec().MimeType)
			kinds[pt] = k
		}
		return k
	}
	rx := rfc4733.NewReceiver(8000 * scale)
	var merge rfc4733.Merger
	var pcm [960]int16 // 120 ms at 8 kHz, Opus's longest packet
	var zeros [160]int16
	var first, next uint32
	var skipped int64 // samples of gaps too long to feed the detector
	started, opusErrors, readErrors, badRun := false, 0, 0, 0
	for {
		pkt, _, err := t.ReadRTP()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || c.isEnded() {
			return
		}
		if err != nil {
			// A packet pion cannot place (a payload type not negotiated,
			// say) is skipped; the stream goes on, unless nothing but
			// errors comes any more.
			if readErrors++; readErrors == 1 {
				c.log("media", "an RTP packet was skipped: %v", err)
			}
			if badRun++; badRun > 1000 {
				c.log("error", "the caller's audio can no longer be read: %v", err)
				return
			}
			continue
		}
		badRun = 0
		if !started {
			first, started = pkt.Timestamp, true
			next = 0
		}
		k := kind(pkt.PayloadType)
		if k == mimeTelephoneEvent {
			evs, err := rx.Packet(rfc4733.Packet{SSRC: pkt.SSRC, Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp,
				Marker: pkt.Marker, Payload: pkt.Payload})
			if err != nil {
				continue
			}
			for _, ev := range evs {
				if !ev.End && merge.RFC4733(ev.Digit, rtpTime((ev.Timestamp-first)/scale)) {
					c.digit(ev.Digit, "RFC 4733")
				}
			}
			continue
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		var samples []int16
		switch {
		case k == strings.ToLower(webrtc.MimeTypePCMU):
			n := min(len(pkt.Payload), len(pcm))
			samples = pcm[:n]
			for i, u := range pkt.Payload[:n] {
				samples[i] = g711.DecodeUlaw(u)
			}
		case dec != nil && k == strings.ToLower(webrtc.MimeTypeOpus):
			n, err := dec.DecodeToInt16(pkt.Payload, pcm[:])
			if err != nil {
				if opusErrors++; opusErrors == 1 {
					c.log("media", "an Opus packet could not be decoded (%v); such packets are skipped", err)
				}
				continue
			}
			samples = pcm[:n]
		default:
			continue
		}
		rx.Audio(pkt.SSRC, pkt.Timestamp)
		at := (pkt.Timestamp - first) / scale // on the call's 8 kHz timeline
		if r := c.recording(); r != nil {
			r.write(at, samples)
		}
		// The detector is fed the call's timeline: gaps (lost packets,
		// the audio a browser leaves out while it sends RFC 4733 events)
		// as silence, up to a second; late packets not at all.
		gap := int64(int32(at - next))
		if gap < 0 {
			continue
		}
		var evs []dtmf.Event
		if gap > 8000 {
			skipped += gap
		} else {
			for gap > 0 {
				k := min(gap, int64(len(zeros)))
				evs = append(evs, det.Write(zeros[:k])...)
				gap -= k
			}
		}
		evs = append(evs, det.Write(samples)...)
		next = at + uint32(len(samples))
		for _, ev := range evs {
			if ev.End == 0 && merge.InBand(ev.Digit, ev.Start+rtpTime(uint32(skipped))) {
				c.digit(ev.Digit, "in-band")
			}
		}
	}
}

// rtpTime converts 8 kHz RTP units to a duration.
func rtpTime(units uint32) time.Duration { return time.Duration(units) * time.Second / 8000 }

// digit takes a key the caller pressed.
func (c *call) digit(d rune, source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateTerminated {
		return
	}
	c.digits = append(c.digits, d)
	if source == "RFC 4733" {
		c.s.m.digits.WithLabelValues("rfc4733").Inc()
	} else {
		c.s.m.digits.WithLabelValues("inband").Inc()
	}
	c.logLocked("digit", "%c (%s)", d, source)
	if c.current != nil {
		c.current.tone(d)
	}
	if c.subscribed {
		c.toneSeq++
		c.queueLocked(workflows.Notification{Kind: "call", State: c.state, Tone: string(d), Seq: c.toneSeq})
	}
}

// queueLocked queues a notification for the call's workflow; c.mu is held.
func (c *call) queueLocked(n workflows.Notification) {
	c.noteSeq++
	n.ID = fmt.Sprintf("%s-%d", c.id, c.noteSeq)
	c.outbox = append(c.outbox, n)
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// sendNotifications signals the call's notifications to its workflow in
// order, retrying each until it is taken, until the call has ended and
// nothing is left.
func (c *call) sendNotifications() {
	defer close(c.flushed)
	wid := webhook.WorkflowID(c.id)
	for {
		c.mu.Lock()
		if len(c.outbox) == 0 {
			c.mu.Unlock()
			select {
			case <-c.kick:
				continue
			case <-c.ended:
			}
			c.mu.Lock()
			empty := len(c.outbox) == 0
			c.mu.Unlock()
			if empty {
				return
			}
			continue
		}
		n := c.outbox[0]
		c.mu.Unlock()
		wait := 100 * time.Millisecond
		for deadline := time.Now().Add(2 * time.Minute); ; {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := c.s.cfg.Temporal.SignalWorkflow(ctx, wid, "", workflows.SignalGraph, n)
			cancel()
			if err == nil {
				break
			}
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) || time.Now().After(deadline) {
				c.s.log.Warn("call's workflow took no notification; the call ends", "call_id", c.id, "error", err)
				c.mu.Lock()
				c.outbox = nil
				c.mu.Unlock()
				go c.end(endDetached)
				break
			}
			time.Sleep(wait)
			wait = min(2*wait, 5*time.Second)
		}
		c.mu.Lock()
		if len(c.outbox) > 0 {
			c.outbox = c.outbox[1:]
		}
		c.mu.Unlock()
	}
}

// supervise ends a call its flow does not answer in time, or whose
// workflow has had no MediaSession running for DetachTimeout.
func (c *call) supervise() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-c.ended:
			return
		case now := <-tick.C:
			c.mu.Lock()
			unanswered := c.state == stateEstablishing && now.Sub(c.began) > c.s.cfg.AnswerTimeout
			detached := c.sessions == 0 && now.Sub(c.detachedAt) > c.s.cfg.DetachTimeout
			c.mu.Unlock()
			switch {
			case unanswered:
				c.end(endUnanswered)
			case detached:
				c.end(endDetached)
			}
		}
	}
}

// answer establishes the call.
func (c *call) answer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateEstablishing {
		return
	}
	c.state = stateEstablished
	c.logLocked("state", "answered")
	c.queueLocked(workflows.Notification{Kind: "call", State: stateEstablished})
}

// subscribe starts reporting digits to the workflow.
func (c *call) subscribe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subscribed = true
}

// attach and detach count the workflow's MediaSession activities.
func (c *call) attach() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions++
}

func (c *call) detach() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions--
	if c.sessions == 0 {
		c.detachedAt = time.Now()
	}
}

// end ends the call: a media operation in progress finishes first (a
// recording is kept and reported), then the peer connection closes and the
// workflow is told the call is terminated. Only the first end counts.
func (c *call) end(why endReason) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		cur := c.current
		dropped := len(c.ops)
		c.ops = nil
		c.mu.Unlock()
		if cur != nil {
			cur.stop(stopHangup)
			<-cur.done
		}
		_ = c.pc.Close()
		c.mu.Lock()
		c.state = stateTerminated
		c.endReason = fmt.Sprintf("%s: %s", why.by, why.message)
		c.logLocked("end", "ended by %s (%d/%d %s)", why.by, why.code, why.subcode, why.message)
		if dropped > 0 {
			c.logLocked("end", "%d queued media operations dropped", dropped)
		}
		c.queueLocked(workflows.Notification{Kind: "call", State: stateTerminated, Code: why.code, Subcode: why.subcode, Message: why.message})
		c.mu.Unlock()
		close(c.ended)
		c.s.forget(c)
		c.s.m.ended.WithLabelValues(why.by).Inc()
		c.s.log.Info("WebRTC call ended", "call_id", c.id, "by", why.by, "code", why.code, "subcode", why.subcode)
	})
}

// forget moves an ended call to the recent ones.
func (s *Server) forget(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, c.id)
	s.recent[c.id] = c
	for id, r := range s.recent {
		if time.Since(r.began) > recentFor && r.isEnded() {
			delete(s.recent, id)
		}
	}
}

func (c *call) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// log adds a line to the transcript.
func (c *call) log(kind, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logLocked(kind, format, args...)
}

func (c *call) logLocked(kind, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	c.transcript = append(c.transcript, entry{AtMS: time.Since(c.began).Milliseconds(), Kind: kind, Text: text})
	c.s.log.Debug("call", "call_id", c.id, "kind", kind, "text", text)
}

func (c *call) status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Status{ID: c.id, Route: c.route, Flow: c.flow, State: c.state, Digits: string(c.digits),
		Transcript: append([]entry(nil), c.transcript...), EndReason: c.endReason,
		Recordings: append([]string(nil), c.recordings...)}
}
