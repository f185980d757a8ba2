package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"github.com/ivrflow/ivrflow/media/g711"
)

// dtmfRun runs ivrflow dtmf in-process.
func dtmfRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"dtmf"}, args...), func(string) string { return "" }, &out, &errb)
	return code, out.String(), errb.String()
}

// keypad gives each digit's row and column frequencies.
var keypad = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477},
	'5': {770, 1336}, '9': {852, 1477}, '#': {941, 1477},
}

// dialled returns digits as DTMF at rate: 100 ms of silence, then 50 ms
// tones at −10 dBm0 each with 50 ms pauses, then 100 ms of silence. Digit i
// therefore lasts from 100+100i to 150+100i ms.
func dialled(t *testing.T, digits string, rate int) []int16 {
	t.Helper()
	const amp = 22827 * 0.3162 // −10 dBm0: 0 dBm0 is 3.14 dB below full scale
	ms := func(d int) int { return d * rate / 1000 }
	s := make([]int16, ms(100))
	for _, d := range digits {
		f, ok := keypad[d]
		if !ok {
			t.Fatalf("no tones for %q", d)
		}
		start := len(s)
		for n := range ms(50) {
			x := float64(start+n) / float64(rate)
			s = append(s, int16(math.Round(amp*(math.Sin(2*math.Pi*f[0]*x)+math.Sin(2*math.Pi*f[1]*x)))))
		}
		s = append(s, make([]int16, ms(50))...)
	}
	return append(s, make([]int16, ms(50))...)
}

// writePCM writes samples as a 16-bit PCM WAV with go-audio/wav, as the
// media worker records.
func writePCM(t *testing.T, path string, rate int, samples []int16) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]int, len(samples))
	for i, s := range samples {
		data[i] = int(s)
	}
	enc := wav.NewEncoder(f, rate, 16, 1, 1)
	if err := enc.Write(&audio.IntBuffer{Format: &audio.Format{NumChannels: 1, SampleRate: rate}, Data: data, SourceBitDepth: 16}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeUlaw writes samples as an 8 kHz µ-law WAV laid out as sox writes one:
// an 18-byte fmt chunk, a fact chunk, the data, and then an odd-sized LIST
// chunk, so the reader must skip chunks and mind the padding.
func writeUlaw(t *testing.T, path string, samples []int16) {
	t.Helper()
	var b bytes.Buffer
	chunk := func(id string, body []byte) {
		b.WriteString(id)
		binary.Write(&b, binary.LittleEndian, uint32(len(body)))
		b.Write(body)
		if len(body)%2 == 1 {
			b.WriteByte(0)
		}
	}
	fmtChunk := binary.LittleEndian.AppendUint16(nil, 7) // µ-law
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 1)
	fmtChunk = binary.LittleEndian.AppendUint32(fmtChunk, 8000)
	fmtChunk = binary.LittleEndian.AppendUint32(fmtChunk, 8000)
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 1)
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 8)
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 0)
	data := make([]byte, len(samples)|1) // odd, to be padded
	for i, s := range samples {
		data[i] = g711.EncodeUlaw(s)
	}
	data[len(data)-1] = g711.EncodeUlaw(0)

	b.WriteString("RIFF\x00\x00\x00\x00WAVE")
	chunk("fmt ", fmtChunk)
	chunk("fact", binary.LittleEndian.AppendUint32(nil, uint32(len(data))))
	chunk("data", data)
	chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00test\x00"))
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dtmfOutput is what ivrflow dtmf --json prints.
type dtmfOutput struct {
	Digits string `json:"digits"`
	Events []struct {
		Digit   string `json:"digit"`
		StartMS int64  `json:"start_ms"`
		EndMS   int64  `json:"end_ms"`
	} `json:"events"`
}

func TestDtmfFormats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		write func(path string)
	}{
		{"pcm-8k.wav", func(p string) { writePCM(t, p, 8000, dialled(t, "123#", 8000)) }},
		{"pcm-16k.wav", func(p string) { writePCM(t, p, 16000, dialled(t, "123#", 16000)) }},
		{"ulaw-8k.wav", func(p string) { writeUlaw(t, p, dialled(t, "123#", 8000)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			tt.write(path)

			code, out, errOut := dtmfRun(t, "--json", path)
			if code != 0 || errOut != "" {
				t.Fatalf("dtmf --json = %d, stderr %q; want 0 and nothing", code, errOut)
			}
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			var got dtmfOutput
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("dtmf --json printed %q: %v", out, err)
			}
			if dec.More() || !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
				t.Fatalf("dtmf --json printed %q, want exactly one JSON object on one line", out)
			}
			if got.Digits != "123#" || len(got.Events) != 4 {
				t.Fatalf("dtmf --json = %s, want digits 123# and 4 events", out)
			}
			for i, ev := range got.Events {
				start := int64(100 + 100*i)
				if ev.Digit != got.Digits[i:i+1] || abs64(ev.StartMS-start) > 4 || abs64(ev.EndMS-start-50) > 4 {
					t.Errorf("event %d = %+v, want %c from %d to %d ms (±4)", i, ev, got.Digits[i], start, start+50)
				}
			}

			code, out, _ = dtmfRun(t, path)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != 0 || len(lines) != 5 || lines[0] != "123#" || !strings.HasPrefix(lines[1], "1  ") || !strings.HasPrefix(lines[4], "#  ") {
				t.Errorf("dtmf = %d, stdout:\n%s\nwant 0, the digits, then a line per digit", code, out)
			}
		})
	}
}

