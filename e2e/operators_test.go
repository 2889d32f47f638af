//go:build unix

package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOperators runs serve and proxy as an operator would: JSON logs,
// metrics listeners. It checks that the whole log stream is JSON (access
// lines included), that /healthz answers, that the metrics carry the
// documented names and labels, and that every query of the Grafana
// dashboard under deploy/ names a metric the two processes export.
func TestOperators(t *testing.T) {
	tcp, udp := freePorts(t, 4)
	serveHTTP, serveMetrics, proxyHTTP, proxyMetrics := tcp[0], tcp[1], tcp[2], tcp[3]
	serve := start(t, "serve", "--log-format", "json", "serve", "--http", serveHTTP, "--udp", udp[0], "--metrics", serveMetrics)
	waitTCP(t, serve, serveHTTP)
	proxy := start(t, "proxy", "--log-format", "json", "proxy", "--http", proxyHTTP, "--upstream", "http://"+serveHTTP,
		"--udp", udp[1], "--udp-upstream", udp[0], "--metrics", proxyMetrics)
	waitTCP(t, proxy, proxyHTTP)
	waitTCP(t, serve, serveMetrics)
	waitTCP(t, proxy, proxyMetrics)

	for range 2 { // a MISS, then a HIT
		body := httpGet(t, "http://"+proxyHTTP+"/")
		if !strings.Contains(body, "socklab") {
			t.Fatalf("through the proxy: %q", body)
		}
	}
	names := map[string]bool{}
	for _, addr := range []string{serveMetrics, proxyMetrics} {
		if got := httpGet(t, "http://"+addr+"/healthz"); got != "ok\n" {
			t.Errorf("%s/healthz: %q", addr, got)
		}
		text := httpGet(t, "http://"+addr+"/metrics")
		for n := range metricNames(text) {
			names[n] = true
		}
		if !strings.Contains(text, "socklab_build_info{") {
			t.Errorf("%s: no socklab_build_info", addr)
		}
		if addr == proxyMetrics {
			for _, want := range []string{
				`socklab_proxy_requests_total{cache="miss",code="2xx",method="GET"} 1`,
				`socklab_proxy_requests_total{cache="hit",code="2xx",method="GET"} 1`,
				`socklab_proxy_request_duration_seconds_count{cache="hit",method="GET"} 1`,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("proxy metrics lack %s", want)
				}
			}
		} else if !strings.Contains(text, `socklab_serve_http_requests_total{code="200",method="GET"} 1`) ||
			!strings.Contains(text, `socklab_serve_udp_packets_total{result="echoed"}`) {
			t.Errorf("serve metrics lack the serve_ names:\n%s", text)
		}
	}
	checkDashboard(t, names)

	for _, p := range []*process{proxy, serve} {
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not stop", p.name)
		}
		access := 0
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("%s: a line that is not JSON with --log-format json: %q", p.name, sc.Text())
				continue
			}
			if line["msg"] == "access" {
				access++
			}
		}
		if access == 0 {
			t.Errorf("%s: no JSON access line:\n%s", p.name, p.stderr.String())
		}
	}
}

// httpGet returns url's body, failing the test on any error or after 5 s.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricNames reads the series names in a Prometheus text exposition,
// with a histogram's _bucket, _sum and _count.
func metricNames(text string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
			if f[3] == "histogram" || f[3] == "summary" {
				out[f[2]+"_bucket"], out[f[2]+"_sum"], out[f[2]+"_count"] = true, true, true
			}
		}
	}
	return out
}

// checkDashboard checks every socklab_* name in the dashboard's queries.
func checkDashboard(t *testing.T, exported map[string]bool) {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/socklab.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	name := regexp.MustCompile(`socklab_[a-z0-9_]+`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			found := name.FindAllString(tg.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: query %q names no socklab metric", p.Title, tg.Expr)
			}
			for _, n := range found {
				if !exported[n] {
					t.Errorf("panel %q: %s is not exported by serve or proxy", p.Title, n)
				}
			}
		}
	}
	if queries < 20 {
		t.Fatalf("only %d queries in the dashboard", queries)
	}
}
