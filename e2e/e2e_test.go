//go:build unix

// Package e2e tests socklab from the outside: it builds the binary once and
// runs it as real processes on loopback, the way the README tells a newcomer
// to: "socklab demo", then the seed's three-process scenario (serve, proxy,
// and the interactive client fed through a pipe).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// qosCSVHeader is the SPEC's contract for the first columns of qos_result.csv.
const qosCSVHeader = "time,target,protocol,sent,received,lost,loss_pct,duplicates,reordered,duration_s,throughput_bps,rtt_min_ms,rtt_avg_ms,rtt_p50_ms,rtt_p95_ms,rtt_p99_ms,rtt_max_ms,jitter_ms"

// bin is the socklab binary TestMain builds (without -race: the processes
// under test run as users run them).
var bin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "socklab-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "socklab")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	// The import path builds from wherever the test runs inside the module.
	build := exec.Command(goTool, "build", "-o", bin, "github.com/socklab/socklab/cmd/socklab")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// TestDemo runs "socklab demo" as a user would and checks what it leaves.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out := t.TempDir() // --out differs from the working directory on purpose
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--out", out, "--qos-duration", "1s")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("socklab demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	text := stdout.String()

	// The second fetch is a cache hit: X-Cache: HIT after a MISS, and the
	// proxy's own log line says so too.
	miss := strings.Index(text, "X-Cache: MISS")
	hit := strings.Index(text, "X-Cache: HIT")
	if miss < 0 || hit < miss {
		t.Errorf("want X-Cache: MISS then X-Cache: HIT in:\n%s", text)
	}
	if !regexp.MustCompile(`(?s)proxy log: [^\n]* MISS\n.*proxy log: [^\n]* HIT\n`).MatchString(text) {
		t.Errorf("the proxy's log lines do not show MISS then HIT:\n%s", text)
	}
	if !regexp.MustCompile(`load +ok +200 requests by 5 clients, 0 errors`).MatchString(text) {
		t.Errorf("the simulation did not run 200 requests without errors:\n%s", text)
	}
	if !strings.Contains(text, "servers stopped.") {
		t.Errorf("no clean stop:\n%s", text)
	}
	checkCSV(t, filepath.Join(out, "qos_result.csv"), 1)
	checkHTML(t, filepath.Join(out, "qos_report.html"))
	for _, name := range []string{"qos_result.csv", "qos_report.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s written to the working directory despite --out", name)
		}
	}
}

// TestDemoUnprivileged runs the demo as an ordinary user (nobody), as a
// newcomer would: it must still pass, with ping either working through an
// unprivileged ICMP datagram socket (net.ipv4.ping_group_range) or skipped
// with the reason said.
func TestDemoUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: to start the demo as another user")
	}
	out := t.TempDir()
	// nobody must reach the binary and write to --out.
	for _, d := range []string{filepath.Dir(bin), filepath.Dir(out), out} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--out", out, "--qos-duration", "300ms", "--requests", "20")
	cmd.Dir = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("socklab demo as nobody: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	text := stdout.String()
	ranOK := regexp.MustCompile(`ping +ok +3/3 replies`).MatchString(text)
	skipped := regexp.MustCompile(`ping +skipped +no permission`).MatchString(text) &&
		strings.Contains(text, "skipped: ping: no permission for ICMP sockets: run as root or with CAP_NET_RAW")
	if !ranOK && !skipped {
		t.Errorf("ping neither ran nor said why it skipped:\n%s", text)
	}
	checkCSV(t, filepath.Join(out, "qos_result.csv"), 1)
	checkHTML(t, filepath.Join(out, "qos_report.html"))
}

