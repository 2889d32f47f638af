// Package pace decides when a probe sender sends: an isochronous interval, an
// interval derived from a target bit rate, or a burst (as fast as possible),
// bounded by a count and/or a duration.
//
// It is pure and clock-free, like vegeta's pacer: the caller passes the time
// elapsed since the start and how far it has got, and Pace answers which slot
// to send next and how long to wait for it. Sends are anchored to an absolute
// schedule (start + k·interval), so a late send never delays the ones after
// it, and slots the sender missed entirely are skipped and reported, never
// sent in a bunch to catch up.
package pace

import (
	"math"
	"time"
)

// Schedule is a send plan. The zero value is a burst with no end; set Count
// and/or Duration to bound it.
type Schedule struct {
	// Interval is the time between slot starts; 0 means burst: every slot is
	// due at once and the sender goes as fast as it can.
	Interval time.Duration
	// Count stops the run after this many sends; 0 means no limit.
	Count uint64
	// Duration stops the run when the next slot would start at or after it;
	// 0 means no limit.
	Duration time.Duration
	// MaxLate is how late a slot may still be sent; a slot later than that
	// is missed (skipped). 0 means one Interval, so sends are never closer
	// than the schedule makes them. A longer MaxLate lets a sender that
	// lost the CPU for a moment catch up by sending the overdue slots back
	// to back, as iperf3 does: the rate holds, the spacing does not (the
	// caller counts those late sends).
	MaxLate time.Duration
}

// Due is when slot k starts, measured from the start of the run.
func (s Schedule) Due(k uint64) time.Duration {
	if s.Interval <= 0 {
		return 0
	}
	if k > uint64(math.MaxInt64/int64(s.Interval)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(k) * s.Interval
}

// Step is Pace's answer.
type Step struct {
	Slot   uint64        // the slot to send next (its probe gets this position in the schedule)
	Wait   time.Duration // how long from elapsed until Slot is due; 0 when due or late
	Missed uint64        // slots skipped because the sender was a whole interval late or more
	Stop   bool          // the run is over: send nothing more
}

// Pace answers at elapsed (time since the start of the run), with slot the
// first slot not yet sent and sent the number of probes sent so far.
//
// A slot that is due, but by no more than MaxLate (one interval by default),
// is sent at once (the lateness is its schedule error). Slots later than
// that are missed: Pace skips to the oldest slot still within MaxLate and
// counts the skipped ones in Missed, so with the default probes are never
// bunched to catch up. Count limits sends, not slots, so a run with missed
// slots still sends Count probes; Duration limits time.
func (s Schedule) Pace(elapsed time.Duration, slot, sent uint64) Step {
	if s.Count > 0 && sent >= s.Count {
		return Step{Slot: slot, Stop: true}
	}
	if elapsed < 0 {
		elapsed = 0
	}
	next := slot
	var missed uint64
	if s.Interval > 0 {
		maxLate := s.MaxLate
		if maxLate < s.Interval {
			maxLate = s.Interval
		}
		// The oldest slot less than maxLate overdue (k·I > elapsed −
		// maxLate); with the default, the latest slot started by now.
		if elapsed >= maxLate {
			oldest := uint64((elapsed-maxLate)/s.Interval) + 1
			if oldest > slot {
				missed = oldest - slot
				next = oldest
			}
		}
	}
	if s.Duration > 0 && (s.Due(next) >= s.Duration || (s.Interval <= 0 && elapsed >= s.Duration)) {
		return Step{Slot: next, Stop: true}
	}
	wait := s.Due(next) - elapsed
	if wait < 0 {
		wait = 0
	}
	return Step{Slot: next, Wait: wait, Missed: missed}
}

// IntervalForRate is the interval that sends size-byte payloads at bps bits
// per second (payload bits, as iperf3's -b counts them). It returns 0 (burst)
// for a rate of 0 or less and never less than 1ns otherwise.
func IntervalForRate(bps float64, size int) time.Duration {
	if bps <= 0 || math.IsNaN(bps) || size <= 0 {
		return 0
	}
	ns := float64(size) * 8 / bps * 1e9
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	if ns < 1 {
		return 1
	}
	return time.Duration(math.Round(ns))
}

// Planned is how many probes the schedule sends if no slot is missed, and
// false when the run is unbounded or a burst bounded only by time.
func (s Schedule) Planned() (uint64, bool) {
	var byTime uint64
	timed := s.Duration > 0 && s.Interval > 0
	if timed {
		byTime = uint64((s.Duration + s.Interval - 1) / s.Interval)
	}
	switch {
	case s.Count > 0 && timed:
		return min(s.Count, byTime), true
	case s.Count > 0:
		return s.Count, true
	case timed:
		return byTime, true
	}
	return 0, false
}
