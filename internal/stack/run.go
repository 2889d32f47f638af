package stack

import "context"

// RunServe builds the serve stack, runs it until ctx ends or a service
// fails, lets in-flight requests drain for Web.Grace (saying so when
// there are any) and logs what the reflector counted.
func RunServe(ctx context.Context, cfg ServeConfig) error {
	log := logger(cfg.Logger)
	g := NewGroup(ctx)
	st, err := BuildServe(g.Context(), cfg)
	if err != nil {
		g.Cancel()
		return err
	}
	st.Start(g)
	stopNotice := DrainNotice(ctx, log, cfg.Web.Grace, st.Web.OpenConns)
	err = g.Wait()
	stopNotice()
	es := st.Echo.Stats()
	log.Info("stopped", "udp_received", es.Received, "udp_reflected", es.Reflected, "udp_dropped", es.DroppedRate+es.DroppedPort+es.DroppedReply)
	return err
}

// RunProxy is RunServe for the proxy stack, draining for Proxy.Grace.
// beforeStart, if set, sees the built stack before it starts (the command
// sets the process's memory limit from MemBound) and returns what undoes
// it once the stack has stopped.
func RunProxy(ctx context.Context, cfg ProxyConfig, beforeStart func(*Proxy) (undo func())) error {
	log := logger(cfg.Logger)
	g := NewGroup(ctx)
	st, err := BuildProxy(g.Context(), cfg)
	if err != nil {
		g.Cancel()
		return err
	}
	if beforeStart != nil {
		defer beforeStart(st)()
	}
	st.Start(g)
	stopNotice := DrainNotice(ctx, log, cfg.Proxy.Grace, st.Proxy.OpenConns)
	err = g.Wait()
	stopNotice()
	ps := st.Proxy.Stats()
	log.Info("proxy stopped", "requests", ps.Requests, "hits", ps.Hits, "misses", ps.Misses, "stored_objects", ps.Objects, "stored_bytes", ps.Bytes, "evictions", ps.Evictions)
	return err
}
