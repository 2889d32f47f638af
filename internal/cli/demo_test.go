package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/demo"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/report"
)

// qosCSVHeader is the SPEC's contract for the first columns of qos_result.csv.
const qosCSVHeader = "time,target,protocol,sent,received,lost,loss_pct,duplicates,reordered,duration_s,throughput_bps,rtt_min_ms,rtt_avg_ms,rtt_p50_ms,rtt_p95_ms,rtt_p99_ms,rtt_max_ms,jitter_ms"

// demoArgs keep the in-process demo short: a 1 s QoS test, a small load.
func demoArgs(out string, extra ...string) []string {
	return append([]string{"demo", "--out", out, "--qos-duration", "1s", "--requests", "50"}, extra...)
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "", demoArgs(dir)...)
	if code != ExitOK {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	t.Run("steps in order", func(t *testing.T) {
		last := -1
		for _, step := range []string{"[1/6] start serve", "[2/6] start proxy", "[3/6] fetch", "[4/6] UDP QoS", "[5/6] multi-client", "[6/6] ping", "Summary", "servers stopped."} {
			i := strings.Index(out, step)
			if i < 0 || i < last {
				t.Fatalf("%q missing or out of order in:\n%s", step, out)
			}
			last = i
		}
	})
	t.Run("impairment announced", func(t *testing.T) {
		if !strings.Contains(out, "delay 10ms ±1ms, loss 1%") || !strings.Contains(out, "seed 1") {
			t.Errorf("impairment not announced:\n%s", out)
		}
	})
	t.Run("MISS then a cache hit", func(t *testing.T) {
		// The embedded site carries a lifetime (serve's --cache-control
		// auto), so the repeat is a fresh hit: serve is not asked again.
		miss := strings.Index(out, "fetch 1  200 OK")
		hit := strings.Index(out, "fetch 2  200 OK")
		if miss < 0 || hit < miss {
			t.Fatalf("two fetches not shown:\n%s", out)
		}
		first, second := out[miss:hit], out[hit:]
		if end := strings.Index(second, "[4/6]"); end > 0 {
			second = second[:end]
		}
		if !strings.Contains(first, "X-Cache: MISS") || !strings.Contains(first, "proxy log: ") || !strings.Contains(first, " MISS\n") {
			t.Errorf("first fetch is not a MISS (or the proxy log line is missing):\n%s", first)
		}
		if !strings.Contains(second, "X-Cache: HIT") || !regexp.MustCompile(`proxy log: .* HIT\n`).MatchString(second) {
			t.Errorf("second fetch is not a HIT:\n%s", second)
		}
		if !regexp.MustCompile(`Cache-Status: socklab; hit`).MatchString(second) || strings.Contains(second, "revalidated") {
			t.Errorf("second fetch is not a fresh hit:\n%s", second)
		}
		if !regexp.MustCompile(`cache +ok +MISS [0-9.]+ ms, then HIT [0-9.]+ ms`).MatchString(out) {
			t.Errorf("summary has no MISS then HIT:\n%s", out)
		}
	})
	t.Run("load without errors", func(t *testing.T) {
		if !strings.Contains(out, "50 ok, 0 failed") || !regexp.MustCompile(`load +ok +50 requests by 5 clients, 0 errors`).MatchString(out) {
			t.Errorf("load summary does not show 50 requests and 0 errors:\n%s", out)
		}
	})
	t.Run("ping ran or said why not", func(t *testing.T) {
		if !regexp.MustCompile(`ping +(ok +3/3 replies|skipped +no permission)`).MatchString(out) {
			t.Errorf("ping neither ran nor explained itself:\n%s", out)
		}
		if os.Geteuid() == 0 && !strings.Contains(out, "64 bytes from 127.0.0.1: icmp_seq=1") {
			t.Errorf("running as root, ping should have run:\n%s", out)
		}
	})
	t.Run("csv", func(t *testing.T) {
		rows := readCSV(t, filepath.Join(dir, "qos_result.csv"))
		if len(rows) != 2 {
			t.Fatalf("qos_result.csv: %d lines, want header + 1 row", len(rows))
		}
		if got := strings.Join(rows[0], ","); !strings.HasPrefix(got, qosCSVHeader) {
			t.Errorf("header = %q, want it to start with %q", got, qosCSVHeader)
		}
		if rows[1][2] != "udp" || rows[1][3] == "0" || rows[1][4] == "0" {
			t.Errorf("row = %v: want a udp run with probes sent and received", rows[1])
		}
	})
	t.Run("html self-contained", func(t *testing.T) {
		assertSelfContainedHTML(t, filepath.Join(dir, "qos_report.html"))
	})
}

