package pace

import (
	"testing"
	"time"
)

const ms = time.Millisecond

func TestPace(t *testing.T) {
	tests := []struct {
		name       string
		s          Schedule
		elapsed    time.Duration
		slot, sent uint64
		want       Step
	}{
		{"first slot is due at once", Schedule{Interval: 10 * ms}, 0, 0, 0, Step{Slot: 0}},
		{"wait for the next slot", Schedule{Interval: 10 * ms}, 3 * ms, 1, 1, Step{Slot: 1, Wait: 7 * ms}},
		{"absolute schedule: a late send does not shift the next", Schedule{Interval: 10 * ms}, 14 * ms, 2, 2, Step{Slot: 2, Wait: 6 * ms}},
		{"less than an interval late: send now", Schedule{Interval: 10 * ms}, 19 * ms, 1, 1, Step{Slot: 1}},
		{"one whole interval late: skip one", Schedule{Interval: 10 * ms}, 20 * ms, 1, 1, Step{Slot: 2, Missed: 1}},
		{"far behind: skip to latest due", Schedule{Interval: 10 * ms}, 55 * ms, 1, 1, Step{Slot: 5, Missed: 4}},
		{"count reached", Schedule{Interval: 10 * ms, Count: 3}, 25 * ms, 3, 3, Step{Slot: 3, Stop: true}},
		{"count counts sends, not slots", Schedule{Interval: 10 * ms, Count: 3}, 45 * ms, 4, 2, Step{Slot: 4, Wait: 0}},
		{"duration: last slot before the end", Schedule{Interval: 10 * ms, Duration: 100 * ms}, 85 * ms, 9, 9, Step{Slot: 9, Wait: 5 * ms}},
		{"duration: slot at the end is not sent", Schedule{Interval: 10 * ms, Duration: 100 * ms}, 95 * ms, 10, 10, Step{Slot: 10, Stop: true}},
		{"duration: skipping past the end stops", Schedule{Interval: 10 * ms, Duration: 100 * ms}, 130 * ms, 5, 5, Step{Slot: 13, Stop: true}},
		{"burst: always due", Schedule{}, 123 * ms, 77, 77, Step{Slot: 77}},
		{"burst with count", Schedule{Count: 5}, 1 * ms, 5, 5, Step{Slot: 5, Stop: true}},
		{"burst with duration running", Schedule{Duration: 10 * ms}, 9 * ms, 1000, 1000, Step{Slot: 1000}},
		{"burst with duration over", Schedule{Duration: 10 * ms}, 10 * ms, 1000, 1000, Step{Slot: 1000, Stop: true}},
		{"negative elapsed is start", Schedule{Interval: 10 * ms}, -5 * ms, 0, 0, Step{Slot: 0}},
		{"max late: overdue slots within it are sent at once", Schedule{Interval: ms, MaxLate: 5 * ms}, 4500 * time.Microsecond, 1, 1, Step{Slot: 1}},
		{"max late: older ones are missed", Schedule{Interval: ms, MaxLate: 5 * ms}, 8500 * time.Microsecond, 1, 1, Step{Slot: 4, Missed: 3}},
		{"max late below the interval means one interval", Schedule{Interval: 10 * ms, MaxLate: ms}, 19 * ms, 1, 1, Step{Slot: 1}},
		{"sub-millisecond interval", Schedule{Interval: 100 * time.Microsecond}, 250 * time.Microsecond, 2, 2, Step{Slot: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Pace(tt.elapsed, tt.slot, tt.sent); got != tt.want {
				t.Fatalf("Pace(%v, %d, %d) = %+v, want %+v", tt.elapsed, tt.slot, tt.sent, got, tt.want)
			}
		})
	}
}

// TestPaceSimulated drives the pacer with a fake clock whose sender is slow
// now and then, and checks the run's shape: absolute slots, no bunching,
// misses counted, the count honoured.
func TestPaceSimulated(t *testing.T) {
	s := Schedule{Interval: 10 * ms, Count: 20}
	var now time.Duration
	var slot, sent, missed uint64
	var sendTimes []time.Duration
	for range 1000 {
		st := s.Pace(now, slot, sent)
		if st.Stop {
			break
		}
		missed += st.Missed
		now += st.Wait
		sendTimes = append(sendTimes, now)
		sent++
		slot = st.Slot + 1
		// Every 5th send stalls the sender for 25ms (two whole slots lost).
		if sent%5 == 0 {
			now += 25 * ms
		}
	}
	if sent != 20 {
		t.Fatalf("sent %d, want 20", sent)
	}
	if missed == 0 {
		t.Fatal("stalls produced no timer misses")
	}
	for i := 1; i < len(sendTimes); i++ {
		if gap := sendTimes[i] - sendTimes[i-1]; gap < 5*ms {
			t.Fatalf("sends %d and %d only %v apart: bunched", i-1, i, gap)
		}
	}
}

// TestPaceCatchUp: with MaxLate, a stalled sender catches up, sending the
// overdue slots back to back, and keeps the rate.
func TestPaceCatchUp(t *testing.T) {
	s := Schedule{Interval: 100 * time.Microsecond, MaxLate: 2 * ms, Duration: 10 * ms}
	var now time.Duration
	var slot, sent, missed uint64
	for range 10000 {
		st := s.Pace(now, slot, sent)
		if st.Stop {
			break
		}
		missed += st.Missed
		now += st.Wait
		sent++
		slot = st.Slot + 1
		if sent%20 == 0 {
			now += 1500 * time.Microsecond // stalls shorter than MaxLate
		}
		now += 10 * time.Microsecond // the send itself
	}
	if missed != 0 || sent != 100 {
		t.Fatalf("sent %d, missed %d; want all 100 slots sent", sent, missed)
	}
}

func TestIntervalForRate(t *testing.T) {
	tests := []struct {
		bps  float64
		size int
		want time.Duration
	}{
		{1e6, 125, time.Millisecond},         // 1000 bits at 1 Mbit/s
		{1e9, 1400, 11200 * time.Nanosecond}, // 11200 bits at 1 Gbit/s
		{64 * 8 * 100, 64, 10 * ms},          // 100 pps of 64 B
		{0, 64, 0},
		{-1, 64, 0},
		{1e18, 1, 1},
	}
	for _, tt := range tests {
		if got := IntervalForRate(tt.bps, tt.size); got != tt.want {
			t.Errorf("IntervalForRate(%v, %d) = %v, want %v", tt.bps, tt.size, got, tt.want)
		}
	}
}

func TestPlanned(t *testing.T) {
	tests := []struct {
		s  Schedule
		n  uint64
		ok bool
	}{
		{Schedule{Interval: 10 * ms, Count: 1000}, 1000, true},
		{Schedule{Interval: 10 * ms, Duration: time.Second}, 100, true},
		{Schedule{Interval: 10 * ms, Duration: 1005 * ms}, 101, true},
		{Schedule{Interval: 10 * ms, Duration: time.Second, Count: 50}, 50, true},
		{Schedule{Count: 7}, 7, true},
		{Schedule{Duration: time.Second}, 0, false},
		{Schedule{Interval: ms}, 0, false},
	}
	for _, tt := range tests {
		n, ok := tt.s.Planned()
		if n != tt.n || ok != tt.ok {
			t.Errorf("%+v.Planned() = %d, %v; want %d, %v", tt.s, n, ok, tt.n, tt.ok)
		}
	}
}
