package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/socklab/socklab/internal/icmp/icmpresult"
	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/qos/qosresult"
)

// DemoStep is one row of the demo's summary table.
type DemoStep struct {
	Name   string // serve, proxy, cache, qos, load, ping
	Status string // ok, skipped, interrupted, FAILED
	Result string // what the step found, in one line
}

// WriteDemoSummary writes the demo's closing table.
func WriteDemoSummary(w io.Writer, steps []DemoStep) error {
	if _, err := fmt.Fprintln(w, "\nSummary"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  step\tstatus\tresult")
	for _, s := range steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.Status, s.Result)
	}
	return tw.Flush()
}

// DemoServe is what the demo's serve step started.
type DemoServe struct{ WebURL, EchoAddr string }

// Summary is the step's line in the summary table.
func (r DemoServe) Summary() string { return fmt.Sprintf("%s/, udp %s", r.WebURL, r.EchoAddr) }

// Write says what runs where.
func (r DemoServe) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "  web server      %s/  (GET the embedded site: an index, two pages, a stylesheet, an image)\n"+
		"  UDP reflector   %s  (echoes datagrams; stamps socklab QoS probes)\n", r.WebURL, r.EchoAddr)
	return err
}

// DemoProxy is what the demo's proxy step started, in front of serve.
type DemoProxy struct {
	ProxyURL, RelayAddr string
	WebURL, EchoAddr    string // what they forward to
	Impairment          impair.Config
}

// Summary is the step's line in the summary table.
func (r DemoProxy) Summary() string {
	return fmt.Sprintf("%s, relay %s (%s, seed %d)", r.ProxyURL, r.RelayAddr, DescribeDemoImpairment(r.Impairment), r.Impairment.Seed)
}

