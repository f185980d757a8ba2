package media

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/workflows"

	"github.com/ivrflow/ivrflow/media/audio"
	"github.com/ivrflow/ivrflow/media/dtmf"
	"github.com/ivrflow/ivrflow/media/g711"
	"github.com/ivrflow/ivrflow/media/rfc4733"
)

// tone returns n samples of the DTMF pair for key at level dBm0 per tone,
// starting at phase 0.
func tone(key rune, n int, dBm0 float64) []int16 {
	rows := map[rune][2]float64{'1': {697, 1209}, '5': {770, 1336}, '9': {852, 1477}, '#': {941, 1477}}
	f := rows[key]
	a := 32768 * math.Pow(10, (dBm0-dtmf.FullScaleDBm0)/20)
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / 8000
		out[i] = int16(a*math.Sin(2*math.Pi*f[0]*t) + a*math.Sin(2*math.Pi*f[1]*t))
	}
	return out
}

// BenchmarkCallAudio measures what the read loop does with each 20 ms PCMU
// packet of a call being recorded: µ-law decoding, in-band DTMF detection,
// the RFC 4733 receiver's bookkeeping and writing the recording. It
// reports the cost per packet and how many calls one core could carry at
// 50 packets a second (pion's SRTP and RTP handling not included).
func BenchmarkCallAudio(b *testing.B) {
	// A second of speech-like noise with a digit in it, as PCMU.
	var pcm []int16
	pcm = append(pcm, make([]int16, 2400)...)
	pcm = append(pcm, tone('5', 800, -10)...)
	for i := range 4800 {
		pcm = append(pcm, int16(3000*math.Sin(float64(i)*0.05)*math.Sin(float64(i)*0.0031)))
	}
	frames := len(pcm) / 160
	ulaw := make([]byte, len(pcm))
	for i, s := range pcm {
		ulaw[i] = g711.EncodeUlaw(s)
	}
	rec, err := audio.NewRecorder(filepath.Join(b.TempDir(), "bench.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	det := dtmf.NewDetector(dtmf.Config{})
	rx := rfc4733.NewReceiver(8000)
	samples := make([]int16, 160)
	var ts uint32
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f := i % frames
		for j, u := range ulaw[f*160 : f*160+160] {
			samples[j] = g711.DecodeUlaw(u)
		}
		rx.Audio(1, ts)
		det.Write(samples)
		if err := rec.Write(ts, samples); err != nil {
			b.Fatal(err)
		}
		ts += 160
	}
	perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame, "ns/packet")
	b.ReportMetric(float64(20*time.Millisecond)/perFrame, "calls/core")
}

// BenchmarkToneToDigit reports how long after a tone's onset, in audio
// time, the detector reports its digit when the audio comes in 20 ms
// packets: the latency a caller's key press sees before the flow can act,
// not counting the network. The onset falls at every 1 ms offset within a
// packet; the mean and the worst case are reported, for 40 ms tones (the
// shortest Q.24 requires) and for 100 ms ones (a typical key press).
func BenchmarkToneToDigit(b *testing.B) {
	for _, length := range []int{40, 100} {
		b.Run(time.Duration(length*int(time.Millisecond)).String(), func(b *testing.B) {
			var sum, worst time.Duration
			n := 0
			for b.Loop() {
				for offset := 0; offset < 160; offset += 8 {
					lead := 800 + offset
					pcm := append(make([]int16, lead), tone('9', length*8, -10)...)
					pcm = append(pcm, make([]int16, 1600)...)
					det := dtmf.NewDetector(dtmf.Config{})
					for f := 0; f*160 < len(pcm); f++ {
						if evs := det.Write(pcm[f*160 : min(f*160+160, len(pcm))]); len(evs) > 0 {
							got := time.Duration(f*160+160-lead) * time.Second / 8000
							sum += got
							worst = max(worst, got)
							n++
							break
						}
					}
				}
			}
			b.ReportMetric(float64(sum)/1e6/float64(n), "ms-mean")
			b.ReportMetric(float64(worst)/1e6, "ms-worst")
		})
	}
}

