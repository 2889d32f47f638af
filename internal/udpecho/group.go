package udpecho

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
)

// Listen binds the reflector's UDP socket on addr ("host:port") and, with
// Config.Workers above one, a socket per further worker on the same
// address, all in one SO_REUSEPORT group: the kernel spreads the flows
// over them by a hash of addresses and ports, each flow always to one
// socket, as long as the group does not change; so the group is whole
// before Listen returns and anyone can send. Serve on the returned socket
// serves them all. The address is first bound alone, so one taken by
// anyone else still fails with "address already in use" instead of being
// shared silently. Where the platform has no SO_REUSEPORT it is one plain
// socket, served by one loop.
func (s *Server) Listen(ctx context.Context, addr string) (*net.UDPConn, error) {
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
		return pc.(*net.UDPConn), nil
	}
	uc := pc.(*net.UDPConn)
	var siblings []*net.UDPConn
	for range s.workers() - 1 {
		sp, err := reusePortConfig().ListenPacket(ctx, "udp", bound)
		if err != nil {
			s.log.Warn("udp echo: serving with fewer workers", "workers", 1+len(siblings), "err", err)
			break
		}
		siblings = append(siblings, sp.(*net.UDPConn))
	}
	s.groupMu.Lock()
	s.groups[uc] = siblings
	s.groupMu.Unlock()
	return uc, nil
}

// serveGroup runs the serving loops: one on uc, plus one on each socket
// Listen bound beside it. It returns when ctx ends or the first loop
// fails, closing the sockets.
func (s *Server) serveGroup(ctx context.Context, uc *net.UDPConn) error {
	s.groupMu.Lock()
	conns := append([]*net.UDPConn{uc}, s.groups[uc]...)
	delete(s.groups, uc)
	s.groupMu.Unlock()
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
		}
		// One loop failing ends them all: every socket closes with ctx.
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
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
