package dtmf

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ivrflow/ivrflow/media/g711"
)

// audio is a test signal at 8 kHz, in 16-bit units, before quantisation.
type audio []float64

// amplitude returns the peak of a sine at level dBm0.
func amplitude(dBm0 float64) float64 {
	return 32768 * math.Pow(10, (dBm0-FullScaleDBm0)/20)
}

func ms(d float64) int { return int(math.Round(d * SampleRate / 1000)) }

// keyTones returns the row and column frequencies of digit.
func keyTones(t testing.TB, digit rune) (row, col float64) {
	t.Helper()
	i := strings.IndexRune(digits, digit)
	if i < 0 {
		t.Fatalf("no DTMF digit %q", digit)
	}
	return freqs[i/4], freqs[4+i%4]
}

// pair is a DTMF tone pair: levels in dBm0 and relative frequency errors.
type pair struct {
	rowLevel, colLevel float64
	rowErr, colErr     float64
}

// std is a clean digit at −10 dBm0 per tone.
var std = pair{rowLevel: -10, colLevel: -10}

// tone appends the tones of digit for d milliseconds. The phase is counted
// from the start of the signal, so a tone cut by a gap resumes in phase.
func (a audio) tone(t testing.TB, digit rune, d float64, p pair) audio {
	t.Helper()
	row, col := keyTones(t, digit)
	row *= 1 + p.rowErr
	col *= 1 + p.colErr
	ar, ac := amplitude(p.rowLevel), amplitude(p.colLevel)
	start := len(a)
	for n := start; n < start+ms(d); n++ {
		tt := float64(n) / SampleRate
		a = append(a, ar*math.Sin(2*math.Pi*row*tt)+ac*math.Sin(2*math.Pi*col*tt+1))
	}
	return a
}

func (a audio) silence(d float64) audio { return append(a, make([]float64, ms(d))...) }

// noise adds white Gaussian noise of the given level in dBm0 (its power
// compared with a 0 dBm0 sine's).
func (a audio) noise(dBm0 float64, seed uint64) audio {
	r := rand.New(rand.NewPCG(seed, 1))
	sigma := amplitude(dBm0) / math.Sqrt2
	out := make(audio, len(a))
	for i, v := range a {
		out[i] = v + sigma*r.NormFloat64()
	}
	return out
}

// ulaw returns the signal as it arrives from a G.711 µ-law channel.
func (a audio) ulaw() []int16 {
	out := make([]int16, len(a))
	for i, v := range a {
		out[i] = g711.DecodeUlaw(g711.EncodeUlaw(int16(max(-32768, min(32767, math.Round(v))))))
	}
	return out
}

// detect runs a Detector over samples, 20 ms at a time as from RTP, and
// returns the completed digits (events with End set).
func detect(cfg Config, samples []int16) []Event {
	d := NewDetector(cfg)
	var ev []Event
	for len(samples) > 0 {
		k := min(160, len(samples))
		ev = append(ev, d.Write(samples[:k])...)
		samples = samples[k:]
	}
	ev = append(ev, d.Flush()...)
	var done []Event
	for _, e := range ev {
		if e.End != 0 {
			done = append(done, e)
		}
	}
	return done
}

func digitsOf(ev []Event) string {
	var b strings.Builder
	for _, e := range ev {
		b.WriteRune(e.Digit)
	}
	return b.String()
}
