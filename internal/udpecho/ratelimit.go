package udpecho

import "time"

// bucket is a token bucket (RFC 2697's single-rate idea, in packets): it
// refills at rate tokens per second up to burst, and each datagram takes
// one. Time is passed in, so tests need no clock.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow reports whether a datagram arriving at now fits the rate.
func (b *bucket) allow(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * rate
		if b.tokens > burst {
			b.tokens = burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
