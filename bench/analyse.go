package bench

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/graphsim"
)

// commandKinds are the transcript events the emulator logs when the bot
// sends it a command (a request to the calls API). "play" is logged when
// the emulator starts playing a playPrompt; with nothing queued ahead of
// it, that is when the request arrived.
var commandKinds = map[string]bool{
	"answer": true, "reject": true, "redirect": true, "hangup": true, "transfer": true,
	"subscribeToTone": true, "cancelMediaProcessing": true, "sendDtmfTones": true,
	"play": true, "prompt-failed": true, "record": true, "keepAlive": true, "invite": true,
	"mute": true, "unmute": true, "updateRecordingStatus": true, "changeScreenSharingRole": true,
}

// callResult is what one call's transcript says.
type callResult struct {
	answered bool
	answer   time.Duration   // ring → answer
	tones    []time.Duration // each delivered tone → the bot's next command
	lateness []time.Duration // each re-prompt checked: how late after its deadline
	// missedAnswer: the bot did not answer (Graph ends an unanswered
	// call after its answer timeout).
	missedAnswer bool
	// missedReprompts counts menu re-prompts that did not start within
	// the tolerance of their deadline.
	missedReprompts int
	// failure is why the call did not go as scripted; "" when it did.
	failure string
}

var playDuration = regexp.MustCompile(`\(([0-9.]+)s\)$`)

// analyse reads a finished call's transcript. Plays before the caller's
// first key press are taken as the menu's prompts: each that played to its
// end (no play-stopped) starts the menu timeout, so the next play is due
// menuTimeout after it ended; a re-prompt later than tolerance past that
// (or none by then, when the caller pressed or the call ended later) is a
// missed deadline. menuTimeout 0 checks no re-prompts. The call went as
// scripted when the bot answered, a key was delivered and answered with a
// command, a prompt played after it, and the bot hung up.
func analyse(tr []graphsim.Event, menuTimeout, tolerance time.Duration) callResult {
	var r callResult
	var ring, firstTone, ended = -1, -1, -1
	for i, ev := range tr {
		switch ev.Kind {
		case "ring":
			if ring < 0 {
				ring = i
			}
		case "answer":
			if !r.answered && ring >= 0 {
				r.answered = true
				r.answer = ev.At - tr[ring].At
			}
		case "tone":
			if firstTone < 0 {
				firstTone = i
			}
		case "ended":
			ended = i
		}
	}
	fail := func(why string) {
		if r.failure == "" {
			r.failure = why
		}
	}
	if !r.answered {
		r.missedAnswer = true
		switch {
		case ended >= 0 && strings.HasPrefix(tr[ended].Detail, "by timeout"):
			fail("not answered: Graph's answer timeout ended the call")
		case ended >= 0:
			fail("ended before the bot answered: " + endedBy(tr[ended].Detail))
		default:
			fail("not answered")
		}
	}

	// Tone → next command.
	delivered := false
	for i, ev := range tr {
		if ev.Kind != "tone" {
			continue
		}
		if !strings.Contains(ev.Detail, "delivered as") {
			fail("a key was pressed before the bot subscribed to tones")
			continue
		}
		delivered = true
		found := false
		for _, next := range tr[i+1:] {
			if commandKinds[next.Kind] {
				r.tones = append(r.tones, next.At-ev.At)
				found = true
				break
			}
		}
		if !found {
			fail("no Graph command after the key press")
		}
	}

	// Menu re-prompts.
	if menuTimeout > 0 {
		limit := len(tr)
		if firstTone >= 0 {
			limit = firstTone
		}
		for i := 0; i < limit; i++ {
			ev := tr[i]
			if ev.Kind != "play" {
				continue
			}
			m := playDuration.FindStringSubmatch(ev.Detail)
			if m == nil {
				continue
			}
			secs, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				continue
			}
			due := ev.At + time.Duration(secs*float64(time.Second)) + menuTimeout
			stopped := false
			for _, next := range tr[i+1:] {
				switch next.Kind {
				case "play-stopped":
					stopped = true
					continue
				case "play":
					if !stopped {
						late := next.At - due
						r.lateness = append(r.lateness, late)
						if late > tolerance {
							r.missedReprompts++
						}
					}
				case "tone", "ended":
					// No re-prompt came before the caller pressed or the
					// call ended: missed if its deadline had passed.
					if !stopped && next.At-due > tolerance {
						r.missedReprompts++
					}
				default:
					continue
				}
				break
			}
		}
	}

	switch {
	case firstTone < 0 && ended >= 0 && r.answered:
		fail("the call ended before the caller pressed: " + endedBy(tr[ended].Detail))
	case firstTone < 0 && r.answered:
		fail("the caller never pressed")
	case delivered && !slices.ContainsFunc(tr[firstTone:], func(ev graphsim.Event) bool { return ev.Kind == "play" }):
		fail("no prompt after the key press")
	}
	for _, ev := range tr {
		switch ev.Kind {
		case "prompt-failed":
			fail("a prompt could not be played (prompt-failed)")
		case "undelivered":
			fail("a notification was not accepted by the webhook")
		}
	}
	switch {
	case ended < 0:
		fail("the call did not end")
	case !strings.HasPrefix(tr[ended].Detail, "by bot (200/5001 "):
		fail("not hung up by the bot: " + endedBy(tr[ended].Detail))
	}
	return r
}

// endedBy shortens an "ended" event's detail, "by caller (200/4521 Call
// ended by ...)", to what groups well: "by caller (200/4521)".
func endedBy(detail string) string {
	if m := endedRe.FindStringSubmatch(detail); m != nil {
		return m[1] + ")"
	}
	return detail
}

var endedRe = regexp.MustCompile(`^(by .* \([0-9]+/[0-9]+)`)

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted
// values: the smallest value at least p% of the values are at or below.
// It is 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// summarise sorts values and summarises them.
func summarise(values []time.Duration) Latency {
	s := slices.Clone(values)
	slices.Sort(s)
	l := Latency{Count: len(s)}
	if len(s) == 0 {
		return l
	}
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	l.Mean = Millis(sum / time.Duration(len(s)))
	l.Min = Millis(s[0])
	l.P50 = Millis(percentile(s, 50))
	l.P95 = Millis(percentile(s, 95))
	l.P99 = Millis(percentile(s, 99))
	l.Max = Millis(s[len(s)-1])
	return l
}
