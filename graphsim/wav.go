package graphsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/go-audio/wav"
)

// sampleRate is the rate of the emulator's audio: recordings are written at
// it, and caller speech is converted to it.
const sampleRate = 16000

// audio is mono 16-bit PCM at sampleRate.
type audio []int16

func (a audio) duration() time.Duration {
	return time.Duration(len(a)) * time.Second / sampleRate
}

var (
	errNotWAV       = errors.New("not a WAV file")
	errWAVFormat    = errors.New("unsupported WAV format")
	errEmptyWAVData = errors.New("WAV file has no audio data")
)

// decodeWAV reads a PCM WAV file, mono, 16-bit, at 8 or 16 kHz (what
// Graph's service-hosted media plays), and returns its audio at sampleRate.
func decodeWAV(b []byte) (audio, error) {
	d := wav.NewDecoder(bytes.NewReader(b))
	if !d.IsValidFile() {
		return nil, errNotWAV
	}
	if d.WavAudioFormat != 1 || d.NumChans != 1 || d.BitDepth != 16 || (d.SampleRate != 8000 && d.SampleRate != 16000) {
		return nil, fmt.Errorf("%w: format %d, %d channels, %d-bit, %d Hz (want PCM mono 16-bit at 8 or 16 kHz)",
			errWAVFormat, d.WavAudioFormat, d.NumChans, d.BitDepth, d.SampleRate)
	}
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return nil, fmt.Errorf("read WAV data: %w", err)
	}
	if len(buf.Data) == 0 {
		return nil, errEmptyWAVData
	}
	step := 1
	if d.SampleRate == 8000 {
		step = 2 // repeat each sample: crude, but the emulator only needs timing and energy
	}
	out := make(audio, 0, len(buf.Data)*step)
	for _, s := range buf.Data {
		for range step {
			out = append(out, int16(s))
		}
	}
	return out, nil
}

// encodeWAV writes a as a 16 kHz mono 16-bit PCM WAV file.
func encodeWAV(a audio) []byte {
	var b bytes.Buffer
	dataLen := uint32(len(a) * 2)
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, 36+dataLen)
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, binary.LittleEndian, uint32(16))         // fmt chunk size
	_ = binary.Write(&b, binary.LittleEndian, uint16(1))          // PCM
	_ = binary.Write(&b, binary.LittleEndian, uint16(1))          // mono
	_ = binary.Write(&b, binary.LittleEndian, uint32(sampleRate)) // sample rate
	_ = binary.Write(&b, binary.LittleEndian, uint32(sampleRate*2))
	_ = binary.Write(&b, binary.LittleEndian, uint16(2))  // block align
	_ = binary.Write(&b, binary.LittleEndian, uint16(16)) // bits per sample
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, dataLen)
	_ = binary.Write(&b, binary.LittleEndian, []int16(a))
	return b.Bytes()
}

// voiced reports whether a 20 ms frame holds speech rather than silence:
// its mean absolute amplitude is above about -40 dBFS.
func voiced(frame audio) bool {
	if len(frame) == 0 {
		return false
	}
	var sum int64
	for _, s := range frame {
		if s < 0 {
			sum -= int64(s)
		} else {
			sum += int64(s)
		}
	}
	return sum/int64(len(frame)) > 328 // 32768 * 10^(-40/20)
}
