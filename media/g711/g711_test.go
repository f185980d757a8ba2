package g711

import (
	"math"
	"testing"
)

func TestKnownCodes(t *testing.T) {
	tests := []struct {
		name   string
		decode func(byte) int16
		code   byte
		want   int16
	}{
		{"µ-law positive zero", DecodeUlaw, 0xFF, 0},
		{"µ-law negative zero", DecodeUlaw, 0x7F, 0},
		{"µ-law largest positive", DecodeUlaw, 0x80, 32124},
		{"µ-law largest negative", DecodeUlaw, 0x00, -32124},
		{"µ-law smallest step", DecodeUlaw, 0xFE, 8},
		{"A-law smallest positive", DecodeAlaw, 0xD5, 8},
		{"A-law smallest negative", DecodeAlaw, 0x55, -8},
		{"A-law largest positive", DecodeAlaw, 0xAA, 32256},
		{"A-law largest negative", DecodeAlaw, 0x2A, -32256},
	}
	for _, tt := range tests {
		if got := tt.decode(tt.code); got != tt.want {
			t.Errorf("%s: decode(%#02x) = %d, want %d", tt.name, tt.code, got, tt.want)
		}
	}
}

// TestRoundTrip checks that every code decodes to a value that encodes back
// to the same code (µ-law has two zeros; both decode to 0, which encodes as
// positive zero).
func TestRoundTrip(t *testing.T) {
	for c := range 256 {
		u := byte(c)
		want := u
		if u == 0x7F {
			want = 0xFF
		}
		if got := EncodeUlaw(DecodeUlaw(u)); got != want {
			t.Errorf("EncodeUlaw(DecodeUlaw(%#02x)) = %#02x, want %#02x", u, got, want)
		}
		if got := EncodeAlaw(DecodeAlaw(u)); got != u {
			t.Errorf("EncodeAlaw(DecodeAlaw(%#02x)) = %#02x", u, got)
		}
	}
}

// TestQuantization checks, over every 16-bit sample, that decoding is
// monotonic, that the sign is kept, and that the error stays within half the
// segment's step (a logarithmic code has about 38 dB SNR on a loud sine).
func TestQuantization(t *testing.T) {
	codecs := []struct {
		name   string
		encode func(int16) byte
		decode func(byte) int16
		max    int
	}{
		{"µ-law", EncodeUlaw, DecodeUlaw, 32124},
		{"A-law", EncodeAlaw, DecodeAlaw, 32256},
	}
	for _, c := range codecs {
		prev := math.MinInt
		for s := math.MinInt16; s <= math.MaxInt16; s++ {
			got := int(c.decode(c.encode(int16(s))))
			if got < prev {
				t.Fatalf("%s: %d decodes to %d, below %d for the sample before", c.name, s, got, prev)
			}
			prev = got
			if s > 0 && got < 0 || s < 0 && got > 0 {
				t.Fatalf("%s: %d decodes to %d, the wrong sign", c.name, s, got)
			}
			clipped := max(-c.max, min(c.max, s))
			// The step is 1/16 of the segment, whose top is below 2|x|+264;
			// allow half a step plus the 8-count offset of the lowest segment.
			if d := abs(got - clipped); d > (2*abs(clipped)+264)/32+8 {
				t.Fatalf("%s: %d decodes to %d, %d away", c.name, s, got, d)
			}
		}
	}
}

func TestSineSNR(t *testing.T) {
	for _, c := range []struct {
		name   string
		encode func(int16) byte
		decode func(byte) int16
	}{{"µ-law", EncodeUlaw, DecodeUlaw}, {"A-law", EncodeAlaw, DecodeAlaw}} {
		var sig, noise float64
		for n := range 8000 {
			x := 20000 * math.Sin(2*math.Pi*1004*float64(n)/8000)
			y := float64(c.decode(c.encode(int16(math.Round(x)))))
			sig += x * x
			noise += (y - x) * (y - x)
		}
		snr := 10 * math.Log10(sig/noise)
		if snr < 35 || snr > 40 {
			t.Errorf("%s: SNR of a loud 1004 Hz sine = %.1f dB, want about 38 dB", c.name, snr)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
