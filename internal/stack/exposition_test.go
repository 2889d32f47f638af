package stack

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestTextFormatIsExpfmts(t *testing.T) {
	if want := string(expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(model.UnderscoreEscaping)); textFormat != want {
		t.Fatalf("textFormat %q, expfmt says %q", textFormat, want)
	}
}

// failing is a collector whose Collect sends a metric that does not match
// its description, so the registry's Gather fails.
type failing struct{ desc *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.desc, errors.New("broken on purpose"))
}

func scrape(t *testing.T, h http.Handler, acceptEncoding string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body := io.Reader(resp.Body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return resp, string(b)
}

func TestMetricsHandlerServesTextFormat(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "socklab_test_total", Help: "A test counter."}, []string{"kind"})
	reg.MustRegister(c)
	c.WithLabelValues(`a "quoted" value`).Add(3)
	h := MetricsHandler(reg)
	for _, tt := range []struct {
		acceptEncoding string
		gzipped        bool
	}{
		{"", false},
		{"gzip", true},
		{"br;q=1, gzip;q=0.5", true},
		{"*", true},
		{"gzip;q=0", false},
		{"identity", false},
	} {
		t.Run("Accept-Encoding="+tt.acceptEncoding, func(t *testing.T) {
			resp, body := scrape(t, h, tt.acceptEncoding)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8; escaping=underscores" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.gzipped {
				t.Errorf("gzipped %v, want %v", got, tt.gzipped)
			}
			for _, want := range []string{
				"# TYPE socklab_test_total counter\n",
				`socklab_test_total{kind="a \"quoted\" value"} 3` + "\n",
				"# TYPE go_goroutines gauge\n",
				"# TYPE process_cpu_seconds_total counter\n",
				"# TYPE socklab_build_info gauge\n",
				`promhttp_metric_handler_errors_total{cause="gathering"} 0` + "\n",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("scrape lacks %q", want)
				}
			}
		})
	}
}

func TestMetricsHandlerGatherError(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := MetricsHandler(reg)
	// A second handler on the same registry shares the error counter, as
	// promhttp's do.
	_ = MetricsHandler(reg)
	reg.MustRegister(failing{prometheus.NewDesc("socklab_broken", "Broken.", nil, nil)})
	resp, body := scrape(t, h, "gzip")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "broken on purpose") {
		t.Fatalf("status %d, body %q: want 500 with the error", resp.StatusCode, body)
	}
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("an error page is not gzipped: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "promhttp_metric_handler_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "gathering" && m.GetCounter().GetValue() == 1 {
				return
			}
		}
	}
	t.Fatal(`promhttp_metric_handler_errors_total{cause="gathering"} is not 1 after a failed gather`)
}
