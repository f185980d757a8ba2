// Package dtmf detects DTMF digits sent in-band, as tones in the audio of a
// call, over 8 kHz 16-bit linear PCM.
//
// The Detector meets the receiver figures of ITU-T Q.24 (AT&T column):
//
//   - a tone within ±1.5 % of its nominal frequency is accepted, one off by
//     ±3.5 % or more is rejected;
//   - a digit of 40 ms is accepted, one of 23 ms rejected;
//   - each tone is accepted from 0 to −25 dBm0 (down to −42 dBm0 by
//     default), and never below −55 dBm0;
//   - twist is accepted up to 8 dB with the high-group tone weaker (normal)
//     and 4 dB with it stronger (reverse); by default 10 and 6 dB are
//     rejected;
//   - an interruption of up to 10 ms does not split a digit, a pause of
//     40 ms does.
//
// Speech must not be mistaken for digits ("talk-off"). Each analysis window
// therefore requires two tones that stand out in their group by 8 dB,
// carry nearly all of the window's energy and sit within 2.5 % of their
// nominal frequencies, and a column tone without the second harmonic voiced
// speech would have; and a digit is only reported after four such windows
// in a row, about 32 ms of tone. (The row tones' second harmonics are not
// tested: those of 697, 770 and 852 Hz fall within 75 Hz of a column tone,
// which a 12.75 ms window cannot tell apart.)
//
// # Method
//
// Eight Goertzel filters, one per DTMF frequency, run over windows of 102
// samples (12.75 ms, bins 78 Hz wide) that advance by half a window. Each
// window is the sum of two half-windows, so the filters run once per sample.
// The filters give a complex value per window; the phase advance of that
// value from one window to the next measures each tone's frequency to
// within a few hertz, far finer than the bin. That is how ±3.5 % is
// rejected even at 697 Hz, below which no neighbouring tone lies to compare
// with. Knowing both tones' frequencies and phases, the detector also takes
// each tone's leakage out of the other group's filters, which keeps the
// twist and relative-peak tests exact at 8 dB of twist, and corrects each
// level for the filter's response off its centre.
//
// The design follows the block Goertzel detectors of spandsp (src/dtmf.c)
// and Asterisk (main/dsp.c), with their thresholds for the relative peak
// (8 dB) and the share of the energy (−0.85 dB), and libteletone's second-
// harmonic test; the frequency measurement, the leakage removal and the
// half-window hop are this package's own.
//
// Levels are in dBm0 as G.711 defines them: a sine whose peak reaches 16-bit
// full scale (±32768) is +3.14 dBm0, the theoretical load capacity that
// ITU-T G.711 gives for A-law (µ-law's is +3.17 dBm0) and the reference
// spandsp uses. A 0 dBm0 sine therefore has a peak of 22,827.
package dtmf

import (
	"math"
	"math/cmplx"
	"time"
)

// SampleRate is the rate, in samples per second, of the audio a Detector
// takes.
const SampleRate = 8000

// FullScaleDBm0 is the level, in dBm0, of a sine whose peak is the 16-bit
// full scale of 32768 (ITU-T G.711, theoretical load capacity of A-law).
const FullScaleDBm0 = 3.14

// Defaults for the fields of Config.
const (
	DefaultMinLevel     = -42.0 // dBm0 per tone, as spandsp
	DefaultNormalTwist  = 9.0   // dB; Q.24 requires 8 dB to be accepted
	DefaultReverseTwist = 5.0   // dB; Q.24 requires 4 dB to be accepted
)

const (
	blockLen = 102          // samples in an analysis window: 12.75 ms
	hop      = blockLen / 2 // samples between windows: 6.375 ms

	// hitsToStart is how many windows in a row must show a digit before it
	// is reported. A window counts only when the tones fill most of it (the
	// energy test wants about 84 of its 102 samples), so 23 ms of tone gives
	// at most 3 windows and 40 ms at least 4. Measured: no digit shorter
	// than 26 ms is reported, every digit of 36 ms or more is.
	hitsToStart = 4

	// missesToEnd is how many windows in a row without the digit end it. A
	// silent gap of 10 ms spoils at most 4 windows, a pause of 40 ms at
	// least 7. Measured: gaps up to 14 ms are always bridged, gaps of 26 ms
	// or more always split the digit.
	missesToEnd = 5

	maxFreqError = 0.025 // relative; between the 1.5 % accepted and the 3.5 % rejected
	relativePeak = 6.31  // 8 dB: the other tones of a group must be this much weaker
	minEnergy    = 0.822 // −0.85 dB: the two tones' share of the window's energy
	maxHarmonic  = 0.063 // −12 dB: the column tone's 2nd harmonic relative to it

	// onsetLead and endLag turn the first and last windows of a digit into
	// estimates of the tone's edges, centred on the range the energy test
	// allows (see hitsToStart); the estimates are within ±3.3 ms.
	onsetLead = 8
	endLag    = blockLen + 8
)