// Write says what runs where, what the impairment should do to a round
// trip, and draws the path.
func (r DemoProxy) Write(w io.Writer) error {
	imp := r.Impairment
	ew := &errWriter{w: w}
	ew.printf("  caching proxy   %s  → serve %s  (RFC 9111 cache in memory; marks responses X-Cache and Cache-Status)\n", r.ProxyURL, r.WebURL)
	ew.printf("  UDP relay       %s  → reflector %s\n", r.RelayAddr, r.EchoAddr)
	ew.printf("  impairment      %s on the UDP relay, in each direction (seed %d); a round trip\n", DescribeDemoImpairment(imp), imp.Seed)
	ew.printf("                  crosses it twice: expect RTT ≈ %s and ≈ %.0f%% loss in the QoS test\n",
		2*imp.Delay, 100*(1-(1-imp.Loss)*(1-imp.Loss)))
	ew.printf("\n  The path (\"socklab serve\" and \"socklab proxy\" build the same on ports 8000/9000 and 8080/9090):\n")
	ew.printf("    this demo ──TCP──▶ proxy %s ──TCP──▶ serve %s\n", hostOf(r.ProxyURL), hostOf(r.WebURL))
	ew.printf("              ──UDP──▶ relay %s ──UDP──▶ reflector %s\n", r.RelayAddr, r.EchoAddr)
	return ew.err
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// DescribeDemoImpairment is the announced impairment: "delay 10ms ±1ms, loss 1%".
func DescribeDemoImpairment(c impair.Config) string {
	return fmt.Sprintf("delay %v ±%v, loss %g%%", c.Delay, c.Jitter, c.Loss*100)
}

// WriteDemoKeep says where the kept servers are, for a browser.
func WriteDemoKeep(w io.Writer, s DemoServe, p DemoProxy) error {
	_, err := fmt.Fprintf(w, "\nThe servers keep running (--keep). Open in a browser:\n"+
		"  %s/  the site through the caching proxy (its log follows on stderr)\n"+
		"  %s/  the site straight from serve\n"+
		"and try: socklab qos %s   socklab get -n 2 --proxy %s %s/\n"+
		"UDP: reflector %s, impairing relay %s. Press Ctrl-C to stop.\n",
		p.ProxyURL, s.WebURL, p.RelayAddr, p.ProxyURL, s.WebURL, s.EchoAddr, p.RelayAddr)
	return err
}

// DemoCache is the two fetches through the proxy: their cache verdicts and
// total times.
type DemoCache struct {
	Verdicts  [2]string
	Miss, Hit time.Duration
}

// Saved is what the cache saved (negative when the hit was slower).
func (r DemoCache) Saved() time.Duration { return r.Miss - r.Hit }

// HitName names the second verdict.
func (r DemoCache) HitName() string {
	if r.Verdicts[1] == loadresult.CacheRevalidated {
		return "HIT (revalidated)"
	}
	return "HIT"
}

// Summary is the step's line in the summary table.
func (r DemoCache) Summary() string {
	line := fmt.Sprintf("MISS %s, then %s %s", FormatMs(r.Miss), r.HitName(), FormatMs(r.Hit))
	if r.Saved() > 0 {
		line += ": " + FormatMs(r.Saved()) + " saved"
	}
	return line
}

// ExplainVerdict says in words what the proxy did for one response.
func ExplainVerdict(r *loadresult.ProbeResult) string {
	switch r.Cache {
	case loadresult.CacheMiss:
		return "MISS: the proxy had no copy; it fetched the page from serve and stored it"
	case loadresult.CacheHit:
		return "HIT: served from the proxy's cache; serve was not asked"
	case loadresult.CacheRevalidated:
		why := "the stored copy was stale"
		if r.Header.Get("Cache-Control") == "" && r.Header.Get("Last-Modified") == "" {
			why = "serve sends\n" +
				"             an ETag but no Cache-Control or Last-Modified, so the stored copy has no\n" +
				"             freshness lifetime and is stale at once (RFC 9111 §4.2)"
		}
		return "HIT (revalidated): served from the cache after a check with serve: " + why + ";\n" +
			"             the proxy asked serve \"still this ETag?\" (If-None-Match), serve answered\n" +
			"             304 Not Modified, and the body came from the cache (RFC 9111 §4.3)"
	}
	return fmt.Sprintf("no cache verdict (%q)", r.Cache)
}

// DemoQoS is the demo's QoS test and the files it wrote.
type DemoQoS struct {
	Result    *qosresult.Result
	CSV, HTML string
}

// Summary is the step's line in the summary table.
func (r DemoQoS) Summary() string {
	tot := r.Result.Total
	return fmt.Sprintf("%d sent, %d received, %.2f%% lost; RTT avg %s p95 %s; jitter %s; %s, %s",
		tot.Sent, tot.Received, tot.LossPct, FormatMs(tot.RTT.Avg), FormatMs(tot.RTT.P95), FormatMs(tot.JitterUp),
		filepath.Base(r.CSV), filepath.Base(r.HTML))
}

// DemoLoad is the demo's multi-client simulation.
type DemoLoad struct{ Result *loadresult.Result }

// Summary is the step's line in the summary table.
func (r DemoLoad) Summary() string {
	l := r.Result
	line := fmt.Sprintf("%d requests by %d clients, %d errors, %.0f req/s, p50 %.3f ms, p99 %.3f ms",
		l.Requests, l.Clients, l.Failures, l.RequestsPerSec, l.Latency.P50, l.Latency.P99)
	if c := l.Cache; c != nil {
		line += fmt.Sprintf(", %.0f%% cache hits", c.HitRatio*100)
	}
	return line
}

// DemoPing is the demo's ping of 127.0.0.1.
type DemoPing struct {
	Host    icmpresult.HostResult
	Skipped string // why the step could not run, "" when it did
}

// Summary is the step's line in the summary table.
func (r DemoPing) Summary() string {
	if r.Skipped != "" {
		return r.Skipped
	}
	return fmt.Sprintf("%d/%d replies, RTT avg %s ms", r.Host.Received, r.Host.Transmitted, MsMicros(r.Host.RTT.Mean()))
}
