package audio

import (
	"errors"
	"testing"
	"time"
)

// FuzzLoadPrompt feeds the WAV parser arbitrary files: it must return a
// prompt or a *FormatError, never panic, and a prompt must be well formed.
func FuzzLoadPrompt(f *testing.F) {
	tone := sine(400, 8000, 1000, 10000)
	for _, ft := range formats {
		x := tone[:200*ft.channels]
		f.Add(ft.file(x))
	}
	f.Add(wavFile(tagPCM, 3, 22050, 24, encode(tone[:99], tagPCM, 24), true))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\xf0\xff\x7f\x01\x02\x03\x04"))
	f.Add([]byte("RIFF"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePrompt("fuzz.wav", data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			return
		}
		n := p.Frames()
		if n == 0 || p.Duration() <= 0 || p.Duration() > time.Duration(n)*FrameDuration {
			t.Fatalf("%d frames, duration %v", n, p.Duration())
		}
		for i := range n {
			if len(p.Frame(i)) != FrameSamples {
				t.Fatalf("frame %d has %d bytes", i, len(p.Frame(i)))
			}
		}
		if p.Frame(n) != nil {
			t.Fatal("frame past the end")
		}
	})
}
