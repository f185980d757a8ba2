package rfc4733

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// payload returns a telephone-event payload (RFC 4733 §2.3).
func payload(code byte, end bool, vol byte, dur uint16) []byte {
	b := []byte{code, vol & 0x3F, 0, 0}
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], dur)
	return b
}

// step is one packet on the wire: telephone-event, or audio (for which
// only SSRC and Timestamp matter).
type step struct {
	audio bool
	p     Packet
}

// code returns the event code of digit.
func code(digit rune) byte {
	i := strings.IndexRune(digits, digit)
	if i < 0 {
		panic(fmt.Sprintf("no event code for %q", digit))
	}
	return byte(i)
}

// sender emulates a sender of one RTP stream: audio frames, with key
// presses sent as telephone-event packets in their place, and the
// timestamps and sequence numbers of both.
type sender struct {
	ssrc   uint32
	seq    uint16
	ts     uint32 // RTP timestamp of the next frame
	frame  uint32 // timestamp units per 20 ms frame
	steps  []step
	starts []uint32 // RTP timestamps of the presses sent
}

func newSender(ssrc, base, frame uint32) *sender {
	return &sender{ssrc: ssrc, seq: 1000, ts: base, frame: frame}
}

// audio sends n audio frames.
func (s *sender) audio(n int) *sender {
	for range n {
		s.steps = append(s.steps, step{audio: true, p: Packet{SSRC: s.ssrc, Seq: s.seq, Timestamp: s.ts}})
		s.seq++
		s.ts += s.frame
	}
	return s
}

// event sends one telephone-event packet, count times.
func (s *sender) event(ts uint32, marker bool, code byte, end bool, vol byte, dur uint32, count int) {
	for range count {
		s.steps = append(s.steps, step{p: Packet{
			SSRC: s.ssrc, Seq: s.seq, Timestamp: ts, Marker: marker,
			Payload: payload(code, end, vol, uint16(dur)),
		}})
		s.seq++
	}
}

// chromium sends a key press of length telephone-event units as libwebrtc
// does (modules/rtp_rtcp/source/rtp_sender_audio.cc, read for its
// behaviour): one packet per audio frame in place of the audio, the
// duration being the frame's timestamp less the event's, none at duration
// 0, the marker on the first packet, the end packet three times, and a
// press longer than 0xFFFF split by sending 0xFFFF for the old segment
// and starting a new one at the current frame.
//
// With PCMU (frame 160) and length 800 this is what Chromium 156 sent:
// 160, 320, 480, 640, then 800 with E three times, and audio resuming
// 120 ms after the press began. With Opus (frame 960) it is the burst of
// three packets with M=1, E=1 and duration 960.
func (s *sender) chromium(code byte, length uint32, vol byte) *sender {
	start, first := s.ts, true
	s.starts = append(s.starts, start)
	for {
		d := s.ts - start
		ended := d >= length
		if d > 0 {
			count := 1
			if ended {
				count = 3
			}
			if d > 0xFFFF {
				s.event(start, false, code, ended, vol, 0xFFFF, count)
				start = s.ts
				d -= 0xFFFF
				length -= 0xFFFF
				s.event(start, false, code, ended, vol, d, count)
			} else {
				s.event(start, first, code, ended, vol, d, count)
				first = false
			}
		}
		s.ts += s.frame // the frame's audio is not sent
		if ended {
			return s
		}
	}
}

// strict sends a key press of length units the way RFC 4733 §2.5.1.3
// describes long events: each segment's timestamp is the previous one's
// plus 0xFFFF, and durations count from the segment's timestamp.
func (s *sender) strict(code byte, length uint32, vol byte) *sender {
	start := s.ts
	seg := start
	s.starts = append(s.starts, start)
	for first := true; ; first = false {
		s.ts += s.frame
		elapsed := s.ts - start
		if s.ts-seg > 0xFFFF {
			s.event(seg, false, code, false, vol, 0xFFFF, 1)
			seg += 0xFFFF
		}
		if elapsed >= length {
			s.event(seg, first, code, true, vol, start+length-seg, 3)
			s.ts += s.frame
			return s
		}
		s.event(seg, first, code, false, vol, s.ts-seg, 1)
	}
}

