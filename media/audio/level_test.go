package audio

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestLevel(t *testing.T) {
	cases := []struct {
		name string
		s    []int16
		want float64
	}{
		// 1 kHz over whole cycles, so the RMS is the sine's exactly (bar
		// rounding).
		{"full scale sine", pcm16(sine(800, SampleRate, 1000, 32767)), 3.14},
		{"0 dBm0 sine (peak 22,827)", pcm16(sine(800, SampleRate, 1000, 22827)), 0},
		{"-10 dBm0", pcm16(sine(800, SampleRate, 1000, amplitude(-10))), -10},
		{"-30 dBm0", pcm16(sine(800, SampleRate, 1000, amplitude(-30))), -30},
		{"-60 dBm0", pcm16(sine(800, SampleRate, 1000, amplitude(-60))), -60},
		{"-10 dBm0 at 697 Hz", pcm16(sine(8000, SampleRate, 697, amplitude(-10))), -10},
		{"constant ±1", []int16{1, -1, 1, -1}, -84.16},
		{"silence", make([]int16, 160), LevelFloor},
		{"nothing", nil, LevelFloor},
		{"one tiny click in 20 s", append(make([]int16, 20*SampleRate), 1), LevelFloor},
	}
	for _, c := range cases {
		if got := Level(c.s); math.Abs(got-c.want) > 0.02 {
			t.Errorf("%s: Level = %.3f dBm0, want %.2f", c.name, got, c.want)
		}
	}
}

// TestVADTones: tone bursts with a short pause, on a quiet line.
func TestVADTones(t *testing.T) {
	const hang = 300 * time.Millisecond
	line := func(ms int) []int16 { return noise(ms*SampleRate/1000, 40, uint64(ms)) } // about -55 dBm0
	burst := func(ms int) []int16 { return pcm16(sine(ms*SampleRate/1000, SampleRate, 440, amplitude(-20))) }
	click := append(line(490), pcm16(sine(80, SampleRate, 2000, 30000))...) // one loud 10 ms block
	sig := slices.Concat(
		click,      // 0-500 ms: no speech
		line(500),  // 500-1000 ms
		burst(300), // 1000-1300 ms: speech
		line(200),  // 1300-1500 ms: a pause shorter than the hangover
		burst(300), // 1500-1800 ms
		line(1000), // 1800-2800 ms: silence
	)
	v := NewVAD(-40, hang)
	var on, off []time.Duration // times speaking turned on and off
	speaking := false
	for i := 0; i < len(sig); i += FrameSamples {
		now := time.Duration(i+FrameSamples) * sampleTime
		s := v.Write(sig[i:min(i+FrameSamples, len(sig))])
		if s != v.Speaking() {
			t.Fatalf("Write = %v, Speaking = %v", s, v.Speaking())
		}
		if s && !speaking {
			on = append(on, now)
		} else if !s && speaking {
			off = append(off, now)
		}
		speaking = s
		if now == 980*time.Millisecond && (v.Heard() || v.Silence() != now) {
			t.Errorf("before speech: Heard = %v, Silence = %v, want false, %v", v.Heard(), v.Silence(), now)
		}
		if now == 2500*time.Millisecond && (!v.Heard() || v.Silence() != 700*time.Millisecond) {
			t.Errorf("after speech: Heard = %v, Silence = %v, want true, 700ms", v.Heard(), v.Silence())
		}
	}
	// Frames end every 20 ms, so speech starting at 1000 ms is seen at the
	// end of the frame holding its second 10 ms block: 1020 ms.
	if len(on) != 1 || on[0] != 1020*time.Millisecond {
		t.Errorf("speaking started at %v, want once at 1.02s", on)
	}
	if len(off) != 1 || off[0] != 1800*time.Millisecond+hang {
		t.Errorf("speaking ended at %v, want once at %v", off, 1800*time.Millisecond+hang)
	}
	v.Reset()
	if v.Speaking() || v.Heard() || v.Silence() != 0 {
		t.Errorf("after Reset: %v %v %v", v.Speaking(), v.Heard(), v.Silence())
	}
}

// TestVADSpeech runs the VAD over speech from espeak-ng, through PCMU, with
// a long pause between two sentences.
func TestVADSpeech(t *testing.T) {
	const hang = 400 * time.Millisecond
	p1, err := LoadPrompt(espeak(t, "Please leave your message after the tone.", false))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := LoadPrompt(espeak(t, "Press the pound key when you are finished.", false))
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := decodePrompt(p1), decodePrompt(p2)
	line := func(n int) []int16 { return noise(n, 20, uint64(n)) } // about -60 dBm0
	sig := slices.Concat(line(SampleRate), s1, line(2*SampleRate), s2, line(2*SampleRate))

	// Where the speech is, by a different measure than the VAD's: the
	// first and last samples louder than -35 dBm0's peak.
	var spans [][2]time.Duration
	at := SampleRate
	for _, s := range [][]int16{s1, s2} {
		loud := func(v int16) bool { return math.Abs(float64(v)) > amplitude(-35) }
		first := slices.IndexFunc(s, loud)
		last := len(s) - 1
		for last > 0 && !loud(s[last]) {
			last--
		}
		spans = append(spans, [2]time.Duration{time.Duration(at+first) * sampleTime, time.Duration(at+last) * sampleTime})
		at += len(s) + 2*SampleRate
	}

	v := NewVAD(-40, hang)
	var on, off []time.Duration
	speaking := false
	var maxSilenceInSpeech time.Duration
	for i := 0; i < len(sig); i += FrameSamples {
		now := time.Duration(i+FrameSamples) * sampleTime
		s := v.Write(sig[i:min(i+FrameSamples, len(sig))])
		if s && !speaking {
			on = append(on, now)
		} else if !s && speaking {
			off = append(off, now)
		}
		speaking = s
		for _, sp := range spans {
			if now > sp[0]+40*time.Millisecond && now < sp[1] {
				maxSilenceInSpeech = max(maxSilenceInSpeech, v.Silence())
			}
		}
	}
	t.Logf("speech %v; VAD on %v, off %v; longest pause within speech %v", spans, on, off, maxSilenceInSpeech)
	if len(on) != 2 || len(off) != 2 {
		t.Fatalf("speaking turned on at %v and off at %v, want twice each", on, off)
	}
	for i, sp := range spans {
		if on[i] < sp[0] || on[i] > sp[0]+60*time.Millisecond {
			t.Errorf("sentence %d starts at %v, VAD on at %v", i+1, sp[0], on[i])
		}
		if off[i] < sp[1]+hang || off[i] > sp[1]+hang+60*time.Millisecond {
			t.Errorf("sentence %d ends at %v, VAD off at %v, want %v later", i+1, sp[1], off[i], hang)
		}
	}
	if maxSilenceInSpeech >= hang {
		t.Errorf("a pause within a sentence reached %v", maxSilenceInSpeech)
	}
	if want := time.Duration(len(sig))*sampleTime - spans[1][1]; v.Silence() < want-60*time.Millisecond || v.Silence() > want+10*time.Millisecond {
		t.Errorf("Silence at the end = %v, want about %v", v.Silence(), want)
	}
}
