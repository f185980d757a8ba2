// Package audio records a call's audio and prepares the prompts played to
// it, for the media worker's PCMU (G.711 µ-law) calls: everything here is
// 8 kHz, mono, in 20 ms frames of 160 samples.
//
//   - [Recorder] writes one RTP audio stream to a WAV file (8 kHz, 16-bit
//     PCM, mono) with github.com/go-audio/wav. It places audio by RTP
//     timestamp, so lost packets, the audio Chromium withholds during a
//     DTMF event and discontinuous transmission come out as silence of the
//     right length; it puts slightly reordered packets back in order, and
//     keeps the file a valid WAV at all times, so a crash loses at most the
//     last half second.
//   - [Level] measures a block's level in dBm0, and [VAD] tells speech from
//     silence with a threshold and a hangover, which is what a
//     recordResponse-style "initial silence" and "maximum silence" timeout
//     needs.
//   - [LoadPrompt] reads a WAV file (PCM, IEEE float, µ-law or A-law; mono
//     or several channels; any common rate), resamples it to 8 kHz through
//     an anti-aliasing filter and cuts it into 20 ms PCMU frames ready to
//     send; [Beep] and [Silence] make the usual fixed prompts.
package audio
