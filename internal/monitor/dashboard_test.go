package monitor

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// dashboardPath is the Grafana dashboard shipped for socklab monitor.
const dashboardPath = "../../deploy/grafana/socklab-monitor.json"

var metricName = regexp.MustCompile(`\bsocklab_monitor_[a-z_]+\b`)

// queries collects every PromQL string of a Grafana dashboard: panel
// targets' expr and the template variables' queries.
func queries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Definition string
				Query      struct{ Query string }
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, v.Definition, v.Query.Query)
	}
	return out
}

// TestDashboardNamesExportedMetrics scrapes a real monitor probing a real
// reflector, a real HTTP server and a refused port, and checks that every
// metric the dashboard queries is in that scrape (histograms by their
// _bucket, _sum and _count series).
func TestDashboardNamesExportedMetrics(t *testing.T) {
	refl, _ := startReflector(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer web.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()
	udpT := "udp://" + refl
	m, get := startMonitor(t, Config{Interval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond}, udpT, web.URL+"/", refused)
	waitFor(t, 10*time.Second, "replies and a refused probe", func() bool {
		return status(m, udpT).Received >= 3 && status(m, web.URL+"/").Received >= 3 && status(m, refused).Lost >= 1
	})
	exported := exportedNames(get())

	used := map[string]bool{}
	for _, q := range queries(t) {
		names := metricName.FindAllString(q, -1)
		if len(names) == 0 {
			t.Errorf("query %q names no socklab_monitor_* metric", q)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("query %q names %s, which the monitor does not export", q, n)
			}
		}
	}
	// The figures the issue asks a dashboard for are all drawn.
	for _, want := range []string{MetricRTT + "_bucket", MetricLost, MetricLostDir, MetricDuplicates, MetricReordered, MetricJitter} {
		if !used[want] {
			t.Errorf("the dashboard does not draw %s", want)
		}
	}
}

// exportedNames is every series name of a scrape, with the _bucket, _sum
// and _count series of histograms.
func exportedNames(fams map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for name, f := range fams {
		if !strings.HasPrefix(name, "socklab_monitor_") {
			continue
		}
		out[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = true
			}
		}
	}
	return out
}