// keys sends each digit of ks with chromium, length units long, with gap
// audio frames after each.
func (s *sender) keys(ks string, length uint32, gap int) *sender {
	for _, k := range ks {
		s.chromium(code(k), length, 10).audio(gap)
	}
	return s
}

// Transformations of a packet sequence.

func isEvent(st step) bool { return !st.audio }
func isEnd(st step) bool   { return !st.audio && st.p.Payload[1]&0x80 != 0 }

// drop removes the steps that match.
func drop(steps []step, match func(step) bool) []step {
	return slices.DeleteFunc(slices.Clone(steps), match)
}

// delay moves each step that matches by positions later.
func delay(steps []step, match func(step) bool, by int) []step {
	type keyed struct {
		key float64
		st  step
	}
	k := make([]keyed, len(steps))
	for i, st := range steps {
		k[i] = keyed{float64(i), st}
		if match(st) {
			k[i].key += float64(by) + 0.5
		}
	}
	slices.SortStableFunc(k, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	out := make([]step, len(k))
	for i := range k {
		out[i] = k[i].st
	}
	return out
}

// twice sends every telephone-event packet twice in a row.
func twice(steps []step) []step {
	var out []step
	for _, st := range steps {
		out = append(out, st)
		if isEvent(st) {
			out = append(out, st)
		}
	}
	return out
}

// feed runs steps through r, then flushes it, and returns every event.
func feed(t testing.TB, r *Receiver, steps []step) []Event {
	t.Helper()
	var all []Event
	for i, st := range steps {
		if st.audio {
			all = append(all, r.Audio(st.p.SSRC, st.p.Timestamp)...)
			continue
		}
		evs, err := r.Packet(st.p)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		all = append(all, evs...)
	}
	all = append(all, r.Flush()...)
	checkPairs(t, all, true)
	return all
}

// summary writes events compactly: "5" for a start, "5/800" for an end
// with its duration.
func summary(evs []Event) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(e.Digit)
		if e.End {
			fmt.Fprintf(&b, "/%d", e.Duration)
		}
	}
	return b.String()
}

// startTimes returns the timestamps of the starts in evs.
func startTimes(evs []Event) []uint32 {
	var ts []uint32
	for _, e := range evs {
		if !e.End {
			ts = append(ts, e.Timestamp)
		}
	}
	return ts
}

// key identifies an event.
type key struct {
	ssrc uint32
	ts   uint32
}

// checkPairs checks that each start is unique per SSRC and timestamp, and
// that each end follows the start of its event, once; and, if complete,
// that every event has ended.
func checkPairs(t testing.TB, evs []Event, complete bool) {
	t.Helper()
	type state struct {
		digit rune
		ended bool
	}
	seen := map[key]*state{}
	for i, e := range evs {
		if strings.IndexRune(digits, e.Digit) < 0 {
			t.Fatalf("event %d (%v): not a DTMF digit", i, e)
		}
		if e.Volume < 0 || e.Volume > MaxVolume {
			t.Fatalf("event %d (%v): volume %d outside 0..%d", i, e, e.Volume, MaxVolume)
		}
		k := key{e.SSRC, e.Timestamp}
		s := seen[k]
		switch {
		case !e.End && s != nil:
			t.Fatalf("event %d (%v): a second start for SSRC %#x timestamp %d", i, e, e.SSRC, e.Timestamp)
		case !e.End:
			if e.Duration != 0 {
				t.Fatalf("event %d (%v): a start with a duration", i, e)
			}
			seen[k] = &state{digit: e.Digit}
		case s == nil:
			t.Fatalf("event %d (%v): an end without a start", i, e)
		case s.ended:
			t.Fatalf("event %d (%v): a second end", i, e)
		case s.digit != e.Digit:
			t.Fatalf("event %d (%v): ends digit %c", i, e, s.digit)
		default:
			s.ended = true
		}
	}
	if complete {
		for k, s := range seen {
			if !s.ended {
				t.Fatalf("digit %c (SSRC %#x, timestamp %d) never ended", s.digit, k.ssrc, k.ts)
			}
		}
	}
}
