package audio

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkRecorderWrite records a stream, one 20 ms packet per op,
// including the file writes every FlushInterval.
func BenchmarkRecorderWrite(b *testing.B) {
	r, _ := newTestRecorder(b)
	defer r.Close()
	frame := noise(FrameSamples, 20000, 1)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := r.Write(uint32(i*FrameSamples), frame); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	perSecond := float64(b.N) / float64(SampleRate/FrameSamples) // seconds of audio
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/perSecond, "allocs/audio-s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/perSecond, "B/audio-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perSecond/1e3, "µs/audio-s")
}

// BenchmarkNewRecorder creates and closes a recorder, per op: its fixed
// cost.
func BenchmarkNewRecorder(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rec.wav")
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewRecorder(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecorderLive measures the heap a recording call holds: 100
// recorders that have each recorded 2 s.
func BenchmarkRecorderLive(b *testing.B) {
	const n = 100
	dir := b.TempDir()
	frame := noise(FrameSamples, 20000, 1)
	var live float64
	for b.Loop() {
		runtime.GC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		rs := make([]*Recorder, n)
		for i := range rs {
			r, err := NewRecorder(filepath.Join(dir, fmt.Sprintf("%d.wav", i)))
			if err != nil {
				b.Fatal(err)
			}
			for k := range 100 {
				r.Write(uint32(k*FrameSamples), frame)
			}
			rs[i] = r
		}
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		live = float64(ms1.HeapAlloc-ms0.HeapAlloc) / n
		for _, r := range rs {
			r.Close()
		}
		runtime.KeepAlive(rs)
	}
	b.ReportMetric(live, "live-B/recorder")
}

// BenchmarkLoadPrompt converts 10 s of 16-bit audio at each rate, per op,
// from memory (ParsePrompt) and, for 16 kHz, from a file.
func BenchmarkLoadPrompt(b *testing.B) {
	for _, rate := range []int{8000, 16000, 22050, 44100, 48000} {
		data := wavFile(tagPCM, 1, rate, 16, encode(sine(10*rate, rate, 1000, 10000), tagPCM, 16), false)
		b.Run(fmt.Sprintf("%dHz", rate), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParsePrompt("bench.wav", data); err != nil {
					b.Fatal(err)
				}
			}
		})
		if rate == 16000 {
			path := filepath.Join(b.TempDir(), "prompt.wav")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			b.Run("file16000Hz", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := LoadPrompt(path); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
