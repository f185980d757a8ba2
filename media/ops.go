package media

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/media/audio"
	"github.com/ivrflow/ivrflow/workflows"
)

// Why an operation was stopped.
const (
	stopCancel = "cancel" // cancelMediaProcessing
	stopHangup = "hangup" // the call ended
)

// op is a media operation (playPrompt or recordResponse), run in order
// with the call's others, as Graph runs them.
type op struct {
	ctx     string // the clientContext, which the completion echoes
	prompts []*audio.Prompt
	names   []string
	record  *dsl.Record

	once    sync.Once
	stopped chan struct{}
	why     string
	tones   chan rune
	done    chan struct{}
}

func newOp(ctx string, prompts []*audio.Prompt, names []string, record *dsl.Record) *op {
	return &op{ctx: ctx, prompts: prompts, names: names, record: record,
		stopped: make(chan struct{}), tones: make(chan rune, 32), done: make(chan struct{})}
}

func (o *op) stop(why string) {
	o.once.Do(func() {
		o.why = why
		close(o.stopped)
	})
}

// tone hands the operation a key the caller pressed; it never blocks.
func (o *op) tone(d rune) {
	select {
	case o.tones <- d:
	default:
	}
}

// enqueue queues a media operation.
func (c *call) enqueue(o *op) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateTerminated {
		return errCallEnded
	}
	c.ops = append(c.ops, o)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

var errCallEnded = errors.New("the call has ended")

// cancelMedia fails every queued operation and stops the one running, as
// cancelMediaProcessing does.
func (c *call) cancelMedia() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, o := range c.ops {
		c.finishLocked(o, "failed", 400, 8508, "Action failed, the operation was cancelled.", "operationCanceled", "")
		n++
	}
	c.ops = nil
	if c.current != nil {
		c.current.stop(stopCancel)
		n++
	}
	c.logLocked("media", "cancelMediaProcessing: %d operations cancelled", n)
	return n
}

// finishLocked reports an operation's end to the workflow; c.mu is held.
func (c *call) finishLocked(o *op, status string, code, subcode int, msg, reason, location string) {
	c.queueLocked(workflows.Notification{Kind: "operation", ClientContext: o.ctx, Status: status, Code: code, Subcode: subcode,
		Message: msg, CompletionReason: reason, RecordingLocation: location})
}

// runMedia runs the call's media operations one at a time until the call
// ends.
func (c *call) runMedia() {
	for {
		c.mu.Lock()
		if c.state == stateTerminated {
			c.mu.Unlock()
			return
		}
		if len(c.ops) == 0 {
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-c.ended:
				return
			}
			continue
		}
		o := c.ops[0]
		c.ops = c.ops[1:]
		c.current = o
		c.mu.Unlock()
		if o.record != nil {
			c.runRecord(o)
		} else {
			c.runPlay(o)
		}
		c.mu.Lock()
		c.current = nil
		c.mu.Unlock()
		close(o.done)
	}
}

func (c *call) runPlay(o *op) {
	err := c.play(o, o.prompts, o.names)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.finishLocked(o, "completed", 200, 0, "Action completed successfully.", "completedSuccessfully", "")
	case o.why == stopHangup:
		// The call has ended: Graph reports nothing more of it.
	default:
		c.finishLocked(o, "failed", 400, 8508, "Action failed, the operation was cancelled.", "operationCanceled", "")
	}
}

// frame is the length of an RTP audio frame.
const frame = 20 * time.Millisecond

