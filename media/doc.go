// Package media is the app-hosted media worker built on pion/webrtc: it
// terminates WebRTC calls, detects DTMF (RFC 4733 events and in-band
// tones), records to WAV and plays prompts, running its activities on a
// task queue owned by the process that holds the audio. It must never
// block the RTP read loop.
package media
