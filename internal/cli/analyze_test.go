package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/socklab/socklab/internal/qoswire"
)

// analyzeProbeCapture writes a raw-IP pcap of n qoswire probes from
// 127.0.0.1:40000 to 127.0.0.1:9000, each answered 1 ms later, and returns
// its path and bytes.
func analyzeProbeCapture(t *testing.T, n int) (string, []byte) {
	t.Helper()
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lo := net.IPv4(127, 0, 0, 1).To4()
	put := func(ts time.Time, sport, dport uint16, payload []byte) {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: lo, DstIP: lo}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		_ = udp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		ts := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		b := make([]byte, 100)
		h := qoswire.Header{Session: 42, Seq: uint64(i), SendWall: ts.UnixNano(), SendMono: ts.UnixNano()}
		h.Marshal(b)
		put(ts, 40000, 9000, b)
		qoswire.Reflect(b, ts.UnixNano(), ts.UnixNano(), uint64(i+1))
		put(ts.Add(time.Millisecond), 9000, 40000, b)
	}
	path := filepath.Join(t.TempDir(), "probes.pcap")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, out.Bytes()
}

func TestAnalyzeCommand(t *testing.T) {
	file, data := analyzeProbeCapture(t, 20)
	dir := t.TempDir()
	truncated := filepath.Join(dir, "cut.pcap")
	os.WriteFile(truncated, data[:len(data)-10], 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a capture at all"), 0o644)

	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout []string
		stderr string
	}{
		{"table", []string{"analyze", file}, "", ExitOK,
			[]string{"1 flows", "127.0.0.1:40000", "qos session 000000000000002a: sent 20, received 20, lost 0 (0.00%)"}, ""},
		{"filter drops all", []string{"analyze", "--flow", "tcp", file}, "", ExitOK, []string{"no flows", "40 packets filtered out"}, ""},
		{"stdin", []string{"analyze", "-"}, string(data), ExitOK, []string{"-: pcap, raw, 40 packets"}, ""},
		{"truncated", []string{"analyze", truncated}, "", ExitFailure, []string{"127.0.0.1:40000"},
			"capture unreadable from packet 40 (byte offset"},
		{"not a capture", []string{"analyze", text}, "", ExitFailure, nil, "not a pcap or pcapng capture"},
		{"missing file", []string{"analyze", filepath.Join(dir, "nope.pcap")}, "", ExitFailure, nil, "no such file"},
		{"bad filter", []string{"analyze", "--flow", "port banana", file}, "", ExitUsage, nil, "--flow"},
		{"bad top", []string{"analyze", "--top", "-1", file}, "", ExitUsage, nil, "--top"},
		{"no file", []string{"analyze"}, "", ExitUsage, nil, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.stderr) || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

func TestAnalyzeOutputs(t *testing.T) {
	file, _ := analyzeProbeCapture(t, 10)
	dir := t.TempDir()
	csvPath, htmlPath := filepath.Join(dir, "flows.csv"), filepath.Join(dir, "report.html")
	code, stdout, stderr := run(t, "", "analyze", "--json", "--csv", csvPath, "--report", htmlPath, file)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		File    string `json:"file"`
		Packets int64  `json:"packets"`
		Flows   []struct {
			Protocol string `json:"protocol"`
			QoS      []struct {
				Sent     int64   `json:"sent"`
				Received int64   `json:"received"`
				LossPct  float64 `json:"loss_pct"`
				RTT      struct {
					AvgMs float64 `json:"avg_ms"`
				} `json:"rtt"`
			} `json:"qos"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if doc.File != file || doc.Packets != 20 || len(doc.Flows) != 1 || len(doc.Flows[0].QoS) != 1 {
		t.Fatalf("json %+v", doc)
	}
	q := doc.Flows[0].QoS[0]
	if q.Sent != 10 || q.Received != 10 || q.LossPct != 0 || q.RTT.AvgMs != 1 {
		t.Fatalf("qos %+v", q)
	}
	csvData, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(csvData), "file,protocol,client,server,") || strings.Count(string(csvData), "\n") != 2 {
		t.Fatalf("csv %q, %v", csvData, err)
	}
	html, err := os.ReadFile(htmlPath)
	if err != nil || !strings.Contains(string(html), "<svg") || !strings.Contains(string(html), "QoS session 000000000000002a") {
		t.Fatalf("html report: %v", err)
	}
}
