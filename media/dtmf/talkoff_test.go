package dtmf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"testing"
)

// speech is English text of many kinds: prompts, numbers, dialogue,
// questions and lists, so the synthesiser sweeps its pitch and formants.
const speech = `Thank you for calling. Your call is important to us. Please listen
carefully, as our menu options have changed. For billing questions, press one.
To report a problem with your service, press two. For anything else, stay on
the line and an agent will be with you shortly.

Good morning! Yes, I'm calling about the order I placed on the fourteenth of
March. It was supposed to arrive last Tuesday, but nothing has come yet. The
reference number is four seven nine, two two eight, one zero six. Could you
check where it is, please? Oh, really? That's strange. Well, can you send it
again, or should I ask for a refund instead?

The weather tomorrow will be mostly sunny in the morning, with clouds moving
in from the west by mid afternoon. Highs near seventy two degrees, lows around
fifty. There is a thirty percent chance of showers after midnight, mainly in
the hills. Winds light and variable, becoming southerly at ten to fifteen miles
an hour.

Once upon a time, in a village by the sea, there lived an old fisherman and
his daughter. Every morning, before the sun was up, they would row out past
the rocks, singing softly so as not to wake the gulls. "Look!" she cried one
day. "What is that shining under the water?" He leaned over the side and
laughed. "Only the moon, my dear, only the moon."

Meeting notes. One: the budget for the next quarter is approved. Two: hiring
is frozen until July. Three: the new office opens in September, weather
permitting. Action items: Maria will update the roadmap; Sam will review the
contract; everyone should submit their timesheets by Friday at noon.

Hmm. Well... I don't know. Maybe? Absolutely not! Whoa, wait, wait, wait.
Hello? Hello? Can you hear me now? Eeeeh, ooooh, aaaah, mmmm. Is anybody there?
Seven, seventy, seventeen, seven hundred and seventy seven. Zero, oh, nought,
nil, nothing at all. Nine, nineteen, ninety, nine thousand nine hundred.

Please say or enter your account number, followed by the pound key. If you
don't know your account number, press the star key to speak to a
representative. Our office hours are Monday through Friday, eight a.m. to six
p.m., and Saturday from nine to one. Goodbye.`

// voices are espeak-ng voices and variants, pitches (0-99) and speeds
// (words per minute): male and female, low and high, slow and fast.
var voices = []struct {
	voice        string
	pitch, speed int
}{
	{"en-us", 50, 175},
	{"en-us+f3", 70, 160},
	{"en-gb", 30, 190},
	{"en-gb+f4", 90, 150},
	{"en-gb-scotland+m3", 40, 170},
	{"en-029+f2", 60, 200},
	{"en-gb-x-rp+m7", 20, 140},
	{"en-us+f5", 99, 180},
}

// TestTalkOff runs synthetic speech, at a mean level of −15 dBm0 (the level
// of Q.24's NTT talk-off figure) and 10 dB louder, through the Detector and
// requires no digit at all. It needs espeak-ng (apt-get install espeak-ng).
func TestTalkOff(t *testing.T) {
	espeak, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("the talk-off test needs espeak-ng to make its speech: install it (apt-get install espeak-ng): %v", err)
	}
	var total float64
	for _, v := range voices {
		cmd := exec.CommandContext(t.Context(), espeak, "-v", v.voice, "-p", fmt.Sprint(v.pitch), "-s", fmt.Sprint(v.speed), "--stdout", speech)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("espeak-ng -v %s: %v: %s", v.voice, err, stderr.Bytes())
		}
		rate, pcm, err := parseSpeech(out)
		if err != nil {
			t.Fatalf("espeak-ng -v %s: %v", v.voice, err)
		}
		a := resample(pcm, rate, SampleRate)
		total += float64(len(a)) / SampleRate
		for _, mean := range []float64{-15, -5} {
			samples := a.scale(mean).ulaw()
			if ev := detect(Config{}, samples); len(ev) > 0 {
				t.Errorf("voice %s at %v dBm0: %d false digits %q, the first at %v", v.voice, mean, len(ev), digitsOf(ev), ev[0].Start)
			}
		}
	}
	t.Logf("%.1f min of speech, each at two levels", total/60)
}

// parseSpeech returns the sample rate and samples of espeak-ng's output: a
// 16-bit mono WAV whose sizes are left unset, as it writes to a pipe.
func parseSpeech(b []byte) (rate int, pcm []int16, err error) {
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[12:16]) != "fmt " {
		return 0, nil, fmt.Errorf("output is not a WAV file")
	}
	if ch, bits := binary.LittleEndian.Uint16(b[22:]), binary.LittleEndian.Uint16(b[34:]); ch != 1 || bits != 16 {
		return 0, nil, fmt.Errorf("output has %d channels of %d bits, want 1 of 16", ch, bits)
	}
	rate = int(binary.LittleEndian.Uint32(b[24:]))
	i := bytes.Index(b, []byte("data"))
	if i < 0 {
		return 0, nil, fmt.Errorf("output has no data chunk")
	}
	data := b[i+8:]
	pcm = make([]int16, len(data)/2)
	for k := range pcm {
		pcm[k] = int16(binary.LittleEndian.Uint16(data[2*k:]))
	}
	return rate, pcm, nil
}

// resample converts pcm from rate in to rate out with a windowed-sinc
// low-pass at 0.45 of the lower rate: a polyphase filter with a Blackman
// window, 64 taps at the input rate for each output sample.
func resample(pcm []int16, in, out int) audio {
	const half = 32
	g := gcd(in, out)
	up, down := out/g, in/g                          // output n lies at input n·down/up
	fc := 0.45 * float64(min(in, out)) / float64(in) // cycles per input sample
	// taps[ph][j] weighs input k0-half+1+j for an output at k0 + ph/up.
	taps := make([][2 * half]float64, up)
	for ph := range taps {
		for j := range taps[ph] {
			u := float64(half-1-j) + float64(ph)/float64(up)
			w := 0.42 + 0.5*math.Cos(math.Pi*u/half) + 0.08*math.Cos(2*math.Pi*u/half)
			h := 2 * fc
			if u != 0 {
				h = math.Sin(2*math.Pi*fc*u) / (math.Pi * u)
			}
			taps[ph][j] = h * w
		}
	}
	a := make(audio, len(pcm)*up/down)
	for n := range a {
		k0, ph := n*down/up, n*down%up
		var sum float64
		for j, h := range taps[ph] {
			if k := k0 - half + 1 + j; k >= 0 && k < len(pcm) {
				sum += float64(pcm[k]) * h
			}
		}
		a[n] = sum
	}
	return a
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// scale returns a with its mean level (RMS over the samples that are not
// silent) set to dBm0.
func (a audio) scale(dBm0 float64) audio {
	var e float64
	var n int
	for _, v := range a {
		if math.Abs(v) > 30 {
			e += v * v
			n++
		}
	}
	g := amplitude(dBm0) / math.Sqrt2 / math.Sqrt(e/float64(n))
	out := make(audio, len(a))
	for i, v := range a {
		out[i] = v * g
	}
	return out
}