// TestDemoAppendsCSV: a second run in the same folder adds a row and no
// second header.
func TestDemoAppendsCSV(t *testing.T) {
	dir := t.TempDir()
	for i := range 2 {
		if code, out, stderr := run(t, "", "demo", "--out", dir, "--qos-duration", "200ms", "--requests", "10"); code != ExitOK {
			t.Fatalf("run %d: exit %d\n%s\n%s", i+1, code, out, stderr)
		}
	}
	rows := readCSV(t, filepath.Join(dir, "qos_result.csv"))
	if len(rows) != 3 || rows[0][0] != "time" || rows[1][0] == "time" || rows[2][0] == "time" {
		t.Fatalf("after two runs qos_result.csv has %d lines %v, want header + 2 rows", len(rows), rows)
	}
}

func TestDemoUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero qos duration", []string{"demo", "--qos-duration", "0s"}, "--qos-duration"},
		{"no clients", []string{"demo", "--clients", "0"}, "--clients"},
		{"no requests", []string{"demo", "--requests", "0"}, "--requests"},
		{"empty out", []string{"demo", "--out", ""}, "--out"},
		{"stray argument", []string{"demo", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, "", tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q (stdout %q)", code, stderr, ExitUsage, tt.want, out)
			}
		})
	}
}

// TestDemoStepFails: when a step fails the demo names it, still stops the
// servers, and exits 1. The CSV path is made a folder, so step 4 cannot
// append its row.
func TestDemoStepFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "qos_result.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "", "demo", "--out", dir, "--qos-duration", "200ms", "--requests", "10")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitFailure, out, stderr)
	}
	if !strings.Contains(stderr, "step 4 (qos) failed") {
		t.Errorf("stderr does not name the failed step: %q", stderr)
	}
	if !regexp.MustCompile(`qos +FAILED`).MatchString(out) || !strings.Contains(out, "servers stopped.") {
		t.Errorf("stdout lacks the failed summary row or the shutdown:\n%s", out)
	}
	if strings.Contains(out, "[5/6]") {
		t.Errorf("the demo went on after a failed step:\n%s", out)
	}
}

