package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/graphsim"
)

// These tests run a real stack, with the Temporal server: run them without
// -race (a race build of the server takes several times as long).

// TestRun places a few calls through the whole stack and checks that the
// report adds up. It asserts nothing about speed.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	// A 9 s hold sees one re-prompt: the 4 s prompt, the 4 s timeout, then
	// the key during the second prompt.
	rep, err := Run(ctx, Options{Calls: 6, Rate: 3, Hold: 9 * time.Second, Progress: &progress, ProgressEvery: 2 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())

	if rep.Started != 6 || rep.Completed != 6 || rep.Failed != 0 || len(rep.Failures) != 0 {
		t.Errorf("started %d, completed %d, failed %d %v; want 6, 6, 0", rep.Started, rep.Completed, rep.Failed, rep.Failures)
	}
	if !rep.OK() && rep.MissedDeadlines.Total == 0 {
		t.Errorf("OK() = false with every call completed and no missed deadline")
	}
	if rep.PeakConcurrent < 1 || rep.PeakConcurrent > 6 {
		t.Errorf("peak concurrent = %d; want 1 to 6", rep.PeakConcurrent)
	}
	if rep.AnswerLatency.Count != 6 || rep.ToneToCommand.Count != 6 {
		t.Errorf("%d answer latencies, %d tone latencies; want one of each per call", rep.AnswerLatency.Count, rep.ToneToCommand.Count)
	}
	if rep.RepromptLateness.Count != rep.MissedDeadlines.RepromptsChecked {
		t.Errorf("%d re-prompt latenesses, %d re-prompts checked", rep.RepromptLateness.Count, rep.MissedDeadlines.RepromptsChecked)
	}
	for name, l := range map[string]Latency{"answer": rep.AnswerLatency, "tone": rep.ToneToCommand, "re-prompt": rep.RepromptLateness} {
		if !slices.IsSorted([]Millis{l.Min, l.P50, l.P95, l.P99, l.Max}) || l.Mean < l.Min || l.Mean > l.Max {
			t.Errorf("%s latency out of order: %+v", name, l)
		}
	}
	if rep.AnswerLatency.Min <= 0 || rep.ToneToCommand.Min <= 0 {
		t.Errorf("latencies must be positive: answer %+v, tone %+v", rep.AnswerLatency, rep.ToneToCommand)
	}
	if rep.Settings.MenuTimeout.D() != 4*time.Second || rep.Settings.Number != benchNumber {
		t.Errorf("settings %+v: want the embedded flow's 4s menu timeout and number", rep.Settings)
	}
	if runtime.GOOS == "linux" && (rep.Memory.PeakRSS == 0 || rep.CPU.Total <= 0) {
		t.Errorf("peak RSS %d, CPU %.2fs; want both measured", rep.Memory.PeakRSS, rep.CPU.Total)
	}
	if rep.Memory.PeakHeapInUse == 0 || rep.Memory.PeakGoroutines == 0 {
		t.Errorf("memory %+v: want the heap and goroutines sampled", rep.Memory)
	}
	if rep.Wall.Calls <= 0 || rep.Wall.Total < rep.Wall.Calls+rep.Wall.Startup {
		t.Errorf("wall %+v: want calls > 0 and total >= startup + calls", rep.Wall)
	}
	if !strings.Contains(progress.String(), "rung 6/6") {
		t.Errorf("progress lacks the calls rung:\n%s", progress.String())
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%s", err, js.String())
	}
	if back.Completed != rep.Completed || back.AnswerLatency.P99 != rep.AnswerLatency.P99.roundMicro() {
		t.Errorf("JSON round trip: %+v\nfrom %+v", back, rep)
	}
}

func (m Millis) roundMicro() Millis { return m / Millis(time.Microsecond) * Millis(time.Microsecond) }

