package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/impair/stream"
	"github.com/socklab/socklab/internal/udprelay"
	"github.com/socklab/socklab/internal/units"
)

// RelayConfig is the proxy's UDP relay and the impairment it applies (to
// datagrams on the relay, and to proxied TCP streams unless the proxy
// says otherwise).
type RelayConfig struct {
	UDP         string        // listen address; "" turns the relay off
	Upstream    string        // where datagrams go, host:port
	Idle        time.Duration // end a session after this long without traffic
	MaxSessions int           // most sessions at once
	// Impair is the impairment policy, validated, with its seed drawn.
	Impair impair.Config
}

// Relay is what starting the relay gives back.
type Relay struct {
	// WrapConn applies TCP-stream impairment (delay, rate) to a proxied
	// connection; nil when no impairment is configured.
	WrapConn func(net.Conn) net.Conn
	// Stats returns a JSON-ready snapshot of relay counters, or nil.
	Stats func() any
	// Wait blocks until the relay has stopped after ctx ends.
	Wait func() error
	// Relay is the running relay and Addr its address; nil and "" when
	// UDP is "".
	Relay *udprelay.Relay
	Addr  string
}

// StartRelay starts the relay; its socket is bound before StartRelay
// returns, so an address in use fails at once. It serves until ctx ends.
func StartRelay(ctx context.Context, cfg RelayConfig, log *slog.Logger, reg prometheus.Registerer) (*Relay, error) {
	log = logger(log)
	if r, ok := reg.(*prometheus.Registry); ok && r == nil {
		reg = nil // a typed nil must not reach Register
	}
	imp := cfg.Impair
	h := &Relay{Stats: func() any { return nil }, Wait: func() error { return nil }}
	if imp.Active() {
		log.Info("impairment", "summary", describeImpairment(imp), "seed", imp.Seed)
	}
	if imp.StreamActive() {
		// Each connection draws its own random stream from the seed, so
		// connections are independent and a run is still reproducible.
		var conns atomic.Uint64
		h.WrapConn = func(c net.Conn) net.Conn {
			cc := imp
			cc.Seed = imp.Seed + conns.Add(1)
			return stream.Wrap(c, cc)
		}
	}
	if cfg.UDP == "" {
		return h, nil
	}
	laddr, err := net.ResolveUDPAddr("udp", cfg.UDP)
	if err != nil {
		return nil, &FieldError{"Relay.UDP", fmt.Errorf("%q: %w", cfg.UDP, err)}
	}
	relay, err := udprelay.New(udprelay.Config{
		Upstream: cfg.Upstream, IdleTimeout: cfg.Idle, MaxSessions: cfg.MaxSessions,
		Impair: imp, Logger: log, Registerer: reg,
	})
	if err != nil {
		return nil, &FieldError{"Relay.Upstream", err}
	}
	ln, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("udp relay: %w", err)
	}
	notifyListen(ctx, "proxy udp", ln.LocalAddr())
	_ = ln.SetReadBuffer(4 << 20) // before the first datagram can queue
	done := make(chan error, 1)
	go func() { done <- relay.Serve(ctx, ln) }()
	log.Info("udp relay listening", "addr", ln.LocalAddr().String(), "upstream", cfg.Upstream)
	h.Relay, h.Addr = relay, ln.LocalAddr().String()
	h.Stats = func() any { return relay.Stats() }
	h.Wait = sync.OnceValue(func() error {
		err := <-done
		// The relay's own limits (it sent late) touched what it relayed.
		for _, w := range relay.Stats().Warnings {
			log.Warn("udp relay: "+w.Message, "kind", w.Kind)
		}
		return err
	})
	return h, nil
}

// describeImpairment renders cfg for the log: "delay=20ms jitter=5ms(normal) loss=2%".
func describeImpairment(cfg impair.Config) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if cfg.Delay > 0 {
		add("delay=%v", cfg.Delay)
	}
	if cfg.Jitter > 0 {
		add("jitter=%v(%v)", cfg.Jitter, cfg.JitterDist)
	}
	if cfg.Loss > 0 {
		if cfg.LossBurst >= 1 {
			add("loss=%g%%(burst %g)", cfg.Loss*100, cfg.LossBurst)
		} else {
			add("loss=%g%%", cfg.Loss*100)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"duplicate", cfg.Duplicate}, {"reorder", cfg.Reorder}, {"corrupt", cfg.Corrupt}} {
		if p.v > 0 {
			add("%s=%g%%", p.name, p.v*100)
		}
	}
	if cfg.Rate > 0 {
		add("rate=%s", units.FormatBitrate(cfg.Rate))
	}
	add("direction=%v", cfg.Direction)
	return strings.Join(parts, " ")
}
