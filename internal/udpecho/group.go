package udpecho

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
)

// Listen binds a UDP socket for Serve on addr ("host:port") in a
// SO_REUSEPORT group, so that Serve can add a socket per worker on the
// same address and the kernel spreads the flows over them (each flow
// always to one socket). The address is first bound alone, so one taken by
// anyone else still fails with "address already in use" instead of being
// shared silently. Where the platform has no SO_REUSEPORT it is a plain
// socket, served by one loop.
func Listen(ctx context.Context, addr string) (*net.UDPConn, error) {
	probe, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	bound := probe.LocalAddr().String()
	probe.Close()
	pc, err := reusePortConfig().ListenPacket(ctx, "udp", bound)
	if err != nil {
		// Taken in between, or no SO_REUSEPORT: a plain socket, as asked.
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			return nil, err
		}
	}
	return pc.(*net.UDPConn), nil
}

// serveGroup runs the serving loops: one on uc, plus one per extra worker
// on a socket joining uc's SO_REUSEPORT group. It returns when ctx ends or
// the first loop fails, closing the sockets it opened.
func (s *Server) serveGroup(ctx context.Context, uc *net.UDPConn) error {
	conns := []*net.UDPConn{uc}
	if workers := s.workers(); workers > 1 && reusePort(uc) {
		for range workers - 1 {
			pc, err := reusePortConfig().ListenPacket(ctx, "udp", uc.LocalAddr().String())
			if err != nil {
				s.log.Warn("udp echo: serving with fewer workers", "workers", len(conns), "err", err)
				break
			}
			conns = append(conns, pc.(*net.UDPConn))
		}
	}
	s.loops.Add(int32(len(conns)))
	defer s.loops.Add(-int32(len(conns)))
	if len(conns) == 1 {
		return s.serveBatch(ctx, uc, s.main)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Sessions spread over the loops, so each holds its share of the bound.
	per := max(s.cfg.MaxSessions/len(conns), 1)
	s.main.sessions = newLRU[sessionKey, session](per)
	errc := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		sh := s.main
		if i > 0 {
			sh = s.newShard(per)
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serveBatch(ctx, c, sh); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, c := range conns[1:] {
		c.Close()
	}
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("udp echo: %w", err)
	}
	return nil
}

func (s *Server) workers() int {
	if s.cfg.Workers > 0 {
		return s.cfg.Workers
	}
	return runtime.GOMAXPROCS(0)
}
