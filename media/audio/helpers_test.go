package audio

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-audio/wav"
	"github.com/ivrflow/ivrflow/media/g711"
)

// amplitude returns the peak, in 16-bit units, of a sine at level dBm0.
func amplitude(dBm0 float64) float64 {
	return 32768 * math.Pow(10, (dBm0-FullScaleDBm0)/20)
}

// sine returns n samples at rate of a sine of freq Hz with peak amp.
func sine(n, rate int, freq, amp float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return x
}

// toneAt returns the amplitude of the freq Hz component of x (sampled at
// rate), measured through a Blackman-Harris window, which keeps other
// components' leakage below -92 dB.
func toneAt(x []float64, rate int, freq float64) float64 {
	n := len(x)
	var re, im, wsum float64
	for i, v := range x {
		t := 2 * math.Pi * float64(i) / float64(n-1)
		w := 0.35875 - 0.48829*math.Cos(t) + 0.14128*math.Cos(2*t) - 0.01168*math.Cos(3*t)
		ph := 2 * math.Pi * freq * float64(i) / float64(rate)
		re += w * v * math.Cos(ph)
		im -= w * v * math.Sin(ph)
		wsum += w
	}
	return 2 * math.Hypot(re, im) / wsum
}

func dB(ratio float64) float64 { return 20 * math.Log10(ratio) }

// floats converts samples to float64.
func floats[T int16 | float32](s []T) []float64 {
	x := make([]float64, len(s))
	for i, v := range s {
		x[i] = float64(v)
	}
	return x
}

// pcm16 quantises x to 16-bit samples.
func pcm16(x []float64) []int16 {
	s := make([]int16, len(x))
	for i, v := range x {
		s[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return s
}

// decodePrompt returns a prompt's audio as linear samples, padding
// included.
func decodePrompt(p *Prompt) []int16 {
	var s []int16
	for i := range p.Frames() {
		for _, u := range p.Frame(i) {
			s = append(s, g711.DecodeUlaw(u))
		}
	}
	return s
}

// noise returns n samples of seeded white noise, uniform in ±amp.
func noise(n int, amp float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round((2*r.Float64() - 1) * amp))
	}
	return s
}

// encode encodes interleaved samples x (16-bit units) as a WAV file's data
// in format tag with bits per sample.
func encode(x []float64, tag uint16, bits int) []byte {
	var b []byte
	for _, v := range x {
		switch {
		case tag == tagULaw:
			b = append(b, g711.EncodeUlaw(pcm16([]float64{v})[0]))
		case tag == tagALaw:
			b = append(b, g711.EncodeAlaw(pcm16([]float64{v})[0]))
		case tag == tagFloat && bits == 32:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v/32768)))
		case tag == tagFloat:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v/32768))
		case bits == 8:
			b = append(b, byte(max(-128, min(127, int(math.Round(v/256))))+128))
		case bits == 16:
			b = binary.LittleEndian.AppendUint16(b, uint16(pcm16([]float64{v})[0]))
		case bits == 24:
			u := uint32(int32(math.Round(v * 256)))
			b = append(b, byte(u), byte(u>>8), byte(u>>16))
		case bits == 32:
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(math.Round(v*65536))))
		}
	}
	return b
}

// wavFile builds a WAV file around data; extensible writes a
// WAVE_FORMAT_EXTENSIBLE fmt chunk. A LIST chunk of odd size comes before
// the fmt chunk, as some editors write it, to exercise chunk walking and
// padding.
func wavFile(tag uint16, channels, rate, bits int, data []byte, extensible bool) []byte {
	le16 := binary.LittleEndian.AppendUint16
	le32 := binary.LittleEndian.AppendUint32
	align := channels * bits / 8
	var f []byte
	ftag := tag
	if extensible {
		ftag = tagExtensible
	}
	f = le16(f, ftag)
	f = le16(f, uint16(channels))
	f = le32(f, uint32(rate))
	f = le32(f, uint32(rate*align))
	f = le16(f, uint16(align))
	f = le16(f, uint16(bits))
	if extensible {
		f = le16(f, 22)           // cbSize
		f = le16(f, uint16(bits)) // valid bits
		f = le32(f, 0)            // channel mask
		f = le16(f, tag)
		f = append(f, guidTail...)
	}
	var b []byte
	b = append(b, "RIFF\x00\x00\x00\x00WAVE"...)
	b = append(b, "LIST"...)
	b = le32(b, 5)
	b = append(b, "INFOx\x00"...) // 5 bytes and a pad byte
	b = append(b, "fmt "...)
	b = le32(b, uint32(len(f)))
	b = append(b, f...)
	b = append(b, "data"...)
	b = le32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// readWAV reads a WAV file with go-audio/wav, checking that it is 8 kHz
// 16-bit mono PCM.
func readWAV(t testing.TB, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := wav.NewDecoder(f)
	buf, err := d.FullPCMBuffer()
	if err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	if d.SampleRate != SampleRate || d.NumChans != 1 || d.BitDepth != 16 || d.WavAudioFormat != 1 {
		t.Fatalf("%s: %d Hz, %d channels, %d bits, format %d; want 8000 Hz mono 16-bit PCM",
			path, d.SampleRate, d.NumChans, d.BitDepth, d.WavAudioFormat)
	}
	s := make([]int16, len(buf.Data))
	for i, v := range buf.Data {
		s[i] = int16(v)
	}
	return s
}

// espeak speaks text with espeak-ng into a 22.05 kHz WAV file and returns
// its path. The tests need espeak-ng: it is not optional.
func espeak(t testing.TB, text string, stdout bool) string {
	t.Helper()
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("espeak-ng is required by this test but was not found on PATH: install it (Debian/Ubuntu: apt-get install espeak-ng): %v", err)
	}
	path := filepath.Join(t.TempDir(), "speech.wav")
	if stdout {
		out, err := exec.Command(bin, "--stdout", text).Output()
		if err != nil {
			t.Fatalf("espeak-ng --stdout: %v", err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if out, err := exec.Command(bin, "-w", path, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng -w: %v: %s", err, out)
	}
	return path
}
