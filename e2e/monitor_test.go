//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMonitorReloadAndScrape runs socklab monitor against a socklab serve,
// with one target on the command line and one added to --targets FILE and
// picked up on SIGHUP; the scrape parses as Prometheus text, the page is
// served without scripts, and SIGINT prints one line per target.
func TestMonitorReloadAndScrape(t *testing.T) {
	tcp, udp := freePorts(t, 2)
	serve := start(t, "serve", "serve", "--http", tcp[0], "--udp", udp[0])
	waitTCP(t, serve, tcp[0])
	file := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(file, []byte("# watched paths\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	httpT, udpT := "http://"+tcp[0]+"/", "udp://"+udp[0]
	mon := start(t, "monitor", "monitor", "--metrics", tcp[1], "--interval", "50ms", "--targets", file, httpT)
	waitTCP(t, mon, tcp[1])

	if err := os.WriteFile(file, []byte(udpT+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mon.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	base := "http://" + tcp[1]
	deadline := time.Now().Add(15 * time.Second)
	for {
		fams := scrapeText(t, base+"/metrics")
		if got := received(fams, udpT); got >= 3 && received(fams, httpT) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP the udp target never answered 3 probes\n%s", mon.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if page := httpGet(t, base+"/"); !strings.Contains(page, "<svg") || strings.Contains(page, "<script") || !strings.Contains(page, udpT) {
		t.Errorf("live page lacks charts for %s or carries a script", udpT)
	}
	if h := httpGet(t, base+"/healthz"); strings.TrimSpace(h) != "ok" {
		t.Errorf("/healthz = %q", h)
	}
	if err := mon.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mon.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor did not exit within 10 s of SIGINT")
	}
	if mon.err != nil {
		t.Fatalf("monitor exit: %v\n%s", mon.err, mon.stderr.String())
	}
	out := mon.stderr.String() // stdout and stderr share the buffer
	for _, tg := range []string{httpT, udpT} {
		if !strings.Contains(out, tg+": ") {
			t.Errorf("no summary line for %s:\n%s", tg, out)
		}
	}
}

func scrapeText(t *testing.T, url string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(httpGet(t, url)))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	out := map[string]float64{}
	for _, m := range fams["socklab_monitor_probes_received_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "target" {
				out[l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func received(m map[string]float64, target string) float64 { return m[target] }
