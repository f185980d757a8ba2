package browser

import (
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/media/dtmf"
)

// digitsIn runs the DTMF detector over 8 kHz samples and returns the
// digits it completes, in order.
func digitsIn(samples []int16) []dtmf.Event {
	d := dtmf.NewDetector(dtmf.Config{})
	var done []dtmf.Event
	for _, ev := range append(d.Write(samples), d.Flush()...) {
		if ev.End != 0 {
			done = append(done, ev)
		}
	}
	return done
}

func keysOf(events []dtmf.Event) string {
	var b strings.Builder
	for _, ev := range events {
		b.WriteRune(ev.Digit)
	}
	return b.String()
}

func TestFakeMicFile(t *testing.T) {
	path, tl := FakeMic(t, "",
		Silence(250*time.Millisecond),
		Digits("159#*0AD", 70*time.Millisecond, 60*time.Millisecond, -10),
		Speech("Please enter your account number."),
		Digits("2", 40*time.Millisecond, 0, -25),
		Silence(100*time.Millisecond),
	)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The canonical header, field by field.
	le := binary.LittleEndian
	if string(data[0:4]) != "RIFF" || string(data[8:16]) != "WAVEfmt " || string(data[36:40]) != "data" {
		t.Fatalf("bad header % x", data[:44])
	}
	if got := le.Uint32(data[4:8]); int(got) != len(data)-8 {
		t.Errorf("RIFF size %d, file %d bytes", got, len(data))
	}
	if f, ch, rate, byteRate, align, bits := le.Uint16(data[20:]), le.Uint16(data[22:]), le.Uint32(data[24:]), le.Uint32(data[28:]), le.Uint16(data[32:]), le.Uint16(data[34:]); f != 1 || ch != 1 || rate != 48000 || byteRate != 96000 || align != 2 || bits != 16 {
		t.Errorf("fmt: format %d, %d channels, %d Hz, %d B/s, align %d, %d bits; want PCM mono 48000 16-bit", f, ch, rate, byteRate, align, bits)
	}
	samples, rate, err := decodeWAV(data)
	if err != nil || rate != MicRate {
		t.Fatalf("decodeWAV: %d Hz, %v", rate, err)
	}
	if got := durationOf(len(samples)); got != tl.Duration() {
		t.Errorf("file lasts %v, timeline %v", got, tl.Duration())
	}

	// The timeline: parts back to back, lengths as asked.
	if len(tl) != 5 || tl[0].Start != 0 || tl[1].Start != 250*time.Millisecond || tl[1].End != tl[1].Start+8*130*time.Millisecond {
		t.Fatalf("timeline %+v", tl)
	}
	for i := 1; i < len(tl); i++ {
		if tl[i].Start != tl[i-1].End {
			t.Errorf("part %d starts at %v, part %d ends at %v", i, tl[i].Start, i-1, tl[i-1].End)
		}
	}
	if speech := tl[2]; speech.End-speech.Start < time.Second {
		t.Errorf("speech lasts %v", speech.End-speech.Start)
	}

	// Each tone's level: two sines of amplitude A have an RMS of A.
	first := tl.Tones()[0]
	seg := samples[samplesOf(first.Start):samplesOf(first.End)]
	want := 32768 * math.Pow(10, (-10-3.14)/20)
	if got := rms(seg); math.Abs(got/want-1) > 0.01 {
		t.Errorf("digit RMS %.0f, want %.0f (−10 dBm0 per tone)", got, want)
	}
	peak := 0
	for _, s := range samples[samplesOf(tl[2].Start):samplesOf(tl[2].End)] {
		peak = max(peak, abs(int(s)))
	}
	if peak != SpeechPeak {
		t.Errorf("speech peak %d, want %d", peak, SpeechPeak)
	}

	// The digits are found where the timeline says, and the speech gives
	// none.
	events := digitsIn(Resample(samples, MicRate, dtmf.SampleRate))
	if got, want := keysOf(events), tl.Keys(); got != want {
		t.Fatalf("detected %q, want %q", got, want)
	}
	for i, tone := range tl.Tones() {
		ev := events[i]
		if d := ev.Start - tone.Start; d < -5*time.Millisecond || d > 5*time.Millisecond {
			t.Errorf("%c: detected from %v, the timeline says %v", tone.Key, ev.Start, tone.Start)
		}
		if d := ev.End - tone.End; d < -6*time.Millisecond || d > 6*time.Millisecond {
			t.Errorf("%c: detected to %v, the timeline says %v", tone.Key, ev.End, tone.End)
		}
	}
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

func sine(rate int, freq, amp float64, d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*float64(rate)))
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// goertzelAmp returns the amplitude of the component of x at freq.
func goertzelAmp(x []int16, rate int, freq float64) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	var re, im float64
	for i, v := range x {
		re += float64(v) * math.Cos(w*float64(i))
		im -= float64(v) * math.Sin(w*float64(i))
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}

func TestResample(t *testing.T) {
	for _, c := range []struct {
		from, to int
		freq     float64
		gain     float64 // expected, as a ratio
	}{
		{22050, 48000, 1000, 1},
		{22050, 48000, 8000, 1},
		{48000, 8000, 697, 1},
		{48000, 8000, 1633, 1},
		{48000, 8000, 3000, 1},
		{48000, 8000, 5000, 0}, // would alias to 3 kHz
		{48000, 8000, 7000, 0}, // would alias to 1 kHz
		{8000, 48000, 1000, 1},
		{44100, 8000, 941, 1},
	} {
		in := sine(c.from, c.freq, 10000, time.Second)
		out := Resample(in, c.from, c.to)
		if want := int(math.Ceil(float64(len(in)) * float64(c.to) / float64(c.from))); len(out) != want {
			t.Errorf("%d→%d: %d samples, want %d", c.from, c.to, len(out), want)
		}
		mid := out[len(out)/4 : 3*len(out)/4] // away from the edges
		if c.gain == 0 {
			if r := rms(mid); r > 10 { // −60 dB
				t.Errorf("%d→%d, %v Hz: RMS %.1f left of 7071", c.from, c.to, c.freq, r)
			}
			continue
		}
		if a := goertzelAmp(mid, c.to, c.freq); math.Abs(a/10000-c.gain) > 0.005 {
			t.Errorf("%d→%d, %v Hz: amplitude %.0f, want %.0f", c.from, c.to, c.freq, a, 10000*c.gain)
		}
	}
}

func TestDigitsRejectsBadKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Digits(\"1x\") did not panic")
		}
	}()
	Digits("1x", 50*time.Millisecond, 50*time.Millisecond, -10)
}
