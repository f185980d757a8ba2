package audio

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// stream is a test signal of 20 ms packets starting at RTP timestamp ts0.
type stream struct {
	ts0 uint32
	sig []int16
}

func newStream(packets int, ts0 uint32) stream {
	return stream{ts0: ts0, sig: noise(packets*FrameSamples, 20000, uint64(ts0))}
}

func (s stream) packets() int { return len(s.sig) / FrameSamples }

// packet returns packet i's timestamp and samples.
func (s stream) packet(i int) (uint32, []int16) {
	return s.ts0 + uint32(i*FrameSamples), s.sig[i*FrameSamples : (i+1)*FrameSamples]
}

// without returns the signal with the given packets silent.
func (s stream) without(lost ...int) []int16 {
	w := slices.Clone(s.sig)
	for _, i := range lost {
		clear(w[i*FrameSamples : (i+1)*FrameSamples])
	}
	return w
}

// inOrder returns 0 … n-1 with the given packets left out.
func inOrder(n int, skip ...int) []int {
	var o []int
	for i := range n {
		if !slices.Contains(skip, i) {
			o = append(o, i)
		}
	}
	return o
}

func newTestRecorder(t testing.TB) (*Recorder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	return r, path
}

// record writes s's packets in the given order, closes the recorder and
// returns the file's samples.
func record(t *testing.T, s stream, order []int) ([]int16, Info) {
	t.Helper()
	r, path := newTestRecorder(t)
	for _, i := range order {
		if err := r.Write(s.packet(i)); err != nil {
			t.Fatal(err)
		}
	}
	info, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := readWAV(t, path)
	if info.Samples != int64(len(got)) {
		t.Errorf("Info.Samples = %d, file has %d", info.Samples, len(got))
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != info.Bytes {
		t.Errorf("Info.Bytes = %d, file: %v %v", info.Bytes, fi.Size(), err)
	}
	if info.Duration != time.Duration(info.Samples)*125*time.Microsecond || info.Path != path {
		t.Errorf("Info = %+v", info)
	}
	return got, info
}

// same reports the first difference between got and want.
func same(t *testing.T, got, want []int16) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d samples, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("sample %d (%.4f s) = %d, want %d", i, float64(i)/SampleRate, got[i], want[i])
			return
		}
	}
}

func TestRecorderRoundTrip(t *testing.T) {
	s := newStream(185, 123456789) // 3.7 s: several flushes and a partial batch
	got, info := record(t, s, inOrder(s.packets()))
	same(t, got, s.sig)
	if info.Samples != 185*FrameSamples || info.Duration != 3700*time.Millisecond || info.Bytes != 44+2*185*FrameSamples {
		t.Errorf("Info = %+v", info)
	}
	if info.Late != 0 || info.Resets != 0 {
		t.Errorf("Info = %+v, want no late packets or resets", info)
	}
}

// TestRecorderGap is Chromium's DTMF pause: 120 ms without audio packets.
func TestRecorderGap(t *testing.T) {
	s := newStream(50, 1000)
	lost := []int{20, 21, 22, 23, 24, 25}
	got, _ := record(t, s, inOrder(50, lost...))
	same(t, got, s.without(lost...))
	// The hole is 120 ms of silence exactly, and the audio either side is
	// where it was sent.
	if len(got) == len(s.sig) && slices.ContainsFunc(got[20*FrameSamples:26*FrameSamples], func(v int16) bool { return v != 0 }) {
		t.Error("hole not silent")
	}
}

// TestRecorderGapAtEnd: a lost packet right before the last one.
func TestRecorderGapAtEnd(t *testing.T) {
	s := newStream(10, 77)
	got, _ := record(t, s, inOrder(10, 8))
	same(t, got, s.without(8))
}

func TestRecorderReorder(t *testing.T) {
	s := newStream(40, 5000)
	order := inOrder(40)
	order[3], order[4] = order[4], order[3]                     // a swap
	order = slices.Insert(slices.Delete(order, 10, 11), 12, 10) // 10 overtaken by 11 and 12
	got, info := record(t, s, order)
	same(t, got, s.sig)
	if info.Late != 0 {
		t.Errorf("Late = %d, want 0", info.Late)
	}
}

