package report

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/icmp/icmpresult"
	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/stats"
)

// Every renderer has a golden file in testdata; go test -update rewrites
// them. A change in output shows up as a diff in review.

func pingFixture() ([]PingTarget, icmpresult.PingResult, []icmpresult.PingEvent) {
	a := netip.MustParseAddr("127.0.0.1")
	r := netip.MustParseAddr("10.0.0.1")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	evs := []icmpresult.PingEvent{
		{Kind: icmpresult.PingReply, Host: a, From: a, Seq: 1, Bytes: 64, TTL: 64, RTT: 45 * time.Microsecond, At: at},
		{Kind: icmpresult.PingReply, Host: a, From: a, Seq: 2, Bytes: 64, TTL: 64, RTT: 61 * time.Microsecond, At: at.Add(time.Second)},
		{Kind: icmpresult.PingReply, Host: a, From: a, Seq: 2, Bytes: 64, TTL: 64, RTT: 70 * time.Microsecond, Dup: true, At: at.Add(time.Second)},
		{Kind: icmpresult.PingError, Host: a, From: r, Seq: 3, TTL: -1, Message: "Time to live exceeded", At: at.Add(2 * time.Second)},
	}
	var sum stats.Summary
	sum.Add(0.045)
	sum.Add(0.061)
	res := icmpresult.PingResult{Hosts: []icmpresult.HostResult{
		{Host: a, Transmitted: 4, Received: 2, Duplicates: 1, Errors: 1, RTT: sum, Elapsed: 3003 * time.Millisecond},
	}}
	return []PingTarget{{Name: "localhost", Addr: a}}, res, evs
}

func traceFixture() icmpresult.TraceResult {
	a, b := netip.MustParseAddr("10.0.2.1"), netip.MustParseAddr("10.0.3.1")
	return icmpresult.TraceResult{Target: b, Protocol: icmpresult.TraceUDP, Port: 33434, MaxTTL: 30, PacketLen: 60,
		Reached: true, Elapsed: 4 * time.Millisecond, Hops: []icmpresult.Hop{
			{TTL: 1, Probes: []icmpresult.ProbeResult{{Answered: true, From: a, Name: "r1.lab", RTT: 51 * time.Microsecond}, {}, {Answered: true, From: a, RTT: 38 * time.Microsecond}}},
			{TTL: 2, Probes: []icmpresult.ProbeResult{{Answered: true, From: b, NameTimedOut: true, RTT: time.Millisecond, Reached: true}, {Answered: true, From: b, NameTimedOut: true, RTT: 2 * time.Millisecond, Annotation: "!X", Reached: true}, {}}},
		}}
}

func loadFixture() *loadresult.Result {
	lat := loadresult.Latency{Count: 30, Min: 0.1, Mean: 0.4, P50: 0.3, P90: 0.8, P95: 0.9, P99: 1.5, Max: 2, Stddev: 0.25}
	return &loadresult.Result{Target: "http://127.0.0.1:8000/", Protocol: "http", Mode: "closed", Clients: 2,
		Proxy: "http://127.0.0.1:8080", DurationMs: 1500, Requests: 32, Successes: 30, Failures: 2,
		Errors: map[string]int64{"timeout": 1, "refused": 1}, StatusCodes: map[string]int64{"200": 30},
		RequestsPerSec: 21.3, Bytes: 3000, BytesPerSec: 2000, ThroughputBps: 16000, Latency: lat,
		Cache: &loadresult.CacheStats{Hits: 29, Revalidated: 2, Misses: 1, HitRatio: 29.0 / 30},
		PerClient: []loadresult.ClientResult{
			{ID: 1, Requests: 16, Successes: 15, Errors: map[string]int64{"timeout": 1}, Bytes: 1500, Latency: lat, CacheHits: 14},
			{ID: 2, Requests: 16, Successes: 15, Errors: map[string]int64{"refused": 1}, Bytes: 1500, Latency: lat, CacheHits: 15},
		}}
}

func getFixture() []*loadresult.ProbeResult {
	h := loadresult.Header{"Content-Type": {"text/html"}, "X-Cache": {"MISS"}, "Cache-Status": {"socklab; fwd=uri-miss; stored"}, "Server": {"socklab"}}
	h2 := loadresult.Header{"Content-Type": {"text/html"}, "X-Cache": {"HIT"}, "Cache-Status": {"socklab; hit"}, "Age": {"1"}}
	return []*loadresult.ProbeResult{
		{URL: "http://127.0.0.1:8000/", Method: "GET", Proto: "HTTP/1.1", Status: 200, StatusText: "200 OK", Header: h, Size: 1024,
			Timing:     loadresult.Timing{Connect: 100 * time.Microsecond, FirstByte: 900 * time.Microsecond, Total: time.Millisecond},
			RemoteAddr: "127.0.0.1:8080", Cache: "MISS", CacheStatus: "socklab; fwd=uri-miss; stored"},
		{URL: "http://127.0.0.1:8000/", Method: "GET", Proto: "HTTP/1.1", Status: 200, StatusText: "200 OK", Header: h2, Size: 1024,
			Timing: loadresult.Timing{FirstByte: 200 * time.Microsecond, Total: 250 * time.Microsecond}, ConnReused: true,
			RemoteAddr: "127.0.0.1:8080", Cache: "HIT", CacheStatus: "socklab; hit"},
	}
}

