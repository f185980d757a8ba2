package audio

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/ivrflow/ivrflow/media/g711"
)

// ulawSilence is the µ-law code of a zero sample (positive zero).
const ulawSilence = 0xFF

// A Prompt is audio ready to send on a PCMU call: 8 kHz µ-law in 20 ms
// frames of FrameSamples bytes, the last padded with silence. A Prompt is
// immutable and safe for concurrent use, so one can be loaded once, cached
// and played to many calls at once. The methods of a nil *Prompt behave as
// for an empty one.
type Prompt struct {
	ulaw    []byte // len is a multiple of FrameSamples
	samples int    // before padding
}

// NewPrompt returns a prompt of samples, 8 kHz 16-bit linear PCM.
func NewPrompt(samples []int16) *Prompt {
	frames := (len(samples) + FrameSamples - 1) / FrameSamples
	u := make([]byte, frames*FrameSamples)
	for i, s := range samples {
		u[i] = g711.EncodeUlaw(s)
	}
	for i := len(samples); i < len(u); i++ {
		u[i] = ulawSilence
	}
	return &Prompt{ulaw: u, samples: len(samples)}
}

// Frames returns the number of 20 ms frames in p.
func (p *Prompt) Frames() int {
	if p == nil {
		return 0
	}
	return len(p.ulaw) / FrameSamples
}

// Frame returns frame i (from 0) of p: FrameSamples µ-law bytes, one PCMU
// packet's payload. It returns nil if there is no frame i. The slice is
// p's own: it must not be modified.
func (p *Prompt) Frame(i int) []byte {
	if p == nil || i < 0 || i >= p.Frames() {
		return nil
	}
	return p.ulaw[i*FrameSamples : (i+1)*FrameSamples : (i+1)*FrameSamples]
}

// Duration returns the length of p's audio, without the padding of its
// last frame.
func (p *Prompt) Duration() time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(p.samples) * sampleTime
}

// Beep returns the tone played before recording: 1 kHz for 400 ms at
// −10 dBm0, with 5 ms raised-cosine ramps at each end so that it starts
// and stops without a click (or the splatter of a cut sine).
//
// A single tone near 1 kHz is what voicemail and answering systems
// traditionally use: it sits in the middle of the telephone band, where
// every codec, line and ear passes it best; a single tone cannot be
// mistaken for a DTMF digit, and 1 kHz is far from the 350/440 Hz of
// North American dial tone. −10 dBm0 is clearly audible, like DTMF and
// other signalling tones (sent at −4 to −11 dBm0), but leaves 13 dB of
// headroom in G.711. 400 ms is long enough to be noticed and short enough
// that callers who start talking at once lose little.
func Beep() *Prompt {
	const (
		freq  = 1000.0
		level = -10.0 // dBm0
		n     = 400 * SampleRate / 1000
		ramp  = 5 * SampleRate / 1000
	)
	amp := rms0 * math.Sqrt2 * math.Pow(10, level/20)
	s := make([]int16, n)
	for i := range s {
		g := 1.0
		if r := min(i, n-1-i); r < ramp {
			g = 0.5 - 0.5*math.Cos(math.Pi*float64(r)/ramp)
		}
		s[i] = int16(math.Round(g * amp * math.Sin(2*math.Pi*freq*float64(i)/SampleRate)))
	}
	return NewPrompt(s)
}

// Silence returns a prompt of silence lasting d, rounded to the nearest
// sample (and padded to a whole frame); d ≤ 0 gives an empty prompt.
func Silence(d time.Duration) *Prompt {
	n := 0
	if d > 0 {
		n = int((d + sampleTime/2) / sampleTime)
	}
	return NewPrompt(make([]int16, n))
}

// LoadPrompt reads the WAV file at path and converts it to a Prompt. It
// accepts linear PCM (8, 16, 24 or 32 bits), IEEE float (32 or 64 bits),
// µ-law and A-law (8 bits), in a plain or a WAVE_FORMAT_EXTENSIBLE format
// chunk; any number of channels, which are mixed down (averaged); and any
// sample rate from 1 to 768 kHz, which is converted to 8 kHz through a
// low-pass filter that removes what would alias. A file that is not such
// a WAV file, or is truncated, gives an error naming it, of type
// *FormatError.
func LoadPrompt(path string) (*Prompt, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	return ParsePrompt(path, b)
}

