package stack

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// textFormat is the Content-Type of the Prometheus text exposition format
// (version 0.0.4) with metric names escaped to underscores, what promhttp
// answers a scraper that does not ask for protobuf or OpenMetrics:
// expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(
// model.UnderscoreEscaping), written out so that no start pays for it.
const textFormat = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// MetricsHandler serves reg at /metrics in the text exposition format,
// gzipped when the scraper accepts gzip; a failed gather is a 500 with the
// error, as promhttp.HandlerFor answers, and both kinds of failure count in
// promhttp_metric_handler_errors_total{cause}, registered in reg as
// promhttp registers it.
//
// It is not promhttp.HandlerFor because that handler also offers the
// protobuf and OpenMetrics formats, and its encoders and negotiation for
// them were 0.44 MB of socklab's binary (issue 15's size bound) for what
// only native histograms and exemplars need. socklab has neither, and
// every scraper reads the text format.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promhttp_metric_handler_errors_total",
		Help: "Total number of internal errors encountered by the promhttp metric handler.",
	}, []string{"cause"})
	// Both causes are exported from the start, at 0.
	errs.WithLabelValues("gathering")
	errs.WithLabelValues("encoding")
	if err := reg.Register(errs); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err) // a programming error: the name is fixed
		}
		errs = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs, err := reg.Gather()
		if err != nil {
			errs.WithLabelValues("gathering").Inc()
			http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", textFormat)
		h.Add("Vary", "Accept-Encoding")
		var out io.Writer = w
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			out = gz
		}
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(out, model.EscapeMetricFamily(mf, model.UnderscoreEscaping)); err != nil {
				// The status is sent; the scraper sees a cut body.
				errs.WithLabelValues("encoding").Inc()
				return
			}
		}
	})
}

// acceptsGzip reports whether Accept-Encoding values list gzip (or *)
// with a nonzero weight (RFC 9110 §12.5.3).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			if !strings.EqualFold(coding, "gzip") && coding != "*" {
				continue
			}
			if q, ok := qValue(params); !ok || q > 0 {
				return true
			}
		}
	}
	return false
}

// qValue is the weight in an Accept-Encoding member's parameters; ok is
// false when there is none (weight 1) or it does not parse.
func qValue(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return q, err == nil
		}
	}
	return 0, false
}
