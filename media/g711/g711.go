// Package g711 converts between 16-bit linear PCM and the two G.711 codes,
// µ-law and A-law (ITU-T G.711, "Pulse code modulation (PCM) of voice
// frequencies", 1988).
//
// Each code maps a 16-bit sample to 8 bits: a sign, a 3-bit segment
// (exponent) and a 4-bit step within the segment. Encoding truncates toward
// the step below, as G.711's decision values do, and decoding returns the
// middle of the step, scaled to 16 bits. µ-law covers ±32124 and A-law
// ±32256; louder samples are clipped.
//
// The functions are written from the segment tables of G.711 (Tables 1 and
// 2): they use no lookup tables and allocate nothing.
package g711

const (
	ulawBias = 0x84  // 132: µ-law encodes |x|+33 in 14-bit units, i.e. |x|+132 in 16-bit ones
	ulawClip = 32635 // the largest magnitude whose biased value still fits in the top segment
)

// EncodeUlaw returns the µ-law code of the linear sample s.
func EncodeUlaw(s int16) byte {
	x := int32(s)
	sign := byte(0) // µ-law sends the complement: positive samples have the top bit set
	if x < 0 {
		x = -x
		sign = 0x80
	}
	x = min(x, ulawClip) + ulawBias
	seg := byte(0)
	for v := x >> 8; v > 0 && seg < 7; v >>= 1 {
		seg++
	}
	step := byte(x>>(seg+3)) & 0x0F
	return ^(sign | seg<<4 | step)
}

// DecodeUlaw returns the linear sample of the µ-law code u.
func DecodeUlaw(u byte) int16 {
	u = ^u
	seg := (u >> 4) & 0x07
	x := (int32(u&0x0F)<<3 + ulawBias) << seg
	if u&0x80 != 0 {
		return int16(ulawBias - x)
	}
	return int16(x - ulawBias)
}

// EncodeAlaw returns the A-law code of the linear sample s.
func EncodeAlaw(s int16) byte {
	x := int32(s) >> 3 // A-law works on 13 bits
	sign := byte(0x80)
	if x < 0 {
		x = -x - 1 // the negative range is one step wider: -1..-8 share a code with 0..7
		sign = 0
	}
	x = min(x, 0x0FFF)
	var code byte
	if x < 32 {
		code = byte(x >> 1) // segments 0 and 1 have the same step size
	} else {
		seg := byte(1)
		for v := x >> 6; v > 0; v >>= 1 {
			seg++
		}
		code = seg<<4 | byte(x>>seg)&0x0F
	}
	return (sign | code) ^ 0x55 // even bits are inverted on the line (G.711 Table 1, note)
}

// DecodeAlaw returns the linear sample of the A-law code a.
func DecodeAlaw(a byte) int16 {
	a ^= 0x55
	seg := (a >> 4) & 0x07
	x := int32(a&0x0F)<<4 + 8
	if seg > 0 {
		x = (x + 0x100) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(x)
	}
	return int16(-x)
}
