package audio

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/media/g711"
)

// format is a WAV format to test.
type format struct {
	tag        uint16
	channels   int
	rate       int
	bits       int
	extensible bool
}

func (f format) String() string {
	name := map[uint16]string{tagPCM: "PCM", tagFloat: "float", tagULaw: "µ-law", tagALaw: "A-law"}[f.tag]
	s := fmt.Sprintf("%s %d-bit %d Hz %dch", name, f.bits, f.rate, f.channels)
	if f.extensible {
		s += " extensible"
	}
	return s
}

// file returns a WAV file in format f holding x (mono, 16-bit units) on
// every channel.
func (f format) file(x []float64) []byte {
	inter := make([]float64, 0, len(x)*f.channels)
	for _, v := range x {
		for range f.channels {
			inter = append(inter, v)
		}
	}
	return wavFile(f.tag, f.channels, f.rate, f.bits, encode(inter, f.tag, f.bits), f.extensible)
}

var formats = []format{
	{tagPCM, 1, 8000, 16, false},
	{tagPCM, 1, 16000, 16, false},
	{tagPCM, 1, 22050, 16, false},
	{tagPCM, 1, 44100, 16, false},
	{tagPCM, 1, 48000, 16, false},
	{tagPCM, 1, 11025, 16, false},
	{tagPCM, 1, 32000, 16, false},
	{tagPCM, 1, 6000, 16, false}, // upsampled
	{tagPCM, 2, 16000, 16, false},
	{tagPCM, 2, 44100, 16, true},
	{tagPCM, 1, 48000, 16, true},
	{tagPCM, 1, 8000, 8, false},
	{tagPCM, 1, 48000, 24, false},
	{tagPCM, 1, 16000, 32, false},
	{tagFloat, 1, 44100, 32, false},
	{tagFloat, 2, 8000, 64, false},
	{tagULaw, 1, 8000, 8, false},
	{tagULaw, 1, 8000, 8, true},
	{tagALaw, 1, 8000, 8, false},
	{tagULaw, 1, 16000, 8, false},
}

// TestLoadPromptFormats loads 1 s of a 1 kHz tone at -10 dBm0 in each
// format and checks its length, level and purity at 8 kHz.
func TestLoadPromptFormats(t *testing.T) {
	dir := t.TempDir()
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(dir, "prompt.wav")
			if err := os.WriteFile(path, f.file(sine(f.rate, f.rate, 1000, amplitude(-10))), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := LoadPrompt(path)
			if err != nil {
				t.Fatal(err)
			}
			if p.Duration() != time.Second || p.Frames() != 50 {
				t.Errorf("Duration %v, %d frames; want 1s, 50", p.Duration(), p.Frames())
			}
			s := decodePrompt(p)
			mid := s[800 : len(s)-800] // away from the filter's edges
			if l := Level(mid); math.Abs(l+10) > 0.15 {
				t.Errorf("level %.2f dBm0, want -10", l)
			}
			// What is not the tone (distortion, aliases, quantisation):
			// µ-law's own noise is about 38 dB below a -10 dBm0 tone. mid
			// holds whole cycles, so sine and cosine fit independently.
			var a, b float64
			for i, v := range mid {
				ph := 2 * math.Pi * 1000 * float64(i) / SampleRate
				a += float64(v) * math.Sin(ph)
				b += float64(v) * math.Cos(ph)
			}
			a, b = 2*a/float64(len(mid)), 2*b/float64(len(mid))
			var e, r float64
			for i, v := range mid {
				ph := 2 * math.Pi * 1000 * float64(i) / SampleRate
				d := float64(v) - a*math.Sin(ph) - b*math.Cos(ph)
				e += float64(v) * float64(v)
				r += d * d
			}
			if snr := 10 * math.Log10(e/r); snr < 33 {
				t.Errorf("signal to noise and distortion %.1f dB, want at least 33", snr)
			}
		})
	}
}

// TestLoadPromptULawExact: 8 kHz µ-law comes out byte for byte.
func TestLoadPromptULawExact(t *testing.T) {
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
		if data[i] == 0x7F { // negative zero comes out positive
			data[i] = 0xFF
		}
	}
	p, err := ParsePrompt("u.wav", wavFile(tagULaw, 1, 8000, 8, data, false))
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i := range p.Frames() {
		got = append(got, p.Frame(i)...)
	}
	want := append(slices.Clone(data), slices.Repeat([]byte{0xFF}, 7*FrameSamples-len(data))...)
	if !slices.Equal(got, want) {
		t.Error("µ-law 8 kHz prompt changed on loading")
	}
}

