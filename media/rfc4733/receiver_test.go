package rfc4733

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const (
	ssrcA = 0x1234abcd
	ssrcB = 0x0badcafe

	pcmuFrame = 160 // 20 ms at 8 kHz
	opusFrame = 960 // 20 ms at 48 kHz

	chromiumLength = 800 // insertDTMF duration 100 ms, at 8 kHz
	gapFrames      = 4   // insertDTMF interToneGap 70 ms, rounded up to frames
)

// pcmu is Chromium sending "123#" with insertDTMF("123#", 100, 70) while
// sending PCMU, starting at timestamp base.
func pcmu(base uint32) *sender {
	return newSender(ssrcA, base, pcmuFrame).audio(10).keys("123#", chromiumLength, gapFrames).audio(25)
}

const pcmuWant = "1 1/800 2 2/800 3 3/800 # #/800"

func TestReceiver(t *testing.T) {
	tests := []struct {
		name  string
		clock uint32
		send  func() *sender
		edit  func([]step) []step // what the network does; nil for nothing
		want  string
		// starts: whether each press must be reported with the timestamp
		// it was sent with.
		starts bool
	}{
		{
			name: "Chromium PCMU 123#", clock: 8000, send: func() *sender { return pcmu(40000) },
			want: pcmuWant, starts: true,
		},
		{
			// Chromium with Opus: telephone-event/8000 stamped with the
			// 48 kHz clock, each digit a burst of three M=1 E=1 dur=960.
			name: "Chromium Opus burst, receiver at 8000", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 7777, opusFrame).audio(10).keys("123#", chromiumLength, gapFrames).audio(25)
			},
			want: "1 1/960 2 2/960 3 3/960 # #/960", starts: true,
		},
		{
			name: "Chromium Opus burst, receiver at 48000", clock: 48000,
			send: func() *sender {
				return newSender(ssrcA, 7777, opusFrame).audio(10).keys("123#", chromiumLength, gapFrames).audio(25)
			},
			want: "1 1/960 2 2/960 3 3/960 # #/960", starts: true,
		},
		{
			name: "one key twice: 55", clock: 8000,
			send: func() *sender { return newSender(ssrcA, 0, pcmuFrame).audio(5).keys("55", chromiumLength, gapFrames) },
			want: "5 5/800 5 5/800", starts: true,
		},
		{
			name: "55 with the shortest gap and no audio between", clock: 8000,
			send: func() *sender { return newSender(ssrcA, 0, pcmuFrame).audio(5).keys("55", chromiumLength, 0) },
			want: "5 5/800 5 5/800", starts: true,
		},
		{
			name: "first packet of each event lost", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step { return drop(s, func(st step) bool { return st.p.Marker }) },
			want: pcmuWant, starts: true,
		},
		{
			name: "only the end packets arrive", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step { return drop(s, func(st step) bool { return isEvent(st) && !isEnd(st) }) },
			want: pcmuWant, starts: true,
		},
		{
			name: "only one end packet arrives", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step {
				var out []step
				for i, st := range s {
					if !isEvent(st) || isEnd(st) && !isEnd(s[i-1]) {
						out = append(out, st)
					}
				}
				return out
			},
			want: pcmuWant, starts: true,
		},
		{
			// The next digit ends each one; audio ends the last.
			name: "every end packet lost", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step { return drop(s, isEnd) },
			want: "1 1/640 2 2/640 3 3/640 # #/640", starts: true,
		},
		{
			// No audio follows: the next press ends the first, Flush the last.
			name: "55, every end packet lost, no audio", clock: 8000,
			send: func() *sender { return newSender(ssrcA, 0, pcmuFrame).keys("55", chromiumLength, 0) },
			edit: func(s []step) []step { return drop(s, isEnd) },
			want: "5 5/640 5 5/640", starts: true,
		},
		{
			name: "first packet arrives second", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step { return delay(s, func(st step) bool { return st.p.Marker }, 1) },
			want: pcmuWant, starts: true,
		},
		{
			// The end packets arrive after the next digit has begun: each
			// digit is ended by the next, and its late end changes
			// nothing; the last digit's end arrives in time.
			name: "end packets overtaken by the next digit", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step { return delay(s, isEnd, gapFrames+3) },
			want: "1 1/640 2 2/640 3 3/640 # #/800", starts: true,
		},
		{
			// Whole digits arrive after later ones began: too late to
			// report, and never reported twice.
			name: "every packet reversed", clock: 8000,
			send: func() *sender { return newSender(ssrcA, 0, pcmuFrame).keys("12", chromiumLength, gapFrames) },
			edit: func(s []step) []step { s = slices.Clone(s); slices.Reverse(s); return s },
			want: "2 2/800",
		},
		{
			// The duration known at the end is the longest seen, not
			// the last to arrive.
			name: "updates reordered, every end packet lost", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step {
				s = drop(s, isEnd)
				return delay(s, func(st step) bool { return isEvent(st) && st.p.Payload[3] == 480&0xFF }, 1)
			},
			want: "1 1/640 2 2/640 3 3/640 # #/640", starts: true,
		},
		{
			// A sender that sets E on the last packet of each segment
			// ends the digit early; the rest of the press is not a
			// second digit, nor a second end, even when the first
			// packet seen of a segment has E.
			name: "E set at the end of a segment", clock: 8000,
			send: func() *sender {
				s := newSender(ssrcA, 0, pcmuFrame)
				s.starts = []uint32{500}
				s.event(500, true, code('0'), false, 10, 65440, 1)
				s.event(500, false, code('0'), true, 10, 0xFFFF, 3)
				s.event(500+0xFFFF, false, code('0'), false, 10, 160, 1)
				s.event(500+0xFFFF, false, code('0'), true, 10, 0xFFFF, 3)
				s.event(500+2*0xFFFF, false, code('0'), true, 10, 1600, 3) // its first packets lost
				return s
			},
			want: "0 0/65535", starts: true,
		},
		{
			name: "the whole sequence sent twice", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: func(s []step) []step { return append(slices.Clone(s), s...) },
			want: pcmuWant, starts: true,
		},
		{
			name: "every packet duplicated", clock: 8000, send: func() *sender { return pcmu(40000) },
			edit: twice,
			want: pcmuWant, starts: true,
		},
		{
			// 10 s at 8 kHz, sent as libwebrtc does: the first segment
			// ends at 0xFFFF when the frame at 65600 is reached, the second
			// starts there and ends at 14560 ≥ 80000−65535.
			name: "10 s press, libwebrtc segments", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 1000, pcmuFrame).audio(3).chromium(code('0'), 80000, 10).audio(30)
			},
			want: "0 0/80160", starts: true,
		},
		{
			name: "10 s press, RFC 4733 segments", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 1000, pcmuFrame).audio(3).strict(code('0'), 80000, 10).audio(30)
			},
			want: "0 0/80000", starts: true,
		},
		{
			name: "10 s press, segment's last packet lost", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 1000, pcmuFrame).audio(3).strict(code('0'), 80000, 10).audio(30)
			},
			edit: func(s []step) []step {
				return drop(s, func(st step) bool { return isEvent(st) && st.p.Payload[2] == 0xFF && st.p.Payload[3] == 0xFF })
			},
			want: "0 0/80000", starts: true,
		},
		{
			name: "20 s press, three segments, then the key again", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 1000, pcmuFrame).strict(code('9'), 160000, 10).audio(5).strict(code('9'), 800, 10)
			},
			want: "9 9/160000 9 9/800", starts: true,
		},
		{
			// A second press of the key 0xFFFF units after the first
			// began is not a segment: the first was short.
			name: "same key 0xFFFF later", clock: 8000,
			send: func() *sender {
				s := newSender(ssrcA, 1000, pcmuFrame).chromium(code('5'), 800, 10)
				s.ts = 1000 + 0xFFFF
				return s.chromium(code('5'), 800, 10)
			},
			want: "5 5/800 5 5/800", starts: true,
		},
		{
			name: "same key 0xFFFF later, first end lost", clock: 8000,
			send: func() *sender {
				s := newSender(ssrcA, 1000, pcmuFrame).chromium(code('5'), 800, 10)
				s.ts = 1000 + 0xFFFF
				return s.chromium(code('5'), 800, 10)
			},
			edit: func(s []step) []step {
				return drop(s, func(st step) bool { return isEnd(st) && st.p.Timestamp == 1000 })
			},
			want: "5 5/640 5 5/800", starts: true,
		},
		{
			name: "timestamps wrap during the digits", clock: 8000, send: func() *sender { return pcmu(1<<32 - 2500) },
			want: pcmuWant, starts: true,
		},
		{
			name: "timestamps wrap during a long press", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 1<<32-70000, pcmuFrame).strict(code('#'), 80000, 10).audio(20).keys("1", 800, 1)
			},
			want: "# #/80000 1 1/800", starts: true,
		},
		{
			name: "volume 60 ignored", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 0, pcmuFrame).chromium(code('1'), 800, 60).audio(4).chromium(code('2'), 800, 55)
			},
			want: "2 2/800",
		},
		{
			name: "flash (event 16) and event 255 ignored", clock: 8000,
			send: func() *sender {
				return newSender(ssrcA, 0, pcmuFrame).keys("1", 800, 2).chromium(16, 800, 10).audio(2).
					chromium(255, 800, 10).keys("2", 800, 2)
			},
			want: "1 1/800 2 2/800",
		},
		{
			// A sender that sends a first packet with duration 0: it
			// starts nothing on its own.
			name: "zero-duration packets", clock: 8000,
			send: func() *sender {
				s := newSender(ssrcA, 0, pcmuFrame)
				s.event(5000, true, code('7'), false, 10, 0, 1) // then lost
				s.event(6000, true, code('8'), false, 10, 0, 1)
				s.event(6000, false, code('8'), false, 10, 160, 1)
				s.event(6000, false, code('8'), true, 10, 320, 3)
				s.event(7000, true, code('9'), true, 10, 0, 3)
				return s
			},
			want: "8 8/320",
		},
		{
			// An event's timestamp with another event code is not a
			// new digit, nor an update of this one.
			name: "another code with the same timestamp", clock: 8000,
			send: func() *sender {
				s := newSender(ssrcA, 0, pcmuFrame)
				s.event(3000, true, code('1'), false, 10, 160, 1)
				s.event(3000, false, code('2'), true, 10, 480, 3)
				s.event(3000, false, code('1'), true, 10, 800, 3)
				return s
			},
			want: "1 1/800",
		},
		{
			// The SSRC changes mid-call, and packets of the old one are
			// still arriving: they report nothing again.
			name: "SSRC change with late packets", clock: 8000,
			send: func() *sender {
				a := newSender(ssrcA, 500, pcmuFrame).keys("12", 800, 2)
				b := newSender(ssrcB, 99999, pcmuFrame).keys("3#", 800, 2)
				a.steps = append(a.steps, b.steps[:3]...)
				a.steps = append(a.steps, a.steps[len(a.steps)-12:len(a.steps)-3]...)
				a.steps = append(a.steps, b.steps[3:]...)
				a.starts = append(a.starts, b.starts...)
				return a
			},
			want: "1 1/800 2 2/800 3 3/800 # #/800", starts: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.send()
			steps := s.steps
			if tt.edit != nil {
				steps = tt.edit(steps)
			}
			evs := feed(t, NewReceiver(tt.clock), steps)
			if got := summary(evs); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if got := startTimes(evs); tt.starts && !slices.Equal(got, s.starts) {
				t.Errorf("digits start at %v, sent at %v", got, s.starts)
			}
		})
	}
}

