package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/load/httpget"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/report"
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
	head     bool
	verbose  bool
	data     string
	follow   bool
	maxRedir int
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
("-o -" writes it to stdout and the report to stderr).

Flags that fit mean what they mean to curl: -x proxy, -I (HEAD, every
header), -v (request and response headers on stderr), -d/--data (a POST body;
@FILE reads it from FILE, @- from stdin), -m/--max-time (seconds or a
duration), -L (follow redirects, at most --max-redirs). Without -x/--proxy,
get takes the proxy from http_proxy / HTTP_PROXY (https_proxy / HTTPS_PROXY
for https URLs, then all_proxy / ALL_PROXY) unless the host matches no_proxy /
NO_PROXY (names, .domains, IPs, CIDRs, "*"), as curl does; loopback targets
are proxied too. --proxy "" turns the proxy off.`,
		Example: `  socklab get http://127.0.0.1:8000/
  socklab get -n 2 --proxy http://127.0.0.1:8080 http://127.0.0.1:8000/index.html
  socklab get -X HEAD -H 'Accept: text/html' --headers https://127.0.0.1:8443/ -k
  socklab get --json http://127.0.0.1:8000/ | jq .requests[0].timing_ms
  socklab get -I -x 127.0.0.1:8080 http://127.0.0.1:8000/
  socklab get -v -d @form.txt -L http://127.0.0.1:8000/post`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd, e, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.count, "count", "n", 1, "number of requests, one after the other")
	f.StringVarP(&o.proxy, "proxy", "x", "", `HTTP proxy URL (e.g. http://127.0.0.1:8080; default: $http_proxy and friends, as curl; "" for none)`)
	f.StringVarP(&o.method, "request", "X", "GET", "HTTP method")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVarP(&o.output, "output", "o", "", "write the response body to FILE ('-' for stdout)")
	f.BoolVar(&o.all, "headers", false, "print every response header, not just the main ones")
	f.BoolVar(&o.json, "json", false, "print one JSON document")
	f.BoolVarP(&o.insecure, "insecure", "k", false, "skip TLS certificate verification")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "limit for each request, body included")
	f.DurationVarP(&o.timeout, "max-time", "m", 30*time.Second, "curl's name for --timeout (seconds or a duration)")
	f.BoolVarP(&o.head, "head", "I", false, "send HEAD and print every response header")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print the request and response headers to stderr, as curl -v does")
	f.StringVarP(&o.data, "data", "d", "", "request body, sent with POST unless -X says otherwise (@FILE reads FILE, @- stdin)")
	f.BoolVarP(&o.follow, "location", "L", false, "follow redirects (3xx with Location)")
	f.IntVar(&o.maxRedir, "max-redirs", 50, "most redirects -L follows")
	return cmd
}

func runGet(cmd *cobra.Command, e *env, o *getOptions, target string) error {
	if o.count < 1 {
		return usageErrf("-n must be at least 1, not %d", o.count)
	}
	if o.maxRedir < 0 {
		return usageErrf("--max-redirs must not be negative, not %d", o.maxRedir)
	}
	h, err := flagx.Header(o.headers)
	if err != nil {
		return err
	}
	req, err := getRequest(cmd, e, o, h, target)
	if err != nil {
		return err
	}
	out := e.stdout
	if o.output == "-" {
		out = e.stderr // the body owns stdout
	}
	cfg := httpget.Config{Request: req, Count: o.count, Follow: o.follow, MaxRedirects: o.maxRedir,
		Body: func() (io.Writer, func() error, error) { return output.Body(o.output, e.stdout) }}
	if o.verbose {
		cfg.Trace = e.stderr
	}
	if !o.json {
		cfg.OnResponse = func(i int, r *load.ProbeResult) error { return report.WriteGetText(out, r, o.textOptions(i)) }
	}
	g, err := httpget.New(cfg)
	if err != nil {
		return err // an engine's config errors wrap errs.ErrInvalidConfig: exit 2
	}
	defer g.Close()
	all, err := g.Run(cmd.Context())
	if err != nil {
		if !o.json {
			_ = report.WriteGetSaving(out, all)
		}
		return fmt.Errorf("get: %w", err)
	}
	if o.json {
		return writeJSON(out, report.GetJSON(target, o.proxy, all))
	}
	return report.WriteGetSaving(out, all)
}

// getRequest turns the flags into the prober's request: the method (-X, -I,
// POST for -d as curl does), the body, the proxy (flag or environment).
func getRequest(cmd *cobra.Command, e *env, o *getOptions, h http.Header, target string) (load.ProbeConfig, error) {
	cfg := load.ProbeConfig{URL: target, Method: strings.ToUpper(o.method), Header: h, Insecure: o.insecure, Timeout: o.timeout}
	fl := cmd.Flags()
	if fl.Changed("data") {
		body, err := flagx.Data(o.data, e.stdin)
		if err != nil {
			return cfg, err
		}
		cfg.Body = body
		if !fl.Changed("request") {
			cfg.Method = http.MethodPost
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/x-www-form-urlencoded") // curl's default for -d
		}
	}
	if o.head {
		if fl.Changed("data") {
			return cfg, usageErrf("-I and -d do not go together: HEAD has no body")
		}
		cfg.Method, o.all = http.MethodHead, true
	}
	if !fl.Changed("proxy") {
		if u, err := url.Parse(target); err == nil {
			o.proxy = httpget.EnvProxy(os.Getenv, u)
		}
	}
	if o.proxy != "" {
		if _, err := load.ParseProxy(o.proxy); err != nil {
			return cfg, usageErrf("--proxy: %v", err)
		}
	}
	cfg.Proxy = o.proxy
	return cfg, nil
}

// textOptions label request i (0-based) of the run.
func (o *getOptions) textOptions(i int) report.GetTextOptions {
	t := report.GetTextOptions{Proxy: o.proxy, AllHeaders: o.all}
	if o.count > 1 {
		t.Number = i + 1
	}
	return t
}
