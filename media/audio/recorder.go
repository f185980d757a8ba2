package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// SampleRate is the rate, in Hz, of everything this package produces and of
// the RTP timestamps Recorder.Write takes: PCMU's clock rate.
const SampleRate = 8000

// FrameSamples is the number of samples in one 20 ms frame at SampleRate,
// the payload of one PCMU packet.
const FrameSamples = 160

// FrameDuration is the duration of one frame.
const FrameDuration = 20 * time.Millisecond

const (
	// ReorderWindow is how much audio a Recorder holds back before
	// committing it to the file, so that packets arriving out of order
	// still land in their place: a packet is kept if less than this much
	// later audio has arrived before it (with 20 ms packets, if it was
	// overtaken by at most two). A packet that arrives later than that is
	// dropped and counted in Info.Late.
	ReorderWindow = 60 * time.Millisecond

	// MaxGap is the largest jump in RTP timestamps that a Recorder fills
	// with silence. A larger jump, forward or backward, is taken to be a
	// reset of the stream (a new source, or a sender that restarted its
	// clock), not that much real time: the recording continues right after
	// the audio already recorded, with no silence inserted, and the reset
	// is counted in Info.Resets. Ten seconds is far beyond any pause in
	// RTP audio that Chromium or a SIP gateway produces while the call is
	// up (a DTMF event pauses it for about 120 ms, Opus DTX still sends a
	// packet every 400 ms), so a larger jump is almost certainly not time
	// that passed; if it was (a long hold without RTP), the recording is
	// shorter than the call by that pause.
	MaxGap = 10 * time.Second

	// FlushInterval is how much committed audio a Recorder gathers before
	// it writes it to the file and updates the WAV header. Together with
	// ReorderWindow it bounds what a crash can lose: at most the last
	// FlushInterval + ReorderWindow (560 ms) of audio received.
	FlushInterval = 500 * time.Millisecond
)

const (
	sampleTime    = time.Second / SampleRate
	windowSamples = int64(ReorderWindow / sampleTime)
	maxGapSamples = int64(MaxGap / sampleTime)
	batchSamples  = int(FlushInterval / sampleTime)

	wavHeaderSize = 44 // what go-audio/wav writes: RIFF, fmt (16 bytes) and data headers
	riffSizeAt    = 4  // offset of the RIFF chunk's size
	dataSizeAt    = 40 // offset of the data chunk's size
	// maxSamples keeps the RIFF size, 36 + 2 bytes per sample, within
	// 32 bits: about 74.5 hours.
	maxSamples = (math.MaxUint32 - (wavHeaderSize - 8)) / 2
)

// ErrClosed is returned (wrapped with the file's name) by a Recorder's
// Write and Flush after Close.
var ErrClosed = errors.New("recorder is closed")

// Info describes a finished recording.
type Info struct {
	// Path is the WAV file.
	Path string
	// Samples is the number of samples in the file, at SampleRate.
	Samples int64
	// Duration is the length of the recording.
	Duration time.Duration
	// Bytes is the size of the file.
	Bytes int64
	// Late counts packets dropped because ReorderWindow or more of later
	// audio had arrived before them.
	Late int64
	// Resets counts timestamp jumps larger than MaxGap, across which the
	// recording continued without silence.
	Resets int64
}

// A Recorder records one RTP audio stream to a WAV file: 8 kHz, 16-bit
// linear PCM, mono, written with github.com/go-audio/wav.
//
// Audio is placed on the call's timeline by its RTP timestamp, counted from
// the first packet's. Any part of the timeline for which no audio arrives
// (lost packets, DTMF events during which the sender sends no audio,
// discontinuous transmission) is recorded as silence, so the recording is
// as long as the stream and a 120 ms hole gives exactly 120 ms of silence.
// Audio is held for ReorderWindow before it is committed, which puts
// packets that arrive out of order back in place; audio for a stretch of
// the timeline already filled is ignored (duplicates: the first copy
// wins), and audio older than the window is dropped. Timestamps may wrap
// around 2³²; jumps beyond MaxGap are handled as described there.
//
// The file is a valid WAV file from the moment NewRecorder returns: every
// FlushInterval of committed audio is written to it and its header is then
// updated to cover it, so if the process dies before Close the file still
// plays and holds all but at most the last FlushInterval + ReorderWindow of
// audio. (Written data reaches the operating system, not necessarily the
// disk: it survives the process, not a power failure; Close syncs the
// file to disk.) Flush bounds the loss in wall-clock terms when the stream
// goes quiet.
//
// Write does the file I/O itself, on the caller's goroutine: every
// FlushInterval, one 8 KB write and two 4-byte header updates, normally a
// few microseconds into the page cache; Close also syncs the file, which
// takes milliseconds. A read loop that must never wait on the disk should
// hand the audio to another goroutine that writes it.
//
// A Recorder is safe for concurrent use, so a late packet may race with
// Close: Write after Close returns an error wrapping ErrClosed and does
// not touch the file.
type Recorder struct {
	mu   sync.Mutex
	path string
	f    *os.File
	enc  *wav.Encoder
	// batch holds committed audio not yet written to the file.
	batch goaudio.IntBuffer
	le    []byte // the batch as 16-bit little-endian samples
	// written counts the samples in the file's data chunk.
	written int64
	// committed counts the samples committed (written plus batched).
	committed int64

	// The timeline: a sample's position is its RTP timestamp's distance
	// from the first packet's, unwrapped.
	started bool
	refTS   uint32 // timestamp of a recent packet ...
	refPos  int64  // ... and its position, the reference for unwrapping
	start   int64  // position of open[0]: everything before it is committed
	head    int64  // position just after the latest audio received
	begun   bool   // some audio has been committed since the timeline started

	// open is the reorder window: the audio from start to head, with
	// have[i] telling whether open[i] was received (else it is silence).
	open []int16
	have []bool

	late, resets int64
	hdr          [4]byte // scratch for header updates, kept here so it need not be allocated

	err    error // the first error writing the file; it ends recording
	closed bool
	info   Info
}

