// Package impair is the pure policy behind socklab's network impairment
// (what netem does in the kernel, done by socklab itself): from a seeded
// random source, the configured parameters and a time passed in, it decides
// each packet's fate: dropped (random or Gilbert–Elliott burst loss, or
// queue overflow behind the rate limit), duplicated, corrupted (one bit
// flipped), reordered, and when it is due to leave (delay, jitter, token
// bucket rate). It opens no socket, starts no goroutine and reads no clock;
// the engines (internal/udprelay, internal/impair/stream) apply its verdicts.
package impair

import (
	"fmt"
	"math"
	"time"

	"github.com/socklab/socklab/internal/errs"
)

// Direction selects which way(s) of a path are impaired. Up is client →
// upstream (requests), Down is upstream → client (replies).
type Direction int

const (
	Both Direction = iota // both ways, like a symmetric link: a round trip sees it twice
	Up                    // client → upstream only
	Down                  // upstream → client only
)

// ParseDirection reads "up", "down" or "both".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "both", "":
		return Both, nil
	case "up":
		return Up, nil
	case "down":
		return Down, nil
	}
	return Both, fmt.Errorf("direction %q: want up, down or both", s)
}

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "both"
}

// Dist is the distribution of the jitter added to the delay.
type Dist int

const (
	Uniform Dist = iota // uniform in [-Jitter, +Jitter]
	Normal              // normal with standard deviation Jitter, clipped at ±4σ
)

// ParseDist reads "uniform" or "normal".
func ParseDist(s string) (Dist, error) {
	switch s {
	case "uniform", "":
		return Uniform, nil
	case "normal":
		return Normal, nil
	}
	return Uniform, fmt.Errorf("jitter distribution %q: want uniform or normal", s)
}

func (d Dist) String() string {
	if d == Normal {
		return "normal"
	}
	return "uniform"
}

// Config is the impairment of one path. The zero value impairs nothing.
// Probabilities are fractions in [0, 1] (units.ParsePercent gives them).
type Config struct {
	// Delay is added to every packet; Jitter varies it (see JitterDist).
	// The added delay is never negative, and packets keep their order
	// unless Reorder asks otherwise: a packet is never due before the one
	// sent before it in the same direction (netem does the same with its
	// default rate-ordered queue).
	Delay      time.Duration
	Jitter     time.Duration
	JitterDist Dist

	// Loss is the long-run fraction of packets dropped. With LossBurst 0
	// each packet is dropped independently (Bernoulli). With LossBurst N ≥ 1
	// losses come in bursts of mean length N, from a two-state
	// Gilbert–Elliott chain that loses every packet in the Bad state and none
	// in the Good one (the "simple Gilbert" model, RFC 3611 §4.7.2 and the
	// netem "gemodel"): P(Bad→Good) = 1/N and P(Good→Bad) = Loss/(N(1−Loss)).
	Loss      float64
	LossBurst float64

	// Duplicate is the probability that a packet is sent twice.
	Duplicate float64
	// Corrupt is the probability that one random bit of a packet is flipped.
	Corrupt float64
	// Reorder is the probability that a packet skips the delay and overtakes
	// the packets still held by it (netem's "reorder"). It needs Delay:
	// Validate refuses it without one, as there is nothing to overtake.
	Reorder float64

	// Rate limits each direction to this many bits per second with a token
	// bucket (0 = unlimited). Packets wait in a queue of at most QueueLimit
	// bytes for tokens; a packet that would overflow it is dropped.
	Rate float64
	// QueueLimit is the rate limiter's queue in bytes. 0 means what the rate
	// carries in 100 ms, but at least 65536 (one largest datagram fits).
	QueueLimit int64
	// Burst is the token bucket's depth in bytes: how much may leave
	// back to back after an idle spell. 0 means 1500 (one Ethernet frame).
	Burst int64

	// Direction selects the impaired direction(s).
	Direction Direction
	// Seed makes every random decision reproducible: the same Seed and the
	// same arrivals give the same fates.
	Seed uint64
}

// Validate reports a parameter out of range, naming it. Its errors wrap
// errs.ErrInvalidConfig.
func (c *Config) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", c.Loss}, {"duplicate", c.Duplicate}, {"corrupt", c.Corrupt}, {"reorder", c.Reorder}} {
		if math.IsNaN(p.v) || p.v < 0 || p.v > 1 {
			return errs.Invalidf("%s %v: must be a probability between 0 and 1", p.name, p.v)
		}
	}
	switch {
	case c.Delay < 0:
		return errs.Invalidf("delay: must not be negative")
	case c.Jitter < 0:
		return errs.Invalidf("jitter: must not be negative")
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0:
		return errs.Invalidf("rate: must be a non-negative number of bits per second")
	case c.Rate > 0 && c.Rate < 8:
		return errs.Invalidf("rate %g bit/s: below one byte per second", c.Rate)
	case c.QueueLimit < 0:
		return errs.Invalidf("queue: must not be negative")
	case c.Burst < 0:
		return errs.Invalidf("burst: must not be negative")
	case math.IsNaN(c.LossBurst) || c.LossBurst < 0 || (c.LossBurst > 0 && c.LossBurst < 1):
		return errs.Invalidf("loss burst: mean burst length must be 0 (independent losses) or at least 1")
	case c.Reorder > 0 && c.Delay == 0:
		// netem's reorder likewise needs a delay: with nothing held back
		// there is nothing for a packet to overtake.
		return errs.Invalidf("reorder needs a delay: a reordered packet overtakes the ones the delay holds back")
	}
	if c.LossBurst >= 1 && c.Loss > 0 {
		if c.Loss >= 1 {
			return errs.Invalidf("loss burst: needs loss below 100%%")
		}
		if c.Loss/(c.LossBurst*(1-c.Loss)) > 1 {
			return errs.Invalidf("loss %.4g%% with mean burst %g is unreachable: at most %.4g%% (longer bursts allow more)",
				c.Loss*100, c.LossBurst, 100*c.LossBurst/(c.LossBurst+1))
		}
	}
	return nil
}

// Active reports whether c changes anything at all.
func (c *Config) Active() bool {
	return c.Delay > 0 || c.Jitter > 0 || c.Loss > 0 || c.Duplicate > 0 || c.Corrupt > 0 || c.Reorder > 0 || c.Rate > 0
}

// StreamActive reports whether c changes a TCP stream: only delay, jitter and
// rate do (loss, duplicates and corruption would only make TCP retransmit).
func (c *Config) StreamActive() bool {
	return c.Delay > 0 || c.Jitter > 0 || c.Rate > 0
}

// Applies reports whether direction d (Up or Down) is impaired.
func (c *Config) Applies(d Direction) bool {
	return c.Direction == Both || c.Direction == d
}

func (c *Config) queueLimit() int64 {
	if c.QueueLimit > 0 {
		return c.QueueLimit
	}
	q := int64(c.Rate / 8 / 10) // 100 ms at the rate
	return max(q, 65536)
}

func (c *Config) burst() int64 {
	if c.Burst > 0 {
		return c.Burst
	}
	return 1500
}
