package impair

import (
	"math"
	"math/rand/v2"
	"time"
)

// Fate is what happens to one packet offered to a Link.
type Fate struct {
	// Copies is how many copies leave: 0 (lost or overflowed), 1, or 2
	// (duplicated). Copy i leaves at Due[i].
	Copies int
	Due    [2]time.Time
	// Lost: dropped by the loss model. Overflow: copies dropped because the
	// rate limiter's queue was full.
	Lost     bool
	Overflow int
	// Duplicated: the packet was picked for duplication (even if the copy
	// then overflowed the queue).
	Duplicated bool
	// Reordered: the packet skipped the delay and may overtake earlier ones.
	Reordered bool
	// FlipBit is the bit to flip in copy 0 (bit i is byte i/8, mask
	// 0x80>>(i%8)), or -1 for none.
	FlipBit int
}

// Link is the policy state of one direction of a path: its random source,
// loss chain, token bucket and the due time of the last packet. It is not
// safe for concurrent use; an engine guards each Link with its own lock.
type Link struct {
	cfg    Config
	active bool
	rng    *rand.Rand

	bad bool // Gilbert–Elliott state: in a loss burst

	// Token bucket, in bytes. tokens < 0 is the backlog waiting for tokens.
	tokens float64
	tokAt  time.Time
	bucket float64
	limit  float64

	lastDue time.Time
}

// NewLink returns the policy for direction dir (Up or Down) of cfg. Each
// direction draws from its own stream of the seeded generator, so the two
// are independent and each is reproducible. A direction cfg does not impair
// passes every packet untouched, due at once.
func NewLink(cfg Config, dir Direction) *Link {
	l := &Link{
		cfg:    cfg,
		active: cfg.Active() && cfg.Applies(dir),
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x736f636b6c6162+uint64(dir))),
		bucket: float64(cfg.burst()),
		limit:  float64(cfg.queueLimit()),
	}
	l.tokens = l.bucket
	return l
}

// Active reports whether this Link changes anything; when it does not, an
// engine may skip it and forward straight away.
func (l *Link) Active() bool { return l.active }

// Decide returns the fate of a datagram of size bytes offered at now.
// Loss is decided first (a lost packet takes no tokens), then duplication
// and corruption, then each copy goes through the token bucket and the delay.
func (l *Link) Decide(now time.Time, size int) Fate {
	f := Fate{Copies: 1, FlipBit: -1}
	f.Due[0] = now
	if !l.active {
		return f
	}
	if l.lose() {
		f.Copies, f.Lost = 0, true
		return f
	}
	if l.cfg.Duplicate > 0 && l.rng.Float64() < l.cfg.Duplicate {
		f.Duplicated = true
	}
	if l.cfg.Corrupt > 0 && size > 0 && l.rng.Float64() < l.cfg.Corrupt {
		f.FlipBit = l.rng.IntN(size * 8)
	}
	if l.cfg.Reorder > 0 && l.cfg.Delay > 0 && l.rng.Float64() < l.cfg.Reorder {
		f.Reordered = true
	}
	copies := 1
	if f.Duplicated {
		copies = 2
	}
	f.Copies = 0
	for range copies {
		sent, ok := l.shape(now, size, true)
		if !ok {
			f.Overflow++
			continue
		}
		f.Due[f.Copies] = l.delay(sent, f.Reordered)
		f.Copies++
	}
	if f.Copies == 0 {
		f.FlipBit = -1
	}
	return f
}

// Stream returns when a chunk of size bytes of a TCP stream, offered at now,
// is due to be delivered. Only the rate and the delay apply (loss,
// duplication, corruption and reordering would only make TCP retransmit or
// would break the byte stream); nothing overflows: the caller applies
// backpressure instead of dropping.
func (l *Link) Stream(now time.Time, size int) time.Time {
	if !l.active {
		return now
	}
	sent, _ := l.shape(now, size, false)
	return l.delay(sent, false)
}

// lose runs the loss model once.
func (l *Link) lose() bool {
	p := l.cfg.Loss
	if p <= 0 {
		return false
	}
	if l.cfg.LossBurst < 1 {
		return l.rng.Float64() < p
	}
	// Simple Gilbert: every packet in Bad is lost, none in Good. The chain
	// steps once per packet; with r = 1/N the Bad spells last N packets on
	// average, and p = P·r/(1−P) makes the stationary Bad share P.
	r := 1 / l.cfg.LossBurst
	if l.bad {
		if l.rng.Float64() < r {
			l.bad = false
		}
	} else if l.rng.Float64() < p*r/(1-p) {
		l.bad = true
	}
	return l.bad
}

// shape runs the token bucket: it returns when the packet has its tokens,
// or false if bounded and the queue waiting for tokens would overflow.
func (l *Link) shape(now time.Time, size int, bounded bool) (time.Time, bool) {
	if l.cfg.Rate <= 0 {
		return now, true
	}
	rate := l.cfg.Rate / 8 // bytes per second
	if !l.tokAt.IsZero() {
		if el := now.Sub(l.tokAt).Seconds(); el > 0 {
			l.tokens = math.Min(l.bucket, l.tokens+el*rate)
		}
	}
	if l.tokAt.IsZero() || now.After(l.tokAt) {
		l.tokAt = now
	}
	need := float64(size) - l.tokens // bytes still waiting for tokens, this packet included
	if bounded && need > 0 && need > l.limit {
		return time.Time{}, false
	}
	l.tokens -= float64(size)
	if need <= 0 {
		return now, true
	}
	return l.tokAt.Add(time.Duration(need / rate * float64(time.Second))), true
}

// delay adds the delay and jitter to a packet that leaves the rate limiter
// at sent, keeping order unless the packet is reordered.
func (l *Link) delay(sent time.Time, reordered bool) time.Time {
	if reordered {
		return sent
	}
	d := l.cfg.Delay
	if j := l.cfg.Jitter; j > 0 {
		switch l.cfg.JitterDist {
		case Normal:
			n := math.Max(-4, math.Min(4, l.rng.NormFloat64()))
			d += time.Duration(n * float64(j))
		default:
			d += time.Duration((2*l.rng.Float64() - 1) * float64(j))
		}
	}
	due := sent.Add(max(d, 0))
	if due.Before(l.lastDue) {
		due = l.lastDue
	}
	l.lastDue = due
	return due
}