// TestDemoKeep: --keep leaves the servers up, announces their URLs, and
// stops cleanly (exit 0) when the context ends.
func TestDemoKeep(t *testing.T) {
	// The deadline bounds every wait below: at its end the demo stops and
	// closes its output, which ends the line reader.
	ctx, cancel := context.WithTimeout(context.Background(), 3*cmdTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr syncBuffer // the proxy's access log and the logger write from several goroutines
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, demoArgs(t.TempDir(), "--keep", "--qos-duration", "200ms", "--requests", "10"), strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	// Read stdout until the demo says it keeps running; note the proxy URL.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var proxyURL, siteURL string
	var rest strings.Builder
	for line := range lines {
		rest.WriteString(line + "\n")
		if strings.Contains(line, "the site through the caching proxy") {
			proxyURL = strings.Fields(line)[0]
		}
		if strings.Contains(line, "the site straight from serve") {
			siteURL = strings.Fields(line)[0]
		}
		if strings.Contains(line, "Press Ctrl-C to stop.") {
			break
		}
	}
	if proxyURL == "" || siteURL == "" {
		t.Fatalf("no URLs announced:\n%s", rest.String())
	}
	// The proxy still answers, and forwards to the still running server.
	pu, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	resp, err := c.Get(siteURL)
	if err != nil {
		t.Fatalf("GET %s via %s after the steps: %v", siteURL, proxyURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Cache") == "" {
		t.Fatalf("GET via the kept proxy: %s, X-Cache %q", resp.Status, resp.Header.Get("X-Cache"))
	}
	cancel()
	for line := range lines {
		rest.WriteString(line + "\n")
	}
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d after cancel, want 0\n%s\n%s", code, rest.String(), stderr.String())
	}
	if !strings.Contains(rest.String(), "servers stopped.") {
		t.Errorf("no clean stop:\n%s", rest.String())
	}
	if !strings.Contains(stderr.String(), "proxy: ") {
		t.Errorf("the proxy's access log is not shown while kept: %q", stderr.String())
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// externalRef finds what would make an HTML page depend on the network:
// scripts, styles, images or fonts fetched from elsewhere.
var externalRef = regexp.MustCompile(`(?i)(\b(src|href)\s*=\s*["']?\s*(https?:)?//)|@import|url\(\s*["']?(https?:)?//`)

func assertSelfContainedHTML(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, "<html") || !strings.Contains(page, "<svg") {
		t.Errorf("%s is not an HTML page with charts", path)
	}
	if m := externalRef.FindString(page); m != "" {
		t.Errorf("%s refers to an external resource: %q", path, m)
	}
}

// TestDemoStepResults runs the steps and reads what they found as values,
// not from the prose.
func TestDemoStepResults(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb}
	cfg, err := demoConfig(e, &demoOptions{out: dir, qosDuration: time.Second, clients: 2, requests: 20, seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := demo.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = d.Run(ctx)
	if serr := d.Stop(); serr != nil {
		t.Errorf("stop: %v", serr)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(d.Results) != 6 {
		t.Fatalf("%d results, want 6: %#v", len(d.Results), d.Results)
	}
	serve := d.Results[0].(report.DemoServe)
	if !strings.HasPrefix(serve.WebURL, "http://127.0.0.1:") || !strings.HasPrefix(serve.EchoAddr, "127.0.0.1:") {
		t.Errorf("serve %+v", serve)
	}
	px := d.Results[1].(report.DemoProxy)
	if !strings.HasPrefix(px.ProxyURL, "http://127.0.0.1:") || px.Impairment.Delay != 10*time.Millisecond || px.Impairment.Loss != 0.01 || px.Impairment.Seed != 1 {
		t.Errorf("proxy %+v", px)
	}
	if c := d.Results[2].(report.DemoCache); c.Verdicts != [2]string{load.CacheMiss, load.CacheHit} || c.Miss <= 0 || c.Hit <= 0 {
		t.Errorf("cache %+v", c)
	}
	q := d.Results[3].(report.DemoQoS)
	if q.Result.Total.Received == 0 || q.Result.Total.RTT.Min < 18*time.Millisecond {
		t.Errorf("qos: %d received, RTT min %v (the relay adds 10ms ±1ms each way)", q.Result.Total.Received, q.Result.Total.RTT.Min)
	}
	for _, f := range []string{q.CSV, q.HTML} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if l := d.Results[4].(report.DemoLoad).Result; l.Requests != 20 || l.Failures != 0 || l.Cache == nil || l.Cache.Hits == 0 {
		t.Errorf("load %+v", l)
	}
	if p := d.Results[5].(report.DemoPing); p.Skipped == "" && p.Host.Received == 0 {
		t.Errorf("ping neither skipped nor answered: %+v", p)
	}
	if len(d.Summary) != 6 || d.Summary[2].Status != "ok" || d.Summary[2].Result != d.Results[2].Summary() {
		t.Errorf("summary %+v", d.Summary)
	}
}