// digits is the keypad: row tones down, column tones across.
const digits = "123A456B789C*0#D"

// freqs are the DTMF frequencies in hertz: four row (low-group) tones, then
// four column (high-group) tones.
var freqs = [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}

// Config sets the limits of a Detector. The zero Config gives the defaults.
type Config struct {
	// MinLevel is the weakest tone, in dBm0, that can form a digit. Zero
	// means DefaultMinLevel (−42 dBm0); it must be above −55 dBm0 to meet
	// Q.24 and below −33 dBm0 to accept −25 dBm0 with 8 dB of twist.
	MinLevel float64

	// NormalTwist is how much weaker, in dB, the column tone may be than
	// the row tone. Zero means DefaultNormalTwist.
	NormalTwist float64

	// ReverseTwist is how much stronger, in dB, the column tone may be than
	// the row tone. Zero means DefaultReverseTwist.
	ReverseTwist float64
}

// Event is a digit found in the audio. Times are counted from the first
// sample written to the Detector (or the first after Flush).
type Event struct {
	Digit rune          // '0' to '9', '*', '#' or 'A' to 'D'
	Start time.Duration // when the tone began, to within ±3.5 ms
	End   time.Duration // when it stopped, as closely; zero while the key is still held
}

// tone is the precomputed Goertzel filter of one DTMF frequency.
type tone struct {
	index     int        // in freqs
	maxOffset float64    // radians per sample: maxFreqError of the frequency
	coef      float64    // 2cos(ω)
	back      complex128 // e^{-jω}: the Goertzel's last step
	rotEnd    complex128 // e^{-jω(hop-1)}: refers a half-window's value to its first sample
	rotHop    complex128 // e^{-jω·hop}: the phase a nominal tone advances in a hop
}

// Detector finds DTMF digits in a stream of 8 kHz samples. Make one per
// stream with NewDetector; it is not safe for concurrent use.
type Detector struct {
	tones        [8]tone
	minPower     float64 // a tone's |X|² at MinLevel
	normalTwist  float64 // power ratios
	reverseTwist float64

	x    [blockLen]float64 // the previous half-window, then the current one as it fills
	n    int               // samples in the current half-window
	half int64             // half-windows completed

	prevH   [8]complex128 // the previous half-window's filter values
	prevSum float64       // and its sum and energy
	prevE   float64
	prevW   [8]complex128 // the previous window's filter values

	cand      int   // the digit (index+1 in digits) the last windows agree on, or 0
	candHits  int   // how many windows in a row
	candStart int64 // first sample of the first of them
	cur       int   // the digit reported and still held, or 0
	curStart  int64 // sample at which it began
	lastHit   int64 // first sample of its last window
	misses    int   // windows since then

	events []Event
}

// NewDetector returns a Detector with the limits of cfg.
func NewDetector(cfg Config) *Detector {
	if cfg.MinLevel == 0 {
		cfg.MinLevel = DefaultMinLevel
	}
	if cfg.NormalTwist == 0 {
		cfg.NormalTwist = DefaultNormalTwist
	}
	if cfg.ReverseTwist == 0 {
		cfg.ReverseTwist = DefaultReverseTwist
	}
	d := &Detector{
		normalTwist:  dbToPower(cfg.NormalTwist),
		reverseTwist: dbToPower(cfg.ReverseTwist),
	}
	// A sine of amplitude A gives |X| = A·N/2 in an N-sample window.
	amp := 32768 * math.Pow(10, (cfg.MinLevel-FullScaleDBm0)/20)
	d.minPower = (amp * blockLen / 2) * (amp * blockLen / 2)
	for i, f := range freqs {
		w := 2 * math.Pi * f / SampleRate
		d.tones[i] = tone{
			index:     i,
			maxOffset: maxFreqError * w,
			coef:      2 * math.Cos(w),
			back:      cmplx.Rect(1, -w),
			rotEnd:    cmplx.Rect(1, -w*(hop-1)),
			rotHop:    cmplx.Rect(1, -w*hop),
		}
	}
	return d
}

func dbToPower(db float64) float64 { return math.Pow(10, db/10) }

