package proxy

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRequestMetricsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newReqMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []AccessEntry{
		{Method: "GET", Status: 200, Cache: "HIT", Duration: time.Millisecond},
		{Method: "GET", Status: 204, Cache: "HIT", Duration: time.Millisecond},
		{Method: "POST", Status: 502, Cache: "MISS", Duration: time.Second},
		{Method: "BREW", Status: 418, Cache: "", Duration: time.Second},
	} {
		m.observe(e)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mm := range mf.Metric {
			key := mf.GetName()
			for _, l := range mm.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if c := mm.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
			if h := mm.GetHistogram(); h != nil {
				got[key] = float64(h.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"socklab_proxy_requests_total,cache=hit,code=2xx,method=GET":     2,
		"socklab_proxy_requests_total,cache=miss,code=5xx,method=POST":   1,
		"socklab_proxy_requests_total,cache=none,code=4xx,method=other":  1,
		"socklab_proxy_request_duration_seconds,cache=hit,method=GET":    2,
		"socklab_proxy_request_duration_seconds,cache=miss,method=POST":  1,
		"socklab_proxy_request_duration_seconds,cache=none,method=other": 1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, got[key], want, got)
		}
	}
}