// TestPacketReports checks what each packet of one Chromium PCMU digit
// returns: the start on the first packet, the end on the first E packet,
// nothing else.
func TestPacketReports(t *testing.T) {
	r := NewReceiver(8000)
	type want struct {
		dur  uint16
		end  bool
		reps string
	}
	for i, w := range []want{{160, false, "4"}, {320, false, ""}, {480, false, ""}, {640, false, ""}, {800, true, "4/800"}, {800, true, ""}, {800, true, ""}} {
		evs, err := r.Packet(Packet{SSRC: ssrcA, Seq: uint16(i), Timestamp: 8000, Marker: i == 0, Payload: payload(4, w.end, 10, w.dur)})
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(evs); got != w.reps {
			t.Errorf("packet %d (dur %d, E=%t): got %q, want %q", i, w.dur, w.end, got, w.reps)
		}
		for _, e := range evs {
			if e.SSRC != ssrcA || e.Timestamp != 8000 || e.Volume != 10 {
				t.Errorf("packet %d: %+v, want SSRC %#x, timestamp 8000, volume 10", i, e, ssrcA)
			}
		}
	}
}

func TestMalformedPayload(t *testing.T) {
	for _, p := range [][]byte{nil, {}, {1}, {1, 0x8a}, {1, 0x8a, 3}} {
		r := NewReceiver(8000)
		evs, err := r.Packet(Packet{SSRC: ssrcA, Seq: 7, Timestamp: 160, Payload: p})
		if !errors.Is(err, ErrShortPayload) {
			t.Fatalf("payload %v: error %v, want ErrShortPayload", p, err)
		}
		if want := "got " + string(rune('0'+len(p))) + " bytes"; !strings.Contains(err.Error(), want) {
			t.Errorf("payload %v: error %q does not say %q", p, err, want)
		}
		if evs != nil {
			t.Errorf("payload %v: events %v with the error", p, evs)
		}
		// The bad packet changed nothing: the event is still new.
		if evs, err := r.Packet(Packet{SSRC: ssrcA, Timestamp: 160, Payload: payload(1, false, 10, 160)}); err != nil || summary(evs) != "1" {
			t.Errorf("payload %v: next packet gave %v, %v; want the digit", p, evs, err)
		}
	}
}

