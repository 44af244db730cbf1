package teleportsim

import (
	"encoding/hex"
	"math/rand/v2"
)

// Streams separate the random sequences drawn for different purposes, so that adding a draw to
// one kind of event never changes another. Each (seed, stream, n) names one PCG sequence.
const (
	rngEvent        uint64 = iota + 1 // content of standalone event n (n = generation number)
	rngSession                        // content and layout of session n
	rngSessionStart                   // start time of base session n
	rngBurst                          // a burst of failed logins n
	rngLayout                         // NewLog: counts, times, special events
	rngDayChunks                      // export chunking of day n (days since the Unix epoch)
	rngLateChunks                     // names of the late chunks of day n
	rngLive                           // live generation
	rngLiveChunk                      // names of live chunk n
	rngServer                         // server n of the simulated cluster
)

// rng is a PCG generator with the few draws the generator needs. PCG's output is specified, so a
// seed produces the same events with every Go release.
type rng struct{ p rand.PCG }

// newRNG returns the generator of sequence n of a stream.
func newRNG(seed int64, stream, n uint64) *rng {
	r := &rng{}
	r.p.Seed(uint64(seed)^0x9e3779b97f4a7c15, splitmix(stream<<48^n))
	return r
}

// splitmix scrambles a counter into a well-mixed 64-bit value (SplitMix64's finalizer).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (r *rng) uint64() uint64 { return r.p.Uint64() }

// intn returns a value in [0, n); n <= 0 yields 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.p.Uint64() % uint64(n))
}

// int64n returns a value in [0, n); n <= 0 yields 0.
func (r *rng) int64n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return int64(r.p.Uint64() % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return float64(r.p.Uint64()>>11)/(1<<53) < p }

// pick returns a random element of s.
func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }

// uuid returns a random (version 4) UUID in its canonical text form.
func (r *rng) uuid() string {
	var b [16]byte
	a, c := r.p.Uint64(), r.p.Uint64()
	for i := range 8 {
		b[i] = byte(a >> (8 * i))
		b[8+i] = byte(c >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// text appends n bytes of printable ASCII (letters, digits, spaces and a little punctuation).
func (r *rng) text(dst []byte, n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-./=,:"
	for n > 0 {
		x := r.p.Uint64()
		for i := 0; i < 8 && n > 0; i++ {
			dst = append(dst, alphabet[int(x&0xff)%len(alphabet)])
			x >>= 8
			n--
		}
	}
	return dst
}
