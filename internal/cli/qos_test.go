package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/socklab/socklab/internal/udpecho"
)

// qosReflector runs the real UDP reflector on a free loopback port.
func qosReflector(t *testing.T) string {
	t.Helper()
	srv, err := udpecho.New(udpecho.Config{MaxPPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx, c); err != nil {
			t.Errorf("reflector: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return c.LocalAddr().String()
}

func TestQoSCommand(t *testing.T) {
	target := qosReflector(t)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "q.csv")
	html := filepath.Join(dir, "q.html")

	code, out, errOut := run(t, "", "qos", target, "--count", "50", "--interval", "1ms", "--csv", csvPath, "--report", html)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"socklab qos → " + target, "qos statistics", "RTT ms", "Jitter (RFC 3550)", "Self-check"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<svg") {
		t.Fatalf("html report: %v", err)
	}

	code, out, errOut = run(t, "", "qos", target, "--count", "20", "--interval", "1ms", "--csv", csvPath, "--json")
	if code != ExitOK {
		t.Fatalf("--json exit %d: %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json is not one JSON document: %v\n%s", err, out)
	}
	if doc["sent"] != 20.0 || doc["received"] != 20.0 || doc["protocol"] != "udp" {
		t.Fatalf("json %v", doc)
	}

	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "time" || recs[1][3] != "50" || recs[2][3] != "20" {
		t.Fatalf("csv (header + 2 runs): %v %v", recs, err)
	}

	code, out, _ = run(t, "", "qos", target, "--count", "10", "--interval", "1ms", "--csv", "", "--json-stream", "--report-interval", "5ms")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) < 3 || !strings.Contains(lines[0], `"event":"start"`) || !strings.Contains(lines[len(lines)-1], `"event":"end"`) {
		t.Fatalf("--json-stream exit %d:\n%s", code, out)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not NDJSON: %s", l)
		}
	}
}

func TestQoSCommandErrors(t *testing.T) {
	silent := func() string {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.LocalAddr().String()
	}()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"size too small", []string{"--size", "10"}, ExitUsage, "size 10"},
		{"bad size", []string{"--size", "lots"}, ExitUsage, "--size"},
		{"rate and interval", []string{"--rate", "1M", "--interval", "1ms"}, ExitUsage, "alternatives"},
		{"burst and rate", []string{"--burst", "--rate", "1M"}, ExitUsage, "alternatives"},
		{"bad rate", []string{"--rate", "fast"}, ExitUsage, "--rate"},
		{"zero streams", []string{"--streams", "0"}, ExitUsage, "--streams"},
		{"too many streams", []string{"--streams", "1000"}, ExitUsage, "1000 streams"},
		{"negative count", []string{"--count", "-1"}, ExitUsage, "must not be negative"},
		{"json and stream", []string{"--json", "--json-stream"}, ExitUsage, "exclude"},
		{"report not html", []string{"--report", "x.pdf"}, ExitUsage, "HTML"},
		{"two targets", []string{"a:1", "b:2"}, ExitUsage, "accepts at most 1 arg"},
		{"target and tcp", []string{"a:1", "--tcp", "http://127.0.0.1:1"}, ExitUsage, "either"},
		{"bad target", []string{"no-port-here", "--count", "1"}, ExitFailure, "no-port-here"},
		{"nobody answers", []string{silent, "--count", "3", "--interval", "1ms", "--wait", "10ms"}, ExitFailure, "no replies from " + silent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"qos", "--csv", ""}, tt.args...)
			code, _, errOut := run(t, "", args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errOut, tt.want)
			}
		})
	}
}

// TestQoSIperfFlags: iperf3's short flags with iperf3's meanings.
func TestQoSIperfFlags(t *testing.T) {
	cmd := newQoSCmd(&env{})
	flagx.AcceptBareSeconds(cmd)
	if err := cmd.ParseFlags([]string{"-t", "3", "-b", "10M", "-l", "1K", "-P", "2", "-J"}); err != nil {
		t.Fatal(err)
	}
	var f qosFlags
	get := func(name string) string { return cmd.Flags().Lookup(name).Value.String() }
	f.size, f.rate = get("size"), get("rate")
	f.interval = 10 * time.Millisecond
	f.streams = 2
	cfg, err := qosConfig(cmd, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if get("duration") != "3s" || cfg.Rate != 10e6 || cfg.Size != 1024 || get("streams") != "2" || get("json") != "true" {
		t.Fatalf("-t %s -b %g -l %d -P %s -J %s", get("duration"), cfg.Rate, cfg.Size, get("streams"), get("json"))
	}
}

// TestQoSFailsBeforeTheTest: a --csv or --report that cannot be written
// fails at once, before a single probe, and leaves no file behind.
func TestQoSFailsBeforeTheTest(t *testing.T) {
	target := qosReflector(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--csv", "/nonexistent/x.csv"},
		{"--csv", filepath.Join(dir, "ok.csv"), "--report", "/nonexistent/x.html"},
	} {
		start := time.Now()
		code, out, stderr := run(t, "", append([]string{"qos", target, "-t", "5", "--interval", "100ms"}, args...)...)
		if code != ExitFailure || !strings.Contains(stderr, "/nonexistent/x.") || strings.Contains(out, "qos statistics") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%v: failed after %s: the test ran first", args, d)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ok.csv")); !os.IsNotExist(err) {
		t.Fatalf("the CSV created before the failed --report was left behind: %v", err)
	}
}
