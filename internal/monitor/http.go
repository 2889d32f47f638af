package monitor

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// maxHTTPBody bounds what one HTTP probe reads: the timing covers the body,
// but a monitor is no download test.
const maxHTTPBody = 4 << 20

// probeHTTP times one GET per interval, from the request to the last body
// byte, on a fresh connection each time (what a new visitor sees, connect
// and TLS included, as blackbox_exporter does). An error or a 5xx is a
// failed probe (lost); 4xx is an answer.
func (m *Monitor) probeHTTP(ctx context.Context, t Target, st *probeState) {
	tr := &http.Transport{
		Proxy:             nil, // the path to the target, not through a proxy from the environment
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: m.cfg.Insecure}, //nolint:gosec // the user asked
		DialContext:       (&net.Dialer{Timeout: m.cfg.Timeout}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: m.cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		jitter stats.Jitter
	)
	every(ctx, m.cfg.Interval, func(now time.Time) {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Addr, nil)
			if err != nil {
				st.onError("request", err)
				return
			}
			req.Header.Set("User-Agent", "socklab-monitor")
			st.onSent(now)
			code, err := get(client, req)
			if ctx.Err() != nil {
				return // stopped: neither answered nor lost
			}
			if code != 0 {
				st.onHTTPStatus(strconv.Itoa(code))
			}
			if err != nil || code >= 500 {
				st.onError(httpErrorKind(code, err), err)
				st.onLost(now)
				return
			}
			rtt := time.Since(now)
			st.onReply(now, rtt)
			mu.Lock()
			jitter.Add(0, int64(rtt))
			j := jitter.Value()
			mu.Unlock()
			st.onJitterRoundTrip(j)
		})
	})
	wg.Wait()
}

// get does req and reads the body; code is 0 when no response came.
func get(c *http.Client, req *http.Request) (code int, err error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBody)); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

func httpErrorKind(code int, err error) string {
	var ne net.Error
	switch {
	case code >= 500:
		return "http_5xx"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
