package load

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"
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
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	u, err := parseHTTPTarget(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	method := cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := newRequest(method, u, cfg.Header)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
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

// Close releases the kept-alive connection.
func (p *Prober) Close() {
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
}

// Timing is the httptrace split of one request. A phase that did not happen
// (no DNS for an IP literal, no connect on a reused connection) is zero.
type Timing struct {
	DNS       time.Duration // name lookup
	Connect   time.Duration // TCP handshake (to the proxy, when there is one)
	TLS       time.Duration // TLS handshake
	FirstByte time.Duration // from the start to the first response byte
	Total     time.Duration // from the start to the last body byte
}

// MarshalJSON writes the phases in milliseconds, the SPEC's unit.
func (t Timing) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return json.Marshal(struct {
		DNS       float64 `json:"dns"`
		Connect   float64 `json:"connect"`
		TLS       float64 `json:"tls"`
		FirstByte float64 `json:"first_byte"`
		Total     float64 `json:"total"`
	}{ms(t.DNS), ms(t.Connect), ms(t.TLS), ms(t.FirstByte), ms(t.Total)})
}

// ProbeResult is what one request returned.
type ProbeResult struct {
	URL         string      `json:"url"`
	Method      string      `json:"method"`
	Proto       string      `json:"proto"`       // "HTTP/1.1"
	Status      int         `json:"status"`      // 200
	StatusText  string      `json:"status_text"` // "200 OK"
	Header      http.Header `json:"headers"`
	Size        int64       `json:"size_bytes"` // body bytes received
	Timing      Timing      `json:"timing_ms"`
	ConnReused  bool        `json:"conn_reused"`
	RemoteAddr  string      `json:"remote_addr,omitempty"`  // the peer connected to (the proxy, when there is one)
	TLSVersion  string      `json:"tls_version,omitempty"`  // "TLS 1.3"
	Cache       string      `json:"cache,omitempty"`        // HIT, MISS, REVALIDATED; empty without a cache
	CacheStatus string      `json:"cache_status,omitempty"` // the raw Cache-Status field
}

// Do sends the request once, copies the body to body (nil discards it) and
// returns the status, headers, size and timing split. Errors are wrapped
// transport or body errors; ErrorKind classifies them.
func (p *Prober) Do(ctx context.Context, body io.Writer) (*ProbeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if body == nil {
		body = io.Discard
	}
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
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, p.cfg.URL, err)
	}
	defer resp.Body.Close()
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
		Header:      resp.Header,
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
