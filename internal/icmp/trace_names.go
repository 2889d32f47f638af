package icmp

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// defaultResolveParallel is how many reverse lookups run at once when
// TraceConfig.ResolveParallel is 0.
const defaultResolveParallel = 8

// namer looks hop addresses up (TraceConfig.Resolve) beside the probing:
// each address once per run (its cache), at most ResolveParallel at a time,
// each within ResolveTimeout. The scheduler only starts lookups; the hop
// emitter waits for them.
type namer struct {
	resolve func(context.Context, netip.Addr) string
	timeout time.Duration
	log     *slog.Logger
	// ctx is the run's without its cancellation, so that a trace cut short
	// (Ctrl-C) still names the hops it shows; close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	cache map[netip.Addr]*nameLookup
}

// nameLookup is one address's lookup; name and timedOut are set when done
// is closed.
type nameLookup struct {
	done     chan struct{}
	name     string
	timedOut bool
}

// newNamer returns nil when the trace names nothing.
func (t *Tracer) newNamer(ctx context.Context) *namer {
	if t.cfg.Resolve == nil {
		return nil
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &namer{
		resolve: t.cfg.Resolve, timeout: t.cfg.ResolveTimeout, log: t.log,
		ctx: nctx, cancel: cancel, slots: make(chan struct{}, t.cfg.ResolveParallel),
		cache: map[netip.Addr]*nameLookup{},
	}
}

// start begins looking addr up unless that was done already. It never
// blocks on the lookup.
func (n *namer) start(addr netip.Addr) *nameLookup {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if l, ok := n.cache[addr]; ok {
		return l
	}
	l := &nameLookup{done: make(chan struct{})}
	n.cache[addr] = l
	n.wg.Go(func() { n.lookup(addr, l) })
	return l
}

// lookup runs one lookup in a free slot, within the timeout.
func (n *namer) lookup(addr netip.Addr, l *nameLookup) {
	defer close(l.done)
	select {
	case n.slots <- struct{}{}:
		defer func() { <-n.slots }()
	case <-n.ctx.Done():
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.timeout)
	defer cancel()
	// The deadline holds even for a resolver that ignores its context: its
	// late answer is dropped.
	got := make(chan string, 1)
	go func() { got <- n.resolve(ctx, addr) }()
	select {
	case l.name = <-got:
	case <-ctx.Done():
	}
	// The resolver's socket deadline can fire a moment before the context's
	// timer does: past the deadline is a timeout too.
	deadline, _ := ctx.Deadline()
	if l.name == "" && (errors.Is(ctx.Err(), context.DeadlineExceeded) || !time.Now().Before(deadline)) {
		l.timedOut = true
		n.log.Warn("traceroute: reverse DNS lookup timed out; the address is shown numerically",
			"addr", addr, "timeout", n.timeout)
	}
}

// name waits for the lookups of h's answers and fills their names in.
func (n *namer) name(h *Hop) {
	if n == nil {
		return
	}
	for i := range h.Probes {
		p := &h.Probes[i]
		if !p.Answered {
			continue
		}
		l := n.start(p.From) // started when the answer came in
		<-l.done
		p.Name, p.NameTimedOut = l.name, l.timedOut
	}
}

// close ends the lookups nobody waits for (answers of hops past the
// destination) and waits for every lookup goroutine.
func (n *namer) close() {
	if n == nil {
		return
	}
	n.cancel()
	n.wg.Wait()
}

// emitHops names the finished hops and hands them out in order (OnHop) until
// in is closed, beside the scheduler: a slow lookup holds back a hop's line,
// never a probe.
func (t *Tracer) emitHops(in <-chan Hop, names *namer) []Hop {
	var out []Hop
	for h := range in {
		names.name(&h)
		out = append(out, h)
		if t.cfg.OnHop != nil {
			t.cfg.OnHop(h)
		}
	}
	return out
}
