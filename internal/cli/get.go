package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/load"
)

// getOptions are the flags of "socklab get".
type getOptions struct {
	count    int
	proxy    string
	method   string
	headers  []string
	output   string
	all      bool
	json     bool
	insecure bool
	timeout  time.Duration
}

func newGetCmd(e *env) *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get URL",
		Short: "Send HTTP requests and show status, timing split and cache verdict",
		Long: `Send one or more HTTP requests (-n) to URL, optionally through an HTTP proxy,
and show for each the status line, the main headers (--headers for all), the
body size, the timing split measured with httptrace (DNS, TCP connect, TLS,
first byte, total) and the proxy's cache verdict (Cache-Status / X-Cache).

With -n 2 through socklab's proxy, the first answer is a MISS and the second a
HIT; get prints how much time the cache saved. Repeated requests reuse the
connection, as a browser would. The body is discarded unless -o names a file
("-o -" writes it to stdout and the report to stderr).`,
		Example: `  socklab get http://127.0.0.1:8000/
  socklab get -n 2 --proxy http://127.0.0.1:8080 http://127.0.0.1:8000/index.html
  socklab get -X HEAD -H 'Accept: text/html' --headers https://127.0.0.1:8443/ -k
  socklab get --json http://127.0.0.1:8000/ | jq .requests[0].timing_ms`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd, e, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.count, "count", "n", 1, "number of requests, one after the other")
	f.StringVar(&o.proxy, "proxy", "", "HTTP proxy URL (e.g. http://127.0.0.1:8080); default none")
	f.StringVarP(&o.method, "request", "X", "GET", "HTTP method")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVarP(&o.output, "output", "o", "", "write the response body to FILE ('-' for stdout)")
	f.BoolVar(&o.all, "headers", false, "print every response header, not just the main ones")
	f.BoolVar(&o.json, "json", false, "print one JSON document")
	f.BoolVarP(&o.insecure, "insecure", "k", false, "skip TLS certificate verification")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "limit for each request, body included")
	return cmd
}

// parseHeaders turns repeated -H 'Name: value' flags into a header.
func parseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, usageErrf("-H %q: want 'Name: value'", l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// getReport is the --json document of "socklab get".
type getReport struct {
	URL         string              `json:"url"`
	Proxy       string              `json:"proxy,omitempty"`
	Requests    []*load.ProbeResult `json:"requests"`
	CacheSaving *cacheSavingReport  `json:"cache_saving,omitempty"`
}

// cacheSavingReport compares the first MISS with the first HIT after it.
type cacheSavingReport struct {
	MissMs  float64 `json:"miss_ms"`
	HitMs   float64 `json:"hit_ms"`
	SavedMs float64 `json:"saved_ms"`
	Hit     string  `json:"hit_verdict"` // HIT or REVALIDATED
}

func runGet(cmd *cobra.Command, e *env, o *getOptions, url string) error {
	if o.count < 1 {
		return usageErrf("-n must be at least 1, not %d", o.count)
	}
	h, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}
	p, err := load.NewProber(load.ProbeConfig{URL: url, Method: strings.ToUpper(o.method), Header: h,
		Proxy: o.proxy, Insecure: o.insecure, Timeout: o.timeout})
	if err != nil {
		return usageErr(err)
	}
	defer p.Close()

	out := e.stdout
	if o.output == "-" {
		out = e.stderr // the body owns stdout
	}
	rep := getReport{URL: url, Proxy: o.proxy}
	for i := range o.count {
		body, done, err := openBody(e, o.output)
		if err != nil {
			return err
		}
		r, err := p.Do(cmd.Context(), body)
		if cerr := done(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			if !o.json && len(rep.Requests) > 0 {
				renderGetSaving(out, rep.Requests)
			}
			return fmt.Errorf("get: %w", err)
		}
		rep.Requests = append(rep.Requests, r)
		if !o.json {
			renderProbe(out, r, i, o)
		}
	}
	if o.json {
		if s := cacheSaving(rep.Requests); s != nil {
			rep.CacheSaving = s
		}
		return writeJSON(out, rep)
	}
	renderGetSaving(out, rep.Requests)
	return nil
}

// openBody returns where a response body goes: nowhere, stdout, or FILE
// (truncated for each request, so it holds the last body).
func openBody(e *env, name string) (io.Writer, func() error, error) {
	switch name {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return e.stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, fmt.Errorf("get: %w", err)
	}
	return f, f.Close, nil
}

// mainHeaders are the response headers get prints without --headers: the
// ones that say what came back and whether a cache served it.
var mainHeaders = []string{"Content-Type", "Content-Length", "Content-Encoding", "Last-Modified", "Etag",
	"Cache-Control", "Age", "Via", "Location", "Cache-Status", "X-Cache"}

func renderProbe(w io.Writer, r *load.ProbeResult, i int, o *getOptions) {
	if o.count > 1 {
		fmt.Fprintf(w, "#%d ", i+1)
	}
	fmt.Fprintf(w, "%s %s", r.Method, r.URL)
	if o.proxy != "" {
		fmt.Fprintf(w, " via %s", o.proxy)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %s %s\n", r.Proto, r.StatusText)
	names := mainHeaders
	if o.all {
		names = make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	for _, k := range names {
		for _, v := range r.Header.Values(k) {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	fmt.Fprintf(w, "  size       %d bytes\n", r.Size)
	t := r.Timing
	fmt.Fprintf(w, "  timing     dns %s  connect %s  tls %s  first byte %s  total %s",
		fmtMs(t.DNS), fmtMs(t.Connect), fmtMs(t.TLS), fmtMs(t.FirstByte), fmtMs(t.Total))
	if r.ConnReused {
		fmt.Fprint(w, "  (connection reused)")
	}
	fmt.Fprintln(w)
	switch r.Cache {
	case "":
	case load.CacheRevalidated:
		fmt.Fprintf(w, "  cache      %s (served from the cache after the origin answered 304)\n", r.Cache)
	default:
		fmt.Fprintf(w, "  cache      %s\n", r.Cache)
	}
}

func renderGetSaving(w io.Writer, rs []*load.ProbeResult) {
	s := cacheSaving(rs)
	if s == nil {
		return
	}
	pct := 0.0
	if s.MissMs > 0 {
		pct = s.SavedMs / s.MissMs * 100
	}
	fmt.Fprintf(w, "cache saved %.3f ms: MISS %.3f ms, then %s %.3f ms (%.0f%% faster)\n", s.SavedMs, s.MissMs, s.Hit, s.HitMs, pct)
}

// cacheSaving compares the first MISS with the first HIT that follows it.
func cacheSaving(rs []*load.ProbeResult) *cacheSavingReport {
	var miss *load.ProbeResult
	for _, r := range rs {
		switch {
		case r.Cache == load.CacheMiss && miss == nil:
			miss = r
		case load.IsCacheHit(r.Cache) && miss != nil:
			m, h := msOf(miss.Timing.Total), msOf(r.Timing.Total)
			return &cacheSavingReport{MissMs: m, HitMs: h, SavedMs: m - h, Hit: r.Cache}
		}
	}
	return nil
}

func msOf(d time.Duration) float64 { return float64(d) / 1e6 }

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.3f ms", msOf(d)) }
