package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-audio/wav"

	"github.com/ivrflow/ivrflow/internal/browser"
	"github.com/ivrflow/ivrflow/media/audio"
	"github.com/ivrflow/ivrflow/media/g711"
	"github.com/ivrflow/ivrflow/workflows"
)

var phoneLine = regexp.MustCompile(`softphone\s+(http://\S+)/phone/`)

// mediaStatus is GET /calls/ID of the media worker.
type mediaStatus struct {
	State      string `json:"state"`
	Digits     string `json:"digits"`
	EndReason  string `json:"end_reason"`
	Transcript []struct {
		AtMS int64  `json:"at_ms"`
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"transcript"`
}

func (m mediaStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "state %s, digits %q, end %q\n", m.State, m.Digits, m.EndReason)
	for _, e := range m.Transcript {
		fmt.Fprintf(&b, "  %6d ms  %-7s %s\n", e.AtMS, e.Kind, e.Text)
	}
	return b.String()
}

func (m mediaStatus) has(kind, text string) bool {
	for _, e := range m.Transcript {
		if e.Kind == kind && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

func getStatus(t *testing.T, url string) mediaStatus {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st mediaStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return st
}

// waitStatus polls the call's status until ok holds.
func waitStatus(t *testing.T, url string, within time.Duration, what string, ok func(mediaStatus) bool) mediaStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := getStatus(t, url)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; the call:\n%s", within, what, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserCall calls the sound-check flow from Chromium through the media
// worker of ivrflow dev: the browser's fake microphone says a sentence and
// then plays the tones of 1 5 9 #, and the test presses 1 2 3 on the
// softphone's keypad (RFC 4733). It checks both sets of digits and where
// each came from, the flow's path and variables, that the recording holds
// what the microphone said, and that the browser heard the prompts.
func TestBrowserCall(t *testing.T) { browserCall(t, false) }

// TestBrowserCallOpus is TestBrowserCall with a browser that offers only
// Opus: the media worker decodes it (the caller hears no prompts: there is
// no Opus encoder), and Chromium's RFC 4733 events come stamped with the
// Opus clock.
func TestBrowserCallOpus(t *testing.T) { browserCall(t, true) }

// opusOnly makes the page's codec preferences Opus and telephone-event
// only, whatever it asks for.
const opusOnly = `(() => {
	const set = RTCRtpTransceiver.prototype.setCodecPreferences;
	RTCRtpTransceiver.prototype.setCodecPreferences = function (codecs) {
		return set.call(this, codecs.filter(c => /opus|telephone-event/i.test(c.mimeType)));
	};
	return true;
})()`

func browserCall(t *testing.T, opus bool) {
	data := t.TempDir()
	speech := "The quick brown fox jumps over the lazy dog, twice."
	mic, tl := browser.FakeMic(t, data,
		browser.Silence(9*time.Second), // the record step starts 4 to 5 s into the call; margin for a slow machine
		browser.Speech(speech),
		browser.Silence(3500*time.Millisecond),
		browser.Digits("159#", 100*time.Millisecond, 100*time.Millisecond, -10),
		browser.Silence(60*time.Second),
	)
	dev, d := startDev(t, "--memory", "--port", "0", "--data", data, "--flows", "../flows")
	m := phoneLine.FindStringSubmatch(dev.output())
	if m == nil {
		t.Fatalf("ivrflow dev printed no softphone URL:\n%s", dev.output())
	}
	phoneURL := m[1]

	ctx, err := browser.Start(context.Background(), t, browser.Options{FakeMic: mic})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(phoneURL+"/phone/")); err != nil {
		t.Fatal(err)
	}
	if _, err := browser.Wait[bool](ctx, `typeof window.phone === 'object' && typeof phone.call === 'function'`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if opus {
		if _, err := browser.Eval[bool](ctx, opusOnly); err != nil {
			t.Fatal(err)
		}
	}
	id, err := browser.Eval[string](ctx, `phone.call('sound-check')`)
	if err != nil {
		t.Fatalf("phone.call: %v", err)
	}
	callURL := phoneURL + "/calls/" + id

	// The in-band tones end the first entry.
	waitStatus(t, callURL, 60*time.Second, "the in-band digits 159#", func(st mediaStatus) bool {
		return strings.Contains(st.Digits, "159#")
	})
	// Then the keypad, once the second entry listens.
	waitStatus(t, callURL, 30*time.Second, "the second collect's prompt", func(st mediaStatus) bool {
		return st.has("prompt", "more-keys")
	})
	// The browser has heard the prompts so far.
	stats, err := browser.Eval[map[string]any](ctx, `phone.stats()`)
	if err != nil {
		t.Fatalf("phone.stats: %v", err)
	}
	t.Logf("the browser's statistics: %v", stats)
	if codec, _ := stats["sendCodec"].(string); opus != strings.Contains(strings.ToLower(codec), "opus") {
		t.Errorf("the browser sends %q", codec)
	}
	if !opus {
		if n, _ := stats["packetsReceived"].(float64); n < 100 {
			t.Errorf("the browser received %v audio packets: %v", n, stats)
		}
		if e, _ := stats["totalAudioEnergy"].(float64); e <= 0 {
			t.Errorf("the browser heard no audio energy: %v", stats)
		}
	}
	if st, err := browser.Eval[map[string]any](ctx, `phone.state()`); err != nil || st["canInsertDTMF"] != true {
		t.Errorf("the page cannot send RFC 4733 digits: %v %v", st, err)
	}
	if _, err := browser.Eval[any](ctx, `phone.press('123')`); err != nil {
		t.Fatalf("phone.press: %v", err)
	}
	st := waitStatus(t, callURL, 40*time.Second, "the call to end", func(st mediaStatus) bool {
		return st.State == "terminated"
	})
	t.Logf("the call:\n%s", st)
	if st.Digits != "159#123" {
		t.Errorf("digits %q, want 159#123", st.Digits)
	}
	for _, want := range []string{"1 (in-band)", "5 (in-band)", "9 (in-band)", "# (in-band)", "1 (RFC 4733)", "2 (RFC 4733)", "3 (RFC 4733)"} {
		if !st.has("digit", want) {
			t.Errorf("no digit %s in the transcript", want)
		}
	}
	if !strings.Contains(st.EndReason, "flow") {
		t.Errorf("end reason %q: the flow should have hung up", st.EndReason)
	}

	// The flow took the path the digits say, with the variables they give.
	c := temporalClient(t, d)
	var res workflows.CallResult
	if err := c.GetWorkflow(ctx, "call-"+id, "").Get(ctx, &res); err != nil {
		t.Fatalf("the call's workflow: %v", err)
	}
	if res.Reason != "hangup" || res.Vars["tones"] != "159" || res.Vars["keyed"] != "123" {
		t.Errorf("result: %+v", res)
	}
	if !opus {
		saveHistory(t, c, "call-"+id, "webrtc-sound-check")
	}
	words, _ := res.Vars["words"].(map[string]any)
	uri, _ := words["uri"].(string)
	if words["status"] != "ok" || !strings.HasPrefix(uri, "file://") {
		t.Fatalf("recording variable: %+v", words)
	}

	// The recording holds the sentence: its best match against the
	// microphone's speech, resampled to 8 kHz, is close to perfect.
	rec := readWAV(t, strings.TrimPrefix(uri, "file://"))
	src := micAt8k(t, mic)
	var sp browser.Span
	for _, s := range tl {
		if strings.HasPrefix(s.Label, "speech") {
			sp = s
		}
	}
	speechPart := src[int(sp.Start.Seconds()*8000):int(sp.End.Seconds()*8000)]
	corr, lag := bestCorrelation(rec, speechPart)
	t.Logf("recording %.2fs; speech found at %.3fs with correlation %.3f", float64(len(rec))/8000, float64(lag)/8000, corr)
	// Opus is lossy, and pion's decoder skips a few packets.
	if want := map[bool]float64{false: 0.9, true: 0.75}[opus]; corr < want {
		t.Errorf("the recording does not hold the microphone's speech: best correlation %.3f", corr)
	}

}

// readWAV reads a 16-bit mono WAV.
func readWAV(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := wav.NewDecoder(f)
	buf, err := dec.FullPCMBuffer()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if buf.Format.SampleRate != 8000 || buf.Format.NumChannels != 1 {
		t.Fatalf("%s: %d Hz, %d channels; want 8000 Hz mono", path, buf.Format.SampleRate, buf.Format.NumChannels)
	}
	out := make([]float64, len(buf.Data))
	for i, v := range buf.Data {
		out[i] = float64(v)
	}
	return out
}

// micAt8k is the fake microphone as the media worker would hear it: 8 kHz
// through G.711.
func micAt8k(t *testing.T, path string) []float64 {
	t.Helper()
	p, err := audio.LoadPrompt(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for i := range p.Frames() {
		for _, u := range p.Frame(i) {
			out = append(out, float64(g711.DecodeUlaw(u)))
		}
	}
	return out
}

// bestCorrelation slides y along x and returns the highest normalised
// correlation and the offset in x where it is found.
func bestCorrelation(x, y []float64) (float64, int) {
	var ey float64
	for _, v := range y {
		ey += v * v
	}
	best, at := 0.0, 0
	for lag := 0; lag+len(y) <= len(x); lag++ {
		var dot, ex float64
		seg := x[lag : lag+len(y)]
		for i, v := range seg {
			dot += v * y[i]
			ex += v * v
		}
		if ex == 0 || ey == 0 {
			continue
		}
		if c := dot / math.Sqrt(ex*ey); c > best {
			best, at = c, lag
		}
	}
	return best, at
}
