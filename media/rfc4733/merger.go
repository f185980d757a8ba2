package rfc4733

import (
	"sync"
	"time"
)

// DefaultWindow is how far apart, on the media timeline, an RFC 4733 digit
// and an in-band digit may start and still be taken for one key press when
// Merger.Window is zero.
//
// Both detections come from one tone, so they overlap in time, but their
// start times differ:
//
//   - a gateway that turns tones into RFC 4733 events, and lets the tone
//     through in the audio as well, can only start the event once its tone
//     detector has declared the digit. Block Goertzel detectors need two to
//     four 12.75 ms windows: media/dtmf declares a digit 25 to 36 ms after
//     the onset, and a gateway that also waits for the 40 ms minimum tone of
//     ITU-T Q.24 starts the event 40 ms or more late. An in-band detector, on
//     the other hand, dates the digit back to the tone's onset;
//   - events and audio travel in different packets of 20 to 30 ms, and the
//     event's RTP timestamp must be mapped onto the timeline, which adds up
//     to a packet of error either way.
//
// That is about 100 ms at worst; 150 ms leaves a margin while staying
// shorter than a full key cycle (a 100 ms tone and a 70 ms pause, the
// browser's default). A longer window would still not merge two quick
// presses of one key, because each detection cancels at most one detection
// of the other source (see Merger), but it would pair less accurately.
const DefaultWindow = 150 * time.Millisecond

// mergerHistory is how many recent detections a Merger remembers. Only
// detections within the window matter, and key presses come at most about
// ten a second, so 32 is far more than enough.
const mergerHistory = 32

// source is where a digit was detected.
type source uint8

const (
	fromRFC4733 source = iota + 1
	fromInBand
)

// detection is one digit reported by a Merger, waiting for a detection of
// the same press from the other source.
type detection struct {
	src    source // zero for an empty slot
	digit  rune
	at     time.Duration
	paired bool // matched with a detection from the other source
}

// Merger combines the digits of two detectors that may both hear the same
// key press: RFC 4733 events (from a Receiver) and in-band tones (from an
// audio detector such as media/dtmf). It reports each press once, from
// whichever source reports it first.
//
// Both sources give times on one media timeline, as a time.Duration from the
// start of the call: for RFC 4733, the event's RTP timestamp less the
// stream's first timestamp, divided by the clock rate; for in-band, the
// start of the tone in the audio.
//
// A detection of a digit is suppressed if the other source has reported the
// same digit starting within Window of it and that detection has not already
// been paired. Each detection pairs with at most one of the other source
// (the closest in time), so a key pressed twice in quick succession, heard
// by both sources, still gives two digits. Detections from the same source
// are never merged: each source already reports a press once. Different
// digits are never merged.
//
// The zero Merger is ready to use, with DefaultWindow. A Merger is safe for
// concurrent use, since the two sources may run on different goroutines;
// set Window before first use. It remembers only its last 32 detections.
type Merger struct {
	// Window is the largest difference between the start times of an
	// RFC 4733 digit and an in-band digit taken for one key press. Zero
	// or negative means DefaultWindow.
	Window time.Duration

	mu     sync.Mutex
	recent [mergerHistory]detection // a ring: next is the oldest
	next   int
}

// RFC4733 records that a Receiver reported digit d starting at at on the
// media timeline, and reports whether d should be passed on: false if an
// in-band detection has already reported this press.
func (m *Merger) RFC4733(d rune, at time.Duration) bool {
	return m.add(fromRFC4733, d, at)
}

// InBand records that an in-band detector found digit d with its tone
// starting at start on the media timeline, and reports whether d should be
// passed on: false if an RFC 4733 event has already reported this press.
func (m *Merger) InBand(d rune, start time.Duration) bool {
	return m.add(fromInBand, d, start)
}

// add records a detection and reports whether it is the first of its press.
func (m *Merger) add(src source, d rune, at time.Duration) bool {
	window := m.Window
	if window <= 0 {
		window = DefaultWindow
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	best, bestGap := -1, time.Duration(0)
	for i := range m.recent {
		e := &m.recent[i]
		if e.src == 0 || e.src == src || e.paired || e.digit != d {
			continue
		}
		gap := distance(e.at, at)
		if gap <= window && (best < 0 || gap < bestGap) {
			best, bestGap = i, gap
		}
	}
	if best >= 0 {
		m.recent[best].paired = true
		return false
	}
	m.recent[m.next] = detection{src: src, digit: d, at: at}
	m.next = (m.next + 1) % len(m.recent)
	return true
}

// distance returns |a−b|, saturating at the largest Duration.
func distance(a, b time.Duration) time.Duration {
	if a < b {
		a, b = b, a
	}
	if d := a - b; d >= 0 {
		return d
	}
	return time.Duration(1<<63 - 1) // a−b overflowed
}
