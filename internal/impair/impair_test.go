package impair

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/errs"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const n = 100_000

// offer sends count packets of size bytes, one every gap, and returns the
// arrival times and fates.
func offer(l *Link, count, size int, gap time.Duration) ([]time.Time, []Fate) {
	at := make([]time.Time, count)
	fates := make([]Fate, count)
	for i := range count {
		at[i] = t0.Add(time.Duration(i) * gap)
		fates[i] = l.Decide(at[i], size)
	}
	return at, fates
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"typical", Config{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.02, Rate: 1e6}, true},
		{"loss over 1", Config{Loss: 1.5}, false},
		{"negative dup", Config{Duplicate: -0.1}, false},
		{"nan corrupt", Config{Corrupt: math.NaN()}, false},
		{"negative delay", Config{Delay: -1}, false},
		{"negative jitter", Config{Jitter: -1}, false},
		{"negative rate", Config{Rate: -1}, false},
		{"inf rate", Config{Rate: math.Inf(1)}, false},
		{"burst below 1", Config{Loss: 0.1, LossBurst: 0.5}, false},
		{"burst reachable", Config{Loss: 0.5, LossBurst: 1}, true},
		{"burst unreachable", Config{Loss: 0.6, LossBurst: 1}, false},
		{"burst full loss", Config{Loss: 1, LossBurst: 3}, false},
		{"negative queue", Config{QueueLimit: -1}, false},
		{"reorder without delay", Config{Reorder: 0.1}, false},
		{"reorder with delay", Config{Reorder: 0.1, Delay: time.Millisecond}, true},
		{"rate below a byte", Config{Rate: 7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, errs.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v: does not wrap errs.ErrInvalidConfig", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Direction{"up": Up, "down": Down, "both": Both} {
		if got, err := ParseDirection(in); err != nil || got != want || got.String() != in {
			t.Errorf("ParseDirection(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil {
		t.Error("ParseDirection(sideways): no error")
	}
	for in, want := range map[string]Dist{"uniform": Uniform, "normal": Normal} {
		if got, err := ParseDist(in); err != nil || got != want || got.String() != in {
			t.Errorf("ParseDist(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDist("pareto"); err == nil {
		t.Error("ParseDist(pareto): no error")
	}
}

func TestInactivePassesThrough(t *testing.T) {
	l := NewLink(Config{}, Up)
	if l.Active() {
		t.Fatal("zero config is active")
	}
	f := l.Decide(t0, 100)
	if f.Copies != 1 || !f.Due[0].Equal(t0) || f.FlipBit != -1 || f.Lost {
		t.Fatalf("fate %+v, want one copy due at once", f)
	}
}

func TestDirection(t *testing.T) {
	cfg := Config{Delay: time.Millisecond}
	tests := []struct {
		dir      Direction
		up, down bool
	}{{Both, true, true}, {Up, true, false}, {Down, false, true}}
	for _, tt := range tests {
		t.Run(tt.dir.String(), func(t *testing.T) {
			cfg.Direction = tt.dir
			if got := NewLink(cfg, Up).Active(); got != tt.up {
				t.Errorf("up active = %v, want %v", got, tt.up)
			}
			if got := NewLink(cfg, Down).Active(); got != tt.down {
				t.Errorf("down active = %v, want %v", got, tt.down)
			}
		})
	}
}

func TestLossBernoulli(t *testing.T) {
	l := NewLink(Config{Loss: 0.05, Seed: 1}, Up)
	_, fates := offer(l, n, 64, 100*time.Microsecond)
	lost := 0
	for _, f := range fates {
		if f.Lost {
			lost++
			if f.Copies != 0 {
				t.Fatalf("lost packet has %d copies", f.Copies)
			}
		}
	}
	if got := float64(lost) / n; math.Abs(got-0.05) > 0.01 {
		t.Fatalf("loss = %.4f, want 0.05 ± 0.01", got)
	}
}

func TestLossBurst(t *testing.T) {
	for _, burst := range []float64{1, 4, 10} {
		l := NewLink(Config{Loss: 0.05, LossBurst: burst, Seed: 2}, Up)
		_, fates := offer(l, 4*n, 64, 100*time.Microsecond)
		lost, bursts, run := 0, 0, 0
		for _, f := range fates {
			if f.Lost {
				lost++
				run++
				continue
			}
			if run > 0 {
				bursts++
				run = 0
			}
		}
		gotLoss := float64(lost) / float64(len(fates))
		gotBurst := float64(lost) / float64(bursts)
		if math.Abs(gotLoss-0.05) > 0.01 {
			t.Errorf("burst %g: loss = %.4f, want 0.05 ± 0.01", burst, gotLoss)
		}
		if math.Abs(gotBurst-burst) > 0.1*burst {
			t.Errorf("burst %g: mean burst length = %.2f", burst, gotBurst)
		}
	}
}

// meanAdded returns the mean and standard deviation of the added delay in
// milliseconds over the packets that were sent.
func meanAdded(at []time.Time, fates []Fate) (mean, sd float64) {
	var sum, sq float64
	var k int
	for i, f := range fates {
		if f.Copies == 0 {
			continue
		}
		d := float64(f.Due[0].Sub(at[i])) / float64(time.Millisecond)
		sum += d
		sq += d * d
		k++
	}
	mean = sum / float64(k)
	return mean, math.Sqrt(sq/float64(k) - mean*mean)
}

func TestDelayAndJitter(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		gap      time.Duration
		mean, sd float64 // milliseconds
	}{
		{"fixed", Config{Delay: 20 * time.Millisecond}, 100 * time.Microsecond, 20, 0},
		{"uniform", Config{Delay: 20 * time.Millisecond, Jitter: 6 * time.Millisecond}, 20 * time.Millisecond, 20, 6 / math.Sqrt(3)},
		{"normal", Config{Delay: 20 * time.Millisecond, Jitter: 4 * time.Millisecond, JitterDist: Normal}, 40 * time.Millisecond, 20, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Seed = 3
			at, fates := offer(NewLink(tt.cfg, Down), 20_000, 200, tt.gap)
			mean, sd := meanAdded(at, fates)
			if math.Abs(mean-tt.mean) > 0.5 {
				t.Errorf("mean added delay = %.3f ms, want %.1f ± 0.5", mean, tt.mean)
			}
			if math.Abs(sd-tt.sd) > 0.1*tt.sd+0.01 {
				t.Errorf("delay stddev = %.3f ms, want %.3f ± 10%%", sd, tt.sd)
			}
		})
	}
}

// Jitter never reorders by itself: each packet is due no earlier than the one
// before it, and never before it arrived.
func TestJitterKeepsOrder(t *testing.T) {
	for _, dist := range []Dist{Uniform, Normal} {
		l := NewLink(Config{Delay: 5 * time.Millisecond, Jitter: 10 * time.Millisecond, JitterDist: dist, Seed: 4}, Up)
		at, fates := offer(l, n, 64, 100*time.Microsecond)
		for i := range fates {
			if fates[i].Due[0].Before(at[i]) {
				t.Fatalf("%v: packet %d due before it arrived", dist, i)
			}
			if i > 0 && fates[i].Due[0].Before(fates[i-1].Due[0]) {
				t.Fatalf("%v: packet %d due before packet %d", dist, i, i-1)
			}
		}
	}
}

func TestDuplicate(t *testing.T) {
	l := NewLink(Config{Duplicate: 0.1, Seed: 5}, Up)
	_, fates := offer(l, n, 64, 100*time.Microsecond)
	dups := 0
	for _, f := range fates {
		if f.Copies == 2 {
			dups++
		}
	}
	if got := float64(dups) / n; math.Abs(got-0.1) > 0.01 {
		t.Fatalf("duplicated = %.4f, want 0.10 ± 0.01", got)
	}
}

func TestCorrupt(t *testing.T) {
	l := NewLink(Config{Corrupt: 0.03, Seed: 6}, Up)
	_, fates := offer(l, n, 10, 100*time.Microsecond)
	bad := 0
	for _, f := range fates {
		if f.FlipBit >= 0 {
			bad++
			if f.FlipBit >= 80 {
				t.Fatalf("flip bit %d outside a 10-byte packet", f.FlipBit)
			}
		}
	}
	if got := float64(bad) / n; math.Abs(got-0.03) > 0.01 {
		t.Fatalf("corrupted = %.4f, want 0.03 ± 0.01", got)
	}
}

func TestReorder(t *testing.T) {
	l := NewLink(Config{Delay: 20 * time.Millisecond, Reorder: 0.1, Seed: 7}, Up)
	at, fates := offer(l, n, 64, 100*time.Microsecond)
	picked, overtook := 0, 0
	for i, f := range fates {
		if !f.Reordered {
			continue
		}
		picked++
		if !f.Due[0].Equal(at[i]) {
			t.Fatalf("reordered packet %d not sent at once", i)
		}
		if i > 0 && f.Due[0].Before(fates[i-1].Due[0]) {
			overtook++
		}
	}
	if got := float64(picked) / n; math.Abs(got-0.1) > 0.01 {
		t.Fatalf("reordered = %.4f, want 0.10 ± 0.01", got)
	}
	if overtook < picked*9/10 {
		t.Fatalf("only %d of %d reordered packets overtook the one before", overtook, picked)
	}
	// Without a delay there is nothing to overtake: no reordering.
	l = NewLink(Config{Reorder: 0.5, Seed: 7}, Up)
	_, fates = offer(l, 1000, 64, time.Millisecond)
	for i, f := range fates {
		if f.Reordered {
			t.Fatalf("packet %d reordered without a delay", i)
		}
	}
}

// The token bucket holds throughput within 5% of the rate when offered twice
// as much, drops what overflows the queue, and never queues more than the
// limit.
func TestRate(t *testing.T) {
	const rate = 8e6 // 1 MB/s
	for _, size := range []int{64, 1200, 9000} {
		cfg := Config{Rate: rate, QueueLimit: 100_000, Seed: 8}
		l := NewLink(cfg, Up)
		gap := time.Duration(float64(size) * 8 / (2 * rate) * float64(time.Second))
		at, fates := offer(l, int(20*time.Second/gap), size, gap)
		var bytes float64
		var last time.Time
		overflow := 0
		maxWait := time.Duration(0)
		for i, f := range fates {
			if f.Copies == 0 {
				overflow += f.Overflow
				continue
			}
			bytes += float64(size)
			last = f.Due[0]
			maxWait = max(maxWait, f.Due[0].Sub(at[i]))
		}
		got := bytes * 8 / last.Sub(t0).Seconds()
		if math.Abs(got-rate)/rate > 0.05 {
			t.Errorf("size %d: throughput %.0f bit/s, want %.0f ± 5%%", size, got, rate)
		}
		if overflow < len(fates)/3 {
			t.Errorf("size %d: %d of %d packets overflowed at twice the rate", size, overflow, len(fates))
		}
		if limit := time.Duration(100_000 / (rate / 8) * float64(time.Second)); maxWait > limit+time.Millisecond {
			t.Errorf("size %d: a packet waited %v, the queue holds %v", size, maxWait, limit)
		}
	}
}

// Below the rate, nothing waits and nothing is dropped.
func TestRateBelowLimit(t *testing.T) {
	l := NewLink(Config{Rate: 8e6}, Up)
	at, fates := offer(l, 10_000, 1000, 2*time.Millisecond) // 4 Mbit/s
	for i, f := range fates {
		if f.Copies != 1 || !f.Due[0].Equal(at[i]) {
			t.Fatalf("packet %d: %+v, want sent at once", i, f)
		}
	}
}

func TestStream(t *testing.T) {
	l := NewLink(Config{Rate: 8e6, Delay: 10 * time.Millisecond, Loss: 1, Duplicate: 1, Corrupt: 1}, Down)
	var due time.Time
	for range 1000 { // 16 MB offered at once: no drops, paced at 1 MB/s
		due = l.Stream(t0, 16000)
	}
	want := 16*time.Second + 10*time.Millisecond
	if got := due.Sub(t0); got < want-50*time.Millisecond || got > want+50*time.Millisecond {
		t.Fatalf("last chunk due after %v, want %v", got, want)
	}
	if due := NewLink(Config{}, Down).Stream(t0, 100); !due.Equal(t0) {
		t.Fatalf("inactive stream delayed to %v", due)
	}
}

func TestSeedReproducible(t *testing.T) {
	cfg := Config{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.1, Duplicate: 0.1, Corrupt: 0.1, Reorder: 0.1, Seed: 42}
	_, a := offer(NewLink(cfg, Up), 1000, 100, time.Millisecond)
	_, b := offer(NewLink(cfg, Up), 1000, 100, time.Millisecond)
	_, down := offer(NewLink(cfg, Down), 1000, 100, time.Millisecond)
	cfg.Seed = 43
	_, c := offer(NewLink(cfg, Up), 1000, 100, time.Millisecond)
	same, sameC, sameDown := true, true, true
	for i := range a {
		same = same && a[i] == b[i]
		sameC = sameC && a[i] == c[i]
		sameDown = sameDown && a[i] == down[i]
	}
	if !same {
		t.Error("same seed gave different fates")
	}
	if sameC {
		t.Error("different seeds gave the same fates")
	}
	if sameDown {
		t.Error("up and down drew the same fates")
	}
}

// FuzzDecide: whatever the parameters, a valid config never panics, never
// schedules a packet before it arrived and never flips a bit outside it.
func FuzzDecide(f *testing.F) {
	f.Add(int64(20e6), int64(5e6), 0.05, 4.0, 0.1, 0.1, 0.1, 1e6, int64(0), uint8(0), uint16(100))
	f.Fuzz(func(t *testing.T, delay, jitter int64, loss, burst, dup, corrupt, reorder, rate float64, queue int64, dist uint8, size uint16) {
		cfg := Config{Delay: time.Duration(delay), Jitter: time.Duration(jitter), JitterDist: Dist(dist % 2), Loss: loss, LossBurst: burst,
			Duplicate: dup, Corrupt: corrupt, Reorder: reorder, Rate: rate, QueueLimit: queue, Seed: 1}
		if cfg.Validate() != nil || cfg.Delay > time.Hour || cfg.Jitter > time.Hour || (cfg.Rate > 0 && cfg.Rate < 1) {
			return
		}
		l := NewLink(cfg, Up)
		for i := range 50 {
			now := t0.Add(time.Duration(i) * time.Millisecond)
			fate := l.Decide(now, int(size))
			for c := range fate.Copies {
				if fate.Due[c].Before(now) {
					t.Fatalf("copy due %v before arrival %v", fate.Due[c], now)
				}
			}
			if fate.FlipBit >= int(size)*8 {
				t.Fatalf("flip bit %d outside %d bytes", fate.FlipBit, size)
			}
			if due := l.Stream(now, int(size)); due.Before(now) {
				t.Fatalf("stream chunk due before arrival")
			}
		}
	})
}

// FuzzParse: the flag parsers accept exactly their names and round-trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"up", "down", "both", "uniform", "normal", "", "UP", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDirection(s); err == nil && s != "" && d.String() != s {
			t.Fatalf("ParseDirection(%q) = %v", s, d)
		}
		if d, err := ParseDist(s); err == nil && s != "" && d.String() != s {
			t.Fatalf("ParseDist(%q) = %v", s, d)
		}
	})
}
