// Package sched releases items at their due time with sub-millisecond
// precision: a timer heap served by one goroutine that sleeps on a runtime
// timer until shortly before the earliest deadline, then waits out the rest
// finely: on Linux with nanosleep(2) in short steps on a thread with 1 ns
// timer slack, spinning only the last few microseconds; elsewhere by
// spinning (yielding the processor). Go's timers alone wake up to a
// millisecond late (more on a busy machine); the margin adapts to how late
// they actually wake, so the fine phase lasts only as long as it must. The
// impairment engines use it to send delayed datagrams on time.
package sched

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Margin bounds for the spin phase: the scheduler sleeps until this long
// before a deadline, then spins.
const (
	minMargin = 50 * time.Microsecond
	maxMargin = 3 * time.Millisecond
	// In the fine phase: sleep at most fineStep at a time (then look for a
	// new, earlier item), and spin the last spinTail.
	fineStep = 200 * time.Microsecond
	spinTail = 20 * time.Microsecond
)

type entry[T any] struct {
	due int64 // nanoseconds since Scheduler.base (monotonic)
	seq uint64
	v   T
}

// Scheduler calls Fire for each added item at the item's due time, in due
// order (items due at the same time in the order they were added).
type Scheduler[T any] struct {
	fire  func(T)
	limit int
	base  time.Time

	mu   sync.Mutex
	heap []entry[T]
	seq  uint64
	wake chan struct{}

	// How late items fired against their due time (ns), over the run: a
	// late scheduler (a busy CPU) adds delay and jitter nobody configured.
	lateMu sync.Mutex
	late   *stats.Histogram
}

// Lateness summarises how late items fired after their due time.
type Lateness struct {
	N             int64
	Mean          time.Duration
	P50, P99, Max time.Duration
}

// Lateness returns how late the items fired so far left; safe at any time.
func (s *Scheduler[T]) Lateness() Lateness {
	s.lateMu.Lock()
	defer s.lateMu.Unlock()
	h := s.late
	if h.Count() == 0 {
		return Lateness{}
	}
	return Lateness{N: h.Count(), Mean: time.Duration(h.Mean()), P50: time.Duration(h.Quantile(0.5)),
		P99: time.Duration(h.Quantile(0.99)), Max: time.Duration(h.Max())}
}

// New returns a scheduler that calls fire (from its Run goroutine, one item
// at a time) and holds at most limit items (0 = 1<<20).
func New[T any](fire func(T), limit int) *Scheduler[T] {
	if limit <= 0 {
		limit = 1 << 20
	}
	return &Scheduler[T]{fire: fire, limit: limit, base: time.Now(), wake: make(chan struct{}, 1), late: stats.NewHistogram()}
}

// Add schedules v for due. It returns false, and drops v, when the scheduler
// already holds its limit. Items already due fire as soon as possible.
func (s *Scheduler[T]) Add(due time.Time, v T) bool {
	d := int64(due.Sub(s.base))
	s.mu.Lock()
	if len(s.heap) >= s.limit {
		s.mu.Unlock()
		return false
	}
	s.seq++
	s.push(entry[T]{due: d, seq: s.seq, v: v})
	first := s.heap[0].seq == s.seq
	s.mu.Unlock()
	if first { // a new earliest deadline: the loop must re-plan
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// Len returns the number of items waiting.
func (s *Scheduler[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.heap)
}

func (s *Scheduler[T]) now() int64 { return int64(time.Since(s.base)) }

// Run fires items until ctx ends; items still waiting then are dropped and
// returned, so the caller can release them.
func (s *Scheduler[T]) Run(ctx context.Context) []T {
	pinThread()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	margin := int64(maxMargin / 4)
	var batch []entry[T]
	var lateness []int64
	for {
		s.mu.Lock()
		now := s.now()
		batch = batch[:0]
		for len(s.heap) > 0 && s.heap[0].due <= now {
			batch = append(batch, s.pop())
		}
		var wait int64 = -1
		if len(batch) == 0 && len(s.heap) > 0 {
			wait = s.heap[0].due - now
		}
		s.mu.Unlock()

		if len(batch) > 0 {
			lateness = lateness[:0]
			for i := range batch {
				// Measured as the item leaves: an earlier item's send
				// delays the next one as much as a late wake-up does.
				lateness = append(lateness, s.now()-batch[i].due)
				s.fire(batch[i].v)
				var zero entry[T]
				batch[i] = zero
			}
			s.lateMu.Lock()
			for _, l := range lateness {
				s.late.Record(l)
			}
			s.lateMu.Unlock()
			continue
		}
		if ctx.Err() != nil {
			return s.drain()
		}
		switch {
		case wait < 0: // empty: sleep until something is added
			select {
			case <-s.wake:
			case <-ctx.Done():
			}
		case wait > margin:
			sleep := wait - margin
			timer.Reset(time.Duration(sleep))
			start := s.now()
			select {
			case <-timer.C:
				// Learn how late timers wake: keep the margin above the
				// recent overshoots, letting it decay slowly when they shrink.
				late := s.now() - start - sleep
				margin = max(margin-margin/32, late+late/4+int64(minMargin))
				margin = min(margin, int64(maxMargin))
			case <-s.wake:
				timer.Stop()
			case <-ctx.Done():
				timer.Stop()
			}
		default: // close to the deadline
			s.waitFine(now + wait)
		}
	}
}

// waitFine waits until deadline (nanoseconds since base), returning early
// if an item is added before the earliest one.
func (s *Scheduler[T]) waitFine(deadline int64) {
	for {
		rem := deadline - s.now()
		if rem <= 0 {
			return
		}
		select {
		case <-s.wake:
			return
		default:
		}
		if haveFineSleep && rem > int64(spinTail) {
			fineSleep(min(time.Duration(rem)-spinTail, fineStep))
		} else {
			runtime.Gosched()
		}
	}
}

func (s *Scheduler[T]) drain() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(s.heap))
	for len(s.heap) > 0 {
		out = append(out, s.pop().v)
	}
	return out
}

func (s *Scheduler[T]) less(i, j int) bool {
	a, b := &s.heap[i], &s.heap[j]
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}

func (s *Scheduler[T]) push(e entry[T]) {
	s.heap = append(s.heap, e)
	i := len(s.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s.heap[i], s.heap[p] = s.heap[p], s.heap[i]
		i = p
	}
}

func (s *Scheduler[T]) pop() entry[T] {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	var zero entry[T]
	h[last] = zero
	s.heap = h[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && s.less(l, m) {
			m = l
		}
		if r < last && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s.heap[i], s.heap[m] = s.heap[m], s.heap[i]
		i = m
	}
	return top
}
