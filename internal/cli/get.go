package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/load"
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
		return err // an engine's config errors wrap errs.ErrInvalidConfig: exit 2
	}
	defer p.Close()

	out := e.stdout
	if o.output == "-" {
		out = e.stderr // the body owns stdout
	}
	var rs []*load.ProbeResult
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
			if !o.json {
				_ = report.WriteGetSaving(out, rs)
			}
			return fmt.Errorf("get: %w", err)
		}
		rs = append(rs, r)
		if !o.json {
			if err := report.WriteGetText(out, r, o.textOptions(i)); err != nil {
				return err
			}
		}
	}
	if o.json {
		return writeJSON(out, report.GetJSON(url, o.proxy, rs))
	}
	return report.WriteGetSaving(out, rs)
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

// textOptions label request i (0-based) of the run.
func (o *getOptions) textOptions(i int) report.GetTextOptions {
	t := report.GetTextOptions{Proxy: o.proxy, AllHeaders: o.all}
	if o.count > 1 {
		t.Number = i + 1
	}
	return t
}