// Write analyses the next samples of the stream and returns the events they
// complete, or nil. A digit is reported, with End zero, as soon as it is
// confirmed, about 32 ms after its tone began; when the tone stops, the
// digit is reported again with the same Start and its End set.
func (d *Detector) Write(samples []int16) []Event {
	d.events = nil
	for len(samples) > 0 {
		buf := d.x[hop+d.n:]
		k := min(len(buf), len(samples))
		for i, s := range samples[:k] {
			buf[i] = float64(s)
		}
		samples = samples[k:]
		d.n += k
		if d.n == hop {
			d.analyse()
		}
	}
	return d.events
}

// Flush ends the stream: it runs the analysis on to the end of the samples
// written, as if silence followed, and returns the events that completes,
// including the end of a digit still held. The Detector is then ready for a
// new stream, whose times start again at zero.
func (d *Detector) Flush() []Event {
	var silence [(missesToEnd + 2) * hop]int16
	ev := d.Write(silence[:hop-d.n+(missesToEnd+1)*hop])
	if d.cur != 0 {
		ev = append(ev, d.end())
	}
	*d = Detector{tones: d.tones, minPower: d.minPower, normalTwist: d.normalTwist, reverseTwist: d.reverseTwist}
	return ev
}

// analyse runs the filters over the half-window just filled, then tests the
// window it completes and steps the digit state.
func (d *Detector) analyse() {
	cur := (*[hop]float64)(d.x[hop:])
	var h [8]complex128
	var sum, energy float64
	for _, x := range cur {
		sum += x
		energy += x * x
	}
	for g := 0; g < 8; g += 4 {
		s := goertzel4(cur, d.tones[g].coef, d.tones[g+1].coef, d.tones[g+2].coef, d.tones[g+3].coef)
		for i := range 4 {
			t := &d.tones[g+i]
			h[g+i] = t.rotEnd * (complex(s[i][0], 0) - t.back*complex(s[i][1], 0))
		}
	}

	// The window made of the previous half-window and this one. The stream
	// is taken to start after silence, so the first window, half of it
	// before the stream, only serves as the reference for the next.
	var w [8]complex128
	for i := range w {
		w[i] = d.prevH[i] + d.tones[i].rotHop*h[i]
	}
	if d.half > 0 {
		s := d.prevSum + sum
		e := d.prevE + energy - s*s/blockLen // the energy of the window less its DC
		d.step(d.classify(&w, e), (d.half-1)*hop)
	}
	d.prevW = w
	d.prevH, d.prevSum, d.prevE = h, sum, energy
	d.half++
	d.n = 0
	copy(d.x[:hop], d.x[hop:])
}

// goertzel4 runs four Goertzel filters over x and returns, for each, the
// last two values of its state.
func goertzel4(x *[hop]float64, c0, c1, c2, c3 float64) [4][2]float64 {
	var a1, a2, b1, b2, e1, e2, f1, f2 float64
	for _, v := range x {
		a1, a2 = v+c0*a1-a2, a1
		b1, b2 = v+c1*b1-b2, b1
		e1, e2 = v+c2*e1-e2, e1
		f1, f2 = v+c3*f1-f2, f1
	}
	return [4][2]float64{{a1, a2}, {b1, b2}, {e1, e2}, {f1, f2}}
}

// classify tests a window whose filter values are w and whose energy is e,
// and returns the digit it holds (index+1 in digits), or 0.
func (d *Detector) classify(w *[8]complex128, e float64) int {
	p := power(w)
	r, c := best(p[:4]), 4+best(p[4:])
	// Cheap tests first, on the raw values: most windows of speech or noise
	// fail here.
	if p[r] < d.minPower/2 || p[c] < d.minPower/2 || 2*(p[r]+p[c]) < minEnergy/2*blockLen*e {
		return 0
	}

	// Each tone leaks into the filters of the other group through the
	// window's sidelobes, at up to −20 dB: with 8 dB of twist, −12 dB
	// against the weaker tone, enough to upset the tests below. So measure
	// both tones, take their leakage out of this window and the previous
	// one, and measure again.
	dr, dc := offset(w, &d.prevW, &d.tones[r]), offset(w, &d.prevW, &d.tones[c])
	if math.Abs(dr) > 1.5*d.tones[r].maxOffset || math.Abs(dc) > 1.5*d.tones[c].maxOffset {
		return 0 // too far off to be put right by the leakage; also keeps kernel(dr) away from its zeros
	}
	cw, cprev := unleak(w, r, c, dr, dc), unleak(&d.prevW, r, c, dr, dc)
	dr, dc = offset(&cw, &cprev, &d.tones[r]), offset(&cw, &cprev, &d.tones[c])
	if math.Abs(dr) > d.tones[r].maxOffset || math.Abs(dc) > d.tones[c].maxOffset {
		return 0
	}
	p = power(&cw)
	for i := range 8 {
		if i != r && i != c && (i < 4 && p[i]*relativePeak > p[r] || i >= 4 && p[i]*relativePeak > p[c]) {
			return 0
		}
	}
	pr := p[r] / response(dr)
	pc := p[c] / response(dc)
	switch {
	case pr < d.minPower || pc < d.minPower:
		return 0
	case pr > pc*d.normalTwist || pc > pr*d.reverseTwist:
		return 0
	case 2*(pr+pc) < minEnergy*blockLen*e:
		return 0
	case d.harmonic(2*(freqs[c]+dc*SampleRate/(2*math.Pi))) > maxHarmonic*pc:
		return 0
	}
	return r*4 + (c - 4) + 1
}

