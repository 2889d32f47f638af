package load

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TransportConfig tunes the HTTP transport a load run or a probe uses.
type TransportConfig struct {
	// Proxy is an HTTP proxy URL ("http://127.0.0.1:8080"). Empty means a
	// direct connection; HTTP_PROXY and friends are deliberately ignored so a
	// measurement never takes a path the user did not name.
	Proxy string
	// Conns is the number of connections kept alive per host: one per
	// concurrent client. Zero means 1.
	Conns int
	// Insecure skips TLS certificate verification (self-signed test servers).
	Insecure bool
	// Timeout bounds the dial, the TLS handshake and the wait for response
	// headers. Zero means 10 s.
	Timeout time.Duration
}

// NewTransport returns an http.Transport tuned for measurement: exactly
// Conns keep-alive connections per host (so N clients hold N connections and
// never churn), HTTP/1.1 only (one request per connection at a time, as hey
// and wrk do), no transparent gzip (bodies are counted as sent, not
// decompressed).
func NewTransport(cfg TransportConfig) (*http.Transport, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   cfg.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        cfg.Conns,
		MaxIdleConnsPerHost: cfg.Conns,
		// Without a cap, a client that finds no idle connection dials a new
		// one while another's is on its way back to the pool, and the run
		// ends up holding more connections than clients.
		MaxConnsPerHost:       cfg.Conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: cfg.Insecure}, //nolint:gosec // opt-in flag for self-signed lab servers
	}
	if cfg.Proxy != "" {
		u, err := ParseProxy(cfg.Proxy)
		if err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyURL(u)
	}
	return tr, nil
}

// ParseProxy checks a proxy URL; a bare "host:port" means http://host:port.
func ParseProxy(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("proxy url is empty")
	}
	if !strings.Contains(s, "://") {
		// "127.0.0.1:8080" means an http proxy there; a bare word is a typo
		// to refuse now, not a name to look up on every request.
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			return nil, fmt.Errorf("proxy url %q: want http://host:port or host:port", s)
		}
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("proxy url %q: want http://host:port", s)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("proxy url %q: unsupported scheme %q", s, u.Scheme)
	}
	return u, nil
}

// parseHTTPTarget checks that s is an absolute http(s) URL.
func parseHTTPTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target url %q: want an absolute URL with scheme http or https (http://host:port/path)", s)
	}
	return u, nil
}