// play sends the prompts' audio, paced a frame each 20 ms, until the end
// or until the operation is stopped (errStopped).
func (c *call) play(o *op, prompts []*audio.Prompt, names []string) error {
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for i, p := range prompts {
		c.log("prompt", "%s (%.2fs)", names[i], p.Duration().Seconds())
		for f := 0; f < p.Frames(); f++ {
			select {
			case <-o.stopped:
				c.log("prompt", "%s stopped after %.2fs (%s)", names[i], (time.Duration(f) * frame).Seconds(), o.why)
				return errStopped
			case <-tick.C:
			}
			if c.out == nil {
				continue // an Opus-only caller: the prompt takes its time, unheard
			}
			if err := c.out.WriteSample(pionmedia.Sample{Data: p.Frame(f), Duration: frame}); err != nil {
				return fmt.Errorf("sending audio: %w", err)
			}
		}
	}
	return nil
}

var errStopped = errors.New("stopped")

// Recording settings where the flow gives none (Graph's defaults).
const (
	defaultInitialSilence = 5 * time.Second
	defaultMaxSilence     = 5 * time.Second
	defaultMaxRecord      = 60 * time.Second
	// voiceLevel is the level above which the caller is taken to speak:
	// speech is usually −25 to −15 dBm0, a quiet line −60 or below.
	voiceLevel = -42.0
)

