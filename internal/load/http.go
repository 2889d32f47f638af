package load

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// runHTTP is one HTTP client: one request at a time on its own keep-alive
// connection, until the schedule ends or the run stops.
func (l *Load) runHTTP(ctx context.Context, stop <-chan struct{}, c *clientStats, start time.Time) {
	if l.h1 != nil {
		l.runH1(ctx, stop, c, start)
		return
	}
	req := l.req.Clone(ctx)
	buf := make([]byte, 32<<10)
	timer := newStoppedTimer()
	defer timer.Stop()
	for {
		t0, ok := l.nextDue(stop, start, timer)
		if !ok {
			return
		}
		l.doHTTP(req, buf, c, t0)
	}
}

// doHTTP sends one request and reads the whole body; latency runs from t0
// (the due time in open loop) to the last byte.
func (l *Load) doHTTP(req *http.Request, buf []byte, c *clientStats, t0 time.Time) {
	c.requests++
	defer l.done.Add(1)
	if l.cfg.Body != nil {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(l.cfg.Body)), int64(len(l.cfg.Body))
	}
	resp, err := l.rt.RoundTrip(req)
	if err != nil {
		c.failErr(err)
		l.failed.Add(1)
		return
	}
	n, err := drain(resp.Body, buf)
	resp.Body.Close()
	c.bytes += n
	if err != nil {
		c.failErr(err)
		l.failed.Add(1)
		return
	}
	l.record(c, t0, resp.StatusCode, CacheVerdict(resp.Header))
}

// runH1 is runHTTP on the engine's own HTTP/1.1 client.
func (l *Load) runH1(ctx context.Context, stop <-chan struct{}, c *clientStats, start time.Time) {
	hc := newH1Conn(ctx, l.h1)
	defer hc.close()
	timer := newStoppedTimer()
	defer timer.Stop()
	// Progress counts are shared by every client; adding to them in
	// batches keeps their cache line from bouncing between cores on every
	// request.
	var pending int64
	defer func() { l.done.Add(pending) }()
	open := l.sched.open()
	for {
		t0, ok := l.nextDue(stop, start, timer)
		if !ok {
			return
		}
		now := t0 // closed loop: t0 is the clock just read
		if open {
			now = time.Now() // open loop: t0 is the due time, maybe past
		}
		c.requests++
		r, err := hc.do(now)
		c.bytes += r.bytes
		if err != nil {
			c.failErr(err)
			l.failed.Add(1)
		} else {
			l.record(c, t0, r.status, r.verdict)
		}
		if pending++; pending == progressBatch {
			l.done.Add(pending)
			pending = 0
		}
	}
}

// progressBatch is how many requests a client finishes before it adds them
// to the shared progress count.
const progressBatch = 16

// record counts a complete response: latency from t0, status, verdict.
func (l *Load) record(c *clientStats, t0 time.Time, status int, verdict string) {
	d := time.Since(t0)
	c.hist.Record(int64(d))
	if l.cfg.OnLatency != nil {
		l.cfg.OnLatency(d)
	}
	c.status[status]++
	switch {
	case status >= 500:
		c.fail(KindStatus5xx)
		l.failed.Add(1)
	case status >= 400:
		c.fail(KindStatus4xx)
		l.failed.Add(1)
	default:
		c.successes++
	}
	if v := verdict; v != "" {
		c.verdicts++
		switch v {
		case CacheHit:
			c.hits++
		case CacheRevalidated:
			c.hits++
			c.revalidated++
		}
	}
}

// drain reads r to the end through buf and counts the bytes. (io.Copy to
// io.Discard would borrow a pooled buffer on every call.)
func drain(r io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
