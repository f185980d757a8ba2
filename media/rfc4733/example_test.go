package rfc4733_test

import (
	"fmt"
	"time"

	"github.com/ivrflow/ivrflow/media/rfc4733"
)

// A digit '5' as Chromium sends it with PCMU: the first packet was lost on
// the way, and the end packet arrives three times. With pion, the fields
// come from rtp.Packet's Header and Payload, for packets whose payload type
// is telephone-event.
func ExampleReceiver() {
	r := rfc4733.NewReceiver(8000)
	for _, p := range [][]byte{
		// {5, 10, 0x00, 0xa0}, dur 160: lost
		{5, 10, 0x01, 0x40},   // event 5, volume 10, duration 320
		{5, 10, 0x01, 0xe0},   // 480
		{5, 10, 0x02, 0x80},   // 640
		{5, 0x8a, 0x03, 0x20}, // E bit, volume 10, duration 800
		{5, 0x8a, 0x03, 0x20},
		{5, 0x8a, 0x03, 0x20},
	} {
		evs, err := r.Packet(rfc4733.Packet{SSRC: 0x1234, Timestamp: 16000, Payload: p})
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, e := range evs {
			fmt.Println(e)
		}
	}
	// Output:
	// 5 start ts=16000
	// 5 end ts=16000 dur=800
}

// A gateway sends a digit as an RFC 4733 event and lets its tone through in
// the audio too: the in-band detector's digit is dropped.
func ExampleMerger() {
	var m rfc4733.Merger
	// The event's timestamp, 16000 at 8 kHz from a first timestamp of 0,
	// is 2 s into the call; the tone began 40 ms before the gateway
	// detected it and started the event.
	fmt.Println(m.RFC4733('5', 2*time.Second))
	fmt.Println(m.InBand('5', 1960*time.Millisecond))
	// A different key a second later, heard only in-band.
	fmt.Println(m.InBand('7', 3*time.Second))
	// Output:
	// true
	// false
	// true
}
