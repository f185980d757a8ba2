package audio

import (
	"fmt"
	"math"
	"testing"
)

// tone resamples a 2 s sine of freq Hz at full scale from rate to 8 kHz,
// and returns the amplitude of the component at measure Hz in the output
// (its middle, away from the edges) relative to the input's, in dB.
func toneThrough(rate int, freq, measure float64) float64 {
	const amp = 32000
	x := sine(2*rate, rate, freq, amp)
	in := make([]float32, len(x))
	for i, v := range x {
		in[i] = float32(v)
	}
	out := floats(resample(in, rate, SampleRate))
	return dB(toneAt(out[SampleRate/4:len(out)-SampleRate/4], SampleRate, measure) / amp)
}

// TestResampleAlias: tones above 4 kHz must not fold back into the band.
func TestResampleAlias(t *testing.T) {
	cases := []struct {
		rate        int
		freq, alias float64 // a tone, and where it would alias at 8 kHz
	}{
		{16000, 5000, 3000}, // the case that matters most: Graph's prompts
		{16000, 4600, 3400},
		{16000, 7000, 1000},
		{22050, 5000, 3000},
		{44100, 5000, 3000},
		{44100, 15000, 1000},
		{48000, 5000, 3000},
		{48000, 7000, 1000},
		{32000, 12300, 300},
		{11025, 5000, 3000},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d Hz, %v Hz", c.rate, c.freq), func(t *testing.T) {
			got := toneThrough(c.rate, c.freq, c.alias)
			t.Logf("%v Hz at %d Hz: alias at %v Hz is %.1f dB", c.freq, c.rate, c.alias, got)
			if got > -40 {
				t.Errorf("%v Hz aliases to %v Hz at %.1f dB, want below -40 dB", c.freq, c.alias, got)
			}
			if got > -70 {
				t.Errorf("%v Hz aliases to %v Hz at %.1f dB; the filter is designed for -75 dB", c.freq, c.alias, got)
			}
		})
	}
}

// TestResamplePassband: the telephone band passes unchanged.
func TestResamplePassband(t *testing.T) {
	for _, rate := range []int{16000, 22050, 44100, 48000, 6000} {
		for _, f := range []float64{300, 1000, 2000, 3000, 3400} {
			if f >= float64(rate)/2*0.9 {
				continue
			}
			if got := toneThrough(rate, f, f); math.Abs(got) > 0.05 {
				t.Errorf("%d Hz: %v Hz comes out at %.3f dB, want 0", rate, f, got)
			}
		}
	}
}

// TestResampleTiming: the filter is linear-phase and centred, so audio is
// not delayed, and lengths scale exactly.
func TestResampleTiming(t *testing.T) {
	for _, rate := range []int{16000, 22050, 44100, 48000} {
		in := make([]float32, rate) // 1 s with a click at 0.5 s
		in[rate/2] = 30000
		out := resample(in, rate, SampleRate)
		if len(out) != SampleRate {
			t.Errorf("%d Hz: %d samples out of 1 s, want 8000", rate, len(out))
		}
		peak := 0
		for i, v := range out {
			if math.Abs(float64(v)) > math.Abs(float64(out[peak])) {
				peak = i
			}
		}
		if peak != SampleRate/2 {
			t.Errorf("%d Hz: click at sample %d, want %d", rate, peak, SampleRate/2)
		}
	}
	if out := resample(make([]float32, 3), 44100, SampleRate); len(out) != 1 {
		t.Errorf("3 samples at 44.1 kHz give %d", len(out))
	}
}

// TestResampleLargeRatio covers conversions whose weights are computed per
// sample rather than tabulated.
func TestResampleLargeRatio(t *testing.T) {
	const rate = 44101 // prime to 8000: 8000 phases
	if up := SampleRate / gcd(rate, SampleRate); up*(2*int(math.Ceil(kernelHalf*float64(rate)/SampleRate))+1) <= maxWeights {
		t.Fatal("the table would be used")
	}
	if got := toneThrough(rate, 1000, 1000); math.Abs(got) > 0.05 {
		t.Errorf("1 kHz at %.3f dB", got)
	}
	if got := toneThrough(rate, 5000, 3000); got > -70 {
		t.Errorf("5 kHz aliases at %.1f dB", got)
	}
}
