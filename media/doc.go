// Package media is the app-hosted media worker built on pion/webrtc: it
// terminates WebRTC calls, detects DTMF (RFC 4733 events and in-band
// tones), records to WAV and plays prompts, running its activities on a
// task queue owned by the process that holds the audio. It must never
// block the RTP read loop.
//
// Its parts that need no network live in subpackages:
//
//   - [github.com/ivrflow/ivrflow/media/dtmf] finds in-band DTMF digits in
//     8 kHz linear PCM, to the receiver figures of ITU-T Q.24, at about
//     13 ns a sample (some 9,000 channels per core);
//   - [github.com/ivrflow/ivrflow/media/g711] converts between linear PCM
//     and G.711 µ-law and A-law, the codes of PCMU and PCMA.
//
// `ivrflow dtmf FILE.wav` runs the detector over a recording.
package media