// TestLongerPayload: only the first event block is read, and trailing
// bytes are not an error.
func TestLongerPayload(t *testing.T) {
	r := NewReceiver(8000)
	p := append(payload(3, true, 10, 800), payload(4, true, 10, 800)...)
	p = append(p, 0xff)
	evs, err := r.Packet(Packet{SSRC: ssrcA, Timestamp: 1, Payload: p})
	if err != nil || summary(evs) != "3 3/800" {
		t.Fatalf("got %v, %v; want 3 3/800", evs, err)
	}
}

// TestAudioEndsHeldEvent checks where audio ends an event whose end was
// lost: a quarter of a second past its known end, not before, and never
// for audio from before the event or of another SSRC.
func TestAudioEndsHeldEvent(t *testing.T) {
	for _, clock := range []uint32{8000, 48000} {
		r := NewReceiver(clock)
		var ts, dur uint32 = 1<<32 - 300, 640 // the event's end is past the wrap
		if _, err := r.Packet(Packet{SSRC: ssrcA, Timestamp: ts, Payload: payload(9, false, 10, uint16(dur))}); err != nil {
			t.Fatal(err)
		}
		margin := clock / 4
		for _, a := range []struct {
			ssrc uint32
			ts   uint32
		}{
			{ssrcA, ts - 5000},                // before the event
			{ssrcA, ts + dur},                 // at its known end
			{ssrcA, ts + dur + margin},        // not yet past the margin
			{ssrcB, ts + dur + margin + 1000}, // another stream
		} {
			if evs := r.Audio(a.ssrc, a.ts); evs != nil {
				t.Fatalf("clock %d: audio at %d on %#x ended the event: %v", clock, a.ts, a.ssrc, evs)
			}
		}
		evs := r.Audio(ssrcA, ts+dur+margin+1)
		if summary(evs) != "9/640" || evs[0].Timestamp != ts {
			t.Fatalf("clock %d: audio past the margin gave %v, want the end of 9 at %d", clock, evs, uint32(ts))
		}
		if evs := r.Audio(ssrcA, ts+dur+margin+2); evs != nil {
			t.Errorf("clock %d: the end reported again: %v", clock, evs)
		}
		// A late update of the ended event reports nothing.
		if evs, _ := r.Packet(Packet{SSRC: ssrcA, Timestamp: ts, Payload: payload(9, true, 10, 800)}); evs != nil {
			t.Errorf("clock %d: late end packet gave %v", clock, evs)
		}
	}
}

