package udpecho

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	datagrams [numVerdicts]prometheus.Counter // by Verdict
	bytesIn   prometheus.Counter
	bytesOut  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	dg := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "socklab_serve_udp_packets_total",
		Help: "UDP packets (datagrams) received by the echo/reflector, by what was done with them.",
	}, []string{"result"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "socklab_serve_udp_bytes_total",
		Help: "UDP payload bytes, by direction (in, out).",
	}, []string{"direction"})
	for _, c := range []prometheus.Collector{dg, bytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m := &metrics{bytesIn: bytes.WithLabelValues("in"), bytesOut: bytes.WithLabelValues("out")}
	for v := Echoed; v <= Counted; v++ {
		m.datagrams[v] = dg.WithLabelValues(v.String())
	}
	return m, nil
}