// ParsePrompt converts data, the contents of a WAV file, to a Prompt as
// LoadPrompt does; name is used in errors.
func ParsePrompt(name string, data []byte) (*Prompt, error) {
	w, err := parseWAV(name, data)
	if err != nil {
		return nil, err
	}
	x := resample(w.mono(), w.rate, SampleRate)
	s := make([]int16, len(x))
	for i, v := range x {
		s[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(float64(v)))))
	}
	return NewPrompt(s), nil
}

// A FormatError reports a file that is not a WAV file LoadPrompt can read.
type FormatError struct {
	Name    string // the file
	Problem string // what is wrong with it
}

// Error returns the file's name and what is wrong with it.
func (e *FormatError) Error() string { return e.Name + ": " + e.Problem }

// WAVE format tags (RFC 2361 and mmreg.h).
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagULaw       = 0x0007
	tagExtensible = 0xFFFE
)

// formatNames names some format tags LoadPrompt does not read, for errors.
var formatNames = map[uint16]string{
	0x0002: "Microsoft ADPCM",
	0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10",
	0x0050: "MPEG",
	0x0055: "MP3",
	0x0064: "G.721 ADPCM",
	0x0065: "G.723 ADPCM",
}

// guidTail is the part of a WAVE_FORMAT_EXTENSIBLE sub-format GUID after
// its first two bytes, which hold the format tag:
// 0000xxxx-0000-0010-8000-00aa00389b71.
const guidTail = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

// streamedSize is the smallest chunk size taken for the placeholder that
// programs writing WAV to a pipe leave (espeak-ng --stdout writes
// 0x7ffff000, others 0xffffffff): such a chunk runs to the end of the file.
const streamedSize = 0x7fff0000

// wavAudio is the audio of a WAV file, still in its own format.
type wavAudio struct {
	tag      uint16 // tagPCM, tagFloat, tagALaw or tagULaw
	channels int
	rate     int
	bits     int
	data     []byte // whole frames
}

// parseWAV finds the format and the audio of a WAV file.
func parseWAV(name string, b []byte) (*wavAudio, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{Name: name, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case len(b) >= 4 && string(b[:4]) == "RIFX":
		return nil, bad("big-endian (RIFX) WAV files are not supported")
	case len(b) < 4 || string(b[:4]) != "RIFF":
		return nil, bad("not a WAV file (no RIFF header)")
	case len(b) < 12:
		return nil, bad("truncated WAV file (%d bytes, too short for a RIFF header)", len(b))
	case string(b[8:12]) != "WAVE":
		return nil, bad("not a WAV file (RIFF form %q, want \"WAVE\")", b[8:12])
	}
	var (
		w       wavAudio
		fmtSeen bool
		data    []byte
		hasData bool
	)
	for pos := int64(12); !(fmtSeen && hasData); {
		if pos+8 > int64(len(b)) {
			switch {
			case !fmtSeen && !hasData:
				return nil, bad("no fmt or data chunk")
			case !fmtSeen:
				return nil, bad("no fmt chunk")
			default:
				return nil, bad("no data chunk")
			}
		}
		id := string(b[pos : pos+4])
		size := int64(binary.LittleEndian.Uint32(b[pos+4:]))
		body := pos + 8
		avail := int64(len(b)) - body
		switch id {
		case "fmt ":
			if fmtSeen {
				return nil, bad("two fmt chunks")
			}
			if size > avail {
				return nil, bad("truncated fmt chunk (%d bytes, %d present)", size, avail)
			}
			if err := w.parseFormat(b[body:body+size], bad); err != nil {
				return nil, err
			}
			fmtSeen = true
		case "data":
			if hasData {
				return nil, bad("two data chunks")
			}
			if size > avail {
				if size < streamedSize {
					return nil, bad("truncated data chunk (%d bytes, %d present)", size, avail)
				}
				size = avail
			}
			data, hasData = b[body:body+size], true
		default:
			if size > avail {
				return nil, bad("truncated %q chunk (%d bytes, %d present)", id, size, avail)
			}
		}
		pos = body + size + size&1 // chunks are padded to an even size
	}
	frame := w.channels * w.bits / 8
	w.data = data[:len(data)/frame*frame]
	if len(w.data) == 0 {
		return nil, bad("no audio (empty data chunk)")
	}
	return &w, nil
}

