package audio

import (
	"math"
	"sync"
)

// The resampler is a windowed-sinc (band-limited) interpolator: each
// output sample is the sum of the input samples around its instant,
// weighted by a low-pass kernel centred on that instant. The kernel is a
// sinc cut off at 0.95 of the lower rate's Nyquist frequency (3.8 kHz when
// the output is 8 kHz), under a Kaiser window (β = 8, side lobes about
// −80 dB) 64 periods of the lower rate wide (8 ms at 8 kHz). The
// transition band is then about 640 Hz wide: flat to about 3.45 kHz,
// which covers the telephone band (300–3400 Hz), and at least 75 dB down
// from about 4.15 kHz, so nothing that could alias into the band below
// 3.4 kHz (anything above 4.6 kHz, when decimating to 8 kHz) comes through
// above −75 dB.
const (
	kernelHalf   = 32    // half width, in periods of the lower rate
	kernelRes    = 512   // table entries per period
	kernelCutoff = 0.475 // cut-off, as a fraction of the lower rate
	kernelBeta   = 8.0   // Kaiser window parameter
	// maxWeights bounds the table of precomputed weights for one
	// conversion (1 MiB); beyond it weights are computed per sample.
	maxWeights = 1 << 18
)

// kernel tabulates the kernel from 0 to kernelHalf periods, in steps of
// 1/kernelRes, with a zero entry past the end for interpolation.
var kernel = sync.OnceValue(func() []float32 {
	n := kernelHalf * kernelRes
	k := make([]float32, n+2)
	i0b := besselI0(kernelBeta)
	for i := 0; i <= n; i++ {
		u := float64(i) / kernelRes
		t := u / kernelHalf
		w := besselI0(kernelBeta*math.Sqrt(max(0, 1-t*t))) / i0b
		x := 2 * kernelCutoff * u
		s := 1.0
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		k[i] = float32(2 * kernelCutoff * s * w)
	}
	return k
})

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 100 && term > 1e-12*sum; k++ {
		h := x / (2 * float64(k))
		term *= h * h
		sum += term
	}
	return sum
}

// kernelAt returns the kernel at u ≥ 0 periods of the lower rate.
func kernelAt(k []float32, u float64) float32 {
	x := u * kernelRes
	i := int(x)
	if i >= kernelHalf*kernelRes {
		return 0
	}
	f := float32(x - float64(i))
	return k[i] + f*(k[i+1]-k[i])
}

// resample converts x, sampled at from Hz, to the rate to Hz, through the
// low-pass filter described above. Samples beyond either end of x are
// taken as silence. It returns x itself if the rates are equal.
func resample(x []float32, from, to int) []float32 {
	if from == to || len(x) == 0 || from <= 0 || to <= 0 {
		return x
	}
	g := gcd(from, to)
	up, down := int64(to/g), int64(from/g) // output k is at input position k·down/up
	scale := float64(min(from, to)) / float64(from)
	reach := int(math.Ceil(kernelHalf / scale))
	taps := 2*reach + 1
	k := kernel()

	// weights fills w with the weights of input samples i0-reach …
	// i0+reach for an output at input position i0 + ph/up.
	weights := func(w []float32, ph int64) {
		frac := float64(ph) / float64(up)
		for m := range w {
			d := math.Abs(float64(m-reach) - frac)
			w[m] = kernelAt(k, d*scale) * float32(scale)
		}
	}
	n := (int64(len(x))*up + down - 1) / down
	// Tabulate each phase's weights when first needed, if phases recur and
	// all of them fit in maxWeights; otherwise compute them for each
	// sample.
	var (
		table []float32
		built []bool
	)
	if n > up && up*int64(taps) <= maxWeights {
		table = make([]float32, up*int64(taps))
		built = make([]bool, up)
	}
	scratch := make([]float32, taps)
	out := make([]float32, n)
	for i := range out {
		pos := int64(i) * down
		i0, ph := int(pos/up), pos%up
		w := scratch
		if table != nil {
			w = table[ph*int64(taps) : (ph+1)*int64(taps)]
			if !built[ph] {
				weights(w, ph)
				built[ph] = true
			}
		} else {
			weights(w, ph)
		}
		lo := i0 - reach
		jStart, jEnd := max(lo, 0), min(i0+reach+1, len(x))
		xs, ws := x[jStart:jEnd], w[jStart-lo:jEnd-lo]
		ws = ws[:len(xs)]
		var acc float64
		for j, v := range xs {
			acc += float64(ws[j]) * float64(v)
		}
		out[i] = float32(acc)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
