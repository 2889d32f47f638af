package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/qos/qosresult"
	"github.com/socklab/socklab/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture is a hand-made result with round numbers.
func fixture() *qosresult.Result {
	h := stats.NewHistogram()
	for i := 1; i <= 100; i++ {
		h.Record(int64(i) * 100_000) // 0.1 .. 10 ms
	}
	s := qosresult.StreamResult{
		Stream: 1, Session: 0xabc,
		Sent: 1000, Received: 950, Lost: 50, LossPct: 5, LostUp: 30, LostDown: 20, LossUpPct: 3, LossDownPct: 2,
		Duplicates: 2, Reordered: 3, Late: 1,
		RTT: qosresult.Latency{N: 950, Min: 100 * time.Microsecond, Avg: 1500 * time.Microsecond, P50: 1250 * time.Microsecond,
			P90: 3 * time.Millisecond, P95: 4 * time.Millisecond, P99: 9 * time.Millisecond, Max: 10 * time.Millisecond, Stddev: 750 * time.Microsecond},
		JitterUp: 125 * time.Microsecond, JitterDown: 250 * time.Microsecond,
		IPDVUp:     qosresult.IPDV{N: 900, Mean: 1000, P95: 300 * time.Microsecond, Max: time.Millisecond},
		IPDVDown:   qosresult.IPDV{N: 900, Mean: -1000, P95: 400 * time.Microsecond, Max: 2 * time.Millisecond},
		Throughput: qosresult.Throughput{OfferedBps: 51200, OfferedWireBps: 73600, ReflectorBps: 50000, ReceivedBps: 48800, ReceivedWireBps: 70000, GoodputBps: 48640, SentPPS: 100, ReceivedPPS: 95},
		Diag:       qosresult.Diagnostics{TimerMisses: 4, SchedErrMean: 20 * time.Microsecond, SchedErrMax: 2 * time.Millisecond, RecvDrops: 0, RecvDropsKnown: true, KernelRxTime: true},
	}
	tot := s
	tot.Stream, tot.Session = 0, 0
	var series []qosresult.Point
	for i := range 100 {
		p := qosresult.Point{T: time.Duration(i) * 100 * time.Millisecond, Width: 100 * time.Millisecond, Sent: 10, Received: 10,
			RTTMin: time.Duration(500+10*i) * time.Microsecond, RTTAvg: time.Duration(1000+20*i) * time.Microsecond,
			RTTMax: time.Duration(2000+40*i) * time.Microsecond, Jitter: time.Duration(100+i) * time.Microsecond}
		if i%17 == 5 {
			p.Received = 5
		}
		series = append(series, p)
	}
	return &qosresult.Result{
		Target: "127.0.0.1:9090", Protocol: "udp",
		Start:        time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC),
		SendDuration: 10 * time.Second, Elapsed: 10200 * time.Millisecond, Wait: 200 * time.Millisecond,
		Size: 64, Interval: 10 * time.Millisecond,
		Streams: []qosresult.StreamResult{s}, Total: tot, RTT: h, Series: series,
	}
}

// genTime is the generation time the HTML golden files carry.
var genTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestQoSCSVGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteQoSCSV(&b, fixture(), true); err != nil {
		t.Fatal(err)
	}
	golden(t, "qos.csv", b.Bytes())
}

// The first columns are the SPEC's contract, in this order.
func TestQoSCSVSpecColumns(t *testing.T) {
	spec := "time,target,protocol,sent,received,lost,loss_pct,duplicates,reordered,duration_s,throughput_bps,rtt_min_ms,rtt_avg_ms,rtt_p50_ms,rtt_p95_ms,rtt_p99_ms,rtt_max_ms,jitter_ms"
	if got := strings.Join(QoSCSVHeader[:18], ","); got != spec {
		t.Fatalf("header starts\n%s\nwant\n%s", got, spec)
	}
	if n := len(QoSCSVRow(fixture())); n != len(QoSCSVHeader) {
		t.Fatalf("row has %d fields, header %d", n, len(QoSCSVHeader))
	}
}

func TestQoSJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteQoSJSON(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"target": "127.0.0.1:9090", "protocol": "udp", "sent": 1000.0, "received": 950.0, "lost": 50.0, "loss_pct": 5.0,
		"duplicates": 2.0, "reordered": 3.0, "duration_s": 10.0, "throughput_bps": 48640.0,
		"rtt_min_ms": 0.1, "rtt_avg_ms": 1.5, "rtt_p50_ms": 1.25, "rtt_p95_ms": 4.0, "rtt_p99_ms": 9.0, "rtt_max_ms": 10.0,
		"jitter_ms": 0.125, "interval_ms": 10.0, "time": "2026-11-21T05:00:00Z",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	total := m["total"].(map[string]any)
	if total["lost_up"] != 30.0 || total["jitter_down_ms"] != 0.25 || total["rtt"].(map[string]any)["p90_ms"] != 3.0 {
		t.Errorf("total: %v", total)
	}
	if d := total["diagnostics"].(map[string]any); d["recv_drops"] != 0.0 || d["timer_misses"] != 4.0 {
		t.Errorf("diagnostics: %v", d)
	}
	if s := m["streams"].([]any)[0].(map[string]any); s["session"] != "0000000000000abc" {
		t.Errorf("session %v", s["session"])
	}
	// Every key is snake_case.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if strings.ToLower(k) != k || strings.ContainsAny(k, " -") {
					t.Errorf("key %q is not snake_case", k)
				}
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(m)
}

func TestQoSEventNDJSON(t *testing.T) {
	var b bytes.Buffer
	evs := []QoSEvent{
		{Kind: "start", Time: time.Unix(0, 0), Target: "127.0.0.1:9000"},
		{Kind: "interval", Time: time.Unix(1, 0), Elapsed: time.Second,
			Intervals: []qosresult.IntervalStats{{Stream: 1, End: time.Second, Sent: 100, Received: 99, RTTAvg: 2 * time.Millisecond, JitterKnown: true}}},
		{Kind: "progress", Time: time.Unix(1, 0), Sent: 100, Received: 99, Fraction: 0.1},
		{Kind: "end", Time: time.Unix(10, 0), Result: fixture()},
	}
	for _, e := range evs {
		if err := WriteQoSEvent(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4", len(lines))
	}
	var iv struct {
		Event     string `json:"event"`
		Intervals []struct {
			Sent     int64   `json:"sent"`
			RTTAvgMs float64 `json:"rtt_avg_ms"`
		} `json:"intervals"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &iv); err != nil || iv.Event != "interval" || iv.Intervals[0].Sent != 100 || iv.Intervals[0].RTTAvgMs != 2 {
		t.Fatalf("interval line %s: %+v %v", lines[1], iv, err)
	}
	var end struct {
		Result struct {
			Lost int64 `json:"lost"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(lines[3]), &end); err != nil || end.Result.Lost != 50 {
		t.Fatalf("end line: %v %+v", err, end)
	}
	golden(t, "qos_events.ndjson", b.Bytes())
}

func TestQoSText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteQoSText(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"127.0.0.1:9090 qos statistics", "1000", "950", "5.00%",
		"1.250", // p50
		"up 0.125", "down 0.250",
		"goodput 48.64 kbit/s", "timer misses 4", "socket drops 0", "rx timestamps kernel",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	WriteQoSIntervalHeader(&b)
	WriteQoSInterval(&b, []qosresult.IntervalStats{
		{Stream: 1, End: time.Second, Sent: 100, Received: 98, Lost: 2, RTTMin: time.Millisecond, RTTAvg: 2 * time.Millisecond, RTTMax: 3 * time.Millisecond, GoodputBps: 50000},
		{Stream: 0, End: time.Second, Sent: 100, Received: 98},
	})
	if out := b.String(); !strings.Contains(out, "[  1] 0.00-1.00 s") || !strings.Contains(out, "1.000/2.000/3.000") || !strings.Contains(out, "[SUM]") {
		t.Fatalf("interval lines:\n%s", out)
	}
}

func TestQoSHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteQoSHTML(&b, fixture(), genTime); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "<svg"); n < 3 {
		t.Fatalf("%d charts, want RTT, histogram and jitter", n)
	}
	// No fetches: the only URL allowed is the SVG namespace name.
	rest := strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http://", "https://", "<script", "<link", "@import", "src="} {
		if strings.Contains(rest, bad) {
			t.Errorf("report contains %q: not self-contained", bad)
		}
	}
	if !strings.Contains(out, "probes lost at") {
		t.Error("no loss markers")
	}
}