// NewRecorder creates (or truncates) the WAV file at path and returns a
// Recorder writing to it. The file holds a valid, empty WAV file when
// NewRecorder returns.
func NewRecorder(path string) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	// NewEncoder preallocates a buffer for one minute of audio at the rate
	// it is given: 944 KiB at 8 kHz, where the encoder never needs more
	// than one batch. So give it a rate of 1 Hz (120 bytes) and set the
	// real rate afterwards: SampleRate is an exported field that the
	// encoder reads only when it writes the header, at the first Write
	// just below.
	enc := wav.NewEncoder(f, 1, 16, 1, 1)
	enc.SampleRate = SampleRate
	r := &Recorder{
		path: path,
		f:    f,
		enc:  enc,
		batch: goaudio.IntBuffer{
			Format:         &goaudio.Format{NumChannels: 1, SampleRate: SampleRate},
			Data:           make([]int, 0, batchSamples),
			SourceBitDepth: 16,
		},
		open: make([]int16, 0, windowSamples+2*FrameSamples),
		have: make([]bool, 0, windowSamples+2*FrameSamples),
	}
	// Write the header now, so the file is a valid WAV from the start.
	if err := enc.Write(&r.batch); err != nil {
		f.Close()
		return nil, fmt.Errorf("recorder: %s: write WAV header: %w", path, err)
	}
	if enc.WrittenBytes != wavHeaderSize {
		f.Close()
		return nil, fmt.Errorf("recorder: %s: go-audio/wav wrote a %d-byte header, want %d", path, enc.WrittenBytes, wavHeaderSize)
	}
	// The encoder leaves placeholder sizes (42) until it is closed.
	if err := r.patchHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// Write records samples, 8 kHz linear PCM (one RTP packet's payload,
// decoded), whose first sample has RTP timestamp ts. It copies samples.
// Write returns an error only if the file cannot be written (then the
// recording stops there, and Close reports the same error) or after Close.
func (r *Recorder) Write(ts uint32, samples []int16) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("%s: %w", r.path, ErrClosed)
	}
	if r.err != nil {
		return r.err
	}
	if len(samples) == 0 {
		return nil
	}
	if !r.started {
		r.started = true
		r.refTS = ts
	}
	n := int64(len(samples))
	p := r.refPos + int64(int32(ts-r.refTS))
	if p > r.head+maxGapSamples || p+n < r.head-maxGapSamples {
		// A reset: carry on right after what has been received.
		if err := r.commit(r.head); err != nil {
			return err
		}
		r.resets++
		r.refTS, r.refPos = ts, r.head
		p = r.head
	}
	end := p + n
	if end > r.head {
		r.refTS, r.refPos = ts, p
	}
	if p < r.start && !r.begun && r.head-p <= windowSamples {
		// Audio from before the first packet received, within the window:
		// the stream starts earlier than we thought.
		k := int(r.start - p)
		r.open = append(r.open, make([]int16, k)...)
		r.have = append(r.have, make([]bool, k)...)
		copy(r.open[k:], r.open)
		copy(r.have[k:], r.have)
		clear(r.open[:k])
		clear(r.have[:k])
		r.start = p
	}
	if end <= r.start {
		r.late++
		return nil
	}
	if p < r.start { // partly late: keep what still fits
		samples = samples[r.start-p:]
		p = r.start
	}
	if p > r.head {
		// Silence before this packet: commit what is due now, so the
		// window never holds more than itself plus one packet.
		if err := r.commit(min(p, end-windowSamples)); err != nil {
			return err
		}
	}
	if need := int(end - r.start); need > len(r.open) {
		k := need - len(r.open)
		r.open = append(r.open, make([]int16, k)...)
		r.have = append(r.have, make([]bool, k)...)
	}
	off := int(p - r.start)
	for i, s := range samples {
		if !r.have[off+i] {
			r.open[off+i] = s
			r.have[off+i] = true
		}
	}
	r.head = max(r.head, end)
	return r.commit(r.head - windowSamples)
}

// Flush writes the audio committed so far (all but the last ReorderWindow
// received) to the file and updates its header, without waiting for a full
// FlushInterval. A caller may call it on a timer, so that a pause in the
// stream does not leave audio unwritten for long.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("%s: %w", r.path, ErrClosed)
	}
	if r.err != nil {
		return r.err
	}
	return r.flush()
}

