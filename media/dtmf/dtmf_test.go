package dtmf

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// Every signal below goes through G.711 µ-law (audio.ulaw) before the
// Detector, as it would on a telephone channel. Unless stated, tones are at
// −10 dBm0 each and start at several offsets within a window, since the
// outcome can depend on where a tone falls against the 51-sample hop.

// offsets are start times in ms that sweep the 6.375 ms hop.
var offsets = []float64{20, 20.8, 21.6, 22.4, 23.2, 24, 24.8, 25.6}

// eachDigit calls f for every digit at every offset.
func eachDigit(t *testing.T, f func(t *testing.T, digit rune, start float64)) {
	t.Helper()
	for _, digit := range digits {
		for _, start := range offsets {
			f(t, digit, start)
		}
	}
}

func TestAllDigits(t *testing.T) {
	a := audio{}
	for _, digit := range digits {
		a = a.tone(t, digit, 50, std).silence(50)
	}
	ev := detect(Config{}, a.ulaw())
	if got := digitsOf(ev); got != digits {
		t.Fatalf("16 digits of 50 ms with 50 ms pauses: got %q, want %q", got, digits)
	}
	for i, e := range ev {
		wantStart := time.Duration(i) * 100 * time.Millisecond
		if !near(e.Start, wantStart) || !near(e.End, wantStart+50*time.Millisecond) {
			t.Errorf("digit %c from %v to %v, want %v to %v (±4ms)", e.Digit, e.Start, e.End, wantStart, wantStart+50*time.Millisecond)
		}
	}
}

func near(got, want time.Duration) bool {
	d := got - want
	return d > -4*time.Millisecond && d < 4*time.Millisecond
}

// TestQ24 checks the receiver figures of ITU-T Q.24 (AT&T column) one by
// one: each case is a digit as sent, and whether it must be accepted.
func TestQ24(t *testing.T) {
	tests := []struct {
		name   string
		p      pair
		on     float64 // ms
		accept bool
	}{
		{"level 0 dBm0", pair{rowLevel: 0, colLevel: 0}, 50, true},
		{"level −25 dBm0", pair{rowLevel: -25, colLevel: -25}, 50, true},
		{"level −55 dBm0", pair{rowLevel: -55, colLevel: -55}, 50, false},
		{"level −60 dBm0", pair{rowLevel: -60, colLevel: -60}, 50, false},
		{"normal twist 8 dB", pair{rowLevel: -4, colLevel: -12}, 50, true},
		{"normal twist 8 dB at −25 dBm0", pair{rowLevel: -25, colLevel: -33}, 50, true},
		{"reverse twist 4 dB", pair{rowLevel: -8, colLevel: -4}, 50, true},
		{"reverse twist 4 dB at −25 dBm0", pair{rowLevel: -29, colLevel: -25}, 50, true},
		{"normal twist 10 dB", pair{rowLevel: -4, colLevel: -14}, 50, false},
		{"reverse twist 6 dB", pair{rowLevel: -10, colLevel: -4}, 50, false},
		{"row tone +1.5 %", pair{rowLevel: -10, colLevel: -10, rowErr: 0.015}, 50, true},
		{"row tone −1.5 %", pair{rowLevel: -10, colLevel: -10, rowErr: -0.015}, 50, true},
		{"column tone +1.5 %", pair{rowLevel: -10, colLevel: -10, colErr: 0.015}, 50, true},
		{"column tone −1.5 %", pair{rowLevel: -10, colLevel: -10, colErr: -0.015}, 50, true},
		{"row tone +3.5 %", pair{rowLevel: -10, colLevel: -10, rowErr: 0.035}, 50, false},
		{"row tone −3.5 %", pair{rowLevel: -10, colLevel: -10, rowErr: -0.035}, 50, false},
		{"column tone +3.5 %", pair{rowLevel: -10, colLevel: -10, colErr: 0.035}, 50, false},
		{"column tone −3.5 %", pair{rowLevel: -10, colLevel: -10, colErr: -0.035}, 50, false},
		{"40 ms", std, 40, true},
		{"23 ms", std, 23, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachDigit(t, func(t *testing.T, digit rune, start float64) {
				a := audio{}.silence(start).tone(t, digit, tt.on, tt.p).silence(60)
				got := digitsOf(detect(Config{}, a.ulaw()))
				want := ""
				if tt.accept {
					want = string(digit)
				}
				if got != want {
					t.Errorf("%c at %v ms: got %q, want %q", digit, start, got, want)
				}
			})
		})
	}
}

