// Package rfc4733 turns RFC 4733 telephone-event RTP packets into DTMF
// digits, and merges those digits with the ones an in-band tone detector
// finds, so that one key press is counted once.
//
// RFC 4733 (https://www.rfc-editor.org/rfc/rfc4733) carries each key press
// as a series of RTP packets that share one RTP timestamp, the start of the
// event, and report a growing duration; the last one sets the E (end) bit
// and is sent three times. A Receiver keys events on the SSRC and that
// timestamp, and reports a digit on the first packet it sees of an event,
// whatever its M and E bits, so losing the first packet never loses the
// digit. It reports the end separately, when the E bit arrives or, if all
// the E packets are lost, when the next event starts or the stream's audio
// has moved well past the event.
//
// Browsers send the digits of RTCDTMFSender this way; Chromium never puts
// them into the audio as tones. So a WebRTC media worker must read
// telephone-event packets. Callers that come
// through gateways or trunks may send tones instead, or both; a Merger then
// combines the two sources.
//
// The package does no I/O and reads no clock: the caller passes the RTP
// header fields and payload of each packet (from pion/rtp or any other
// stack), and time is measured in RTP timestamp units, so every outcome is
// a function of the packets alone.
package rfc4733

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxVolume is the quietest volume, in −dBm0, that a Receiver accepts.
// RFC 4733 §2.3.4 carries the power level as 0 to 63 (0 to −63 dBm0); a
// DTMF receiver must not operate on tones below −55 dBm0 (ITU-T Q.24), so
// packets with a larger volume value are ignored.
const MaxVolume = 55

const (
	// maxEventCode is the highest event code that is a DTMF digit: 0–9,
	// * (10), # (11) and A–D (12–15) (RFC 4733 §3). Code 16 is flash,
	// which is not a digit.
	maxEventCode = 15

	// maxSegment is the longest duration one packet can report: the field
	// has 16 bits. Longer events are split into segments with new
	// timestamps (RFC 4733 §2.5.1.3 and §2.5.2.3).
	maxSegment = 0xFFFF

	// maxStreams is how many SSRCs a Receiver remembers. One is normal; a
	// few more cover an SSRC change with late packets of the old SSRC still
	// arriving.
	maxStreams = 4
)

// digits maps an event code to its digit.
const digits = "0123456789*#ABCD"

// ErrShortPayload is returned, wrapped, for a telephone-event payload
// shorter than the 4-byte event block of RFC 4733 §2.3.
var ErrShortPayload = errors.New("rfc4733: telephone-event payload shorter than 4 bytes")

// Packet is what a Receiver needs of one telephone-event RTP packet: a few
// fields of its RTP header and its payload.
//
// The Receiver keys events on SSRC and Timestamp alone. Seq and Marker are
// carried so a caller can pass an RTP header as it is (and log it); they
// decide nothing, because the packet with the marker bit may be lost and
// sequence numbers are shared with the audio on the same SSRC.
type Packet struct {
	SSRC      uint32 // the RTP synchronisation source
	Seq       uint16 // the RTP sequence number
	Timestamp uint32 // the RTP timestamp: the start of the event (or of its current segment)
	Marker    bool   // the RTP marker bit, set on the first packet of an event
	Payload   []byte // the RTP payload: one or more 4-byte event blocks
}

// Event reports the start or the end of a digit.
//
// A Receiver returns one Event with End false when a digit starts, and one
// with End true when it ends; both carry the same SSRC, Digit and
// Timestamp.
type Event struct {
	SSRC      uint32 // the RTP synchronisation source the digit came on
	Digit     rune   // '0' to '9', '*', '#' or 'A' to 'D'
	Timestamp uint32 // the RTP timestamp of the event's start (of its first segment)
	Duration  uint32 // in RTP timestamp units; 0 on the start, the duration known at the end on the end
	End       bool   // false when the digit starts, true when it ends
	Volume    int    // the tone's power level in −dBm0 (0 is loudest) from the packet reported
}

// String formats e for logs, e.g. "5 start ts=1600" or "5 end ts=1600 dur=800".
func (e Event) String() string {
	if e.End {
		return fmt.Sprintf("%c end ts=%d dur=%d", e.Digit, e.Timestamp, e.Duration)
	}
	return fmt.Sprintf("%c start ts=%d", e.Digit, e.Timestamp)
}