// runRecord plays the prompts and the beep, then records the caller until a
// stop key, a silence timeout or the length limit. A recording cut short
// by the end of the call is kept and reported, unlike Graph's.
func (c *call) runRecord(o *op) {
	p := o.record
	cancelled := func() {
		if o.why == stopHangup {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.finishLocked(o, "failed", 400, 8508, "Action failed, the operation was cancelled.", "operationCanceled", "")
	}
	if err := c.play(o, o.prompts, o.names); err != nil {
		cancelled()
		return
	}
	if p.Beep {
		if err := c.play(o, []*audio.Prompt{audio.Beep()}, []string{"beep"}); err != nil {
			cancelled()
			return
		}
	}
	initial := or(p.InitialSilence.D(), defaultInitialSilence)
	maxSilence := or(p.MaxSilence.D(), defaultMaxSilence)
	maxDuration := or(p.MaxDuration.D(), defaultMaxRecord)

	dir := filepath.Join(c.s.cfg.RecordingDir, c.id)
	path := filepath.Join(dir, safeName(o.ctx)+".wav")
	r, err := startRecording(path)
	if err != nil {
		c.log("error", "recording: %v", err)
		c.mu.Lock()
		c.finishLocked(o, "failed", 500, 8500, "Action failed, the recording could not be stored.", "recordingFailed", "")
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	c.rec = r
	c.logLocked("record", "started (initial silence %s, max silence %s, max %s, stop keys %q)", initial, maxSilence, maxDuration, p.StopKeys)
	c.mu.Unlock()

	start := time.Now()
	tick := time.NewTicker(frame)
	defer tick.Stop()
	status, code, subcode, msg, reason := "completed", 200, 0, "Action completed successfully.", ""
loop:
	for {
		select {
		case <-o.stopped:
			if o.why == stopHangup {
				reason = "callTerminated"
			} else {
				status, code, subcode, msg, reason = "failed", 400, 8508, "Action failed, the operation was cancelled.", "operationCanceled"
			}
			break loop
		case d := <-o.tones:
			if strings.ContainsRune(p.StopKeys, d) {
				reason = "stopToneDetected"
				break loop
			}
		case now := <-tick.C:
			heard, last := r.voice()
			switch {
			case now.Sub(start) >= maxDuration:
				subcode, msg, reason = 8515, "Action completed, max record duration reached.", "maxRecordDurationReached"
				break loop
			case !heard && now.Sub(start) >= initial:
				status, code, subcode, msg, reason = "failed", 400, 8510, "Action failed, initial silence timeout reached.", "initialSilenceTimeout"
				break loop
			case heard && now.Sub(last) >= maxSilence:
				reason = "maxSilenceTimeout"
				break loop
			}
		}
	}
	c.mu.Lock()
	c.rec = nil
	c.mu.Unlock()
	info, err := r.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.logLocked("error", "recording %s: %v", path, err)
		c.finishLocked(o, "failed", 500, 8500, "Action failed, the recording could not be stored.", "recordingFailed", "")
		return
	}
	if reason == "initialSilenceTimeout" {
		_ = os.Remove(path) // nothing was said: there is nothing to keep
		c.logLocked("record", "ended: %s", reason)
		c.finishLocked(o, status, code, subcode, msg, reason, "")
		return
	}
	c.recordings = append(c.recordings, path)
	c.s.m.recordings.Inc()
	c.logLocked("record", "%.2fs kept in %s (%s)", info.Duration.Seconds(), filepath.Base(path), reason)
	location := ""
	if status == "completed" {
		location = "file://" + path
	}
	c.finishLocked(o, status, code, subcode, msg, reason, location)
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// recording is the recording in progress. The read loop hands it each
// packet's samples and measures the voice there (CPU only); a goroutine of
// its own writes them to the file, so a slow disk (a network volume
// stalling) never holds up the read loop: the audio waits in memory, 16 kB
// a second, and nothing is dropped.
type recording struct {
	rec  *audio.Recorder // used by the writer only
	kick chan struct{}
	done chan struct{} // closed when the writer has written everything and stopped

	mu        sync.Mutex
	vad       *audio.VAD
	queue     []queued // packets waiting, their samples in slab
	slab      []int16
	spareQ    []queued // the writer's last queue and slab, for reuse
	spareS    []int16
	closing   bool
	heard     bool
	lastVoice time.Time
	err       error
}

// queued is a packet's audio waiting to be written: its samples are
// slab[off:off+n].
type queued struct {
	ts     uint32
	off, n int
}

// kickEvery is how many packets the read loop queues before it wakes the
// writer: waking it for every 20 ms packet cost the media worker a
// scheduler round trip each. The recorder batches half a second anyway;
// what is queued is written when the recording closes, whatever its
// count.
const kickEvery = 10

func startRecording(path string) (*recording, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	rec, err := audio.NewRecorder(path)
	if err != nil {
		return nil, err
	}
	r := &recording{rec: rec, vad: audio.NewVAD(voiceLevel, 200*time.Millisecond),
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go r.writer()
	return r, nil
}

// recording returns the recording in progress, or nil.
func (c *call) recording() *recording {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec
}

// write queues a packet's samples (copied) and updates the voice state;
// it never waits on the disk.
func (r *recording) write(ts uint32, samples []int16) {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return
	}
	r.queue = append(r.queue, queued{ts, len(r.slab), len(samples)})
	r.slab = append(r.slab, samples...)
	if r.vad.Write(samples) {
		r.heard, r.lastVoice = true, time.Now()
	}
	kick := len(r.queue) >= kickEvery
	r.mu.Unlock()
	if kick {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// writer writes queued audio until the recording closes and the queue is
// empty.
func (r *recording) writer() {
	defer close(r.done)
	for {
		r.mu.Lock()
		batch, slab, closing := r.queue, r.slab, r.closing
		r.queue, r.slab = r.spareQ[:0], r.spareS[:0]
		r.mu.Unlock()
		for _, q := range batch {
			if err := r.rec.Write(q.ts, slab[q.off:q.off+q.n]); err != nil {
				r.mu.Lock()
				if r.err == nil {
					r.err = err
				}
				r.mu.Unlock()
				break
			}
		}
		r.mu.Lock()
		r.spareQ, r.spareS = batch, slab
		r.mu.Unlock()
		if closing && len(batch) == 0 {
			return
		}
		if !closing && len(batch) < kickEvery {
			<-r.kick
		}
	}
}

func (r *recording) voice() (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.heard, r.lastVoice
}

// close stops taking audio, waits for what is queued to be written, and
// closes the file.
func (r *recording) close() (audio.Info, error) {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	<-r.done
	info, err := r.rec.Close()
	if err == nil {
		err = r.err
	}
	return info, err
}

// safeName makes s usable in a file name.
func safeName(s string) string {
	if s == "" || s[0] == '.' {
		s = "op" + s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
