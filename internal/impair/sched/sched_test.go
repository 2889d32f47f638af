package sched

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestFiresInDueOrder(t *testing.T) {
	got := make(chan int, 100)
	s := New(func(v int) { got <- v }, 0)
	base := time.Now()
	// Added out of order; equal due times keep the order they were added in.
	dues := []struct {
		v  int
		at time.Duration
	}{{5, 5 * time.Millisecond}, {1, 0}, {3, 2 * time.Millisecond}, {4, 2 * time.Millisecond}, {2, time.Millisecond}, {6, 6 * time.Millisecond}}
	for _, d := range dues {
		if !s.Add(base.Add(d.at), d.v) {
			t.Fatal("Add refused below the limit")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []int)
	go func() { done <- s.Run(ctx) }()
	var order []int
	for range dues {
		order = append(order, <-got)
	}
	cancel()
	<-done
	if !slices.Equal(order, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("fired %v, want 1..6", order)
	}
}

func TestNotBeforeDue(t *testing.T) {
	type item struct{ due time.Time }
	var mu sync.Mutex
	var early []time.Duration
	n := 0
	all := make(chan struct{})
	s := New(func(it item) {
		mu.Lock()
		defer mu.Unlock()
		if d := time.Until(it.due); d > 0 {
			early = append(early, d)
		}
		if n++; n == 200 {
			close(all)
		}
	}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	for i := range 200 {
		due := time.Now().Add(time.Duration(i%20) * 100 * time.Microsecond)
		s.Add(due, item{due})
	}
	<-all
	if len(early) > 0 {
		t.Fatalf("%d items fired before their due time (by up to %v)", len(early), slices.Max(early))
	}
}

func TestLimitAndDrain(t *testing.T) {
	s := New(func(int) {}, 3)
	far := time.Now().Add(time.Hour)
	for i := range 3 {
		if !s.Add(far, i) {
			t.Fatalf("Add %d refused", i)
		}
	}
	if s.Add(far, 99) {
		t.Fatal("Add beyond the limit accepted")
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d", s.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if left := s.Run(ctx); !slices.Equal(left, []int{0, 1, 2}) {
		t.Fatalf("Run returned %v, want the 3 waiting items", left)
	}
}

// BenchmarkLateness measures how late items fire at 10k items/s, each due
// 5 ms after it is added (a delayed datagram stream). One iteration is one
// item; run with -benchtime=20000x for a 2 s stream. Reports lateness
// percentiles in microseconds: late-µs against the due time, and
// own-late-µs against the later of the due time and the moment the item
// was added, which leaves out the producer's own lag (on a loaded machine
// the whole process waits for a CPU, and items reach the scheduler late).
func BenchmarkLateness(b *testing.B) {
	const gap = 100 * time.Microsecond
	const delay = 5 * time.Millisecond
	type item struct{ due, added time.Time }
	late := make([]time.Duration, 0, b.N)
	own := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	s := New(func(it item) {
		now := time.Now()
		late = append(late, now.Sub(it.due))
		ref := it.due
		if it.added.After(ref) {
			ref = it.added
		}
		own = append(own, now.Sub(ref))
		if len(late) == b.N {
			close(done)
		}
	}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := 0; i < b.N; {
		// Add every item whose send time has come, as a relay would.
		now := time.Since(start)
		for ; i < b.N && time.Duration(i)*gap <= now; i++ {
			due := start.Add(time.Duration(i)*gap + delay)
			s.Add(due, item{due: due, added: time.Now()})
		}
		time.Sleep(gap)
	}
	<-done
	b.StopTimer()
	// CPU the whole process used (scheduler, producer, runtime), as a
	// share of one core: what the precision costs.
	b.ReportMetric(100*(cpuTime()-cpu0).Seconds()/time.Since(start).Seconds(), "%-cpu")
	report := func(d []time.Duration, name string) {
		slices.Sort(d)
		q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / 1e3 }
		b.ReportMetric(q(0.5), "p50-"+name+"-µs")
		b.ReportMetric(q(0.99), "p99-"+name+"-µs")
		b.ReportMetric(q(1), "max-"+name+"-µs")
	}
	report(late, "late")
	report(own, "own-late")
	within := 0
	for _, d := range late {
		if d <= 200*time.Microsecond {
			within++
		}
	}
	b.ReportMetric(100*float64(within)/float64(len(late)), "%-within-200µs")
}

// Lateness counts how late items left: an item stuck behind a slow send is
// late by that send's time, which the relay must report, not hide.
func TestLatenessMeasured(t *testing.T) {
	n := 0
	fired := make(chan struct{})
	s := New(func(int) {
		if n++; n == 1 {
			time.Sleep(5 * time.Millisecond) // a send that takes a while
		}
		if n == 3 {
			close(fired)
		}
	}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	due := time.Now()
	for i := range 3 {
		s.Add(due, i)
	}
	<-fired
	cancel()
	<-ran // Run records a batch's lateness before it looks at ctx again
	l := s.Lateness()
	if l.N != 3 || l.Max < 5*time.Millisecond || l.P50 < 0 {
		t.Fatalf("lateness %+v, want 3 items, the last ones at least 5ms late", l)
	}
}
