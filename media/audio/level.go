package audio

import (
	"math"
	"time"
)

// FullScaleDBm0 is the level, in dBm0, of a sine whose peak is the 16-bit
// full scale (±32768): +3.14 dBm0, the load capacity ITU-T G.711 gives for
// A-law (µ-law's is +3.17 dBm0) and the reference spandsp and the dtmf
// package use. A 0 dBm0 sine therefore has a peak of 22,827 and an RMS
// value of 16,141.
const FullScaleDBm0 = 3.14

// LevelFloor is the level Level reports for silence (all zero samples, or
// none), and the lowest it reports at all. It is a finite number so that
// levels can be compared, logged and encoded (JSON has no −Inf) without
// special cases. The quietest sound 16-bit audio can hold, a constant ±1,
// is −84 dBm0.
const LevelFloor = -100.0

// rms0 is the RMS value of a 0 dBm0 sine, in 16-bit units.
var rms0 = 32768 / math.Sqrt2 * math.Pow(10, -FullScaleDBm0/20)

// Level returns the RMS level of samples (16-bit linear PCM) in dBm0: a
// sine at full scale measures +3.14 dBm0, one with a peak of 22,827 0 dBm0.
// It returns LevelFloor for silence or no samples.
func Level(samples []int16) float64 {
	if len(samples) == 0 {
		return LevelFloor
	}
	var sum int64
	for _, s := range samples {
		sum += int64(s) * int64(s)
	}
	if sum == 0 {
		return LevelFloor
	}
	rms := math.Sqrt(float64(sum) / float64(len(samples)))
	return max(LevelFloor, 20*math.Log10(rms/rms0))
}

const (
	vadBlock = SampleRate / 100 // the VAD measures 10 ms blocks
	vadOnset = 2                // loud blocks in a row that start speech
)

// A VAD (voice activity detector) tells speech from silence in 8 kHz
// linear PCM by level, for silence timeouts such as Microsoft Graph
// recordResponse's initialSilenceTimeoutInSeconds (no speech at all yet)
// and maxSilenceTimeoutInSeconds (a pause after speech).
//
// It measures the level of each 10 ms block. Speech starts with two
// blocks in a row at or above the threshold (20 ms, which a click or a
// single noise burst does not make), and lasts until no block has reached
// the threshold for the hangover, which bridges the short pauses between
// words and syllables. The threshold is fixed: choose it between the
// line's noise and the caller's speech. Speech on a telephone line
// typically measures −30 to −15 dBm0 and a quiet line below −55 dBm0, so
// −40 dBm0 with a hangover of 300 to 500 ms is a reasonable start.
//
// A VAD is not safe for concurrent use.
type VAD struct {
	threshold int64 // a block is loud if the sum of its squares reaches this
	hang      int64 // hangover, in samples

	sum int64 // sum of squares of the current block so far
	n   int   // samples in the current block so far

	run      int   // loud blocks in a row
	speaking bool  // in speech, including the hangover
	heard    bool  // speech has started at least once
	quiet    int64 // samples since the last loud block of speech, or since the start
}

// NewVAD returns a detector that takes audio at or above thresholdDBm0
// (as Level measures it) for speech, and ends speech once it has stayed
// below for hang. A threshold at or below LevelFloor, or NaN, takes any
// sound at all for speech.
func NewVAD(thresholdDBm0 float64, hang time.Duration) *VAD {
	rms := rms0 * math.Pow(10, thresholdDBm0/20)
	t := math.Ceil(rms * rms * vadBlock)
	switch {
	case math.IsNaN(t) || t < 1:
		t = 1 // any sound at all
	case t > math.MaxInt64/2:
		t = math.MaxInt64 / 2 // never
	}
	return &VAD{
		threshold: int64(t),
		hang:      max(0, int64(hang/sampleTime)),
	}
}

// Write feeds the detector the next samples of the stream, of any length
// (one RTP packet's, typically), and reports whether the caller is
// speaking as of their end.
func (v *VAD) Write(samples []int16) (speaking bool) {
	for _, s := range samples {
		v.sum += int64(s) * int64(s)
		v.n++
		if v.n == vadBlock {
			v.block(v.sum >= v.threshold)
			v.sum, v.n = 0, 0
		}
	}
	return v.speaking
}

// block advances the state by one block.
func (v *VAD) block(loud bool) {
	if !loud {
		v.run = 0
		v.quiet += vadBlock
		if v.speaking && v.quiet >= v.hang {
			v.speaking = false
		}
		return
	}
	v.run++
	if v.speaking || v.run >= vadOnset {
		v.speaking, v.heard = true, true
		v.quiet = 0
		return
	}
	v.quiet += vadBlock // a lone loud block is not speech (yet)
}

// Speaking reports whether the caller is speaking, as the last Write did.
func (v *VAD) Speaking() bool { return v.speaking }

// Heard reports whether speech has started at any time since the VAD was
// made or Reset. Until it has, Silence is the initial silence.
func (v *VAD) Heard() bool { return v.heard }

// Silence returns how long it has been since the last block of speech
// reached the threshold, or since the start if there has been none: the
// time to compare with a silence timeout. It is zero while speech is
// loud and, unlike Speaking, does not wait for the hangover.
func (v *VAD) Silence() time.Duration { return time.Duration(v.quiet) * sampleTime }

// Reset returns the detector to its initial state, keeping its threshold
// and hangover.
func (v *VAD) Reset() {
	*v = VAD{threshold: v.threshold, hang: v.hang}
}