// TestTimestampJumps: a jump back of up to ten seconds is a late packet;
// a longer one is a sender that restarted its timestamps.
func TestTimestampJumps(t *testing.T) {
	r := NewReceiver(8000)
	send := func(ts uint32, c byte) string {
		t.Helper()
		evs, err := r.Packet(Packet{SSRC: ssrcA, Timestamp: ts, Payload: payload(c, true, 10, 800)})
		if err != nil {
			t.Fatal(err)
		}
		return summary(evs)
	}
	steps := []struct {
		ts   uint32
		code byte
		want string
	}{
		{1_000_000, 1, "1 1/800"},
		{1_000_000 - 80_000, 2, ""}, // 10 s back: late
		{1_000_000 - 80_001, 3, "3 3/800"},
		{1_000_000, 4, "4 4/800"}, // forward again, a new event
		{1_000_000, 4, ""},
		{1_000_000 + 1<<31, 5, "5 5/800"}, // half the clock away: not late
	}
	for _, s := range steps {
		if got := send(s.ts, s.code); got != s.want {
			t.Errorf("event %d at %d: got %q, want %q", s.code, s.ts, got, s.want)
		}
	}
}

// TestManySSRCs: a Receiver remembers four SSRCs; a fifth evicts the least
// recently used, ending its held event.
func TestManySSRCs(t *testing.T) {
	r := NewReceiver(8000)
	var got []string
	for i := range uint32(5) {
		evs, err := r.Packet(Packet{SSRC: 100 + i, Timestamp: 1000, Payload: payload(byte(i), false, 10, 160)})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, summary(evs))
	}
	if want := []string{"0", "1", "2", "3", "0/160 4"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	evs := r.Flush()
	slices.SortFunc(evs, func(a, b Event) int { return int(a.Digit) - int(b.Digit) })
	if got := summary(evs); got != "1/160 2/160 3/160 4/160" {
		t.Errorf("Flush gave %q, want the ends of 1 to 4", got)
	}
	if evs := r.Flush(); evs != nil {
		t.Errorf("a second Flush gave %v", evs)
	}
}