// BenchmarkWebRTCCalls holds 100 WebRTC calls, each caller sending PCMU
// every 20 ms and each call being recorded, and measures the CPU time of
// the process that holds them (decryption, RTP, RTCP, ICE keepalives,
// µ-law decoding, DTMF detection and recording). The callers are pion
// peers in a second process (this test binary, run as TestHelperCallers),
// so their cost is not counted. Each iteration is a second of wall time:
// run it with -benchtime 10x.
func BenchmarkWebRTCCalls(b *testing.B) {
	const calls = 100
	tc := &fakeTemporal{}
	s, hs := newTestServer(b, tc, func(c *Config) {
		c.AnswerTimeout, c.DetachTimeout = time.Hour, time.Hour
		if p := os.Getenv("MEDIA_BENCH_UDP_PORT"); p != "" {
			c.UDPPort, _ = strconv.Atoi(p)
		}
	})
	// Each call the callers place is answered and recorded at once.
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		ctx := context.Background()
		rec := &dsl.Record{MaxDuration: dsl.Duration(time.Hour), InitialSilence: dsl.Duration(time.Hour), MaxSilence: dsl.Duration(time.Hour)}
		for n := 0; n < calls; {
			tc.mu.Lock()
			started := append([]workflows.CallInput(nil), tc.started[n:]...)
			tc.mu.Unlock()
			for _, in := range started {
				if err := s.Answer(ctx, workflows.AnswerInput{CallID: in.CallID}); err != nil {
					b.Error(err)
				}
				if err := s.RecordResponse(ctx, workflows.MediaInput{CallID: in.CallID, ClientContext: "rec", Record: rec}); err != nil {
					b.Error(err)
				}
				n++
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperCallers$")
	cmd.Env = append(os.Environ(), "MEDIA_BENCH_URL="+hs.URL, fmt.Sprintf("MEDIA_BENCH_CALLS=%d", calls))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close() // the callers hang up and exit
		_ = cmd.Wait()
	}()
	select {
	case <-answered:
	case <-time.After(time.Minute):
		b.Fatal("the calls were not all placed in a minute")
	}
	time.Sleep(3 * time.Second) // ICE and DTLS settle
	before, start := cpuTime(), time.Now()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	cpu, wall := cpuTime()-before, time.Since(start)
	perCall := cpu.Seconds() / wall.Seconds() / calls
	b.ReportMetric(perCall*100, "%core/call")
	b.ReportMetric(1/perCall, "calls/core")
	if held := s.Calls(); held != calls {
		b.Errorf("%d calls held at the end, want %d", held, calls)
	}
}

// TestHelperCallers is BenchmarkWebRTCCalls's second process: it places
// MEDIA_BENCH_CALLS calls to MEDIA_BENCH_URL and sends PCMU on each every
// 20 ms until its stdin closes.
func TestHelperCallers(t *testing.T) {
	url := os.Getenv("MEDIA_BENCH_URL")
	if url == "" {
		t.Skip("run by BenchmarkWebRTCCalls")
	}
	calls, _ := strconv.Atoi(os.Getenv("MEDIA_BENCH_CALLS"))
	frame := make([]byte, 160)
	for i := range frame {
		frame[i] = g711.EncodeUlaw(int16(2000 * math.Sin(float64(i)*0.3)))
	}
	var tracks []*webrtc.TrackLocalStaticSample
	for i := range calls {
		pc, sdp := offer(t, webrtc.MimeTypePCMU, 0, 8000)
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "a", "caller")
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.GetTransceivers()[0].Sender().ReplaceTrack(tr); err != nil {
			t.Fatal(err)
		}
		resp, answer := post(t, url+"/calls?route=demo", "application/sdp", sdp)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, answer)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			for _, tr := range tracks {
				_ = tr.WriteSample(pionmedia.Sample{Data: frame, Duration: 20 * time.Millisecond})
			}
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