// TestLoadPromptStereo: channels are averaged.
func TestLoadPromptStereo(t *testing.T) {
	n := 16000
	l, r := sine(n, 16000, 1000, amplitude(-10)), sine(n, 16000, 2000, amplitude(-10))
	inter := make([]float64, 0, 2*n)
	for i := range n {
		inter = append(inter, l[i], r[i])
	}
	p, err := ParsePrompt("stereo.wav", wavFile(tagPCM, 2, 16000, 16, encode(inter, tagPCM, 16), false))
	if err != nil {
		t.Fatal(err)
	}
	x := floats(decodePrompt(p)[800:7200])
	for _, f := range []float64{1000, 2000} {
		if got := dB(toneAt(x, SampleRate, f) / amplitude(-10)); math.Abs(got+6.02) > 0.2 {
			t.Errorf("%v Hz at %.2f dB, want -6.02 (half of each channel)", f, got)
		}
	}
	// Opposite channels cancel.
	for i := range n {
		inter[2*i+1] = -inter[2*i]
	}
	p, err = ParsePrompt("stereo.wav", wavFile(tagPCM, 2, 16000, 16, encode(inter, tagPCM, 16), false))
	if err != nil {
		t.Fatal(err)
	}
	if l := Level(decodePrompt(p)); l > -80 {
		t.Errorf("opposite channels: level %.1f dBm0, want silence", l)
	}
}

// TestLoadPromptEspeak loads espeak-ng's output, both as a file (-w) and
// streamed (--stdout, whose header sizes are placeholders).
func TestLoadPromptEspeak(t *testing.T) {
	const text = "Thank you for calling."
	file, err := LoadPrompt(espeak(t, text, false))
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := LoadPrompt(espeak(t, text, true))
	if err != nil {
		t.Fatal(err)
	}
	if file.Duration() < 500*time.Millisecond || file.Duration() != streamed.Duration() {
		t.Errorf("durations %v and %v", file.Duration(), streamed.Duration())
	}
	if !slices.Equal(decodePrompt(file), decodePrompt(streamed)) {
		t.Error("file and streamed output differ")
	}
	if l := Level(decodePrompt(file)); l < -30 || l > -5 {
		t.Errorf("speech at %.1f dBm0", l)
	}
}

func TestLoadPromptErrors(t *testing.T) {
	tone := encode(sine(800, 8000, 1000, 10000), tagPCM, 16)
	good := wavFile(tagPCM, 1, 8000, 16, tone, false)
	with := func(off int, b ...byte) []byte {
		c := slices.Clone(good)
		copy(c[off:], b)
		return c
	}
	const fmtAt = 34 // the fmt chunk's body, after the LIST chunk
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "prompt.wav: not a WAV file (no RIFF header)"},
		{"text", []byte("hello, world, this is not audio"), "prompt.wav: not a WAV file (no RIFF header)"},
		{"mp3", []byte("ID3\x03\x00\x00\x00\x00\x00\x00"), "not a WAV file (no RIFF header)"},
		{"RIFX", append([]byte("RIFX"), good[4:]...), "big-endian (RIFX)"},
		{"short", []byte("RIFF\x00\x00"), "truncated WAV file"},
		{"AVI", with(8, []byte("AVI ")...), `not a WAV file (RIFF form "AVI ", want "WAVE")`},
		{"header only", good[:12], "no fmt or data chunk"},
		{"no data", good[:fmtAt+16], "no data chunk"},
		{"truncated fmt", good[:fmtAt+8], "truncated fmt chunk (16 bytes, 8 present)"},
		{"truncated data", good[:len(good)-10], "truncated data chunk (1600 bytes, 1590 present)"},
		{"truncated LIST", good[:22], `truncated "LIST" chunk (5 bytes, 2 present)`},
		{"empty data", wavFile(tagPCM, 1, 8000, 16, nil, false), "no audio (empty data chunk)"},
		{"short fmt", []byte("RIFF\x24\x00\x00\x00WAVEfmt \x0e\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00data\x02\x00\x00\x00\x01\x02"), "fmt chunk too short (14 bytes, need 16)"},
		{"data only", []byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x01\x02"), "no fmt chunk"},
		{"two fmt", slices.Concat(good[:fmtAt+16], good[fmtAt-8:]), "two fmt chunks"},
		{"ADPCM", with(fmtAt, 2, 0), "unsupported audio format Microsoft ADPCM (format tag 0x0002)"},
		{"MP3 in WAV", with(fmtAt, 0x55, 0), "unsupported audio format MP3"},
		{"odd tag", with(fmtAt, 0x34, 0x12), "unsupported audio format tag 0x1234"},
		{"12-bit PCM", with(fmtAt+14, 12, 0), "unsupported sample size: 12 bits"},
		{"16-bit µ-law", with(fmtAt, 7, 0), "unsupported sample size: 16 bits for format tag 0x0007"},
		{"no channels", with(fmtAt+2, 0, 0), "no channels"},
		{"rate 0", with(fmtAt+4, 0, 0, 0, 0), "unsupported sample rate 0 Hz"},
		{"rate 1 GHz", with(fmtAt+4, 0, 0xCA, 0x9A, 0x3B), "unsupported sample rate 1000000000 Hz"},
		{"bad block align", with(fmtAt+12, 4, 0), "block align 4 does not match 1 channels of 16 bits"},
		{"extensible, odd GUID", func() []byte {
			b := wavFile(tagPCM, 1, 8000, 16, tone, true)
			b[fmtAt+30] ^= 0xFF
			return b
		}(), "unsupported WAVE_FORMAT_EXTENSIBLE sub-format"},
		{"extensible, fmt 16 bytes", func() []byte {
			b := with(fmtAt, 0xFE, 0xFF)
			return b
		}(), "WAVE_FORMAT_EXTENSIBLE fmt chunk too short (16 bytes, need 40)"},
	}
	for _, c := range cases {
		p, err := ParsePrompt("prompt.wav", c.data)
		var fe *FormatError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &fe) || fe.Name != "prompt.wav" {
			t.Errorf("%s: ParsePrompt = %v, %v; want a *FormatError containing %q", c.name, p, err, c.want)
		}
	}

	// Not an error: the data chunk before the fmt chunk.
	if p, err := ParsePrompt("prompt.wav", slices.Concat([]byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x01\x02"), good[fmtAt-8:fmtAt+16])); err != nil || p.Duration() != sampleTime {
		t.Errorf("data before fmt: %v, %v", p, err)
	}

	path := filepath.Join(t.TempDir(), "missing.wav")
	if _, err := LoadPrompt(path); err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPrompt(missing) = %v", err)
	}
}

