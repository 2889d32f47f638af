package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/stats"
)

func captureFixture() *capture.Result {
	f := func(v float64) *float64 { return &v }
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &capture.Result{
		File: `cap<script>.pcap`, Format: "pcapng", Gzip: true, LinkTypes: []string{"ethernet"},
		Packets: 1234, Bytes: 567890, Start: start, DurationS: 2.5, DurationMs: 2500, Malformed: 3, FlowsTotal: 4,
		ResolutionNs: 1000, Notes: []string{"interval 100ns is finer than the capture's timestamp resolution; using 1µs"},
		Series: []capture.RatePoint{{T: 0, Bps: 1e6}, {T: 1, Bps: 2e6}},
		Flows: []capture.FlowReport{
			{
				Protocol: "udp", Client: "127.0.0.1:40000", Server: "127.0.0.1:9000", Start: start, DurationS: 2, DurationMs: 2000,
				Packets: 196, Bytes: 39200, PacketsFwd: 100, PacketsRev: 96, ThroughputBps: 156800, PeakBps: 160000,
				PacketSize: capture.SizeStats{Min: 200, Avg: 200, Max: 200},
				Series:     []capture.RatePoint{{T: 0, Bps: 150000}, {T: 1, Bps: 160000}},
				QoS: []capture.QoSReport{{
					Session: "0000000000abcdef", Sent: 100, Received: 95, Lost: 5, LossPct: 5, Duplicates: 1, Reordered: 2,
					Requests: 100, Replies: 96,
					RTT:      &capture.Latency{Samples: 95, MinMs: 2, AvgMs: 2.5, MaxMs: 13, P50Ms: f(2), P95Ms: f(3), P99Ms: f(13)},
					JitterMs: 0.25, JitterFwdMs: 0.1, JitterRevMs: 0.25,
					IPDVFwd: &capture.IPDVReport{Samples: 99, MeanMs: 0, AbsP95: 0.5, AbsMax: 1},
					Series: []capture.RTTPoint{{T: 0, Width: 1, Sent: 50, Answered: 48, Lost: 2, MinMs: 2, AvgMs: 2.4, MaxMs: 3},
						{T: 1, Width: 1, Sent: 50, Answered: 47, Lost: 3, MinMs: 2, AvgMs: 2.6, MaxMs: 13}},
					RTTBins: []stats.Bin{{Lo: 2e6, Hi: 3e6, Count: 90}, {Lo: 3e6, Hi: 14e6, Count: 5}},
				}},
			},
			{
				Protocol: "tcp", Client: "192.168.1.10:51000", Server: "192.168.1.20:80", Start: start, DurationS: 0.42, Packets: 18, Bytes: 3000,
				TCP: &capture.TCPReport{HandshakeRTTMs: f(20), RTT: &capture.Latency{Samples: 4, MinMs: 5, AvgMs: 25, MaxMs: 41},
					PayloadFwd: 1437, PayloadRev: 1000, Retransmissions: 1, OutOfOrder: 1, ZeroWindows: 1},
				HTTP: &capture.HTTPReport{Requests: 1, Responses: 1, Methods: map[string]int64{"GET": 1},
					Statuses: map[string]int64{"200": 1}, Samples: []string{"GET /index.html HTTP/1.1"}},
			},
			{
				Protocol: "udp", Client: "[::1]:5000", Server: "[::1]:6000", Start: start, DurationS: 0.2, Packets: 20, Bytes: 1400,
				UDP: &capture.UDPReport{Datagrams: 20, JitterFwdMs: 0.5, EchoRTT: &capture.Latency{Samples: 10, MinMs: 3, AvgMs: 3, MaxMs: 3}},
			},
			{
				Protocol: "icmp", Client: "10.1.1.1", Server: "10.1.1.2", Start: start, DurationS: 9, Packets: 18, Bytes: 1500,
				ICMP: &capture.ICMPReport{Identifier: 77, Requests: 10, Replies: 8, Lost: 2, LossPct: 20,
					RTT: &capture.Latency{Samples: 8, MinMs: 1.5, AvgMs: 1.5, MaxMs: 1.5}},
			},
		},
		Stopped: &capture.Stop{Packet: 1235, Offset: 99999, Reason: "unexpected EOF"},
	}
}

func TestCaptureText(t *testing.T) {
	var b bytes.Buffer
	if err := CaptureText(&b, captureFixture()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"cap<script>.pcap: pcapng.gz, ethernet, 1234 packets",
		"3 malformed",
		"1  udp    127.0.0.1:40000",
		"qos session 0000000000abcdef: sent 100, received 95, lost 5 (5.00%), duplicates 1, reordered 2",
		"rtt min/avg/p50/p95/p99/max = 2.000/2.500/2.000/3.000/13.000/13.000 ms (95 samples)",
		"jitter 0.250 ms (fwd 0.100, rev 0.250)",
		"tcp: handshake 20.000 ms, rtt min/avg/max/mdev = 5.000/25.000/41.000/0.000 ms (4 samples)",
		"retransmissions 1, out-of-order 1, zero windows 1",
		"http: 1 requests (GET 1), 1 responses (200 1)",
		"udp: 20 datagrams, jitter fwd 0.500 ms",
		"icmp echo id 77: 10 requests, 8 replies, 20.0% loss",
		"capture unreadable from packet 1235 (byte offset 99999): unexpected EOF",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q\n%s", want, out)
		}
	}
}

func TestCaptureCSV(t *testing.T) {
	var b bytes.Buffer
	if err := CaptureCSV(&b, captureFixture()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want header + 4", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, c := range []struct {
		row        int
		name, want string
	}{
		{1, "loss_pct", "5"}, {1, "rtt_p95_ms", "3"}, {1, "jitter_ms", "0.25"}, {1, "reordered", "2"},
		{2, "handshake_rtt_ms", "20"}, {2, "retransmissions", "1"}, {2, "http_requests", "1"}, {2, "rtt_p50_ms", ""},
		{3, "rtt_avg_ms", "3"}, {4, "lost", "2"}, {4, "file", "cap<script>.pcap"},
	} {
		if got := rows[c.row][col[c.name]]; got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.name, got, c.want)
		}
	}
	for i, r := range rows {
		if len(r) != len(CaptureCSVHeader) {
			t.Errorf("row %d has %d cells, header %d", i, len(r), len(CaptureCSVHeader))
		}
	}
}

func TestCaptureHTML(t *testing.T) {
	var b bytes.Buffer
	if err := CaptureHTML(&b, captureFixture(), genTime); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"<!DOCTYPE html>", "cap&lt;script&gt;.pcap", "Throughput over time", "QoS session 0000000000abcdef",
		"RTT over time", "RTT distribution", "unanswered", "GET /index.html HTTP/1.1", "ICMP echo", "Other UDP",
		"packet 1235 (byte offset 99999)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("file name not escaped")
	}
	for _, ref := range []string{"http://", "https://", "src="} {
		if strings.Contains(strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, ""), ref) {
			t.Errorf("html references %q: not self-contained", ref)
		}
	}
	// An empty capture still renders a page.
	b.Reset()
	if err := CaptureHTML(&b, &capture.Result{File: "empty.pcap"}, genTime); err != nil || !strings.Contains(b.String(), "</html>") {
		t.Fatalf("empty capture: %v", err)
	}
}
