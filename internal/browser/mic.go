package browser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// MicRate is the sample rate of the WAV files FakeMic writes, in hertz.
// Chromium reads other rates too and converts them.
const MicRate = 48000

// fullScaleDBm0 is the level of a sine whose peak is the 16-bit full scale,
// as G.711 and the dtmf package define it.
const fullScaleDBm0 = 3.14

// MicPart is a stretch of the fake microphone's audio: see Silence, Speech
// and Digits.
type MicPart struct {
	label  string
	render func(t testing.TB, dir string) ([]int16, []Tone)
}

// Span is where a MicPart lies in the file FakeMic wrote. Times are offsets
// from the start of the file.
type Span struct {
	Label      string // e.g. `digits "159#"`
	Start, End time.Duration
	Tones      []Tone // the keys of a Digits part
}

// Tone is one DTMF key in the file, from the start to the end of its tone.
type Tone struct {
	Key        rune
	Start, End time.Duration
}

// Timeline lists the parts of a fake microphone file in order.
type Timeline []Span

// Duration is the length of the file.
func (tl Timeline) Duration() time.Duration {
	if len(tl) == 0 {
		return 0
	}
	return tl[len(tl)-1].End
}

// Tones returns the DTMF keys of all the Digits parts, in order.
func (tl Timeline) Tones() []Tone {
	var all []Tone
	for _, s := range tl {
		all = append(all, s.Tones...)
	}
	return all
}

// Keys returns the DTMF keys of all the Digits parts as a string.
func (tl Timeline) Keys() string {
	var b strings.Builder
	for _, tone := range tl.Tones() {
		b.WriteRune(tone.Key)
	}
	return b.String()
}

func samplesOf(d time.Duration) int {
	return int(math.Round(d.Seconds() * MicRate))
}

func durationOf(samples int) time.Duration {
	return time.Duration(samples) * time.Second / MicRate
}

// Silence is d of digital silence.
func Silence(d time.Duration) MicPart {
	return MicPart{
		label: fmt.Sprintf("silence %v", d),
		render: func(testing.TB, string) ([]int16, []Tone) {
			return make([]int16, samplesOf(d)), nil
		},
	}
}

// SpeechPeak is the peak level Speech normalises espeak-ng's output to:
// half of full scale (−6 dBFS).
const SpeechPeak = 16384

// Speech is text spoken by espeak-ng (English voice, default speed),
// resampled to MicRate and normalised to a peak of SpeechPeak. The test
// fails if espeak-ng is not installed.
func Speech(text string) MicPart {
	return MicPart{
		label:  fmt.Sprintf("speech %q", text),
		render: func(t testing.TB, dir string) ([]int16, []Tone) { return speak(t, dir, text), nil },
	}
}

func speak(t testing.TB, dir, text string) []int16 {
	t.Helper()
	exe, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("browser: Speech needs espeak-ng (apt-get install espeak-ng): %v", err)
	}
	f, err := os.CreateTemp(dir, "speech-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer os.Remove(f.Name())
	if out, err := exec.Command(exe, "-v", "en", "-w", f.Name(), "--", text).CombinedOutput(); err != nil {
		t.Fatalf("browser: espeak-ng %q: %v\n%s", text, err, out)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	samples, rate, err := decodeWAV(data)
	if err != nil {
		t.Fatalf("browser: espeak-ng output: %v", err)
	}
	samples = Resample(samples, rate, MicRate)
	peak := 0
	for _, s := range samples {
		peak = max(peak, abs(int(s)))
	}
	if peak > 0 {
		g := float64(SpeechPeak) / float64(peak)
		for i, s := range samples {
			samples[i] = int16(math.Round(float64(s) * g))
		}
	}
	return samples
}

// dtmfFreqs maps each key to its row and column tone in hertz.
var dtmfFreqs = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// Digits is in-band DTMF: for each key (0-9, *, #, A-D), its two tones for
// on, each at levelDBm0 (a full-scale sine is +3.14 dBm0, so −10 dBm0 is a
// peak of 7,219 per tone), then off of silence. It panics on another key.
func Digits(keys string, on, off time.Duration, levelDBm0 float64) MicPart {
	for _, k := range keys {
		if _, ok := dtmfFreqs[k]; !ok {
			panic(fmt.Sprintf("browser.Digits: %q is not a DTMF key", k))
		}
	}
	amp := 32768 * math.Pow(10, (levelDBm0-fullScaleDBm0)/20)
	return MicPart{
		label: fmt.Sprintf("digits %q (%v on, %v off, %.1f dBm0)", keys, on, off, levelDBm0),
		render: func(t testing.TB, _ string) ([]int16, []Tone) {
			if 2*amp > math.MaxInt16 {
				t.Fatalf("browser.Digits: %.1f dBm0 per tone clips", levelDBm0)
			}
			nOn, nOff := samplesOf(on), samplesOf(off)
			out := make([]int16, 0, len(keys)*(nOn+nOff))
			var tones []Tone
			for _, k := range keys {
				f := dtmfFreqs[k]
				start := len(out)
				for i := range nOn {
					x := float64(i) / MicRate
					v := amp * (math.Sin(2*math.Pi*f[0]*x) + math.Sin(2*math.Pi*f[1]*x))
					out = append(out, int16(math.Round(v)))
				}
				tones = append(tones, Tone{Key: k, Start: durationOf(start), End: durationOf(len(out))})
				out = append(out, make([]int16, nOff)...)
			}
			return out, tones
		},
	}
}

// FakeMic writes the parts, in order, as a 48 kHz 16-bit mono PCM WAV file
// in dir (a new temporary directory if dir is empty) for Options.FakeMic,
// and returns its path and where each part lies. It fails the test on an
// error.
//
// Chromium starts reading the file when getUserMedia succeeds, and media
// only flows some time later, so a test that compares what arrives with
// the file should align the two (by the first tone, say) rather than assume
// they start together.
func FakeMic(t testing.TB, dir string, parts ...MicPart) (string, Timeline) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	var (
		all []int16
		tl  Timeline
	)
	for _, p := range parts {
		samples, tones := p.render(t, dir)
		start := durationOf(len(all))
		for i := range tones {
			tones[i].Start += start
			tones[i].End += start
		}
		all = append(all, samples...)
		tl = append(tl, Span{Label: p.label, Start: start, End: durationOf(len(all)), Tones: tones})
	}
	f, err := os.CreateTemp(dir, "fake-mic-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := f.Write(encodeWAV(all, MicRate))
	if err := errors.Join(werr, f.Close()); err != nil {
		t.Fatalf("browser: writing the fake microphone: %v", err)
	}
	path, err := filepath.Abs(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return path, tl
}

// encodeWAV returns a canonical 44-byte-header PCM WAV of mono 16-bit
// samples.
func encodeWAV(samples []int16, rate int) []byte {
	var b bytes.Buffer
	n := uint32(2 * len(samples))
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, 36+n)
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, le, struct {
		Size          uint32
		Format        uint16
		Channels      uint16
		Rate          uint32
		ByteRate      uint32
		BlockAlign    uint16
		BitsPerSample uint16
	}{16, 1, 1, uint32(rate), uint32(rate) * 2, 2, 16})
	b.WriteString("data")
	_ = binary.Write(&b, le, n)
	_ = binary.Write(&b, le, samples)
	return b.Bytes()
}