func TestPromptFrames(t *testing.T) {
	s := noise(170, 1000, 1)
	p := NewPrompt(s)
	if p.Frames() != 2 || p.Duration() != 170*sampleTime {
		t.Fatalf("%d frames, %v", p.Frames(), p.Duration())
	}
	f1 := p.Frame(1)
	if len(f1) != FrameSamples || cap(f1) != FrameSamples {
		t.Errorf("frame 1: len %d cap %d", len(f1), cap(f1))
	}
	if f1[9] != g711.EncodeUlaw(s[169]) || slices.ContainsFunc(f1[10:], func(b byte) bool { return b != 0xFF }) {
		t.Error("last frame not padded with µ-law silence (0xFF)")
	}
	if p.Frame(-1) != nil || p.Frame(2) != nil {
		t.Error("Frame out of range not nil")
	}
	var none *Prompt
	if none.Frames() != 0 || none.Frame(0) != nil || none.Duration() != 0 {
		t.Error("nil Prompt not empty")
	}
	if e := NewPrompt(nil); e.Frames() != 0 || e.Duration() != 0 {
		t.Error("empty prompt not empty")
	}
}

func TestBeep(t *testing.T) {
	b := Beep()
	if b.Duration() != 400*time.Millisecond || b.Frames() != 20 {
		t.Errorf("beep: %v, %d frames", b.Duration(), b.Frames())
	}
	s := decodePrompt(b)
	mid := s[80 : len(s)-80]
	if l := Level(mid); math.Abs(l+10) > 0.1 {
		t.Errorf("beep at %.2f dBm0, want -10", l)
	}
	if a := dB(toneAt(floats(mid), SampleRate, 1000) / amplitude(-10)); math.Abs(a) > 0.1 {
		t.Errorf("1 kHz at %.2f dB from -10 dBm0", a)
	}
	if s[0] != 0 || math.Abs(float64(s[len(s)-1])) > 50 {
		t.Errorf("beep starts at %d, ends at %d: not ramped", s[0], s[len(s)-1])
	}
}

func TestSilence(t *testing.T) {
	for _, c := range []struct {
		d       time.Duration
		frames  int
		samples int
	}{
		{time.Second, 50, 8000},
		{25 * time.Millisecond, 2, 200},
		{20*time.Millisecond + 60*time.Microsecond, 1, 160},
		{20*time.Millisecond + 70*time.Microsecond, 2, 161},
		{0, 0, 0},
		{-time.Second, 0, 0},
	} {
		p := Silence(c.d)
		if p.Frames() != c.frames || p.Duration() != time.Duration(c.samples)*sampleTime {
			t.Errorf("Silence(%v): %d frames, %v", c.d, p.Frames(), p.Duration())
		}
		for i := range p.Frames() {
			if slices.ContainsFunc(p.Frame(i), func(b byte) bool { return b != 0xFF }) {
				t.Errorf("Silence(%v): frame %d not silent", c.d, i)
			}
		}
	}
}