func TestSVGEscapesText(t *testing.T) {
	c := LineChart{Title: `<script>alert(1)</script>`, Series: []Series{{Name: `a"b`, Points: []XY{{1, 2, 0}, {2, 3, 0}}}}}
	out := string(c.HTML())
	if strings.Contains(out, "<script>") || strings.Contains(out, `a"b`) {
		t.Fatalf("unescaped text in %s", out)
	}
	tb := string(Table{Header: []string{"<b>"}, Rows: [][]string{{"<i>", "1.5"}}}.HTML())
	if strings.Contains(tb, "<b>") || strings.Contains(tb, "<i>") || !strings.Contains(tb, `class="num">1.5`) {
		t.Fatalf("table %s", tb)
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		first  float64
		last   float64
		count  int
	}{
		{0, 10, 6, 0, 10, 6},
		{0.13, 0.97, 5, 0, 1, 3},
		{3, 3, 5, 2.6, 3.4, 5},
		{0, 0, 5, 0, 1, 3},
		{-5, 5, 5, -5, 5, 3},
		{0, 0.0042, 5, 0, 0.006, 4},
	}
	for _, tt := range tests {
		ticks, _, _ := NiceTicks(tt.lo, tt.hi, tt.n)
		ok := len(ticks) == tt.count && ticks[0] == tt.first && ticks[len(ticks)-1] == tt.last
		for _, v := range ticks {
			ok = ok && len(FormatTick(v)) <= 6
		}
		if !ok {
			t.Errorf("NiceTicks(%v, %v, %d) = %v", tt.lo, tt.hi, tt.n, ticks)
		}
	}
}

func TestQoSTCPRenders(t *testing.T) {
	res := &qosresult.Result{
		Target: "127.0.0.1:8000", Protocol: "tcp", Start: time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC),
		SendDuration: 2 * time.Second,
		TCP: &qosresult.TCPResult{URL: "http://127.0.0.1:8000/_socklab/bytes?n=10GiB", Bytes: 250_000_000, GoodputBps: 1e9,
			InfoKnown: true, RTT: 50 * time.Microsecond, Retransmits: 1, OutOfOrder: 2, MSS: 65483,
			Intervals: []qosresult.TCPInterval{{End: time.Second, Bytes: 125_000_000, GoodputBps: 1e9}, {Start: time.Second, End: 2 * time.Second, Bytes: 125_000_000, GoodputBps: 1e9}}},
	}
	res.Total.Throughput.GoodputBps = 1e9
	var b bytes.Buffer
	if err := WriteQoSText(&b, res); err != nil || !strings.Contains(b.String(), "goodput 1.00 Gbit/s") || !strings.Contains(b.String(), "out of order 2") {
		t.Fatalf("text %v:\n%s", err, b.String())
	}
	row := QoSCSVRow(res)
	if row[2] != "tcp" || row[4] != "250000000" || row[10] != "1000000000" || row[12] != "0.050" || row[3] != "" || row[11] != "" {
		t.Fatalf("csv row %q", row)
	}
	doc := QoSJSON(res)
	if doc.TCP == nil || doc.ThroughputBps != 1e9 || len(doc.TCP.Intervals) != 2 || doc.TCP.RTTMs != 0.05 {
		t.Fatalf("json %+v", doc)
	}
	b.Reset()
	if err := WriteQoSHTML(&b, res, genTime); err != nil || strings.Count(b.String(), "<svg") != 2 {
		t.Fatalf("html %v", err)
	}
	b.Reset()
	WriteTCPIntervalHeader(&b)
	WriteTCPInterval(&b, []qosresult.IntervalStats{{Stream: 1, End: time.Second, Bytes: 1 << 20, GoodputBps: 8e6, TCPRTT: time.Millisecond, TCPRetransmits: 3}})
	if !strings.Contains(b.String(), "1.00 MiB") || !strings.Contains(b.String(), "8.00 Mbit/s") {
		t.Fatalf("tcp interval:\n%s", b.String())
	}
}

