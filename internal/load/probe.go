package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/load/loadresult"
)

// ProbeConfig describes the request "socklab get" sends.
type ProbeConfig struct {
	// URL is the absolute http(s) URL to fetch.
	URL string
	// Method is the HTTP method; empty means GET.
	Method string
	// Header is added to the request ("Host" sets the Host line).
	Header http.Header
	// Proxy is an HTTP proxy URL; empty means direct.
	Proxy string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// Body is the request body sent with every request; nil sends none.
	Body []byte
	// Timeout bounds the whole request, body included. Zero means 30 s.
	Timeout time.Duration
	// Transport, when set, replaces the one built from the fields above.
	Transport http.RoundTripper
}

// Prober sends one request at a time and times each phase with httptrace.
// Successive requests reuse the connection, as a browser would.
type Prober struct {
	cfg ProbeConfig
	req *http.Request
	rt  http.RoundTripper
	own *http.Transport
}

// NewProber validates cfg.
func NewProber(cfg ProbeConfig) (*Prober, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	u, _ := parseHTTPTarget(cfg.URL) // Validate checked it
	method := cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := newRequest(method, u, cfg.Header)
	if err != nil {
		return nil, errs.Invalidf("get: %w", err)
	}
	if cfg.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "socklab-get")
	}
	p := &Prober{cfg: cfg, req: req, rt: cfg.Transport}
	if p.rt == nil {
		tr, err := NewTransport(TransportConfig{Proxy: cfg.Proxy, Conns: 1, Insecure: cfg.Insecure, Timeout: cfg.Timeout})
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		p.rt, p.own = tr, tr
	}
	return p, nil
}

// Request returns the request Do sends, for display; callers must not
// change it.
func (p *Prober) Request() *http.Request { return p.req }

// Close releases the kept-alive connection.
func (p *Prober) Close() {
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
}

// The probe's result types live in loadresult, which opens no socket.
type (
	Timing      = loadresult.Timing
	ProbeResult = loadresult.ProbeResult
	Header      = loadresult.Header
)

// Do sends the request once, copies the body to body (nil discards it) and
// returns the status, headers, size and timing split. Errors are wrapped
// transport or body errors; ErrorKind classifies them.
func (p *Prober) Do(ctx context.Context, body io.Writer) (*ProbeResult, error) {
	if body == nil {
		body = io.Discard
	}
	return p.DoTo(ctx, func(int, http.Header) (io.Writer, error) { return body, nil })
}

// DoTo is Do with the body's destination chosen once the status and
// headers are known (curl -L writes no body of a redirect it follows).
// A nil writer discards the body; an error ends the request.
func (p *Prober) DoTo(ctx context.Context, pick func(status int, h http.Header) (io.Writer, error)) (*ProbeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var (
		start                      = time.Now()
		dnsStart, connStart, tlsSt time.Time
		t                          Timing
		reused                     bool
		remote                     string
	)
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { dnsStart = time.Now() },
		DNSDone:           func(httptrace.DNSDoneInfo) { t.DNS = time.Since(dnsStart) },
		ConnectStart:      func(string, string) { connStart = time.Now() },
		ConnectDone:       func(string, string, error) { t.Connect = time.Since(connStart) },
		TLSHandshakeStart: func() { tlsSt = time.Now() },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { t.TLS = time.Since(tlsSt) },
		GotConn: func(info httptrace.GotConnInfo) {
			reused = info.Reused
			if info.Conn != nil {
				remote = info.Conn.RemoteAddr().String()
			}
		},
		GotFirstResponseByte: func() { t.FirstByte = time.Since(start) },
	}
	req := p.req.Clone(httptrace.WithClientTrace(ctx, trace))
	if p.cfg.Body != nil {
		req.ContentLength = int64(len(p.cfg.Body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(p.cfg.Body)), nil }
		req.Body, _ = req.GetBody()
	}
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, p.cfg.URL, err)
	}
	defer resp.Body.Close()
	body, err := pick(resp.StatusCode, resp.Header)
	if err != nil {
		return nil, err
	}
	if body == nil {
		body = io.Discard
	}
	n, err := io.Copy(body, resp.Body)
	t.Total = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body after %d bytes: %w", req.Method, p.cfg.URL, n, err)
	}
	r := &ProbeResult{
		URL:         p.cfg.URL,
		Method:      req.Method,
		Proto:       resp.Proto,
		Status:      resp.StatusCode,
		StatusText:  resp.Status,
		Header:      Header(resp.Header),
		Size:        n,
		Timing:      t,
		ConnReused:  reused,
		RemoteAddr:  remote,
		Cache:       CacheVerdict(resp.Header),
		CacheStatus: resp.Header.Get("Cache-Status"),
	}
	if resp.TLS != nil {
		r.TLSVersion = tls.VersionName(resp.TLS.Version)
	}
	return r, nil
}
