package browser

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ivrflow/ivrflow/media/dtmf"
)

func TestChromiumMissing(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	_, err := Start(t.Context(), t, Options{})
	if err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Fatalf("Start without Chromium: %v; want an error saying to install it", err)
	}
}

func TestMissingFakeMic(t *testing.T) {
	_, err := Start(t.Context(), t, Options{FakeMic: filepath.Join(t.TempDir(), "none.wav")})
	if err == nil || !strings.Contains(err.Error(), "none.wav") {
		t.Fatalf("Start with a missing WAV: %v", err)
	}
}

// browserProcess is what a test learns of the browser it started.
type browserProcess struct {
	pid     int
	dataDir string
	args    []string
}

func inspect(t *testing.T, ctx context.Context) browserProcess {
	t.Helper()
	c := chromedp.FromContext(ctx)
	pid := c.Browser.Process().Pid
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := ctx.Value(sessionKey{}).(*session)
	return browserProcess{pid: pid, dataDir: s.dataDir, args: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
}

// TestStartStop starts and stops the browser twice and checks that
// nothing is left: no process, no profile.
func TestStartStop(t *testing.T) {
	t.Parallel()
	mic, _ := FakeMic(t, "", Silence(100*time.Millisecond))
	for i := range 2 {
		var p browserProcess
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ctx, err := Start(t.Context(), t, Options{FakeMic: mic})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := Eval[int](ctx, `1 + 2`); err != nil || n != 3 {
				t.Fatalf("1 + 2 = %d, %v", n, err)
			}
			p = inspect(t, ctx)
			if len(processesUsing(p.dataDir)) < 2 {
				t.Errorf("found %v using the profile; want the browser and its children", processesUsing(p.dataDir))
			}
			want := []string{
				"--no-sandbox",
				"--headless",
				"--use-fake-ui-for-media-stream",
				"--use-fake-device-for-media-stream",
				"--use-file-for-fake-audio-capture=" + mic + "%noloop",
				"--allow-loopback-in-peer-connection",
				"--autoplay-policy=no-user-gesture-required",
				"--disable-features=Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns",
				"--disable-background-networking",
				"--disable-component-update",
				"--disable-sync",
				"--disable-quic",
				"--no-first-run",
				"--user-data-dir=" + p.dataDir,
			}
			for _, w := range want {
				n := 0
				for _, a := range p.args {
					if a == w {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s appears %d times in %q", w, n, p.args)
				}
			}
			disabled := 0
			for _, a := range p.args {
				if strings.HasPrefix(a, "--disable-features=") {
					disabled++
				}
			}
			if disabled != 1 {
				t.Errorf("%d --disable-features switches; Chromium only reads one", disabled)
			}
		})
		if t.Failed() {
			return
		}
		if left := processesUsing(p.dataDir); len(left) > 0 {
			t.Errorf("run %d: processes %v outlived the test", i, left)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pid)); err == nil {
			if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid)); err == nil && !isZombie(stat) {
				t.Errorf("run %d: browser process %d still runs", i, p.pid)
			}
		}
		if _, err := os.Stat(p.dataDir); !os.IsNotExist(err) {
			t.Errorf("run %d: profile %s still there (%v)", i, p.dataDir, err)
		}
	}
}

// recorder is a testing.TB that records what Start logs and runs its
// cleanups on demand, as if the test had failed.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	logs     []string
	cleanups []func()
}

