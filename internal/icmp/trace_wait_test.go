package icmp

import (
	"testing"
	"time"
)

// TestWaitFor: traceroute 2.1's -w MAX,HERE,NEAR. With one probe per hop,
// probe 0 is hop 1 and probe 1 hop 2; hop 1's wait shortens to NEAR× the
// round trip of hop 2's answer, hop 2's own second probe to HERE×.
func TestWaitFor(t *testing.T) {
	answered := func(rtt time.Duration) probeState {
		return probeState{done: true, res: ProbeResult{Answered: true, RTT: rtt}}
	}
	tests := []struct {
		name       string
		here, near float64
		queries    int
		probes     []probeState
		i          int
		want       time.Duration
	}{
		{"nothing answered: MAX", 3, 10, 1, []probeState{{}, {}}, 0, 5 * time.Second},
		{"later hop answered: NEAR×", 3, 10, 1, []probeState{{}, answered(20 * time.Millisecond)}, 0, 200 * time.Millisecond},
		{"NEAR 4", 3, 4, 1, []probeState{{}, answered(50 * time.Millisecond)}, 0, 200 * time.Millisecond},
		{"NEAR off", 3, -1, 1, []probeState{{}, answered(50 * time.Millisecond)}, 0, 5 * time.Second},
		{"same hop answered: HERE×", 3, 10, 2, []probeState{answered(100 * time.Millisecond), {}}, 1, 300 * time.Millisecond},
		{"HERE off", -1, 10, 2, []probeState{answered(100 * time.Millisecond), {}}, 1, 5 * time.Second},
		{"never under 100ms", 3, 10, 1, []probeState{{}, answered(time.Millisecond)}, 0, minShortWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Tracer{cfg: TraceConfig{Wait: 5 * time.Second, WaitHere: tt.here, WaitNear: tt.near, Queries: tt.queries, Flows: 1}}
			if got := tr.waitFor(tt.probes, tt.i); got != tt.want {
				t.Fatalf("waitFor = %s, want %s", got, tt.want)
			}
		})
	}
}
