package monitor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/udpecho"
	"github.com/socklab/socklab/internal/udprelay"
)

// serveUDP runs f on a fresh loopback socket until the test ends or stop
// is called, and returns the address and stop.
func serveUDP(t *testing.T, f func(context.Context, *net.UDPConn) error) (addr string, stop func()) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f(ctx, c) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); c.Close(); wg.Wait() }) }
	t.Cleanup(stop)
	return c.LocalAddr().String(), stop
}

func startReflector(t *testing.T) (string, func()) {
	srv, err := udpecho.New(udpecho.Config{MaxPPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return serveUDP(t, func(ctx context.Context, c *net.UDPConn) error { return srv.Serve(ctx, c) })
}

func startRelay(t *testing.T, upstream string, imp impair.Config) string {
	r, err := udprelay.New(udprelay.Config{Upstream: upstream, Impair: imp})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveUDP(t, r.Serve)
	return addr
}

// startMonitor runs a monitor on targets with a fast schedule and returns it
// with a function that scrapes its registry over real HTTP and parses the
// exposition with the Prometheus text parser.
func startMonitor(t *testing.T, cfg Config, targets ...string) (*Monitor, func() map[string]*dto.MetricFamily) {
	t.Helper()
	for _, s := range targets {
		tg, err := ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Targets = append(cfg.Targets, tg)
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("monitor did not stop within 10 s")
		}
	})
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return m, func() map[string]*dto.MetricFamily { return scrape(t, srv.URL) }
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape does not parse as Prometheus text: %v", err)
	}
	return fams
}

// value is the counter, gauge or histogram count of family name whose
// labels include want; -1 when there is no such series.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// waitFor polls cond every 20 ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(m *Monitor, target string) Status {
	for _, s := range m.Snapshot() {
		if s.Target == target {
			return s
		}
	}
	return Status{}
}

// TestUDPAndHTTPScrape probes a real reflector and a real HTTP server and
// reads the figures back from a real scrape.
func TestUDPAndHTTPScrape(t *testing.T) {
	refl, _ := startReflector(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer web.Close()
	udpT, httpT, failT := "udp://"+refl, web.URL+"/", web.URL+"/fail"
	// A generous timeout: "no loss" must not depend on a busy machine.
	m, get := startMonitor(t, Config{Interval: 20 * time.Millisecond, Timeout: 3 * time.Second}, udpT, httpT, failT)
	waitFor(t, 10*time.Second, "20 answered probes per good target", func() bool {
		return status(m, udpT).Received >= 20 && status(m, httpT).Received >= 20 && status(m, failT).Lost >= 5
	})
	fams := get()
	for _, tg := range []string{udpT, httpT} {
		if n := value(fams, MetricRTT, map[string]string{"target": tg}); n < 20 {
			t.Errorf("%s: %s has %v samples, want ≥ 20", tg, MetricRTT, n)
		}
		if v := value(fams, MetricLost, map[string]string{"target": tg}); v != 0 {
			t.Errorf("%s: lost %v on a clean loopback path", tg, v)
		}
		if v := value(fams, MetricUp, map[string]string{"target": tg}); v != 1 {
			t.Errorf("%s: up = %v", tg, v)
		}
	}
	if v := value(fams, MetricJitter, map[string]string{"target": udpT, "direction": "up"}); v < 0 {
		t.Error("no upstream jitter for the UDP target: the reflector's stamps went unused")
	}
	if v := value(fams, MetricLost, map[string]string{"target": failT}); v < 5 {
		t.Errorf("a 502 target lost %v probes, want every probe counted failed", v)
	}
	if v := value(fams, MetricHTTPStatus, map[string]string{"target": failT, "code": "502"}); v < 5 {
		t.Errorf("502 responses counted %v", v)
	}
	if v := value(fams, MetricTargetsGauge, nil); v != 3 {
		t.Errorf("targets gauge %v, want 3", v)
	}
}

// TestUDPLossByDirection puts the real relay's impairment in front of a
// reflector, dropping only replies on one path and only requests on the
// other: the monitor must see the loss and put it on the right side.
func TestUDPLossByDirection(t *testing.T) {
	refl, _ := startReflector(t)
	down := "udp://" + startRelay(t, refl, impair.Config{Loss: 0.3, Direction: impair.Down, Seed: 7})
	up := "udp://" + startRelay(t, refl, impair.Config{Loss: 0.3, Direction: impair.Up, Seed: 8})
	m, get := startMonitor(t, Config{Interval: 10 * time.Millisecond, Timeout: 3 * time.Second}, down, up)
	waitFor(t, 15*time.Second, "losses attributed on both paths", func() bool {
		return status(m, down).LostDown >= 10 && status(m, up).LostUp >= 10
	})
	fams := get()
	for _, c := range []struct {
		target, lossy, clean string
	}{{down, "down", "up"}, {up, "up", "down"}} {
		lossy := value(fams, MetricLostDir, map[string]string{"target": c.target, "direction": c.lossy})
		clean := value(fams, MetricLostDir, map[string]string{"target": c.target, "direction": c.clean})
		total := value(fams, MetricLost, map[string]string{"target": c.target})
		// A reply delayed past the timeout on a busy machine is a loss on
		// the way back, hence the small allowance on the clean side.
		if lossy < 10 || clean*5 > lossy || total < lossy {
			t.Errorf("%s (loss %s only): lost %v, %s %v, %s %v", c.target, c.lossy, total, c.lossy, lossy, c.clean, clean)
		}
	}
}

// TestReflectorStopped: probes to a reflector that went away are lost and
// the target goes down; nothing is counted as a reply.
func TestReflectorStopped(t *testing.T) {
	refl, stop := startReflector(t)
	tg := "udp://" + refl
	m, get := startMonitor(t, Config{Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond}, tg)
	waitFor(t, 10*time.Second, "replies before the stop", func() bool { return status(m, tg).Received >= 5 })
	stop()
	before := status(m, tg)
	waitFor(t, 10*time.Second, "loss after the reflector stopped", func() bool { return status(m, tg).Lost >= before.Lost+5 })
	fams := get()
	if v := value(fams, MetricUp, map[string]string{"target": tg}); v != 0 {
		t.Errorf("up = %v with the reflector stopped", v)
	}
	if v := value(fams, MetricLost, map[string]string{"target": tg}); v < 5 {
		t.Errorf("lost %v", v)
	}
}

// TestSetTargets replaces the targets while running: the removed target's
// series disappear, the kept one keeps its counters.
func TestSetTargets(t *testing.T) {
	a, _ := startReflector(t)
	b, _ := startReflector(t)
	ta, tb := "udp://"+a, "udp://"+b
	m, get := startMonitor(t, Config{Interval: 10 * time.Millisecond, Timeout: 200 * time.Millisecond}, ta, tb)
	waitFor(t, 10*time.Second, "both targets answered", func() bool {
		return status(m, ta).Received >= 3 && status(m, tb).Received >= 3
	})
	kept := status(m, ta).Received
	target, _ := ParseTarget(ta)
	m.SetTargets([]Target{target})
	waitFor(t, 10*time.Second, "b removed", func() bool { return len(m.Snapshot()) == 1 })
	fams := get()
	if v := value(fams, MetricSent, map[string]string{"target": tb}); v != -1 {
		t.Errorf("removed target still exported: sent %v", v)
	}
	if got := status(m, ta).Received; got < kept {
		t.Errorf("kept target's count went from %d to %d", kept, got)
	}
}
