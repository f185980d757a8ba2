package graphsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Operation types as @odata.type values.
const (
	opPlayPrompt     = "#microsoft.graph.playPromptOperation"
	opRecord         = "#microsoft.graph.recordOperation"
	opSubscribeTone  = "#microsoft.graph.subscribeToToneOperation"
	opCancelMedia    = "#microsoft.graph.cancelMediaProcessingOperation"
	opSendDtmf       = "#microsoft.graph.sendDtmfTonesOperation"
	opMute           = "#microsoft.graph.muteParticipantOperation"
	opUnmute         = "#microsoft.graph.unmuteParticipantOperation"
	opUpdateRecStat  = "#microsoft.graph.updateRecordingStatusOperation"
	opInvite         = "#microsoft.graph.inviteParticipantsOperation"
	maxPrompts       = 20
	maxRecordPrompts = 1
)

// operation is a commsOperation on a call.
type operation struct {
	c             *call
	id            string
	odataType     string
	clientContext string
	status        string // running, completed, failed

	// media operations
	prompts []string
	record  *recordParams
	tones   chan string
	stop    chan struct{}
	once    sync.Once

	// filled when it finishes
	result           map[string]any
	recordingURL     string
	recordingToken   string
	completionReason string
}

type recordParams struct {
	initialSilence, maxSilence, maxDuration time.Duration
	beep                                    bool
	stopTones                               []string
	bargeIn                                 bool
}

func (op *operation) cancel() { op.once.Do(func() { close(op.stop) }) }

// tone passes a key to a running operation (a record watches for stop
// tones); the caller holds e.mu.
func (op *operation) tone(key string) {
	select {
	case op.tones <- key:
	default:
	}
}

func (op *operation) resourceURL() string { return op.c.resourceURL() + "/operations/" + op.id }

