package qos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// tcpStreamBytes is what TCP mode asks socklab serve for when the URL names
// no path: more than any run reads (the server's cap), so the run ends on
// time, not on EOF.
const tcpStreamBytes = "10GiB"

// tcpURL completes a bare origin with the bytes endpoint of socklab serve.
func tcpURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/_socklab/bytes"
		if u.RawQuery == "" {
			u.RawQuery = "n=" + tcpStreamBytes
		}
	}
	return u.String(), nil
}

// runTCP streams the URL for cfg.Duration on one TCP connection, reporting
// goodput per interval and the kernel's TCP_INFO view of the connection.
func runTCP(ctx context.Context, cfg Config) (*Result, error) {
	target, err := tcpURL(cfg.TCP)
	if err != nil {
		return nil, fmt.Errorf("qos: tcp url %q: %w", cfg.TCP, err)
	}
	var conn atomic.Pointer[net.TCPConn]
	tr := tcpTransport(&conn)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	get := tcpGetter(reqCtx, client, target)
	start := time.Now()
	emit(cfg, Event{Kind: EventStart, Time: start, Config: &cfg})
	resp, err := get()
	if err != nil {
		return nil, err
	}

	// The clock starts with the first response byte: connection setup and
	// the request are not throughput.
	dataStart := time.Now()
	info := &infoCache{conn: &conn}
	// Read TCP_INFO one last time before cancelling closes the socket.
	stopTimer := time.AfterFunc(cfg.Duration, func() { info.snap(); cancel() })
	defer stopTimer.Stop()
	var total atomic.Int64
	tres := &TCPResult{URL: target}
	var mu sync.Mutex // guards tres.Intervals against the reporter
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tcpReporter(cfg, dataStart, &total, info, tres, &mu, done)
	}()

	requests, readErr := drain(reqCtx, resp, get, &total)
	elapsed := time.Since(dataStart)
	close(done)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	fillTCPResult(tres, total.Load(), requests, elapsed, info)
	host := resp.Request.URL.Host
	res := &Result{
		Target: host, Protocol: "tcp", Start: dataStart,
		SendDuration: elapsed, Elapsed: time.Since(start),
		Interrupted: ctx.Err() != nil,
		TCP:         tres,
	}
	res.Total.Throughput.GoodputBps = tres.GoodputBps
	res.Total.Throughput.ReceivedBps = tres.GoodputBps
	if readErr != nil {
		return res, fmt.Errorf("qos: tcp read from %s after %s: %w", host, elapsed.Round(time.Millisecond), readErr)
	}
	emit(cfg, Event{Kind: EventEnd, Time: time.Now(), Elapsed: res.Elapsed, Result: res})
	return res, nil
}

// tcpTransport is the HTTP transport of a TCP run; it records the
// connection it dials in conn so TCP_INFO can be read from it.
func tcpTransport(conn *atomic.Pointer[net.TCPConn]) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		// No proxy from the environment, no gzip: we measure the raw path.
		// Keep-alive, so a body re-requested when the last one ran out
		// comes on the same connection and TCP_INFO stays continuous.
		Proxy:              nil,
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				conn.Store(tc)
			}
			return c, err
		},
		ResponseHeaderTimeout: 10 * time.Second,
	}
}

// tcpGetter returns the request a TCP run sends (again, each time a body
// ends early): a GET of target that must answer 200.
func tcpGetter(ctx context.Context, client *http.Client, target string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, fmt.Errorf("qos: tcp url %q: %w", target, err)
		}
		req.Header.Set("User-Agent", "socklab-qos")
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("qos: tcp GET %s: %w", target, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("qos: tcp GET %s: %s (is it socklab serve?)", target, resp.Status)
		}
		return resp, nil
	}
}

// fillTCPResult sets the totals of a finished TCP run: bytes, bodies,
// goodput and the last TCP_INFO snapshot.
func fillTCPResult(tres *TCPResult, bytes int64, requests int, elapsed time.Duration, info *infoCache) {
	tres.Bytes = bytes
	tres.Requests = requests
	if s := elapsed.Seconds(); s > 0 {
		tres.GoodputBps = float64(tres.Bytes*8) / s
	}
	if ti := info.snap(); ti.ok {
		tres.InfoKnown = true
		tres.RTT, tres.RTTVar = ti.rtt, ti.rttvar
		tres.Retransmits, tres.OutOfOrder = ti.retrans, ti.ooo
		tres.MSS, tres.Cwnd = ti.mss, ti.cwnd
	}
}