func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Failed() bool     { return true }
func (r *recorder) Helper()          {}
func (r *recorder) Log(args ...any)  { r.Logf("%s", fmt.Sprintln(args...)) }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// TestConsoleOnFailure checks that the console messages and uncaught
// exceptions of the page end up in the log of a failed test.
func TestConsoleOnFailure(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><script>
console.log("hello from the page", 42);
setTimeout(() => { throw new TypeError("boom in a timer"); }, 0);
Promise.reject(new Error("nobody caught me"));
</script>`)
	}))
	defer srv.Close()

	rec := &recorder{TB: t}
	defer rec.cleanup()
	ctx, err := Start(t.Context(), rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(Console(ctx)) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := Eval[chromedp.Void](ctx, `Promise.reject(new Error("evaluated rejection"))`); err == nil || !strings.Contains(err.Error(), "evaluated rejection") {
		t.Errorf("Eval of a rejected promise: %v", err)
	}
	rec.cleanup()

	log := strings.Join(rec.logs, "\n")
	for _, want := range []string{"started in", "hello from the page 42", "boom in a timer", "nobody caught me", "browser console ("} {
		if !strings.Contains(log, want) {
			t.Errorf("the failure log lacks %q:\n%s", want, log)
		}
	}
}

// micPage captures the microphone for a while and returns what it heard as
// base64 16-bit PCM, with timings. It reads the track's frames with a
// MediaStreamTrackProcessor, which queues them: a ScriptProcessorNode on the
// busy main thread of a loaded machine drops buffers, which split digits.
// An AnalyserNode measures the level as Web Audio sees it.
const micPage = `<!doctype html><title>mic</title><script>
window.capture = async (seconds) => {
  const t0 = performance.now();
  const stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  const gumMs = performance.now() - t0;
  const track = stream.getAudioTracks()[0];

  const ac = new AudioContext();
  await ac.resume();
  const analyser = ac.createAnalyser();
  analyser.fftSize = 2048;
  ac.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let maxRms = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    let s = 0;
    for (const v of buf) s += v * v;
    maxRms = Math.max(maxRms, Math.sqrt(s / buf.length));
  }, 20);

  const reader = new MediaStreamTrackProcessor({track, maxBufferSize: 10000}).readable.getReader();
  setTimeout(() => track.stop(), seconds * 1000);
  const frames = [];
  let rate = 0;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    rate = value.sampleRate;
    const data = new Float32Array(value.numberOfFrames);
    value.copyTo(data, {planeIndex: 0, format: 'f32-planar'});
    frames.push({ts: value.timestamp, data});
    value.close();
  }
  clearInterval(timer);
  await ac.close();

  // The device's samples are contiguous: join the frames. Their
  // timestamps are capture times, which jitter; a jump of over 5 ms is
  // counted as a gap.
  let n = 0, gaps = 0;
  frames.forEach((f, i) => {
    if (i > 0 && f.ts - frames[i - 1].ts - frames[i - 1].data.length / rate * 1e6 > 5000) gaps++;
    n += f.data.length;
  });
  const pcm = new Int16Array(n);
  let o = 0;
  for (const f of frames) for (const v of f.data) pcm[o++] = Math.max(-32768, Math.min(32767, Math.round(v * 32768)));
  const bytes = new Uint8Array(pcm.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return {gumMs, rate, maxRms, gaps, frames: frames.length, label: track.label, pcm: btoa(bin)};
};
</script>`

// TestFakeMicReachesPage plays a fake microphone into a page and finds its
// DTMF digits, at the right spacing, in what the page captured.
func TestFakeMicReachesPage(t *testing.T) {
	t.Parallel()
	mic, tl := FakeMic(t, "",
		Silence(700*time.Millisecond),
		Digits("2580", 100*time.Millisecond, 100*time.Millisecond, -10),
		Speech("hello"),
		Silence(200*time.Millisecond),
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, micPage)
	}))
	defer srv.Close()

	ctx, err := Start(t.Context(), t, Options{FakeMic: mic})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	type captured struct {
		GumMs, MaxRms      float64
		Rate, Gaps, Frames int
		Label, PCM         string
	}
	seconds := tl.Duration().Seconds() + 0.3
	got, err := Eval[captured](ctx, fmt.Sprintf(`capture(%g)`, seconds))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(got.PCM)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(raw)/2)
	if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, pcm); err != nil {
		t.Fatal(err)
	}
	t.Logf("getUserMedia %.0f ms; device %q; %d samples at %d Hz in %d frames, %d gaps; max RMS %.3f",
		got.GumMs, got.Label, len(pcm), got.Rate, got.Frames, got.Gaps, got.MaxRms)
	if got.MaxRms < 0.05 {
		t.Errorf("the page heard silence: max RMS %.4f of full scale", got.MaxRms)
	}

	events := digitsIn(Resample(pcm, got.Rate, dtmf.SampleRate))
	if keys := keysOf(events); keys != tl.Keys() {
		t.Fatalf("the page heard digits %q, the file has %q", keys, tl.Keys())
	}
	// Media starts flowing some time into the file; after that, the
	// digits keep the file's spacing.
	tones := tl.Tones()
	lag := tones[0].Start - events[0].Start
	t.Logf("the capture began %v into the file", lag)
	for i, ev := range events {
		if d := ev.Start + lag - tones[i].Start; d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Errorf("%c heard at %v (+%v lag), the file has it at %v", ev.Digit, ev.Start, lag, tones[i].Start)
		}
	}
}
