// Package media is the app-hosted media worker built on pion/webrtc. It
// takes WebRTC calls itself, with no Graph in between, and runs each one's
// flow as a CallWorkflow in app-hosted mode: the same flows, the same
// interpreter, with the workflow's media commands carried out here on the
// call's own audio.
//
// # Signalling
//
// A caller POSTs its complete SDP offer (non-trickle, WHIP-style) to
// /calls?route=NAME and gets the answer back (201, Location /calls/ID);
// DELETE /calls/ID hangs up and GET /calls/ID returns the call's state and
// transcript. The answer puts PCMU and telephone-event/8000 first, so the
// caller sends G.711 µ-law and RFC 4733 events; a caller that offers only
// Opus is taken, its audio decoded in pure Go, but it hears no prompts
// (there is no Opus encoder). /phone/ serves a softphone
// page that does all of this from a browser.
//
// # A call's life
//
// The Server starts the call's workflow with MediaQueue set to its own task
// queue, which no other process polls: every command of the call (answer,
// subscribe, play, record, cancel, hang up, and the recording's "download")
// runs on the process that holds the audio. It reports back to the
// workflow with the notifications Graph would send (call states, tones,
// operation completions), signalled in order. The workflow runs a
// MediaSession activity here for the whole call; if this process dies,
// its heartbeats stop and the workflow ends the call as hung up, so the
// flow's on_hangup runs. Conversely a call whose workflow has gone (an
// operator terminated it) is hung up after DetachTimeout, and one its flow
// does not answer within AnswerTimeout is dropped, as Graph drops it.
//
// # Audio
//
// One goroutine per call reads RTP and never waits on anything but the
// socket: it decodes µ-law (or Opus), runs the in-band detector, takes RFC
// 4733 events, merges the two so one key is one digit, and queues the
// audio for the recording in progress, which a goroutine of its own
// writes, so a stalling disk costs memory, not audio. Media
// operations run one at a time, as Graph runs them: prompts are paced at
// one 20 ms frame per tick; a recording is written as it arrives, with
// gaps filled so its time stays true, and when the call ends during it, it
// is closed, kept and reported before the call's terminated notification
// (Graph loses such a recording).
//
// Its parts that need no network live in subpackages:
//
//   - [github.com/ivrflow/ivrflow/media/dtmf] finds in-band DTMF digits in
//     8 kHz linear PCM, to the receiver figures of ITU-T Q.24;
//   - [github.com/ivrflow/ivrflow/media/rfc4733] receives RFC 4733
//     telephone-event packets and merges their digits with in-band ones;
//   - [github.com/ivrflow/ivrflow/media/audio] records to WAV, loads
//     prompts as 20 ms PCMU frames and measures speech levels;
//   - [github.com/ivrflow/ivrflow/media/g711] converts between linear PCM
//     and G.711 µ-law and A-law;
//   - [github.com/ivrflow/ivrflow/media/phone] is the softphone page.
//
// `ivrflow media` runs a media worker against a Temporal cluster;
// `ivrflow dev` starts one on port 8234. `ivrflow dtmf FILE.wav` runs the
// in-band detector over a recording.
package media