// TestCorners combines the limits: 40 ms digits at the extremes of level
// and twist, each tone off by −1.5, 0 or +1.5 %.
func TestCorners(t *testing.T) {
	corners := []pair{
		{rowLevel: 0, colLevel: 0},
		{rowLevel: -25, colLevel: -25},
		{rowLevel: 0, colLevel: -8},
		{rowLevel: -25, colLevel: -33},
		{rowLevel: -4, colLevel: 0},
		{rowLevel: -29, colLevel: -25},
	}
	errs := []float64{-0.015, 0, 0.015}
	for _, c := range corners {
		for _, digit := range digits {
			for _, re := range errs {
				for _, ce := range errs {
					for _, start := range offsets[:4] {
						p := c
						p.rowErr, p.colErr = re, ce
						a := audio{}.silence(start).tone(t, digit, 40, p).silence(60)
						if got := digitsOf(detect(Config{}, a.ulaw())); got != string(digit) {
							t.Errorf("%c, 40 ms at %v ms, %+v: got %q", digit, start, p, got)
						}
					}
				}
			}
		}
	}
}

func TestInterruption(t *testing.T) {
	tests := []struct {
		gap  float64 // ms
		want int     // digits
	}{
		{10, 1}, // Q.24: an interruption of up to 10 ms must be bridged
		{40, 2}, // Q.24: a pause of 40 ms separates digits
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v ms", tt.gap), func(t *testing.T) {
			eachDigit(t, func(t *testing.T, digit rune, start float64) {
				a := audio{}.silence(start).tone(t, digit, 60, std).silence(tt.gap).tone(t, digit, 60, std).silence(60)
				ev := detect(Config{}, a.ulaw())
				if len(ev) != tt.want {
					t.Errorf("%c at %v ms: got %d digits %q, want %d", digit, start, len(ev), digitsOf(ev), tt.want)
				}
			})
		})
	}
}

// TestNoise adds white noise 15 dB below the power of the two tones (the
// AT&T receiver figure), over the whole 0-4 kHz band.
func TestNoise(t *testing.T) {
	const snr = 15
	for _, level := range []float64{-10, -25} {
		for i, digit := range digits {
			for seed := range 5 {
				a := audio{}.silence(20).tone(t, digit, 50, pair{rowLevel: level, colLevel: level}).silence(50)
				a = a.noise(level+3.01-snr, uint64(100*i+seed))
				if got := digitsOf(detect(Config{}, a.ulaw())); got != string(digit) {
					t.Errorf("%c at %v dBm0 per tone, SNR %d dB, seed %d: got %q", digit, level, snr, seed, got)
				}
			}
		}
	}
	a := audio{}.silence(60_000).noise(-10, 1)
	if ev := detect(Config{}, a.ulaw()); len(ev) > 0 {
		t.Errorf("a minute of white noise at −10 dBm0: got digits %q", digitsOf(ev))
	}
}

// TestSequence sends "123#" at the standard rate: 50 ms tones, 50 ms
// pauses, noise 20 dB down.
func TestSequence(t *testing.T) {
	a := audio{}.silence(100)
	for _, digit := range "123#" {
		a = a.tone(t, digit, 50, std).silence(50)
	}
	a = a.noise(-27, 3)
	ev := detect(Config{}, a.ulaw())
	if got := digitsOf(ev); got != "123#" {
		t.Fatalf("got %q, want %q", got, "123#")
	}
	for i, e := range ev {
		start := time.Duration(100+100*i) * time.Millisecond
		if !near(e.Start, start) || !near(e.End, start+50*time.Millisecond) {
			t.Errorf("digit %c from %v to %v, want %v to %v (±4ms)", e.Digit, e.Start, e.End, start, start+50*time.Millisecond)
		}
	}
}

// TestStreaming checks when events come out: the digit as soon as it is
// confirmed, with End zero, and again when it ends; and that how the
// samples are cut into writes does not matter.
func TestStreaming(t *testing.T) {
	samples := audio{}.silence(30).tone(t, '5', 100, std).silence(30).tone(t, '5', 45, std).silence(100).ulaw()
	onset := []time.Duration{30 * time.Millisecond, 160 * time.Millisecond}
	for _, size := range []int{1, 7, 51, 160, len(samples)} {
		d := NewDetector(Config{})
		var got []Event
		var at []time.Duration // when each event came out
		for i := 0; i < len(samples); i += size {
			ev := d.Write(samples[i:min(i+size, len(samples))])
			for range ev {
				at = append(at, duration(int64(min(i+size, len(samples)))))
			}
			got = append(got, ev...)
		}
		got = append(got, d.Flush()...)
		if len(got) != 4 || got[0].End != 0 || got[1].End == 0 || got[2].End != 0 || got[3].End == 0 ||
			got[0].Start != got[1].Start || got[2].Start != got[3].Start {
			t.Fatalf("writes of %d: got %v, want a start and an end event for each of two digits", size, got)
		}
		for i, o := range onset {
			// Confirmed after 4 windows: 32 ms, plus up to a write of delay.
			if lag := at[2*i] - o; lag > 40*time.Millisecond+duration(int64(size)) {
				t.Errorf("writes of %d: digit %d reported %v after its onset", size, i+1, lag)
			}
		}
	}
}

