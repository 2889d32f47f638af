package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestRateSeriesWidens(t *testing.T) {
	var s rateSeries
	// 1000-byte packets every 10 ms for 10 s: the 1 ms buckets widen to
	// 256 ms (64 × 256 ms > 10 s), and nothing is lost on the way.
	const n = 1000
	for i := range n {
		s.add(int64(i)*10e6, 1000)
	}
	if s.width != 256e6 {
		t.Fatalf("bucket width %d ns, want 256 ms", s.width)
	}
	var bits float64
	for _, p := range s.points(0) {
		bits += p.Bps * float64(s.width) / 1e9
	}
	if bits != n*1000*8 {
		t.Fatalf("series holds %v bits, want %v", bits, n*1000*8)
	}
	full := s.points(0)[5] // a bucket in the middle: 25.6 packets per 256 ms
	if !near(full.Bps, 800_000, 35_000) {
		t.Fatalf("mid bucket %v bit/s, want ~800 kbit/s", full.Bps)
	}
}

func TestQoSSeries(t *testing.T) {
	res := analyzeBytes(t, qosCapture(t).bytes(layers.LinkTypeEthernet, fileKind{}), Config{})
	q := res.Flows[0].QoS[0]
	var sent, answered, lost int64
	for _, p := range q.Series {
		sent += p.Sent
		answered += p.Answered
		lost += p.Lost
		if p.Answered > 0 && (p.MinMs < 1.5 || p.MaxMs > 12.5 || p.AvgMs < p.MinMs || p.AvgMs > p.MaxMs) {
			t.Fatalf("bucket %+v", p)
		}
	}
	if sent != 100 || answered != 95 || lost != 5 {
		t.Fatalf("series sent %d answered %d lost %d, want 100/95/5", sent, answered, lost)
	}
	if len(q.RTTBins) != 40 {
		t.Fatalf("%d RTT bins", len(q.RTTBins))
	}
	if len(res.Series) == 0 || len(res.Flows[0].Series) == 0 {
		t.Fatal("no throughput series")
	}
}