func TestEmbeddedFlow(t *testing.T) {
	dir := t.TempDir()
	if err := writeFlows(dir); err != nil {
		t.Fatal(err)
	}
	d, err := menuOf(dir+"/bench.yaml", benchMenu)
	if err != nil {
		t.Fatal(err)
	}
	if d != 4*time.Second {
		t.Errorf("menu timeout = %s; the package documentation says 4s", d)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	ten := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ten, 10, 1 * time.Millisecond},
		{ten, 50, 5 * time.Millisecond},
		{ten, 51, 6 * time.Millisecond},
		{ten, 95, 10 * time.Millisecond},
		{ten, 100, 10 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 95, 95 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
		{hundred, 0.1, 1 * time.Millisecond},
	} {
		if got := percentile(c.in, c.p); got != c.want {
			t.Errorf("percentile(%d values, %g) = %s; want %s", len(c.in), c.p, got, c.want)
		}
	}
	l := summarise(ms(30, 10, 20))
	want := Latency{Count: 3, Min: Millis(10 * time.Millisecond), Mean: Millis(20 * time.Millisecond),
		P50: Millis(20 * time.Millisecond), P95: Millis(30 * time.Millisecond), P99: Millis(30 * time.Millisecond), Max: Millis(30 * time.Millisecond)}
	if l != want {
		t.Errorf("summarise = %+v; want %+v", l, want)
	}
}

// ev builds a transcript event at a time in milliseconds.
func ev(ms float64, kind, detail string) graphsim.Event {
	return graphsim.Event{At: time.Duration(ms * float64(time.Millisecond)), Kind: kind, Detail: detail}
}

const (
	prompt  = "http://127.0.0.1:40000/prompts/0f3c.wav (4.00s)"
	goodbye = "http://127.0.0.1:40000/prompts/9a1b.wav (1.00s)"
	byBot   = "by bot (200/5001 The conversation has ended.)"
)

// answered is the start of a call the bot answered after 30 ms.
func answered() []graphsim.Event {
	return []graphsim.Event{
		ev(0, "ring", "from phone +14250000000 to application 00000000-0000-4000-8000-000000000001"),
		ev(30, "answer", "modalities audio, 0 media to prefetch"),
		ev(30, "established", ""),
		ev(45, "subscribeToTone", ""),
		ev(60, "play", prompt),
	}
}

