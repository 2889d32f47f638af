// Command hostilebench is the load side of bench/hostile.sh: it attacks an
// HTTP server with hostile connections and, meanwhile, measures a normal
// client beside them and the server's memory. Loopback only: it refuses
// other addresses.
//
//	hostilebench -attack slowloris -target 127.0.0.1:8000 -conns 4600 -pid 1234
//	hostilebench -attack headerbomb -target 127.0.0.1:8080 -conns 400 -pid 1234
//
// slowloris: each connection sends a request line and one header, then a
// further header line every -trickle, never the blank line that ends the
// headers; when the server closes it, it reconnects at once.
// headerbomb: each connection sends a request line, then header lines of 8
// KiB as fast as the server takes them, up to -bomb-bytes, never ending the
// block; it reconnects when closed.
//
// After -warmup, a normal client makes -n GET requests to -probe-url, each
// on a new connection, -interval apart, and the server's RSS (the process
// -pid and its children, summed) is sampled every 100 ms. It prints one
// line: "p50_ms=1.23 p99_ms=4.56 failed=0/200 rss_peak_mib=12.3
// attack_open=4600 attack_connects=9876".
//
// The normal client runs in a process of its own (this program again, with
// -role probe), as a real client would: inside the attackers' process its
// goroutine queued behind thousands of attacker goroutines whenever the
// server closed their connections at once (at every header timeout), and
// that wait, the attacker's own scheduler, was counted as the server's
// latency. -probe-inproc measures it the old way.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	attack, target, probeURL string
	conns, n                 int
	bombBytes                int
	warmup, interval         time.Duration
	trickle, timeout         time.Duration
	pids                     []int
	probeInproc              bool
}

func main() {
	var c config
	var pids string
	flag.StringVar(&c.attack, "attack", "slowloris", "slowloris or headerbomb")
	flag.StringVar(&c.target, "target", "127.0.0.1:8000", "server to attack (loopback)")
	flag.StringVar(&c.probeURL, "probe-url", "", "URL the normal client gets (default http://TARGET/)")
	flag.IntVar(&c.conns, "conns", 4600, "hostile connections")
	flag.IntVar(&c.n, "n", 200, "normal requests")
	flag.IntVar(&c.bombBytes, "bomb-bytes", 1<<20, "header bytes each headerbomb connection sends")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "attack time before the normal client starts")
	flag.DurationVar(&c.interval, "interval", 20*time.Millisecond, "gap between normal requests")
	flag.DurationVar(&c.trickle, "trickle", 5*time.Second, "slowloris: gap between header lines")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Second, "normal request timeout (a failure after it)")
	flag.StringVar(&pids, "pid", "", "server process ids (comma-separated) whose RSS, children included, is sampled")
	flag.BoolVar(&c.probeInproc, "probe-inproc", false, "run the normal client inside the attackers' process")
	role := flag.String("role", "attack", "attack, or probe (the normal client alone: one latency in µs per line, then failed=N)")
	flag.Parse()
	for f := range strings.SplitSeq(pids, ",") {
		if p, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			c.pids = append(c.pids, p)
		}
	}
	if c.probeURL == "" {
		c.probeURL = "http://" + c.target + "/"
	}
	if *role == "probe" {
		if u, err := url.Parse(c.probeURL); err != nil || loopback(u.Host) != nil {
			fmt.Fprintln(os.Stderr, "hostilebench: probe-url must be a literal loopback address:", c.probeURL)
			os.Exit(1)
		}
		lat, failed := probe(c)
		for _, d := range lat {
			fmt.Println(d.Microseconds())
		}
		fmt.Printf("failed=%d\n", failed)
		return
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "hostilebench:", err)
		os.Exit(1)
	}
}

// loopback refuses anything but a literal loopback address.
func loopback(hostport string) error {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("%q: want a literal loopback address:port", hostport)
	}
	return nil
}

func run(c config) error {
	u, err := url.Parse(c.probeURL)
	if err != nil {
		return err
	}
	for _, a := range []string{c.target, u.Host} {
		if err := loopback(a); err != nil {
			return err
		}
	}
	var hold func(stop <-chan struct{}, st *attackStats)
	switch c.attack {
	case "slowloris":
		hold = func(stop <-chan struct{}, st *attackStats) { slowloris(c, stop, st) }
	case "headerbomb":
		hold = func(stop <-chan struct{}, st *attackStats) { headerBomb(c, stop, st) }
	default:
		return fmt.Errorf("unknown attack %q", c.attack)
	}
	stop := make(chan struct{})
	var st attackStats
	var wg sync.WaitGroup
	for range c.conns {
		wg.Go(func() { hold(stop, &st) })
	}
	time.Sleep(c.warmup)
	var peak atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rss(c.pids); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cpu0, conn0, t0 := cpuTicks(c.pids), st.connects.Load(), time.Now()
	lat, failed, err := normalClient(c)
	if err != nil {
		close(stop)
		return err
	}
	cpu := time.Duration(cpuTicks(c.pids)-cpu0) * time.Second / clockTicks
	window, conns := time.Since(t0), st.connects.Load()-conn0
	open := st.open.Load()
	close(stop)
	<-sampled
	wg.Wait()
	slices.Sort(lat)
	fmt.Printf("p50_ms=%s p99_ms=%s failed=%d/%d rss_peak_mib=%.1f attack_open=%d attack_connects=%d"+
		" server_cpu_s=%.2f server_cpu_share=%.2f attack_connects_per_s=%.0f server_cpu_us_per_connect=%s\n",
		pct(lat, 50), pct(lat, 99), failed, c.n, float64(peak.Load())/(1<<20), open, st.connects.Load(),
		cpu.Seconds(), cpu.Seconds()/window.Seconds(), float64(conns)/window.Seconds(), perConnect(cpu, conns))
	return nil
}

