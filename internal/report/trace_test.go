package report

import (
	"net/netip"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/icmp/icmpresult"
)

func TestFormatHop(t *testing.T) {
	a := netip.MustParseAddr("10.0.2.1")
	b := netip.MustParseAddr("10.0.3.1")
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name    string
		hop     icmpresult.Hop
		numeric bool
		want    string
	}{
		{"three answers", icmpresult.Hop{TTL: 2, Probes: []icmpresult.ProbeResult{{Answered: true, From: a, RTT: ms(0.051)}, {Answered: true, From: a, RTT: ms(0.040)}, {Answered: true, From: a, RTT: ms(0.038)}}}, true,
			" 2  10.0.2.1  0.051 ms  0.040 ms  0.038 ms"},
		{"no answer", icmpresult.Hop{TTL: 12, Probes: []icmpresult.ProbeResult{{}, {}, {}}}, true,
			"12  * * *"},
		{"star then answers from two routers", icmpresult.Hop{TTL: 3, Probes: []icmpresult.ProbeResult{{}, {Answered: true, From: a, RTT: ms(1)}, {Answered: true, From: b, RTT: ms(2)}}}, true,
			" 3  * 10.0.2.1  1.000 ms 10.0.3.1  2.000 ms"},
		{"flows labelled", icmpresult.Hop{TTL: 2, Probes: []icmpresult.ProbeResult{{Flow: 0, Answered: true, From: a, RTT: ms(1)}, {Flow: 1, Answered: true, From: b, RTT: ms(2)}, {Flow: 2}}}, true,
			" 2  f1 10.0.2.1  1.000 ms f2 10.0.3.1  2.000 ms f3 *"},
		{"unreachable with names", icmpresult.Hop{TTL: 1, Probes: []icmpresult.ProbeResult{{Answered: true, From: a, Name: "r1.lab", RTT: ms(0.5), Annotation: "!N"}}}, false,
			" 1  r1.lab (10.0.2.1)  0.500 ms !N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatHop(tt.hop, tt.numeric); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