// TestQoSHTMLRTTLineSpansSparseBuckets draws the RTT line through series
// buckets narrower than the send interval (most hold nothing): the line must
// join the data, and lift only where probes were sent and all were lost.
func TestQoSHTMLRTTLineSpansSparseBuckets(t *testing.T) {
	res := fixture()
	var series []qosresult.Point
	for i := range 40 {
		p := qosresult.Point{T: time.Duration(i) * 2500 * time.Microsecond, Width: 2500 * time.Microsecond}
		if i%4 == 0 { // one probe every 10ms
			p.Sent, p.Received = 1, 1
			p.RTTMin, p.RTTAvg, p.RTTMax = 20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond
		}
		if i == 20 { // this one was lost
			p.Received = 0
		}
		series = append(series, p)
	}
	res.Series = series
	var b bytes.Buffer
	if err := WriteQoSHTML(&b, res, genTime); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<path d="([^"]*)"[^>]*><title>average</title>`).FindStringSubmatch(b.String())
	if m == nil {
		t.Fatal("no average RTT line in the report")
	}
	d := m[1]
	// 10 probes, one lost: two runs of 5 and 4 points → 2 move-tos, 7 line-tos.
	if moves, lines := strings.Count(d, "M"), strings.Count(d, "L"); moves != 2 || lines != 7 {
		t.Fatalf("average path has %d M and %d L segments, want 2 and 7: %s", moves, lines, d)
	}
}

// noReplies is a run where every probe went unanswered.
func noReplies() *qosresult.Result {
	s := qosresult.StreamResult{Stream: 1, Session: 0xabc, Sent: 5, Lost: 5, LossPct: 100, LostUp: 5, LossUpPct: 100,
		Throughput: qosresult.Throughput{OfferedBps: 64000, SentPPS: 125}}
	tot := s
	tot.Stream, tot.Session = 0, 0
	return &qosresult.Result{Target: "127.0.0.1:1", Protocol: "udp", Start: time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC),
		SendDuration: 40 * time.Millisecond, Size: 64, Interval: 10 * time.Millisecond,
		Streams: []qosresult.StreamResult{s}, Total: tot, RTT: stats.NewHistogram()}
}

