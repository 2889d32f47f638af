// Package httpget is "socklab get" without its flags: requests sent one
// after another through load's Prober (so each shows httptrace's timing
// split and the cache verdict), following redirects as curl -L does, and
// the proxy curl would take from the environment.
package httpget

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/load"
)

// Config is one get run.
type Config struct {
	// Request is the first request: URL, method, header, body, proxy,
	// timeout.
	Request load.ProbeConfig
	// Count is the number of requests, one after the other, each with its
	// redirects. Zero: one.
	Count int
	// Follow follows redirects (3xx with Location), at most MaxRedirects
	// for each request (zero: none).
	Follow       bool
	MaxRedirects int
	// Body, if set, opens where a response body goes before each request;
	// done is called once the body is read. Nil: bodies are discarded.
	Body func() (w io.Writer, done func() error, err error)
	// Trace, if set, gets the request and response headers as curl -v
	// prints them ("> " and "< " lines).
	Trace io.Writer
	// OnResponse, if set, is told each response as it arrives: request i
	// (0-based) and every response of its redirect chain in order. An
	// error it returns ends the run.
	OnResponse func(i int, r *load.ProbeResult) error
}

// Validate reports what in c cannot run, wrapping errs.ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Count < 0:
		return errs.Invalidf("request count %d: want at least 1", c.Count)
	case c.MaxRedirects < 0:
		return errs.Invalidf("most redirects %d: must not be negative", c.MaxRedirects)
	}
	return nil
}

// Getter sends a Config's requests on one Prober, so repeated requests
// reuse the connection as a browser would.
type Getter struct {
	cfg Config
	p   *load.Prober
}

// New validates cfg and opens its prober.
func New(cfg Config) (*Getter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Count == 0 {
		cfg.Count = 1
	}
	p, err := load.NewProber(cfg.Request)
	if err != nil {
		return nil, err
	}
	return &Getter{cfg: cfg, p: p}, nil
}

// Close releases the prober's connections.
func (g *Getter) Close() { g.p.Close() }

// Run sends the requests and returns every response in order, with the
// error that stopped the run, if one did.
func (g *Getter) Run(ctx context.Context) ([]*load.ProbeResult, error) {
	var all []*load.ProbeResult
	for i := range g.cfg.Count {
		rs, err := g.follow(ctx, i)
		all = append(all, rs...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// follow sends request i and, with Follow, follows its redirects, returning
// every response in order. Redirects change POST to GET for 301, 302 and 303
// (RFC 9110 section 15.4, and what curl and browsers do) and keep the method
// and body for 307 and 308.
func (g *Getter) follow(ctx context.Context, i int) ([]*load.ProbeResult, error) {
	p, cfg := g.p, g.cfg.Request
	var rs []*load.ProbeResult
	defer func() { // the probers made for redirects; g.p is closed by Close
		if p != nil && len(rs) > 1 {
			p.Close()
		}
	}()
	for hop := 0; ; hop++ {
		r, err := g.once(ctx, p, hop)
		if err != nil {
			return rs, err
		}
		rs = append(rs, r)
		if g.cfg.OnResponse != nil {
			if err := g.cfg.OnResponse(i, r); err != nil {
				return rs, err
			}
		}
		loc := http.Header(r.Header).Get("Location")
		if !g.cfg.Follow || !isRedirect(r.Status, http.Header(r.Header)) {
			return rs, nil
		}
		if !g.follows(r.Status, http.Header(r.Header), hop) {
			return rs, fmt.Errorf("maximum (%d) redirects followed", g.cfg.MaxRedirects)
		}
		base, _ := url.Parse(cfg.URL)
		next, err := base.Parse(loc)
		if err != nil {
			return rs, fmt.Errorf("redirect to %q: %w", loc, err)
		}
		cfg.URL = next.String()
		if r.Status != http.StatusTemporaryRedirect && r.Status != http.StatusPermanentRedirect && cfg.Method == http.MethodPost {
			cfg.Method, cfg.Body = http.MethodGet, nil
			cfg.Header = cfg.Header.Clone()
			cfg.Header.Del("Content-Type")
		}
		if hop > 0 {
			p.Close()
		}
		if p, err = load.NewProber(cfg); err != nil {
			return rs, fmt.Errorf("redirect to %q: %w", loc, err)
		}
	}
}

// once sends p's request once, writing the body where Body says (none of
// a redirect that hop will follow, as curl -L) and the headers to Trace.
func (g *Getter) once(ctx context.Context, p *load.Prober, hop int) (*load.ProbeResult, error) {
	if g.cfg.Trace != nil {
		writeRequestHeaders(g.cfg.Trace, p.Request(), g.cfg.Request.Proxy != "")
	}
	done := func() error { return nil }
	pick := func(status int, h http.Header) (io.Writer, error) {
		if g.cfg.Body == nil || g.follows(status, h, hop) {
			return nil, nil
		}
		w, d, err := g.cfg.Body()
		if err == nil {
			done = d
		}
		return w, err
	}
	r, err := p.DoTo(ctx, pick)
	if cerr := done(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && g.cfg.Trace != nil {
		writeResponseHeaders(g.cfg.Trace, r)
	}
	return r, err
}

// follows reports whether follow goes on from a response of status with
// headers h at hop: a redirect, Follow on, and hops left.
func (g *Getter) follows(status int, h http.Header, hop int) bool {
	return g.cfg.Follow && isRedirect(status, h) && hop < g.cfg.MaxRedirects
}

// isRedirect reports whether a response sends the client elsewhere: a 3xx
// with a Location (RFC 9110 §15.4; 304 is not one).
func isRedirect(status int, h http.Header) bool {
	return status >= 300 && status <= 399 && status != http.StatusNotModified && h.Get("Location") != ""
}

// writeRequestHeaders prints the request as curl -v does: "> " lines.
func writeRequestHeaders(w io.Writer, req *http.Request, proxied bool) {
	target := req.URL.RequestURI()
	if proxied && req.URL.Scheme == "http" {
		target = req.URL.String() // absolute form to a proxy (RFC 9112 section 3.2.2)
	}
	fmt.Fprintf(w, "> %s %s HTTP/1.1\n", req.Method, target)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(w, "> Host: %s\n", host)
	writeHeaderLines(w, "> ", req.Header)
	fmt.Fprintln(w, ">")
}

// writeResponseHeaders prints the response as curl -v does: "< " lines.
func writeResponseHeaders(w io.Writer, r *load.ProbeResult) {
	fmt.Fprintf(w, "< %s %s\n", r.Proto, r.StatusText)
	writeHeaderLines(w, "< ", http.Header(r.Header))
	fmt.Fprintln(w, "<")
}

func writeHeaderLines(w io.Writer, prefix string, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, k, v)
		}
	}
}
