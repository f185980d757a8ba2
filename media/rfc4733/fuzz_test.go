package rfc4733

import (
	"encoding/binary"
	"errors"
	"testing"
)

// The fuzz input is a header and a list of operations.
//
// Header, 5 bytes: byte 0 bits 0–1 choose the clock rate, bit 2 "wide"
// timestamps; bytes 1–4 are the base timestamp.
//
// Each operation, 7 bytes: byte 0 bits 0–1 choose the SSRC (of three), bit 2
// makes it audio, bit 3 is the marker bit, bits 4–7 the payload length
// (0–5 bytes; 6 and up mean 4); bytes 1–2 are the timestamp offset from the
// base (times 65536 if wide); bytes 3–6 are the payload.
const (
	fuzzHeader = 5
	fuzzOp     = 7
)

var (
	fuzzClocks = [4]uint32{0, 8000, 16000, 48000}
	fuzzSSRCs  = [4]uint32{ssrcA, ssrcB, 7, ssrcA}
)

// encodeFuzz turns steps sent from base into a fuzz input (narrow).
func encodeFuzz(clock byte, base uint32, steps []step) []byte {
	b := []byte{clock, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], base)
	for _, st := range steps {
		op := byte(4 << 4)
		switch st.p.SSRC {
		case ssrcB:
			op |= 1
		case 7:
			op |= 2
		}
		if st.audio {
			op |= 4
		}
		if st.p.Marker {
			op |= 8
		}
		var pl [4]byte
		copy(pl[:], st.p.Payload)
		off := uint16(st.p.Timestamp - base)
		b = append(b, op, byte(off>>8), byte(off), pl[0], pl[1], pl[2], pl[3])
	}
	return b
}

func FuzzReceiver(f *testing.F) {
	f.Add(encodeFuzz(1, 40000, pcmu(40000).steps))
	f.Add(encodeFuzz(1, 1<<32-2500, pcmu(1<<32-2500).steps))
	f.Add(encodeFuzz(3, 7777, newSender(ssrcA, 7777, opusFrame).audio(3).keys("123#", 800, 2).steps))
	f.Add(encodeFuzz(1, 0, twice(newSender(ssrcB, 0, pcmuFrame).keys("55", 800, 0).steps)))
	long := newSender(ssrcA, 100, pcmuFrame)
	long.event(100, true, 0, false, 10, 0xFFFF, 1)
	long.event(100+0xFFFF, false, 0, true, 10, 160, 3)
	f.Add(encodeFuzz(1, 100, long.steps))
	f.Add([]byte{4, 0, 0, 0, 0, 0x40, 0, 1, 5, 10, 0, 160, 0x40, 0x80, 0, 5, 10, 0, 160, 0x40, 0, 1, 5, 10, 0, 160})

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < fuzzHeader {
			return
		}
		r := NewReceiver(fuzzClocks[data[0]&3])
		wide := data[0]&4 != 0
		base := binary.BigEndian.Uint32(data[1:5])
		data = data[fuzzHeader:]

		var all []Event
		check := func(evs []Event) {
			all = append(all, evs...)
			checkOrder(t, all)
		}
		for ; len(data) >= fuzzOp; data = data[fuzzOp:] {
			op := data[0]
			ssrc := fuzzSSRCs[op&3]
			off := uint32(binary.BigEndian.Uint16(data[1:3]))
			if wide {
				off <<= 16
			}
			ts := base + off
			if op&4 != 0 {
				check(r.Audio(ssrc, ts))
				continue
			}
			n := int(op >> 4)
			if n > 5 {
				n = 4
			}
			pl := append(append([]byte(nil), data[3:7]...), 0)[:n]
			evs, err := r.Packet(Packet{SSRC: ssrc, Timestamp: ts, Marker: op&8 != 0, Payload: pl})
			if (err != nil) != (n < 4) || err != nil && !errors.Is(err, ErrShortPayload) {
				t.Fatalf("payload of %d bytes: error %v", n, err)
			}
			if err != nil && evs != nil {
				t.Fatalf("events %v with error %v", evs, err)
			}
			check(evs)
		}
		check(r.Flush())
		if !wide {
			// All timestamps lie within 65536 units of each other, closer
			// than a jump back that restarts the timeline: a digit is
			// never reported twice, and every one has ended.
			checkPairs(t, all, true)
		}
	})
}

// checkOrder checks that on each SSRC starts and ends alternate, each end
// closing the digit last started, and reports no digit other than 0–9, *,
// # and A–D.
func checkOrder(t *testing.T, evs []Event) {
	t.Helper()
	open := map[uint32]*Event{}
	for i := range evs {
		e := &evs[i]
		o := open[e.SSRC]
		switch {
		case e.End && (o == nil || o.Timestamp != e.Timestamp || o.Digit != e.Digit):
			t.Fatalf("event %d (%v) does not end the digit held (%v)", i, e, o)
		case e.End:
			delete(open, e.SSRC)
		case o != nil:
			t.Fatalf("event %d (%v) starts while %v is held", i, e, o)
		case e.Duration != 0 || e.Volume > MaxVolume || e.Digit > 'D' || e.Digit < '#':
			t.Fatalf("event %d: bad start %+v", i, e)
		default:
			open[e.SSRC] = e
		}
	}
}