func TestNewReceiverZeroClock(t *testing.T) {
	if got, want := *NewReceiver(0), *NewReceiver(8000); got != want {
		t.Errorf("NewReceiver(0) = %+v, want NewReceiver(8000) = %+v", got, want)
	}
	// Absurd clock rates keep the tolerances sane.
	r := NewReceiver(1<<32 - 1)
	if r.slack > maxSegment/2 || r.late > 1<<30 || r.endAfter > 1<<30 {
		t.Errorf("NewReceiver(max) tolerances %+v", r)
	}
}

func TestEventString(t *testing.T) {
	for _, tt := range []struct {
		e    Event
		want string
	}{
		{Event{Digit: '#', Timestamp: 1600}, "# start ts=1600"},
		{Event{Digit: 'A', Timestamp: 1600, Duration: 800, End: true}, "A end ts=1600 dur=800"},
	} {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.e, got, tt.want)
		}
	}
}

// BenchmarkReceiver measures the cost of one telephone-event packet, over
// the Chromium PCMU pattern: 7 packets per digit, a new digit each time.
func BenchmarkReceiver(b *testing.B) {
	r := NewReceiver(8000)
	durs := [7]uint16{160, 320, 480, 640, 800, 800, 800}
	payloads := make([][]byte, 16*len(durs))
	for c := range 16 {
		for i, d := range durs {
			payloads[c*len(durs)+i] = payload(byte(c), i >= 4, 10, d)
		}
	}
	p := Packet{SSRC: ssrcA}
	digits := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		n := i % len(payloads)
		p.Seq = uint16(i)
		p.Timestamp = uint32(i/len(durs)) * 1600
		p.Marker = n%len(durs) == 0
		p.Payload = payloads[n]
		evs, err := r.Packet(p)
		if err != nil {
			b.Fatal(err)
		}
		digits += len(evs)
	}
	if digits == 0 {
		b.Fatal("no digits")
	}
}