// writeDemoFixture renders every part of the demo's output from fixed values.
func writeDemoFixture(w io.Writer) error {
	sv := DemoServe{WebURL: "http://127.0.0.1:40001", EchoAddr: "127.0.0.1:40002"}
	px := DemoProxy{ProxyURL: "http://127.0.0.1:40003", RelayAddr: "127.0.0.1:40004", WebURL: sv.WebURL, EchoAddr: sv.EchoAddr,
		Impairment: impair.Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.01, Seed: 1}}
	gets := getFixture()
	results := []interface{ Summary() string }{sv, px,
		DemoCache{Verdicts: [2]string{"MISS", "HIT"}, Miss: 2 * time.Millisecond, Hit: 500 * time.Microsecond},
		DemoQoS{Result: fixture(), CSV: "/tmp/x/qos_result.csv", HTML: "/tmp/x/qos_report.html"},
		DemoLoad{Result: loadFixture()}, DemoPing{Skipped: "no permission for ICMP sockets (see above)"}}
	var steps []DemoStep
	for i, r := range results {
		steps = append(steps, DemoStep{Name: []string{"serve", "proxy", "cache", "qos", "load", "ping"}[i], Status: "ok", Result: r.Summary()})
	}
	for _, f := range []func() error{
		func() error { return sv.Write(w) },
		func() error { return px.Write(w) },
		func() error {
			_, err := io.WriteString(w, ExplainVerdict(gets[0])+"\n"+ExplainVerdict(gets[1])+"\n")
			return err
		},
		func() error { return WriteDemoSummary(w, steps) },
		func() error { return WriteDemoKeep(w, sv, px) },
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func TestGolden(t *testing.T) {
	targets, pres, pevs := pingFixture()
	gets := getFixture()
	tests := []struct {
		file   string
		render func(w io.Writer) error
	}{
		{"qos.txt", func(w io.Writer) error { return WriteQoSText(w, fixture()) }},
		{"qos.json", func(w io.Writer) error { return WriteQoSJSON(w, fixture()) }},
		{"qos.html", func(w io.Writer) error { return WriteQoSHTML(w, fixture(), genTime) }},
		{"capture.txt", func(w io.Writer) error { return CaptureText(w, captureFixture()) }},
		{"capture.json", func(w io.Writer) error { return WriteJSON(w, captureFixture()) }},
		{"capture.csv", func(w io.Writer) error { return CaptureCSV(w, captureFixture()) }},
		{"capture.html", func(w io.Writer) error { return CaptureHTML(w, captureFixture(), genTime) }},
		{"ping.txt", func(w io.Writer) error {
			ew := &errWriter{w: w}
			ew.printf("%s\n", PingHeader(targets[0].Name, targets[0].Addr, 56))
			for i, ev := range pevs {
				ew.printf("%s\n", FormatPingEvent(ev, i == 0))
			}
			if ew.err != nil {
				return ew.err
			}
			return WritePingSummary(w, targets[0].Name, pres.Hosts[0])
		}},
		{"ping.json", func(w io.Writer) error { return WriteJSON(w, PingJSON(targets, pres, pevs)) }},
		{"traceroute.txt", func(w io.Writer) error {
			res := traceFixture()
			ew := &errWriter{w: w}
			ew.printf("%s\n", TraceHeader("r2.lab", res.Target, res.MaxTTL, res.PacketLen))
			for _, h := range res.Hops {
				ew.printf("%s\n", FormatHop(h, false))
			}
			return ew.err
		}},
		{"traceroute.json", func(w io.Writer) error { return WriteJSON(w, TraceJSON("r2.lab", traceFixture())) }},
		{"load.txt", func(w io.Writer) error { return WriteLoadText(w, loadFixture()) }},
		{"load.json", func(w io.Writer) error { return WriteJSON(w, LoadJSON(loadFixture())) }},
		{"get.txt", func(w io.Writer) error {
			for i, r := range gets {
				if err := WriteGetText(w, r, GetTextOptions{Number: i + 1, Proxy: "http://127.0.0.1:8080"}); err != nil {
					return err
				}
			}
			return WriteGetSaving(w, gets)
		}},
		{"get.json", func(w io.Writer) error { return WriteJSON(w, GetJSON(gets[0].URL, "http://127.0.0.1:8080", gets)) }},
		{"demo.txt", writeDemoFixture},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, b.Bytes())
		})
	}
}

// Every latency distribution in a JSON document has the same fields.
func TestOneLatencyShape(t *testing.T) {
	want := []string{"n", "min_ms", "avg_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "stddev_ms"}
	targets, pres, pevs := pingFixture()
	docs := map[string]any{
		"qos rtt":      QoSJSON(fixture()).Total.RTT,
		"load latency": LoadJSON(loadFixture()).Latency,
		"ping rtt":     *PingJSON(targets, pres, pevs).Hosts[0].RTT,
		"analyze rtt":  captureFixture().Flows[0].QoS[0].RTT,
	}
	for name, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if len(m) != len(want) {
			t.Errorf("%s: %d fields %v, want %v", name, len(m), m, want)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %q: %s", name, k, b)
			}
		}
	}
}