// Close commits everything received, writes it, finalises the WAV header,
// syncs and closes the file. It reports the recording made. Close is
// idempotent: later calls return the same Info and error.
func (r *Recorder) Close() (Info, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.info, r.err
	}
	r.closed = true
	if r.err == nil {
		if err := r.commit(r.head); err == nil {
			r.flush()
		}
	}
	if r.err == nil {
		// The encoder writes the sizes (the data size from its own count,
		// short of what AddLE wrote) and syncs; then the sizes are written
		// right and synced again.
		if err := r.enc.Close(); err != nil {
			r.err = fmt.Errorf("recorder: %s: finalise WAV: %w", r.path, err)
		} else if err := r.patchHeader(); err == nil {
			if err := r.f.Sync(); err != nil {
				r.err = fmt.Errorf("recorder: %s: %w", r.path, err)
			}
		}
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("recorder: %w", err)
	}
	r.info = Info{
		Path:     r.path,
		Samples:  r.written,
		Duration: time.Duration(r.written) * sampleTime,
		Bytes:    wavHeaderSize + 2*r.written,
		Late:     r.late,
		Resets:   r.resets,
	}
	r.open, r.have, r.batch.Data = nil, nil, nil
	return r.info, r.err
}

// commit moves the timeline up to position to out of the window into the
// batch: the audio received, and silence for the rest.
func (r *Recorder) commit(to int64) error {
	k := to - r.start
	if k <= 0 {
		return nil
	}
	m := min(k, int64(len(r.open)))
	if err := r.emit(r.open[:m], 0); err != nil {
		return err
	}
	if err := r.emit(nil, k-m); err != nil {
		return err
	}
	n := copy(r.open, r.open[m:])
	copy(r.have, r.have[m:])
	r.open, r.have = r.open[:n], r.have[:n]
	r.start = to
	r.begun = true
	return nil
}

// emit appends samples, then zeros silent samples, to the batch, writing
// it out whenever it is full.
func (r *Recorder) emit(samples []int16, zeros int64) error {
	if r.committed+int64(len(samples))+zeros > maxSamples {
		return r.fail(fmt.Errorf("recorder: %s: recording exceeds the 4 GiB size limit of WAV", r.path))
	}
	r.committed += int64(len(samples)) + zeros
	for len(samples) > 0 || zeros > 0 {
		room := batchSamples - len(r.batch.Data)
		if len(samples) > 0 {
			k := min(room, len(samples))
			for _, s := range samples[:k] {
				r.batch.Data = append(r.batch.Data, int(s))
			}
			samples = samples[k:]
		} else {
			k := int(min(int64(room), zeros))
			for range k {
				r.batch.Data = append(r.batch.Data, 0)
			}
			zeros -= int64(k)
		}
		if len(r.batch.Data) == batchSamples {
			if err := r.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the batch through the encoder, then updates the header to
// cover it. Data goes first: a crash in between leaves a header that
// covers less than the file holds, which is still valid.
func (r *Recorder) flush() error {
	if len(r.batch.Data) == 0 {
		return nil
	}
	// The first batch goes through Encoder.Write, which writes the header;
	// later ones as one little-endian block written to the file, counted
	// in the encoder's WrittenBytes as its AddLE would: Write encodes
	// sample by sample with an allocation each, the dearest part of a
	// recorded call, and AddLE goes through encoding/binary, which copies
	// the block once more into a buffer it allocates. Neither moves the
	// encoder's frame count, so the data size its Close writes is patched
	// again after it.
	var err error
	if r.written == 0 {
		err = r.enc.Write(&r.batch)
	} else {
		r.le = r.le[:0]
		for _, v := range r.batch.Data {
			r.le = binary.LittleEndian.AppendUint16(r.le, uint16(int16(v)))
		}
		_, err = r.f.Write(r.le)
		r.enc.WrittenBytes += len(r.le)
	}
	if err != nil {
		return r.fail(fmt.Errorf("recorder: %s: write audio: %w", r.path, err))
	}
	r.written += int64(len(r.batch.Data))
	r.batch.Data = r.batch.Data[:0]
	return r.patchHeader()
}

// patchHeader writes the RIFF and data chunk sizes for the samples
// written so far.
func (r *Recorder) patchHeader() error {
	data := uint32(2 * r.written)
	binary.LittleEndian.PutUint32(r.hdr[:], wavHeaderSize-8+data)
	if _, err := r.f.WriteAt(r.hdr[:], riffSizeAt); err != nil {
		return r.fail(fmt.Errorf("recorder: %s: update WAV header: %w", r.path, err))
	}
	binary.LittleEndian.PutUint32(r.hdr[:], data)
	if _, err := r.f.WriteAt(r.hdr[:], dataSizeAt); err != nil {
		return r.fail(fmt.Errorf("recorder: %s: update WAV header: %w", r.path, err))
	}
	return nil
}

// fail records err as the error that ended recording, and returns it.
func (r *Recorder) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}