func TestAnalyse(t *testing.T) {
	const timeout, tol = 4 * time.Second, time.Second
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	for _, c := range []struct {
		name       string
		tr         []graphsim.Event
		tones      []time.Duration
		lateness   []time.Duration
		missed     int
		missAnswer bool
		failure    string // a prefix
	}{{
		// The prompt ends at 4.06 s, the timeout at 8.06 s; the re-prompt
		// starts at 8.10 s; the key at 9.03 s interrupts it.
		name: "as scripted",
		tr: append(answered(),
			ev(8100, "play", prompt),
			ev(9030, "tone", "1 delivered as sequenceId 1"),
			ev(9050, "cancelMediaProcessing", "1 operations cancelled"),
			ev(9051, "play-stopped", "http://127.0.0.1:40000/prompts/0f3c.wav after 0.95s"),
			ev(9070, "play", goodbye),
			ev(10100, "hangup", "by the bot"),
			ev(10100, "ended", byBot)),
		tones:    []time.Duration{d(20)},
		lateness: []time.Duration{d(40)},
	}, {
		// The key comes during the timeout: the next command is the
		// goodbye's playPrompt.
		name: "key during the timeout",
		tr: append(answered(),
			ev(6000, "tone", "1 delivered as sequenceId 1"),
			ev(6025, "play", goodbye),
			ev(7040, "hangup", "by the bot"),
			ev(7040, "ended", byBot)),
		tones: []time.Duration{d(25)},
	}, {
		name: "late re-prompt",
		tr: append(answered(),
			ev(9500, "play", prompt),
			ev(10000, "tone", "1 delivered as sequenceId 1"),
			ev(10030, "cancelMediaProcessing", "1 operations cancelled"),
			ev(10040, "play", goodbye),
			ev(11100, "ended", byBot)),
		tones:    []time.Duration{d(30)},
		lateness: []time.Duration{d(1440)},
		missed:   1,
	}, {
		// No re-prompt by 8.06 s + 1 s, when the caller pressed at 10 s.
		name: "no re-prompt",
		tr: append(answered(),
			ev(10000, "tone", "1 delivered as sequenceId 1"),
			ev(10030, "play", goodbye),
			ev(11100, "ended", byBot)),
		tones:  []time.Duration{d(30)},
		missed: 1,
	}, {
		name: "not answered",
		tr: []graphsim.Event{
			ev(0, "ring", "from phone +14250000000 to application x"),
			ev(15000, "ended", "by timeout (408/1106 An acknowledgement was not received for the call acceptance in the allotted time.)"),
		},
		missAnswer: true,
		failure:    "not answered: Graph's answer timeout",
	}, {
		name: "key before the subscription",
		tr: []graphsim.Event{
			ev(0, "ring", ""), ev(30, "answer", ""), ev(31, "established", ""),
			ev(40, "tone", "1 not delivered: the bot has not subscribed to tones"),
			ev(50, "subscribeToTone", ""), ev(60, "play", prompt),
			ev(20000, "ended", "by caller (200/4521 Call ended by the other participant in peer-to-peer call.)"),
		},
		failure: "a key was pressed before the bot subscribed",
	}, {
		name: "hung up by the caller",
		tr: append(answered(),
			ev(6000, "tone", "1 delivered as sequenceId 1"),
			ev(6025, "play", goodbye),
			ev(6500, "ended", "by caller (200/4521 Call ended by the other participant in peer-to-peer call.)")),
		tones:   []time.Duration{d(25)},
		failure: "not hung up by the bot: by caller (200/4521)",
	}, {
		name: "no command after the key",
		tr: append(answered(),
			ev(6000, "tone", "1 delivered as sequenceId 1"),
			ev(130000, "ended", "by caller (200/4521 Call ended by the other participant in peer-to-peer call.)")),
		failure: "no Graph command after the key press",
	}} {
		t.Run(c.name, func(t *testing.T) {
			r := analyse(c.tr, timeout, tol)
			if !slices.Equal(r.tones, c.tones) || !slices.Equal(r.lateness, c.lateness) {
				t.Errorf("tones %v, lateness %v; want %v, %v", r.tones, r.lateness, c.tones, c.lateness)
			}
			if r.missedReprompts != c.missed || r.missedAnswer != c.missAnswer {
				t.Errorf("missed re-prompts %d, answer %v; want %d, %v", r.missedReprompts, r.missedAnswer, c.missed, c.missAnswer)
			}
			if !strings.HasPrefix(r.failure, c.failure) || (c.failure == "") != (r.failure == "") {
				t.Errorf("failure %q; want %q", r.failure, c.failure)
			}
			if !c.missAnswer && r.answer != 30*time.Millisecond {
				t.Errorf("answer latency %s; want 30ms", r.answer)
			}
		})
	}
	if r := analyse(answered(), 0, tol); len(r.lateness) != 0 || r.missedReprompts != 0 {
		t.Errorf("menu timeout 0 checked re-prompts: %+v", r)
	}
}

func TestMillis(t *testing.T) {
	b, err := json.Marshal(Latency{Count: 1, P50: Millis(12345678 * time.Nanosecond)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"p50_ms":12.345`) {
		t.Errorf("JSON %s; want p50_ms 12.345", b)
	}
	// Every whole number of microseconds reads back as it was written
	// (12.345 ms is 12344999.999999998 ns in floating point).
	for us := range 100000 {
		m := Millis(time.Duration(us) * time.Microsecond)
		j, _ := m.MarshalJSON()
		var back Millis
		if err := back.UnmarshalJSON(j); err != nil || back != m {
			t.Fatalf("%s read back as %d ns (%v); want %d", j, back, err, m)
		}
	}
	for d, want := range map[time.Duration]string{0: "0", 1500 * time.Microsecond: "1.5ms", 2500 * time.Millisecond: "2.50s"} {
		if got := Millis(d).String(); got != want {
			t.Errorf("Millis(%s) = %q; want %q", d, got, want)
		}
	}
}