func TestFlush(t *testing.T) {
	d := NewDetector(Config{})
	ev := d.Write(audio{}.silence(10).tone(t, '#', 60, std).ulaw())
	if len(ev) != 1 || ev[0].Digit != '#' || ev[0].End != 0 {
		t.Fatalf("a digit still held: got %v, want its start", ev)
	}
	ev = d.Flush()
	if len(ev) != 1 || ev[0].Digit != '#' || !near(ev[0].End, 70*time.Millisecond) {
		t.Fatalf("Flush: got %v, want the end of # at 70ms", ev)
	}
	// The Detector starts a new stream at time zero.
	ev = d.Write(audio{}.tone(t, '0', 60, std).silence(60).ulaw())
	if len(ev) != 2 || !near(ev[0].Start, 0) {
		t.Fatalf("after Flush: got %v, want 0 from time zero", ev)
	}
}

func TestConfig(t *testing.T) {
	a := audio{}.silence(20).tone(t, '7', 50, pair{rowLevel: -35, colLevel: -35}).silence(50)
	if got := digitsOf(detect(Config{}, a.ulaw())); got != "7" {
		t.Errorf("−35 dBm0 with the defaults: got %q, want %q", got, "7")
	}
	if got := digitsOf(detect(Config{MinLevel: -30}, a.ulaw())); got != "" {
		t.Errorf("−35 dBm0 with MinLevel −30: got %q, want none", got)
	}
	a = audio{}.silence(20).tone(t, '7', 50, pair{rowLevel: -4, colLevel: -16}).silence(50)
	if got := digitsOf(detect(Config{NormalTwist: 14}, a.ulaw())); got != "7" {
		t.Errorf("normal twist 12 dB with NormalTwist 14: got %q, want %q", got, "7")
	}
}

// BenchmarkDetector measures the Detector on a stream of digits in noise,
// and reports the cost per sample and how many 8 kHz channels one core
// can follow in real time.
func BenchmarkDetector(b *testing.B) {
	a := audio{}
	for _, digit := range "0123456789*#" {
		a = a.silence(200).tone(b, digit, 80, std)
	}
	samples := a.noise(-30, 1).ulaw()
	d := NewDetector(Config{})
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < len(samples); i += 160 {
			d.Write(samples[i:min(i+160, len(samples))])
		}
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(samples))
	b.ReportMetric(ns, "ns/sample")
	b.ReportMetric(1e9/ns/SampleRate, "channels/core")
}

// TestNotDigits feeds signals that are not DTMF, some close to it.
func TestNotDigits(t *testing.T) {
	sine := func(a audio, hz, dBm0 float64, d float64) audio {
		for n := range ms(d) {
			a = append(a, amplitude(dBm0)*math.Sin(2*math.Pi*hz*float64(n)/SampleRate))
		}
		return a
	}
	mix := func(x, y audio) audio {
		for i := range x {
			x[i] += y[i]
		}
		return x
	}
	tests := []struct {
		name string
		a    audio
	}{
		{"row tone alone", sine(nil, 770, -10, 500)},
		{"column tone alone", sine(nil, 1336, -10, 500)},
		{"two row tones", mix(sine(nil, 697, -10, 500), sine(nil, 852, -10, 500))},
		{"dial tone 350+440 Hz", mix(sine(nil, 350, -10, 500), sine(nil, 440, -10, 500))},
		{"digit 5 with its column tone's 2nd harmonic at −6 dB", mix(audio{}.tone(t, '5', 500, std), sine(nil, 2672, -16, 500))},
		{"square wave at 697 Hz", func() audio {
			a := sine(nil, 697, -10, 500)
			for i, v := range a {
				a[i] = 8000 * math.Copysign(1, v)
			}
			return a
		}()},
		{"full-scale noise", audio(make([]float64, 8000)).noise(3, 9)},
	}
	for _, tt := range tests {
		if ev := detect(Config{}, tt.a.ulaw()); len(ev) > 0 {
			t.Errorf("%s: got digits %q", tt.name, digitsOf(ev))
		}
	}
}

// TestDCOffset checks that a constant offset, as from a poor sound card,
// does not hide digits.
func TestDCOffset(t *testing.T) {
	a := audio{}.silence(20).tone(t, '9', 50, std).silence(50)
	for i := range a {
		a[i] += 6000
	}
	if got := digitsOf(detect(Config{}, a.ulaw())); got != "9" {
		t.Errorf("digit 9 on a DC offset of 6000: got %q", got)
	}
}