// resource is the operation as responses and notifications carry it.
func (op *operation) resource() map[string]any {
	r := map[string]any{
		"@odata.type":   op.odataType,
		"@odata.id":     op.resourceURL(),
		"id":            op.id,
		"status":        op.status,
		"clientContext": op.clientContext,
		"resultInfo":    nil,
	}
	if op.result != nil {
		r["resultInfo"] = op.result
	}
	if op.odataType == opRecord {
		r["recordingLocation"] = nilIfEmpty(op.recordingURL)
		r["recordingAccessToken"] = nilIfEmpty(op.recordingToken)
		if op.status != "running" {
			r["recordingLocation"] = op.recordingURL
			r["recordingAccessToken"] = op.recordingToken
			r["completionReason"] = op.completionReason
		}
	}
	return r
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// newOp registers an operation on the call; the caller holds e.mu.
func (c *call) newOp(odataType, clientContext string) *operation {
	op := &operation{c: c, id: newID(), odataType: odataType, clientContext: clientContext, status: "running",
		tones: make(chan string, 16), stop: make(chan struct{})}
	c.ops[op.id] = op
	return op
}

// finish completes or fails an operation and sends its deleted
// notification; the caller holds e.mu.
func (op *operation) finish(status string, code, subcode int, msg string) {
	op.status = status
	op.result = resultInfo(code, subcode, msg)
	if op.c.terminal() {
		return // the call ended first: the service sends nothing (call-record.md)
	}
	op.c.notify("deleted", op.resourceURL(), op.resource())
}

// enqueue adds a media operation to the call's queue, or, with barge-in,
// cancels what is queued and running first; the caller holds e.mu.
func (c *call) enqueue(op *operation) {
	if op.record != nil && op.record.bargeIn {
		c.cancelMedia("barged in by a recordResponse")
	}
	c.queue = append(c.queue, op)
	if c.mediaWake == nil {
		c.mediaWake = make(chan struct{}, 1)
		go c.runMedia()
	}
	select {
	case c.mediaWake <- struct{}{}:
	default:
	}
}

// cancelMedia fails every queued and running media operation with
// 400/8508, as cancelMediaProcessing does; the caller holds e.mu.
func (c *call) cancelMedia(why string) int {
	n := 0
	for _, op := range c.queue {
		op.completionReason = "operationCanceled"
		op.finish("failed", 400, 8508, "Action failed, the operation was cancelled.")
		c.logEvent("cancelled", "%s %s (%s)", shortType(op.odataType), op.id, why)
		n++
	}
	c.queue = nil
	if c.current != nil {
		c.current.cancel()
		n++
	}
	return n
}

func shortType(t string) string {
	return strings.TrimSuffix(strings.TrimPrefix(t, "#microsoft.graph."), "Operation")
}

// runMedia plays the call's media operations in order until the call ends.
func (c *call) runMedia() {
	e := c.e
	for {
		e.mu.Lock()
		if c.terminal() {
			e.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			e.mu.Unlock()
			select {
			case <-c.mediaWake:
			case <-c.ended:
				return
			}
			continue
		}
		op := c.queue[0]
		c.queue = c.queue[1:]
		c.current = op
		e.mu.Unlock()
		if op.record != nil {
			c.runRecord(op)
		} else {
			c.runPlay(op)
		}
		e.mu.Lock()
		c.current = nil
		e.mu.Unlock()
	}
}

// errCancelled is returned by play when the operation was cancelled.
var errCancelled = errors.New("cancelled")

// play plays the prompts in order, taking as long as their audio.
func (c *call) play(op *operation, uris []string) (code, subcode int, msg string, err error) {
	for _, uri := range uris {
		a, ferr := c.e.fetchPrompt(uri)
		c.e.mu.Lock()
		if ferr != nil {
			c.logEvent("prompt-failed", "%s: %v", uri, ferr)
			c.e.mu.Unlock()
			if errors.Is(ferr, errWAVFormat) || errors.Is(ferr, errNotWAV) || errors.Is(ferr, errEmptyWAVData) {
				return 400, 8535, "Action failed, file format is invalid.", ferr
			}
			return 400, 8536, "Action failed, file could not be downloaded.", ferr
		}
		c.logEvent("play", "%s (%.2fs)", uri, a.duration().Seconds())
		c.e.mu.Unlock()
		start := time.Now()
		select {
		case <-time.After(a.duration()):
		case <-op.stop:
			c.e.mu.Lock()
			c.logEvent("play-stopped", "%s after %.2fs", uri, time.Since(start).Seconds())
			c.e.mu.Unlock()
			return 400, 8508, "Action failed, the operation was cancelled.", errCancelled
		}
	}
	return 200, 0, "Action completed successfully.", nil
}

func (c *call) runPlay(op *operation) {
	code, sub, msg, err := c.play(op, op.prompts)
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if err != nil {
		op.finish("failed", code, sub, msg)
		return
	}
	op.finish("completed", code, sub, msg)
}

// runRecord plays the prompt and the beep, then records what the caller
// says until a stop tone, the silence timers or the duration limit end it.
func (c *call) runRecord(op *operation) {
	e, p := c.e, op.record
	if len(op.prompts) > 0 {
		code, sub, msg, err := c.play(op, op.prompts)
		if err != nil {
			e.mu.Lock()
			if errors.Is(err, errCancelled) {
				op.completionReason = "operationCanceled"
			} else {
				op.completionReason = "playPromptFailed"
			}
			op.finish("failed", code, sub, msg)
			e.mu.Unlock()
			return
		}
	}
	if p.beep {
		e.mu.Lock()
		c.logEvent("beep", "")
		e.mu.Unlock()
		select {
		case <-time.After(e.cfg.BeepDuration):
		case <-op.stop:
		}
	}
	start := time.Now()
	e.mu.Lock()
	c.logEvent("record", "started (initial silence %s, max silence %s, max %s, stop tones %q)", p.initialSilence, p.maxSilence, p.maxDuration, strings.Join(p.stopTones, ""))
	e.mu.Unlock()
	const frame = 20 * time.Millisecond
	tick := time.NewTicker(frame)
	defer tick.Stop()
	var lastVoice time.Time
	reason, code, sub, msg, status := "", 0, 0, "", "completed"
loop:
	for {
		select {
		case <-op.stop:
			reason, code, sub, msg, status = "operationCanceled", 400, 8508, "Action failed, the operation was cancelled.", "failed"
			break loop
		case key := <-op.tones:
			if slices.Contains(p.stopTones, key) {
				reason, code, sub, msg = "stopToneDetected", 200, 0, "Action completed successfully."
				break loop
			}
		case now := <-tick.C:
			e.mu.Lock()
			v := c.voicedAt(now.Add(-frame), frame)
			e.mu.Unlock()
			if v {
				lastVoice = now
			}
			switch {
			case now.Sub(start) >= p.maxDuration:
				reason, code, sub, msg = "maxRecordDurationReached", 200, 8515, "Action completed, max record duration reached."
				break loop
			case lastVoice.IsZero() && now.Sub(start) >= p.initialSilence:
				// The subcode for an initial-silence timeout is undocumented
				// for Graph; 8510 is the same media stack's code in ACS.
				reason, code, sub, msg, status = "initialSilenceTimeout", 400, 8510, "Action failed, initial silence timeout reached.", "failed"
				break loop
			case !lastVoice.IsZero() && now.Sub(lastVoice) >= p.maxSilence:
				reason, code, sub, msg = "maxSilenceTimeout", 200, 0, "Action completed successfully."
				break loop
			}
		}
	}
	end := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	op.completionReason = reason
	if c.terminal() {
		// The caller hung up mid-recording: Graph sends no completion and
		// the recording is lost (call-record.md). ivrflow must cope.
		c.logEvent("record", "lost: the call ended during the recording")
		return
	}
	if status == "completed" {
		rec := &recording{token: newID() + newID(), wav: encodeWAV(c.audioBetween(start, end)), callID: c.id}
		id := newID()
		e.recordings[id] = rec
		op.recordingURL = e.cfg.BaseURL + "/recordings/" + id
		op.recordingToken = rec.token
		c.logEvent("recorded", "%.2fs, %s", end.Sub(start).Seconds(), reason)
	} else {
		c.logEvent("record", "ended: %s", reason)
	}
	op.finish(status, code, sub, msg)
}

// voicedAt reports whether the caller is speaking in [t, t+d); the caller
// holds e.mu.
func (c *call) voicedAt(t time.Time, d time.Duration) bool {
	a := c.audioBetween(t, t.Add(d))
	return voiced(a)
}

// audioBetween mixes what the caller said in [from, to) into one track,
// silence where nothing was said; the caller holds e.mu.
func (c *call) audioBetween(from, to time.Time) audio {
	n := int(to.Sub(from) * sampleRate / time.Second)
	if n <= 0 {
		return nil
	}
	out := make(audio, n)
	for _, s := range c.speech {
		off := int(s.start.Sub(from) * sampleRate / time.Second)
		for i, v := range s.a {
			if j := off + i; j >= 0 && j < n {
				out[j] = v
			}
		}
	}
	return out
}

// fetchPrompt downloads and decodes a prompt, once per URI, as Graph
// fetches the media a bot names (preFetchMedia warms the same cache).
func (e *Emulator) fetchPrompt(uri string) (audio, error) {
	e.mu.Lock()
	p, ok := e.prompts[uri]
	e.mu.Unlock()
	if ok {
		return p.a, p.err
	}
	a, err := e.download(uri)
	e.mu.Lock()
	e.prompts[uri] = promptAudio{a: a, err: err}
	e.mu.Unlock()
	return a, err
}

func (e *Emulator) download(uri string) (audio, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("prompt uri: %w", err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch prompt: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch prompt: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch prompt: %w", err)
	}
	return decodeWAV(b)
}
