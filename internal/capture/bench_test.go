package capture

import (
	"bytes"
	"context"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestAddFrameAllocs proves the per-packet path allocates nothing once a
// flow exists: decoding into preallocated layers, flow lookup, statistics.
func TestAddFrameAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *capBuilder
	}{{"qos probes", qosCapture(t)}, {"tcp", tcpCapture(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Config{})
			var frames [][]byte
			for _, f := range tc.b.frames {
				frames = append(frames, linkFrame(layers.LinkTypeEthernet, f))
			}
			cis := make([]gopacket.CaptureInfo, len(frames))
			for i, f := range tc.b.frames {
				cis[i] = gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(frames[i]), Length: len(frames[i])}
			}
			for i := range frames { // warm up: flows, rings, histograms
				a.AddFrame(layers.LinkTypeEthernet, frames[i], cis[i])
			}
			i := 0
			allocs := testing.AllocsPerRun(200, func() {
				a.AddFrame(layers.LinkTypeEthernet, frames[i%len(frames)], cis[i%len(frames)])
				i++
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per packet", allocs)
			}
		})
	}
}

// BenchmarkAnalyze measures the whole pipeline (reader, decoder, flows) on
// an in-memory pcap; bench/analyze.sh does the same on a 1 GB file.
func BenchmarkAnalyze(b *testing.B) {
	t := &testing.T{}
	c := qosCapture(t)
	for range 20 {
		c.frames = append(c.frames, tcpCapture(t).frames...)
		c.frames = append(c.frames, qosCapture(t).frames...)
	}
	data := c.bytes(layers.LinkTypeEthernet, fileKind{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(context.Background(), bytes.NewReader(data), Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