// drain reads resp's body, and when a body ends before ctx does (the run's
// duration), asks for the next one, so a run lasts its duration however
// fast the path. It returns how many bodies it read from and the first
// failure that was not the duration ending.
func drain(ctx context.Context, resp *http.Response, get func() (*http.Response, error), total *atomic.Int64) (int, error) {
	buf := make([]byte, 256<<10)
	requests := 1
	for {
		n, err := resp.Body.Read(buf)
		total.Add(int64(n))
		if err == nil {
			continue
		}
		resp.Body.Close()
		if ctx.Err() != nil {
			return requests, nil
		}
		if !errors.Is(err, io.EOF) {
			return requests, err
		}
		if resp, err = get(); err != nil {
			if ctx.Err() != nil {
				return requests, nil
			}
			return requests, err
		}
		requests++
	}
}

// tcpReporter emits interval and progress events of a TCP run until done.
func tcpReporter(cfg Config, start time.Time, total *atomic.Int64, info infoSource, tres *TCPResult, mu *sync.Mutex, done <-chan struct{}) {
	var ivC <-chan time.Time
	if cfg.ReportInterval > 0 {
		tk := time.NewTicker(cfg.ReportInterval)
		defer tk.Stop()
		ivC = tk.C
	}
	prog := time.NewTicker(progressEvery)
	defer prog.Stop()
	var last time.Duration
	var lastBytes, lastRetrans, lastOOO int64
	interval := func(now time.Duration) {
		b := total.Load()
		iv := TCPInterval{Start: last, End: now, Bytes: b - lastBytes}
		if d := (now - last).Seconds(); d > 0 {
			iv.GoodputBps = float64(iv.Bytes*8) / d
		}
		if ti := info.snap(); ti.ok {
			iv.RTT = ti.rtt
			iv.Retransmits = ti.retrans - lastRetrans
			iv.OutOfOrder = ti.ooo - lastOOO
			lastRetrans, lastOOO = ti.retrans, ti.ooo
		}
		mu.Lock()
		tres.Intervals = append(tres.Intervals, iv)
		mu.Unlock()
		last, lastBytes = now, b
		emit(cfg, Event{Kind: EventInterval, Time: start.Add(now), Elapsed: now, Intervals: []IntervalStats{{
			Stream: 1, Start: iv.Start, End: iv.End, GoodputBps: iv.GoodputBps, Bytes: iv.Bytes,
			TCPRTT: iv.RTT, TCPRetransmits: iv.Retransmits, TCPOutOfOrder: iv.OutOfOrder,
		}}})
	}
	for {
		select {
		case <-ivC:
			interval(time.Since(start))
		case <-prog.C:
			info.snap()
			now := time.Since(start)
			emit(cfg, Event{Kind: EventProgress, Time: start.Add(now), Elapsed: now,
				Fraction: min(float64(now)/float64(cfg.Duration), 1)})
		case <-done:
			if now := time.Since(start); cfg.ReportInterval > 0 && (now-last >= time.Millisecond || total.Load() != lastBytes) {
				interval(now)
			}
			return
		}
	}
}

// infoSource gives the latest TCP_INFO reading (an infoCache; a fake in tests).
type infoSource interface{ snap() tcpInfo }

// tcpInfo is the part of TCP_INFO the report uses.
type tcpInfo struct {
	ok           bool
	rtt, rttvar  time.Duration
	retrans, ooo int64
	mss, cwnd    int
}

// infoCache keeps the last TCP_INFO read, since the socket may be closed
// (EOF, cancellation) by the time the run is summarised.
// Its counters run on across connections: when the server closes one and a
// re-request opens another, the old connection's counts are kept.
type infoCache struct {
	conn *atomic.Pointer[net.TCPConn]
	mu   sync.Mutex
	cur  *net.TCPConn
	last tcpInfo // the latest reading of cur
	base tcpInfo // counters of earlier connections
}

// snap reads TCP_INFO now if it can and returns the latest good reading,
// counters summed over the run's connections.
func (c *infoCache) snap() tcpInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn := c.conn.Load(); conn != nil {
		if ti := readTCPInfo(conn); ti.ok {
			if conn != c.cur {
				c.base.retrans += c.last.retrans
				c.base.ooo += c.last.ooo
				c.cur = conn
			}
			c.last = ti
		}
	}
	ti := c.last
	ti.retrans += c.base.retrans
	ti.ooo += c.base.ooo
	return ti
}