// TestSeedScenario is the seed's three terminals: serve, proxy and the
// interactive client on explicit loopback ports, the client driven through
// its stdin. Then serve and proxy get SIGINT and must exit 0.
func TestSeedScenario(t *testing.T) {
	tcp, udp := freePorts(t, 2)
	httpServe, httpProxy := tcp[0], tcp[1]
	udpServe, udpRelay := udp[0], udp[1]

	serve := start(t, "serve", "serve", "--http", httpServe, "--udp", udpServe)
	waitTCP(t, serve, httpServe)
	proxy := start(t, "proxy", "proxy", "--http", httpProxy, "--upstream", "http://"+httpServe,
		"--udp", udpRelay, "--udp-upstream", udpServe)
	waitTCP(t, proxy, httpProxy)

	// Option 2 twice (MISS, then HIT), option 3 with 50 probes every 10ms
	// and the default size, then 0 to exit.
	workdir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := exec.CommandContext(ctx, bin, "client", "--proxy", "http://"+httpProxy,
		"--server", "http://"+httpServe, "--udp", udpRelay)
	client.Dir = workdir
	client.Stdin = strings.NewReader("2\n2\n3\n50\n10ms\n\n0\n")
	var cout, cerr bytes.Buffer
	client.Stdout, client.Stderr = &cout, &cerr
	if err := client.Run(); err != nil {
		t.Fatalf("socklab client: %v\nstdout:\n%s\nstderr:\n%s", err, cout.String(), cerr.String())
	}
	text := cout.String()
	miss := strings.Index(text, "X-Cache: MISS")
	hit := strings.Index(text, "X-Cache: HIT")
	if miss < 0 || hit < miss {
		t.Errorf("client: want X-Cache: MISS then X-Cache: HIT in:\n%s", text)
	}
	if !strings.Contains(text, "appended to qos_result.csv") {
		t.Errorf("client: the QoS test did not report its CSV row:\n%s", text)
	}
	checkCSV(t, filepath.Join(workdir, "qos_result.csv"), 1)

	// The proxy logs one line per request ending with the verdict.
	if !regexp.MustCompile(`(?s)GET http://[^\n]* 200 [^\n]* MISS\n.*GET http://[^\n]* 200 [^\n]* HIT\n`).MatchString(proxy.stderr.String()) {
		t.Errorf("proxy log lacks the MISS and HIT lines:\n%s", proxy.stderr.String())
	}
	// serve's access log saw the first request only: the second was a
	// fresh hit, answered by the proxy alone.
	if n := strings.Count(serve.stderr.String(), `"GET / HTTP/1.1"`); n != 1 {
		t.Errorf("serve's access log shows %d GET / requests, want 1 (the second must be a fresh hit):\n%s", n, serve.stderr.String())
	}

	// Clean shutdown: SIGINT, exit 0 within a few seconds.
	for _, p := range []*process{proxy, serve} {
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatalf("%s: SIGINT: %v", p.name, err)
		}
	}
	for _, p := range []*process{proxy, serve} {
		select {
		case <-p.exited:
			if p.err != nil {
				t.Errorf("%s after SIGINT: %v (want exit 0)\nstderr:\n%s", p.name, p.err, p.stderr.String())
			}
		case <-time.After(8 * time.Second):
			t.Errorf("%s did not exit within 8 s of SIGINT", p.name)
		}
	}
	if !strings.Contains(proxy.stderr.String(), "proxy stopped") {
		t.Errorf("proxy did not log its stop summary:\n%s", proxy.stderr.String())
	}
}

// process is a socklab server started by a test.
type process struct {
	name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{} // closed when the process has exited; err is set then
	err    error
}

func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// A test that failed half-way must not leave the process behind.
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitTCP polls addr until it accepts a connection, p exits, or 10 s pass.
func waitTCP(t *testing.T, p *process, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before listening on %s: %v\n%s", p.name, addr, p.err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: nothing listening on %s after 10 s: %v\n%s", p.name, addr, err, p.stderr.String())
		}
	}
}

// freePorts asks the kernel for n free loopback TCP ports and n UDP ones,
// holding them all until it returns so none is handed out twice, and
// releases them for the processes under test to bind.
func freePorts(t *testing.T, n int) (tcp, udp []string) {
	t.Helper()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		tcp = append(tcp, ln.Addr().String())
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		udp = append(udp, pc.LocalAddr().String())
	}
	return tcp, udp
}

// checkCSV asserts path holds the SPEC header and rows data rows.
func checkCSV(t *testing.T, path string, rows int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Errorf("qos CSV: %v", err)
		return
	}
	defer fh.Close()
	recs, err := csv.NewReader(bufio.NewReader(fh)).ReadAll()
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if len(recs) != rows+1 {
		t.Errorf("%s: %d lines, want header + %d", path, len(recs), rows)
		return
	}
	if got := strings.Join(recs[0], ","); !strings.HasPrefix(got, qosCSVHeader) {
		t.Errorf("%s header = %q, want it to start with %q", path, got, qosCSVHeader)
	}
	for _, r := range recs[1:] {
		if r[2] != "udp" || r[4] == "0" {
			t.Errorf("%s row %v: want a udp run with replies", path, r)
		}
	}
}

// externalRef finds what would make a page depend on the network.
var externalRef = regexp.MustCompile(`(?i)(\b(src|href)\s*=\s*["']?\s*(https?:)?//)|@import|url\(\s*["']?(https?:)?//`)

func checkHTML(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("qos report: %v", err)
		return
	}
	page := string(b)
	if !strings.Contains(page, "<html") || !strings.Contains(page, "<svg") {
		t.Errorf("%s is not an HTML page with charts", path)
	}
	if m := externalRef.FindString(page); m != "" {
		t.Errorf("%s is not self-contained: it refers to %q", path, m)
	}
}

// lockedBuffer collects a process's output; the test reads it while the
// process still writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