// decodeWAV reads a mono 16-bit PCM WAV file. A data chunk whose size is
// unknown (0 or past the end, as espeak-ng writes when streaming) runs to
// the end of the file.
func decodeWAV(data []byte) (samples []int16, rate int, err error) {
	le := binary.LittleEndian
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF WAVE file")
	}
	var haveFmt bool
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(le.Uint32(data[p+4:p+8]))
		body := data[p+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				return nil, 0, errors.New("short fmt chunk")
			}
			format, channels, bits := le.Uint16(body[0:2]), le.Uint16(body[2:4]), le.Uint16(body[14:16])
			if format != 1 || channels != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("want mono 16-bit PCM, have format %d, %d channels, %d bits", format, channels, bits)
			}
			rate = int(le.Uint32(body[4:8]))
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, errors.New("data chunk before fmt chunk")
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			samples = make([]int16, size/2)
			_ = binary.Read(bytes.NewReader(body[:size/2*2]), le, samples)
			return samples, rate, nil
		}
		p += 8 + size + size%2
	}
	return nil, 0, errors.New("no data chunk")
}

// Resample converts mono samples from one rate to another with a windowed-
// sinc (Blackman) low-pass filter cutting off at 92 % of the lower
// Nyquist frequency, so that, for instance, 48 kHz audio decimated to 8 kHz
// for a DTMF detector carries nothing above 3.7 kHz.
func Resample(samples []int16, from, to int) []int16 {
	if from == to || len(samples) == 0 {
		return append([]int16(nil), samples...)
	}
	g := gcd(from, to)
	up, down := to/g, from/g // output n is at input n·down/up
	fc := 0.46 * math.Min(1, float64(to)/float64(from))
	const zeroCrossings = 32
	half := int(math.Ceil(zeroCrossings / (2 * fc))) // taps each side
	width := float64(half)

	// weights[phase][j] weighs input base+j-half+1 for an output whose
	// position is base + phase/up.
	phases := min(up, 4096)
	weights := make([][]float64, phases)
	for ph := range weights {
		frac := float64(ph) / float64(phases)
		w := make([]float64, 2*half)
		var sum float64
		for j := range w {
			tau := frac - float64(j-half+1)
			w[j] = 2 * fc * sinc(2*fc*tau) * blackman(tau/width)
			sum += w[j]
		}
		for j := range w {
			w[j] /= sum
		}
		weights[ph] = w
	}

	n := int((int64(len(samples))*int64(up) + int64(down) - 1) / int64(down))
	out := make([]int16, n)
	for i := range out {
		pos := int64(i) * int64(down)
		base := int(pos / int64(up))
		ph := int(pos % int64(up) * int64(phases) / int64(up))
		var acc float64
		for j, w := range weights[ph] {
			if k := base + j - half + 1; k >= 0 && k < len(samples) {
				acc += w * float64(samples[k])
			}
		}
		out[i] = int16(math.Max(math.MinInt16, math.Min(math.MaxInt16, math.Round(acc))))
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window over [-1, 1].
func blackman(u float64) float64 {
	if u <= -1 || u >= 1 {
		return 0
	}
	return 0.42 + 0.5*math.Cos(math.Pi*u) + 0.08*math.Cos(2*math.Pi*u)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