// parseFormat reads a fmt chunk into w.
func (w *wavAudio) parseFormat(c []byte, bad func(string, ...any) error) error {
	if len(c) < 16 {
		return bad("fmt chunk too short (%d bytes, need 16)", len(c))
	}
	tag := binary.LittleEndian.Uint16(c[0:])
	w.channels = int(binary.LittleEndian.Uint16(c[2:]))
	w.rate = int(binary.LittleEndian.Uint32(c[4:]))
	align := int(binary.LittleEndian.Uint16(c[12:]))
	w.bits = int(binary.LittleEndian.Uint16(c[14:]))
	if tag == tagExtensible {
		if len(c) < 40 {
			return bad("WAVE_FORMAT_EXTENSIBLE fmt chunk too short (%d bytes, need 40)", len(c))
		}
		if string(c[26:40]) != guidTail {
			return bad("unsupported WAVE_FORMAT_EXTENSIBLE sub-format %x", c[24:40])
		}
		tag = binary.LittleEndian.Uint16(c[24:])
	}
	w.tag = tag
	ok := false
	switch tag {
	case tagPCM:
		ok = w.bits == 8 || w.bits == 16 || w.bits == 24 || w.bits == 32
	case tagFloat:
		ok = w.bits == 32 || w.bits == 64
	case tagALaw, tagULaw:
		ok = w.bits == 8
	default:
		if n, known := formatNames[tag]; known {
			return bad("unsupported audio format %s (format tag %#04x); use PCM, µ-law or A-law", n, tag)
		}
		return bad("unsupported audio format tag %#04x; use PCM, µ-law or A-law", tag)
	}
	switch {
	case !ok:
		return bad("unsupported sample size: %d bits for format tag %#04x", w.bits, tag)
	case w.channels == 0:
		return bad("no channels")
	case w.rate < 1000 || w.rate > 768000:
		return bad("unsupported sample rate %d Hz (need 1 to 768 kHz)", w.rate)
	case align != w.channels*w.bits/8:
		return bad("block align %d does not match %d channels of %d bits", align, w.channels, w.bits)
	}
	return nil
}

// mono decodes the audio to one channel, averaging the channels, in
// 16-bit units.
func (w *wavAudio) mono() []float32 {
	size := w.bits / 8
	frame := w.channels * size
	out := make([]float32, len(w.data)/frame)
	gain := 1 / float64(w.channels)
	for i := range out {
		f := w.data[i*frame : (i+1)*frame]
		var sum float64
		for c := range w.channels {
			sum += w.sample(f[c*size : (c+1)*size])
		}
		out[i] = float32(sum * gain)
	}
	return out
}

// sample decodes one sample to 16-bit units.
func (w *wavAudio) sample(b []byte) float64 {
	switch w.tag {
	case tagULaw:
		return float64(g711.DecodeUlaw(b[0]))
	case tagALaw:
		return float64(g711.DecodeAlaw(b[0]))
	case tagFloat:
		var v float64
		if w.bits == 32 {
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		} else {
			v = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		if math.IsNaN(v) {
			return 0
		}
		return max(-32768, min(32767, v*32768))
	}
	switch w.bits { // PCM
	case 8:
		return float64((int(b[0]) - 128) << 8) // 8-bit PCM is unsigned
	case 16:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case 24:
		return float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)) / 65536
	default:
		return float64(int32(binary.LittleEndian.Uint32(b))) / 65536
	}
}