// Receiver turns the telephone-event packets of an RTP stream into digit
// events. Make one per stream (per remote track) with NewReceiver. A
// Receiver is not safe for concurrent use: feed it from the stream's read
// loop.
//
// The rules, after RFC 4733 §2.5.2 and common receiver practice:
//
//   - A digit starts on the first packet seen with a new timestamp on an
//     SSRC, whatever its M and E bits. Packets with that timestamp after the
//     event has ended (the E packet is sent three times, and senders may
//     retransmit) report nothing more.
//   - Event codes above 15 (flash and non-DTMF events), volumes above
//     MaxVolume and packets with zero duration are ignored, as if not
//     received.
//   - A packet whose timestamp is older than the latest event's (or the
//     latest segment's), by up to ten seconds, is late (reordered or
//     duplicated) and ignored. A larger
//     jump back is taken as a new timeline: the sender restarted its
//     timestamps.
//   - A packet of the same digit whose timestamp is the latest segment's
//     timestamp plus about 0xFFFF, after a segment that reached about 0xFFFF,
//     continues a long event (RFC 4733 §2.5.2.3) and is not a new digit.
//     Two presses of the same key are two events with their own timestamps,
//     and two digits.
//   - An event whose E packets were all lost ends when the next event on its
//     SSRC starts, when Audio reports audio a quarter of a second past the
//     event's known end, or on Flush.
//   - A Receiver remembers four SSRCs. A packet of a fifth evicts the least
//     recently used, ending its event if it is held.
//
// Only the first event block of a payload is read: RFC 4733 §2.5.1.5
// allows a packet to carry several events, but the senders met in practice
// (browsers, gateways) send one.
type Receiver struct {
	late     uint32 // how far back, in timestamp units, a packet is late rather than a new timeline
	slack    uint32 // tolerance, in timestamp units, when matching a long event's segments
	endAfter uint32 // how far past an event's known end audio must be to end it

	streams [maxStreams]stream
	uses    uint64 // counts lookups, to find the least recently used stream
}

// stream is the state of one SSRC: its latest event.
type stream struct {
	used    bool
	ssrc    uint32
	lastUse uint64

	code  byte   // event code of the latest event
	start uint32 // timestamp of the latest event's first segment
	seg   uint32 // timestamp of its latest segment
	dur   uint32 // longest duration seen in that segment
	vol   int    // volume of the latest packet accepted
	ended bool   // its end has been reported
}

// NewReceiver returns a Receiver for a stream whose RTP timestamps run at
// clockRate units per second; zero means 8000.
//
// The clock rate only scales the Receiver's tolerances: how far back a
// packet may be late (10 s), how closely a long event's segments must
// follow each other (200 ms), how far audio must pass a held event to end
// it (250 ms). It does not change the digits of ordinary streams.
// telephone-event must use the clock of the audio it
// accompanies: 8000 with PCMU or PCMA. Chromium, when it sends Opus, sends
// telephone-event/8000 stamped with the 48 kHz Opus clock; either 8000 or
// 48000 then gives the same digits, and 48000 gives the intended margins.
func NewReceiver(clockRate uint32) *Receiver {
	if clockRate == 0 {
		clockRate = 8000
	}
	rate := uint64(clockRate)
	return &Receiver{
		// Jitter buffers give up on packets long before 10 s; a jump back
		// further than that is a restarted timeline, not a late packet.
		late: uint32(min(10*rate, 1<<30)),
		// 200 ms: a sender's new segment may start up to one update
		// interval (20 to 50 ms) after the 0xFFFF point, and the last
		// few updates of a segment may be lost.
		slack: uint32(min(rate/5, maxSegment/2)),
		// 250 ms: five of the 50 ms update intervals that RFC 4733
		// §2.5.1.2 recommends, so audio sent alongside a long event, and
		// arriving ahead of a delayed update, does not cut the event short.
		endAfter: uint32(min(rate/4, 1<<30)),
	}
}