func TestDtmfJSONShape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.wav")
	writePCM(t, path, 8000, dialled(t, "5", 8000))
	_, out, _ := dtmfRun(t, "--json", path)
	want := `{"digits":"5","events":[{"digit":"5","start_ms":101,"end_ms":148}]}` + "\n"
	if out != want {
		t.Errorf("dtmf --json printed %q, want %q", out, want)
	}

	silent := filepath.Join(t.TempDir(), "silent.wav")
	writePCM(t, silent, 8000, make([]int16, 8000))
	if _, out, _ := dtmfRun(t, "--json", silent); out != `{"digits":"","events":[]}`+"\n" {
		t.Errorf("dtmf --json on silence printed %q", out)
	}
	if code, out, _ := dtmfRun(t, silent); code != 0 || out != "no digits in "+silent+"\n" {
		t.Errorf("dtmf on silence = %d, %q", code, out)
	}
}

func TestDtmfErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(text, []byte("not audio at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stereo := filepath.Join(dir, "stereo.wav")
	writeHeaderOnly(t, stereo, 1, 2, 8000, 16)
	cd := filepath.Join(dir, "cd.wav")
	writeHeaderOnly(t, cd, 1, 1, 44100, 16)
	alaw := filepath.Join(dir, "alaw.wav")
	writeHeaderOnly(t, alaw, 6, 1, 8000, 8)
	missing := filepath.Join(dir, "missing.wav")

	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"missing file", []string{missing}, 1, missing + ": no such file"},
		{"not a WAV", []string{text}, 1, text + ": not a WAV file"},
		{"stereo", []string{stereo}, 1, stereo + ": unsupported WAV file with 2 channels"},
		{"44.1 kHz", []string{cd}, 1, cd + ": unsupported sample rate 44100 Hz"},
		{"A-law", []string{alaw}, 1, alaw + ": unsupported WAV format A-law"},
		{"no file", nil, 2, "Usage: ivrflow dtmf [--json] FILE.wav"},
		{"two files", []string{text, cd}, 2, "Usage: ivrflow dtmf"},
		{"unknown flag", []string{"--csv", text}, 2, "flag provided but not defined: -csv"},
	}
	for _, tt := range tests {
		code, out, errOut := dtmfRun(t, tt.args...)
		if code != tt.code || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: dtmf = %d, stdout %q, stderr %q; want %d and %q in stderr", tt.name, code, out, errOut, tt.code, tt.want)
		}
	}
	if code, _, errOut := dtmfRun(t, "--help"); code != 0 || !strings.Contains(errOut, "ITU-T Q.24") {
		t.Errorf("dtmf --help = %d, %q", code, errOut)
	}
}

// writeHeaderOnly writes a WAV file of the given format with a little
// silence.
func writeHeaderOnly(t *testing.T, path string, format, channels uint16, rate uint32, bits uint16) {
	t.Helper()
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, format)
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, channels*bits/8)
	b = binary.LittleEndian.AppendUint16(b, bits)
	b = append(b, "data\x40\x00\x00\x00"...)
	b = append(b, make([]byte, 64)...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDecimate checks the 16 to 8 kHz filter: DTMF tones pass at their
// level and what would alias is removed.
func TestDecimate(t *testing.T) {
	tests := []struct {
		hz     float64
		minDB  float64
		maxDB  float64
		passes string
	}{
		{697, -0.1, 0.1, "passes"},
		{1633, -0.1, 0.1, "passes"},
		{2900, -0.2, 0.1, "passes"},
		{4500, math.Inf(-1), -70, "is removed"},
		{6000, math.Inf(-1), -70, "is removed"},
	}
	for _, tt := range tests {
		in := make([]int16, 16000)
		for n := range in {
			in[n] = int16(math.Round(10000 * math.Sin(2*math.Pi*tt.hz*float64(n)/16000)))
		}
		out := decimate(in)
		var e float64
		for _, v := range out[1000:7000] { // away from the edges
			e += float64(v) * float64(v)
		}
		db := 10 * math.Log10(e/6000/(10000*10000/2))
		if db < tt.minDB || db > tt.maxDB {
			t.Errorf("%v Hz comes out at %.2f dB; want it %s (%v to %v dB)", tt.hz, db, tt.passes, tt.minDB, tt.maxDB)
		}
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