// Without a single reply there is no RTT and no jitter: JSON says null, CSV
// leaves the cell empty and text prints a dash, never 0 (SPEC: outputs).
func TestQoSNoRepliesAreEmptyNotZero(t *testing.T) {
	res := noReplies()
	var j bytes.Buffer
	if err := WriteQoSJSON(&j, res); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rtt_min_ms", "rtt_avg_ms", "rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms", "rtt_max_ms", "jitter_ms"} {
		if v, ok := doc[k]; !ok || v != nil {
			t.Errorf("json %s = %v (present %v), want null", k, v, ok)
		}
	}
	if doc["loss_pct"] != 100.0 {
		t.Errorf("loss_pct = %v, want 100", doc["loss_pct"])
	}
	tot := doc["total"].(map[string]any)
	for _, k := range []string{"rtt", "jitter_up_ms", "jitter_down_ms"} {
		if tot[k] != nil {
			t.Errorf("json total.%s = %v, want null", k, tot[k])
		}
	}

	row := QoSCSVRow(res)
	for i, col := range QoSCSVHeader {
		if strings.HasPrefix(col, "rtt_") || strings.HasPrefix(col, "jitter") || strings.HasPrefix(col, "ipdv") {
			if row[i] != "" {
				t.Errorf("csv %s = %q, want empty", col, row[i])
			}
		}
	}

	var txt bytes.Buffer
	if err := WriteQoSText(&txt, res); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^(\s+—){8}$`).MatchString(txt.String()) {
		t.Errorf("text lacks a row of dashes for the RTT table:\n%s", txt.String())
	}
	for _, want := range []string{"Jitter (RFC 3550) ms   up —   down —", "up mean — p95 — max —"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q for the missing figures:\n%s", want, txt.String())
		}
	}
}

// An interval with no replies shows dashes for RTT and jitter.
func TestQoSIntervalNoReplies(t *testing.T) {
	var b bytes.Buffer
	ev := QoSEvent{Kind: "interval", Intervals: []qosresult.IntervalStats{{Stream: 1, End: time.Second, Sent: 5, Lost: 5}}}
	if err := WriteQoSInterval(&b, ev.Intervals); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "0.000") {
		t.Errorf("interval line shows zeros for missing figures: %q", b.String())
	}
	var d bytes.Buffer
	if err := WriteQoSEvent(&d, ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.String(), `"rtt_avg_ms":null`) || !strings.Contains(d.String(), `"jitter_up_ms":null`) {
		t.Errorf("interval NDJSON lacks null figures: %s", d.String())
	}
}

// The legend draws each swatch as its series is drawn: the RTT chart's band
// and average share a colour, so one is a translucent box and one a stroke.
func TestLegendMatchesDrawing(t *testing.T) {
	c := LineChart{Title: "t", Series: []Series{
		{Name: "min–max", Style: StyleBand, Points: []XY{{X: 0, Y: 2, Y0: 1}, {X: 1, Y: 3, Y0: 1}}, Color: "#123456"},
		{Name: "average", Style: StyleLine, Points: []XY{{X: 0, Y: 1.5}, {X: 1, Y: 2}}, Color: "#123456"},
	}}
	svg := string(c.HTML())
	if !strings.Contains(svg, `height="10" fill="#123456" opacity="0.22"/><text`) {
		t.Errorf("band swatch is not translucent: %s", svg)
	}
	if !regexp.MustCompile(`<line [^>]*stroke="#123456" stroke-width="2"/><text [^>]*>average<`).MatchString(svg) {
		t.Errorf("line swatch is not a stroke: %s", svg)
	}
}

// A run the instrument limited says so: warnings in JSON (always an array),
// warning lines and the reflector's drops by name in text, and a headline
// with the planned and the achieved pacing.
func TestQoSWarningsAndSelfLimits(t *testing.T) {
	res := fixture()
	res.Planned = 3000
	res.Total.ReflectorKnown, res.Total.ReflectorDropped = true, 70
	res.Warnings = []qosresult.Warning{
		{Kind: qosresult.WarnSenderBehind, Message: "sender behind schedule: sent 1000 of 3000 planned probes (33.3%)"},
		{Kind: qosresult.WarnReflectorCap, Message: "the reflector's rate cap dropped 70 probes"},
	}
	var txt bytes.Buffer
	if err := WriteQoSText(&txt, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"64 B probes every 10ms planned, every 10ms achieved", // 1000 probes in 10 s
		"warning: sender behind schedule: sent 1000 of 3000 planned probes (33.3%)\n",
		"warning: the reflector's rate cap dropped 70 probes\n",
		"dropped by the reflector's rate cap: 70",
	} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
	var j bytes.Buffer
	if err := WriteQoSJSON(&j, res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Planned     *int64 `json:"planned"`
		ReflDropped *int64 `json:"refl_dropped"`
		Warnings    []struct{ Kind, Message string }
	}
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Planned == nil || *doc.Planned != 3000 || doc.ReflDropped == nil || *doc.ReflDropped != 70 || len(doc.Warnings) != 2 || doc.Warnings[1].Kind != qosresult.WarnReflectorCap {
		t.Fatalf("json %s", j.String())
	}

	// No warnings: an empty array, never null or absent.
	j.Reset()
	if err := WriteQoSJSON(&j, noReplies()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(j.String(), `"warnings": []`) || !strings.Contains(j.String(), `"refl_dropped": null`) {
		t.Fatalf("json without warnings: %s", j.String())
	}
}

// A --count run sends all its probes, but a starved sender sends them late:
// 1000 probes that took 40 s (3000 slots missed) were not "every 10ms", and
// the headline gives what the run achieved, its probes over its send time.
func TestQoSHeadlineCountRunBehind(t *testing.T) {
	res := fixture()
	res.Planned = res.Total.Sent
	res.SendDuration = 4 * res.SendDuration
	res.Total.Diag.TimerMisses = 3 * res.Total.Sent
	var txt bytes.Buffer
	if err := WriteQoSText(&txt, res); err != nil {
		t.Fatal(err)
	}
	if want := "every 10ms planned, every 40ms achieved"; !strings.Contains(txt.String(), want) {
		t.Fatalf("text lacks %q:\n%s", want, txt.String())
	}
}