// Packet takes one telephone-event packet and returns the events it
// completes: a digit's start, its end, or both (when the first packet seen
// of an event already has the E bit), and the end of an earlier event of
// the same SSRC whose end was lost. Most packets return none.
//
// A payload shorter than 4 bytes returns an error wrapping ErrShortPayload
// and changes nothing.
func (r *Receiver) Packet(p Packet) ([]Event, error) {
	if len(p.Payload) < 4 {
		return nil, fmt.Errorf("%w: got %d bytes (SSRC %#08x, seq %d, timestamp %d)",
			ErrShortPayload, len(p.Payload), p.SSRC, p.Seq, p.Timestamp)
	}
	// RFC 4733 §2.3: event (8 bits), E (1), R (1), volume (6), duration (16).
	code := p.Payload[0]
	end := p.Payload[1]&0x80 != 0
	vol := int(p.Payload[1] & 0x3F)
	dur := uint32(binary.BigEndian.Uint16(p.Payload[2:4]))
	if code > maxEventCode || vol > MaxVolume || dur == 0 {
		return nil, nil
	}

	s := r.find(p.SSRC)
	if s == nil {
		s, evs := r.slot()
		return r.begin(evs, s, p.SSRC, code, p.Timestamp, dur, vol, end), nil
	}
	delta := p.Timestamp - s.seg // wraps at 2^32 as the timestamps do
	switch {
	case delta == 0: // the latest segment
		if code != s.code {
			return nil, nil
		}
		// Kept up after the end too: it tells whether the segment ran
		// to 0xFFFF, and so whether a next segment may follow.
		s.dur = max(s.dur, dur)
		if s.ended {
			return nil, nil
		}
		s.vol = vol
		if end {
			s.ended = true
			return []Event{s.endEvent()}, nil
		}
		return nil, nil
	case -delta <= r.late: // older: late, reordered or duplicated
		return nil, nil
	case code == s.code && s.dur+r.slack >= maxSegment && delta >= s.dur && delta <= maxSegment+r.slack:
		// The next segment of a long event. If the event has already
		// been reported ended (its end was taken as lost, or the sender
		// set E on a segment), the rest of it is absorbed silently.
		s.seg, s.dur, s.vol = p.Timestamp, dur, vol
		if end && !s.ended {
			s.ended = true
			return []Event{s.endEvent()}, nil
		}
		return nil, nil
	}
	var evs []Event
	if !s.ended {
		s.ended = true
		evs = append(evs, s.endEvent()) // superseded: its E packets were lost
	}
	return r.begin(evs, s, p.SSRC, code, p.Timestamp, dur, vol, end), nil
}

// begin starts a new event in s and appends its events to evs.
func (r *Receiver) begin(evs []Event, s *stream, ssrc uint32, code byte, ts, dur uint32, vol int, end bool) []Event {
	*s = stream{used: true, ssrc: ssrc, lastUse: r.uses, code: code, start: ts, seg: ts, dur: dur, vol: vol, ended: end}
	evs = append(evs, Event{SSRC: ssrc, Digit: rune(digits[code]), Timestamp: ts, Volume: vol})
	if end {
		evs = append(evs, s.endEvent())
	}
	return evs
}

// find returns the state of ssrc, or nil if it has none yet.
func (r *Receiver) find(ssrc uint32) *stream {
	r.uses++
	for i := range r.streams {
		if s := &r.streams[i]; s.used && s.ssrc == ssrc {
			s.lastUse = r.uses
			return s
		}
	}
	return nil
}

// slot returns a free stream slot, evicting the least recently used stream
// if all are taken; the evicted stream's held event is ended.
func (r *Receiver) slot() (*stream, []Event) {
	victim := &r.streams[0]
	for i := range r.streams {
		s := &r.streams[i]
		if !s.used {
			return s, nil
		}
		if s.lastUse < victim.lastUse {
			victim = s
		}
	}
	if !victim.ended {
		return victim, []Event{victim.endEvent()}
	}
	return victim, nil
}

// endEvent returns the end of the latest event of s.
func (s *stream) endEvent() Event {
	return Event{
		SSRC:      s.ssrc,
		Digit:     rune(digits[s.code]),
		Timestamp: s.start,
		Duration:  s.seg - s.start + s.dur,
		End:       true,
		Volume:    s.vol,
	}
}

// Audio tells the Receiver that an audio packet with RTP timestamp ts
// arrived on ssrc. If that audio is more than a quarter of a second past
// the known end of an event still held on ssrc (its E packets were lost),
// the event is ended and its end returned. Senders stop audio while they
// send an event (Chromium does), or may send both; either way audio that far
// past the last update means the key was released.
//
// Calling Audio is optional: without it a lost end is reported when the
// next event starts, or on Flush.
func (r *Receiver) Audio(ssrc, ts uint32) []Event {
	for i := range r.streams {
		s := &r.streams[i]
		if !s.used || s.ssrc != ssrc || s.ended {
			continue
		}
		if past := ts - (s.seg + s.dur); past > r.endAfter && past < 1<<31 {
			s.ended = true
			return []Event{s.endEvent()}
		}
		return nil
	}
	return nil
}

// Flush ends every event still held, as at the end of a call, and returns
// their ends. The Receiver keeps what it knows of each stream, so late
// packets of those events still report nothing.
func (r *Receiver) Flush() []Event {
	var evs []Event
	for i := range r.streams {
		if s := &r.streams[i]; s.used && !s.ended {
			s.ended = true
			evs = append(evs, s.endEvent())
		}
	}
	return evs
}
