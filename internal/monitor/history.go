package monitor

import (
	"time"
)

// history keeps the last n steps of one target in a ring, in constant
// memory. It is pure: times are passed in. Not safe for concurrent use.
type history struct {
	step    time.Duration
	buckets []Bucket
	// head is the index of the newest bucket; buckets[head].Start is the
	// newest step's start (zero before the first event).
	head int
}

func newHistory(span, step time.Duration) *history {
	n := max(int(span/step), 1)
	return &history{step: step, buckets: make([]Bucket, n)}
}

// at returns the bucket for time t, advancing the ring to t's step when t is
// newer than the newest bucket. Times older than the ring are dropped (nil).
func (h *history) at(t time.Time) *Bucket {
	start := t.Truncate(h.step)
	newest := h.buckets[h.head].Start
	if newest.IsZero() {
		h.buckets[h.head] = Bucket{Start: start}
		return &h.buckets[h.head]
	}
	if start.After(newest) {
		steps := int(start.Sub(newest) / h.step)
		if steps >= len(h.buckets) {
			clear(h.buckets) // a gap longer than the ring: start afresh
			steps = 1
			newest = start.Add(-h.step)
		}
		for i := 1; i <= steps; i++ {
			h.head = (h.head + 1) % len(h.buckets)
			h.buckets[h.head] = Bucket{Start: newest.Add(time.Duration(i) * h.step)}
		}
		return &h.buckets[h.head]
	}
	back := int(newest.Sub(start) / h.step)
	if back >= len(h.buckets) {
		return nil
	}
	i := (h.head - back + len(h.buckets)) % len(h.buckets)
	if !h.buckets[i].Start.Equal(start) {
		return nil
	}
	return &h.buckets[i]
}

func (h *history) sent(t time.Time) {
	if b := h.at(t); b != nil {
		b.Sent++
	}
}

func (h *history) reply(sentAt time.Time, rtt time.Duration) {
	if b := h.at(sentAt); b != nil {
		b.Received++
		b.RTT.Add(float64(rtt))
	}
}

func (h *history) lost(sentAt time.Time) {
	if b := h.at(sentAt); b != nil {
		b.Lost++
	}
}

// window returns the buckets of the span ending at now, oldest first, one
// per step, empty steps included (with their Start set).
func (h *history) window(now time.Time) []Bucket {
	n := len(h.buckets)
	end := now.Truncate(h.step)
	out := make([]Bucket, n)
	for i := range out {
		out[i].Start = end.Add(-time.Duration(n-1-i) * h.step)
	}
	for _, b := range h.buckets {
		if b.Start.IsZero() {
			continue
		}
		k := n - 1 - int(end.Sub(b.Start)/h.step)
		if k >= 0 && k < n && out[k].Start.Equal(b.Start) {
			out[k] = b
		}
	}
	return out
}