// normalClient runs probe in its own process (see the package comment),
// or in this one with -probe-inproc.
func normalClient(c config) ([]time.Duration, int, error) {
	if c.probeInproc {
		lat, failed := probe(c)
		return lat, failed, nil
	}
	cmd := exec.Command(os.Args[0], "-role", "probe", "-probe-url", c.probeURL, "-n", strconv.Itoa(c.n),
		"-interval", c.interval.String(), "-timeout", c.timeout.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("normal client: %w", err)
	}
	var lat []time.Duration
	failed := -1
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if f, ok := strings.CutPrefix(line, "failed="); ok {
			failed, _ = strconv.Atoi(f)
		} else if us, err := strconv.ParseInt(line, 10, 64); err == nil {
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
	}
	if failed < 0 {
		return nil, 0, fmt.Errorf("normal client: no result in %q", out)
	}
	return lat, failed, nil
}

type attackStats struct {
	open, connects atomic.Int64
}

// slowloris holds one connection that never finishes its headers,
// reconnecting when the server closes it.
func slowloris(c config, stop <-chan struct{}, st *attackStats) {
	for !stopped(stop) {
		conn, err := net.DialTimeout("tcp", c.target, 5*time.Second)
		if err != nil {
			pause(stop, 50*time.Millisecond)
			continue
		}
		st.connects.Add(1)
		st.open.Add(1)
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, conn); close(closed) }() // notices the close
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n")
		for i := 0; err == nil; i++ {
			select {
			case <-stop:
				err = errors.New("stop")
			case <-closed:
				err = io.EOF
			case <-time.After(c.trickle):
				_, err = fmt.Fprintf(conn, "X-Slow-%d: %d\r\n", i, i)
			}
		}
		conn.Close()
		st.open.Add(-1)
	}
}

// headerBomb holds one connection pushing header lines without end.
func headerBomb(c config, stop <-chan struct{}, st *attackStats) {
	line := []byte("X-Bomb: " + strings.Repeat("a", 8<<10-10) + "\r\n")
	for !stopped(stop) {
		conn, err := net.DialTimeout("tcp", c.target, 5*time.Second)
		if err != nil {
			pause(stop, 50*time.Millisecond)
			continue
		}
		st.connects.Add(1)
		st.open.Add(1)
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, conn); close(closed) }()
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		for sent := 0; err == nil && sent < c.bombBytes; sent += len(line) {
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, err = conn.Write(line)
			if errors.Is(err, os.ErrDeadlineExceeded) && !stopped(stop) {
				err = nil // the server is not reading: keep pushing
			}
		}
		if err == nil { // all sent: hold the connection open
			select {
			case <-stop:
			case <-closed:
			}
		}
		conn.Close()
		st.open.Add(-1)
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func pause(stop <-chan struct{}, d time.Duration) {
	select {
	case <-stop:
	case <-time.After(d):
	}
}

// probe runs the normal client: n requests, each on a new connection.
func probe(c config) (lat []time.Duration, failed int) {
	client := &http.Client{Timeout: c.timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	for range c.n {
		start := time.Now()
		resp, err := client.Get(c.probeURL)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			failed++
		} else {
			lat = append(lat, time.Since(start))
		}
		time.Sleep(c.interval)
	}
	return lat, failed
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := min(len(sorted)-1, (len(sorted)*p+99)/100-1)
	return fmt.Sprintf("%.2f", float64(sorted[max(i, 0)])/1e6)
}

// perConnect is the server's CPU time per attacker connection, in µs.
func perConnect(cpu time.Duration, conns int64) string {
	if conns <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(cpu.Microseconds())/float64(conns))
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

// cpuTicks sums utime+stime of pids and their descendants (each live
// process's own figures, children counted while they run), in clock ticks.
func cpuTicks(pids []int) int64 {
	var total int64
	walk(pids, func(pid int) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			return
		}
		for _, i := range []int{11, 12} { // utime, stime (fields 14, 15)
			v, _ := strconv.ParseInt(f[i], 10, 64)
			total += v
		}
	})
	return total
}

// rss sums VmRSS of pids and all their descendants, in bytes.
func rss(pids []int) int64 {
	var total int64
	walk(pids, func(pid int) { total += vmRSS(pid) })
	return total
}

// walk calls fn for each of pids and each of their descendants, once.
func walk(pids []int, fn func(pid int)) {
	seen := map[int]bool{}
	var visit func(int)
	visit = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		fn(pid)
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for f := range strings.FieldsSeq(string(b)) {
				if child, err := strconv.Atoi(f); err == nil {
					visit(child)
				}
			}
		}
	}
	for _, p := range pids {
		visit(p)
	}
}

func vmRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