func power(w *[8]complex128) [8]float64 {
	var p [8]float64
	for i, v := range w {
		p[i] = real(v)*real(v) + imag(v)*imag(v)
	}
	return p
}

// best returns the index of the largest of p.
func best(p []float64) int {
	b := 0
	for i := range p {
		if p[i] > p[b] {
			b = i
		}
	}
	return b
}

// offset measures how far, in radians per sample, the tone of t lies from
// its nominal frequency, by the phase it advanced from window prev to w.
func offset(w, prev *[8]complex128, t *tone) float64 {
	z := w[t.index] * cmplx.Conj(prev[t.index]) * t.rotHop
	return cmplx.Phase(z) / hop
}

// unleak returns w less the leakage of tone r, dr radians per sample off
// its nominal frequency, into the filters of the column group, and that of
// tone c into the row group.
func unleak(w *[8]complex128, r, c int, dr, dc float64) [8]complex128 {
	out := *w
	wr := 2*math.Pi*freqs[r]/SampleRate + dr
	wc := 2*math.Pi*freqs[c]/SampleRate + dc
	ar := w[r] / kernel(dr) // the row tone's phasor: w[r] = ar·K(dr)
	ac := w[c] / kernel(dc)
	for i := range 4 {
		out[i] -= ac * kernel(wc-2*math.Pi*freqs[i]/SampleRate)
		out[4+i] -= ar * kernel(wr-2*math.Pi*freqs[4+i]/SampleRate)
	}
	return out
}

// kernel is the value a window's filter gives for a unit phasor dw radians
// per sample above its frequency: the sum of e^{j·dw·n} over the window.
func kernel(dw float64) complex128 {
	if math.Abs(dw) < 1e-9 {
		return blockLen
	}
	return cmplx.Rect(math.Sin(blockLen*dw/2)/math.Sin(dw/2), dw*(blockLen-1)/2)
}

// response is the power response of a window's filter to a sine dw radians
// per sample off its centre, normalised to 1 at the centre.
func response(dw float64) float64 {
	k := kernel(dw)
	return (real(k)*real(k) + imag(k)*imag(k)) / (blockLen * blockLen)
}

// harmonic returns the power at f hertz over the current window.
func (d *Detector) harmonic(f float64) float64 {
	coef := 2 * math.Cos(2*math.Pi*f/SampleRate)
	var s1, s2 float64
	for _, v := range d.x {
		s1, s2 = v+coef*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coef*s1*s2
}

// step advances the digit state by the window that starts at sample at and
// holds digit (0 for none).
func (d *Detector) step(digit int, at int64) {
	if d.cur != 0 {
		if digit == d.cur {
			d.misses = 0
			d.lastHit = at
		} else if d.misses++; d.misses >= missesToEnd {
			d.events = append(d.events, d.end())
		}
	}
	if digit != 0 && digit == d.cand {
		d.candHits++
	} else {
		d.cand, d.candHits, d.candStart = digit, 1, at
	}
	if d.cand != 0 && d.cand != d.cur && d.candHits >= hitsToStart {
		if d.cur != 0 {
			d.events = append(d.events, d.end()) // a new digit with no pause between
		}
		d.cur, d.curStart, d.lastHit, d.misses = d.cand, max(0, d.candStart-onsetLead), at, 0
		d.events = append(d.events, Event{Digit: rune(digits[d.cur-1]), Start: duration(d.curStart)})
	}
}

// end ends the digit held and returns its event.
func (d *Detector) end() Event {
	e := Event{Digit: rune(digits[d.cur-1]), Start: duration(d.curStart), End: duration(d.lastHit + endLag)}
	d.cur = 0
	return e
}

func duration(samples int64) time.Duration {
	return time.Duration(samples) * time.Second / SampleRate
}
