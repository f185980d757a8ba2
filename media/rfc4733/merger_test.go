package rfc4733

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// detect is one call to a Merger: from RFC 4733 ("r") or in-band ("i").
type detect struct {
	src   byte
	digit rune
	ms    float64 // start on the media timeline
}

func (d detect) String() string { return fmt.Sprintf("%c %c@%gms", d.src, d.digit, d.ms) }

func TestMerger(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	tests := []struct {
		name   string
		window time.Duration
		calls  []detect
		want   string // for each call, 1 if reported, 0 if suppressed
	}{
		{"RFC 4733 first, tone 40 ms earlier", 0, []detect{{'r', '5', 1000}, {'i', '5', 960}}, "10"},
		{"tone first, RFC 4733 40 ms later", 0, []detect{{'i', '5', 960}, {'r', '5', 1000}}, "10"},
		{"RFC 4733 first, tone later in time", 0, []detect{{'r', '5', 1000}, {'i', '5', 1100}}, "10"},
		{"exactly the window apart", 0, []detect{{'r', '5', 1000}, {'i', '5', 1150}}, "10"},
		{"just outside the window", 0, []detect{{'r', '5', 1000}, {'i', '5', 1150.001}}, "11"},
		{"far apart", 0, []detect{{'i', '5', 1000}, {'r', '5', 3000}}, "11"},
		{"different digits at once", 0, []detect{{'r', '5', 1000}, {'i', '6', 1000}}, "11"},
		{"same source twice is not merged", 0, []detect{{'r', '5', 1000}, {'r', '5', 1010}, {'i', '5', 1010}, {'i', '5', 1020}}, "1100"},
		// A key pressed twice quickly (60 ms tones, 40 ms pause), heard
		// by both: the in-band starts lead by 40 ms. Each press once.
		{"55 fast, heard by both", 0, []detect{{'r', '5', 1040}, {'i', '5', 1000}, {'r', '5', 1140}, {'i', '5', 1100}}, "1010"},
		// The same, with the in-band detector reporting both before
		// the RFC 4733 events arrive: each event pairs with the closest.
		{"55 fast, tones first", 0, []detect{{'i', '5', 1000}, {'i', '5', 1100}, {'r', '5', 1040}, {'r', '5', 1140}}, "1100"},
		// The first press's tone was missed: the second press's tone
		// pairs with its own event, not with the first press's.
		{"55, first tone missed", 0, []detect{{'r', '5', 1040}, {'r', '5', 1140}, {'i', '5', 1100}}, "110"},
		// The second press's events were lost: its tone is a digit,
		// because the first press's event has already paired.
		{"55, second event lost", 0, []detect{{'r', '5', 1040}, {'i', '5', 1000}, {'i', '5', 1100}}, "101"},
		// Detections pair with the closest in time, not the first found.
		{"pairs with the closest", 0, []detect{{'i', '5', 1100}, {'i', '5', 1000}, {'r', '5', 1040}, {'r', '5', 1240}}, "1100"},
		{"a digit both ways, then alone", 0, []detect{{'r', '1', 0}, {'i', '1', 5}, {'i', '2', 300}, {'r', '2', 310}, {'r', '3', 600}}, "10101"},
		{"custom window 20 ms", 20 * time.Millisecond, []detect{{'r', '5', 1000}, {'i', '5', 1030}, {'r', '7', 2000}, {'i', '7', 2015}}, "1110"},
		{"negative window means the default", -time.Second, []detect{{'r', '5', 1000}, {'i', '5', 1100}}, "10"},
		{"extreme times do not overflow", 0, []detect{{'r', '5', -9.2e12}, {'i', '5', 9.2e12}}, "11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Merger{Window: tt.window}
			var got strings.Builder
			for _, c := range tt.calls {
				var ok bool
				if c.src == 'r' {
					ok = m.RFC4733(c.digit, ms(c.ms))
				} else {
					ok = m.InBand(c.digit, ms(c.ms))
				}
				if ok {
					got.WriteByte('1')
				} else {
					got.WriteByte('0')
				}
			}
			if got.String() != tt.want {
				t.Errorf("calls %v: got %s, want %s", tt.calls, got.String(), tt.want)
			}
		})
	}
}

// TestMergerForgets: a Merger remembers only its recent detections, so its
// memory is bounded however long the call.
func TestMergerForgets(t *testing.T) {
	var m Merger
	m.RFC4733('5', time.Second)
	for i := range mergerHistory {
		m.RFC4733('1', time.Second+time.Duration(i)*time.Microsecond)
	}
	if !m.InBand('5', time.Second) {
		t.Error("a detection older than the history still suppressed a digit")
	}
	m.RFC4733('8', time.Hour)
	if m.InBand('8', time.Hour) {
		t.Error("a recent detection did not suppress a digit")
	}
}

// TestMergerConcurrent: the two sources may call from two goroutines (run
// with -race). Each press is reported by both at once.
func TestMergerConcurrent(t *testing.T) {
	var m Merger
	var reported [2]int
	for i := range 500 {
		at := time.Duration(i) * time.Second
		var wg sync.WaitGroup
		wg.Go(func() {
			if m.RFC4733('#', at) {
				reported[0]++
			}
		})
		wg.Go(func() {
			if m.InBand('#', at-30*time.Millisecond) {
				reported[1]++
			}
		})
		wg.Wait()
	}
	if n := reported[0] + reported[1]; n != 500 {
		t.Errorf("500 presses heard by both sources gave %d digits", n)
	}
}
