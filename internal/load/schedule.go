package load

import "time"

// schedule decides when request i (0-based, counted over all clients) is due
// and whether it should be sent at all. It is pure: the engine passes the
// index and compares with its own clock, so tests need no clock.
//
// In open loop (rate > 0) request i is due at i/rate after the start,
// whatever happened to the earlier ones: a client that falls behind sends
// late and the wait counts in the latency (no coordinated omission, as in
// wrk2 and vegeta). In closed loop (rate == 0) every request is due at once
// and a client sends its next request when the previous one ended.
type schedule struct {
	rate     float64       // requests per second over all clients; 0 = closed loop
	requests int64         // total requests; 0 = unlimited
	duration time.Duration // run length; 0 = unlimited
}

// due returns the offset from the start at which request i should be sent,
// and ok=false when i is past the end of the run (count or duration).
func (s schedule) due(i int64) (at time.Duration, ok bool) {
	if s.requests > 0 && i >= s.requests {
		return 0, false
	}
	if s.rate <= 0 {
		return 0, true
	}
	at = time.Duration(float64(i) * float64(time.Second) / s.rate)
	if s.duration > 0 && at >= s.duration {
		return 0, false
	}
	return at, true
}

// open reports whether requests follow a fixed timeline.
func (s schedule) open() bool { return s.rate > 0 }

// span is the open loop's scheduled length: the duration, or, bounded by
// count only, the time the requests take at the rate. 0 in closed loop.
func (s schedule) span() time.Duration {
	switch {
	case s.rate <= 0:
		return 0
	case s.duration > 0:
		return s.duration
	case s.requests > 0:
		return time.Duration(float64(s.requests) * float64(time.Second) / s.rate)
	}
	return 0
}