// TestRecorderReorderAtStart: the first packet to arrive is not the first
// one sent.
func TestRecorderReorderAtStart(t *testing.T) {
	s := newStream(20, 9999)
	order := append([]int{1, 0}, inOrder(20, 0, 1)...)
	got, _ := record(t, s, order)
	same(t, got, s.sig)
}

func TestRecorderLate(t *testing.T) {
	s := newStream(40, 42)
	order := inOrder(40)
	order = slices.Insert(slices.Delete(order, 10, 11), 13, 10) // overtaken by three: 60 ms
	got, info := record(t, s, order)
	same(t, got, s.without(10))
	if info.Late != 1 {
		t.Errorf("Late = %d, want 1", info.Late)
	}
}

func TestRecorderDuplicates(t *testing.T) {
	s := newStream(30, 314159)
	r, path := newTestRecorder(t)
	for i := range 30 {
		ts, p := s.packet(i)
		for range 2 {
			if err := r.Write(ts, p); err != nil {
				t.Fatal(err)
			}
		}
		if i == 5 {
			// A different packet with the same timestamp: the first wins.
			ts, _ := s.packet(4)
			if err := r.Write(ts, noise(FrameSamples, 30000, 9)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	same(t, readWAV(t, path), s.sig)
}

func TestRecorderWraparound(t *testing.T) {
	s := newStream(60, 1<<32-25*FrameSamples-17)
	order := inOrder(60)
	order[25], order[26] = order[26], order[25] // reordered across the wrap
	got, _ := record(t, s, order)
	same(t, got, s.sig)
}

// TestRecorderOddPackets: packets of any size, not aligned to 20 ms, and a
// large block in one Write.
func TestRecorderOddPackets(t *testing.T) {
	sig := noise(3*SampleRate+77, 15000, 3)
	r, path := newTestRecorder(t)
	ts := uint32(555)
	for i, n := 0, 0; i < SampleRate; i += n {
		n = min(37+i%50, SampleRate-i)
		if err := r.Write(ts+uint32(i), sig[i:i+n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Write(ts+SampleRate, sig[SampleRate:]); err != nil {
		t.Fatal(err)
	}
	// A packet straddling the committed point: only its new part counts.
	if err := r.Write(ts+uint32(len(sig))-600, noise(700, 1000, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(sig), noise(700, 1000, 4)[600:]...)
	same(t, readWAV(t, path), want)
}

func TestRecorderJumps(t *testing.T) {
	const sec = SampleRate
	s := newStream(20, 7)
	cases := []struct {
		name   string
		jump   int64 // added to the timestamps of packets 10 onwards
		silent int   // samples of silence expected between packets 9 and 10
		resets int64
	}{
		{"9 s forward is silence", 9 * sec, 9 * sec, 0},
		{"10 s forward is silence", 10 * sec, 10 * sec, 0},
		{"20 s forward is a reset", 20 * sec, 0, 1},
		{"far backward is a reset", -1e9, 0, 1},
		{"2^31 forward is a reset", 1 << 31, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, path := newTestRecorder(t)
			for i := range 20 {
				ts, p := s.packet(i)
				if i >= 10 {
					ts += uint32(c.jump)
				}
				if err := r.Write(ts, p); err != nil {
					t.Fatal(err)
				}
			}
			info, err := r.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Concat(s.sig[:10*FrameSamples], make([]int16, c.silent), s.sig[10*FrameSamples:])
			same(t, readWAV(t, path), want)
			if info.Resets != c.resets {
				t.Errorf("Resets = %d, want %d", info.Resets, c.resets)
			}
		})
	}
}

func TestRecorderEmpty(t *testing.T) {
	r, path := newTestRecorder(t)
	if got := readWAV(t, path); len(got) != 0 { // valid before any audio
		t.Errorf("new recording has %d samples", len(got))
	}
	if err := r.Write(0, nil); err != nil {
		t.Fatal(err)
	}
	info, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Samples != 0 || info.Bytes != 44 || info.Duration != 0 {
		t.Errorf("Info = %+v", info)
	}
	if got := readWAV(t, path); len(got) != 0 {
		t.Errorf("closed empty recording has %d samples", len(got))
	}
}

// TestRecorderUnclosed reads the file while it is still being written,
// as after a crash: it holds every flushed batch.
func TestRecorderUnclosed(t *testing.T) {
	s := newStream(115, 8) // 2.3 s
	r, path := newTestRecorder(t)
	for i := range s.packets() {
		if err := r.Write(s.packet(i)); err != nil {
			t.Fatal(err)
		}
	}
	committed := len(s.sig) - int(windowSamples)
	flushed := committed / batchSamples * batchSamples
	got := readWAV(t, path)
	same(t, got, s.sig[:flushed])
	t.Logf("unclosed: %d of %d samples readable (%v lost)", len(got), len(s.sig),
		time.Duration(len(s.sig)-len(got))*sampleTime)

	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	same(t, readWAV(t, path), s.sig[:committed])

	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
	same(t, readWAV(t, path), s.sig)
}

// TestRecorderKilled kills a process that is recording, and reads what it
// left behind.
func TestRecorderKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.wav")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderKilledHelper$")
	cmd.Env = append(os.Environ(), "AUDIO_TEST_KILLED_WAV="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "recorded") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	s := newStream(115, 8)
	got := readWAV(t, path)
	lost := time.Duration(len(s.sig)-len(got)) * sampleTime
	if lost > FlushInterval+ReorderWindow {
		t.Errorf("lost %v of audio, more than %v", lost, FlushInterval+ReorderWindow)
	}
	same(t, got, s.sig[:len(got)])
	t.Logf("killed: %d of %d samples readable (%v lost)", len(got), len(s.sig), lost)
}

// TestRecorderKilledHelper records in the process TestRecorderKilled
// kills; it does nothing in a normal test run.
func TestRecorderKilledHelper(t *testing.T) {
	path := os.Getenv("AUDIO_TEST_KILLED_WAV")
	if path == "" {
		return
	}
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	s := newStream(115, 8)
	for i := range s.packets() {
		if err := r.Write(s.packet(i)); err != nil {
			t.Fatal(err)
		}
	}
	os.Stdout.WriteString("recorded\n")
	time.Sleep(time.Minute) // until killed; never closed
}

func TestRecorderClose(t *testing.T) {
	r, _ := newTestRecorder(t)
	s := newStream(10, 1)
	for i := range 10 {
		if err := r.Write(s.packet(i)); err != nil {
			t.Fatal(err)
		}
	}
	info1, err1 := r.Close()
	info2, err2 := r.Close()
	if err1 != nil || err2 != nil || info1 != info2 || info1.Samples != 10*FrameSamples {
		t.Errorf("Close twice: %+v, %v; %+v, %v", info1, err1, info2, err2)
	}
	err := r.Write(s.packet(0))
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "rec.wav") {
		t.Errorf("Write after Close: %v, want ErrClosed naming the file", err)
	}
	if err := r.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
}

// TestRecorderCloseRace: late packets racing hangup (run with -race).
func TestRecorderCloseRace(t *testing.T) {
	r, path := newTestRecorder(t)
	s := newStream(200, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range s.packets() {
			if err := r.Write(s.packet(i)); err != nil {
				if !errors.Is(err, ErrClosed) {
					t.Error(err)
				}
				return
			}
			if i == 20 {
				runtime.Gosched()
			}
		}
	})
	time.Sleep(time.Millisecond)
	info, err := r.Close()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := readWAV(t, path)
	if int64(len(got)) != info.Samples {
		t.Errorf("file has %d samples, Info %d", len(got), info.Samples)
	}
	same(t, got, s.sig[:len(got)])
}

func TestNewRecorderError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "rec.wav")
	_, err := NewRecorder(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("NewRecorder(%s) = %v, want an error naming the file", path, err)
	}
}
