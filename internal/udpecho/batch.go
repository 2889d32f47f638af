package udpecho

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/socklab/socklab/internal/qoswire"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg moves at most.
const batchSize = 32

// batchConn is x/net's batched I/O for IPv4 and IPv6 sockets (recvmmsg and
// sendmmsg on Linux, one datagram per call elsewhere); both packages'
// Message is the same type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchConn(c *net.UDPConn) batchConn {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

// serveBatch is Serve's loop for a UDP socket: it reads up to batchSize
// datagrams per system call and sends the answers with one call, so the
// reflector is not the ceiling of a gigabit test. Each datagram is judged
// exactly as one at a time would be.
func (s *Server) serveBatch(ctx context.Context, uc *net.UDPConn, kernelTime bool) error {
	bc := newBatchConn(uc)
	in := make([]ipv4.Message, batchSize)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 64<<10)}
		if kernelTime {
			in[i].OOB = make([]byte, oobSize)
		}
	}
	out := make([]ipv4.Message, 0, batchSize)
	addrs := make([]net.UDPAddr, batchSize)
	trace := make([]Event, 0, batchSize)
	reflected := make([]int, 0, batchSize) // indexes into out of probes to stamp at send time
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp echo read on %s: %w", uc.LocalAddr(), err)
		}
		out, trace, reflected = out[:0], trace[:0], reflected[:0]
		for i := range in[:n] {
			m := &in[i]
			from, ok := addrPort(m.Addr)
			if !ok {
				continue
			}
			var oob []byte
			if kernelTime {
				oob = m.OOB[:m.NN]
				if d, ok := parseRxDrops(oob); ok {
					s.noteRxDrops(d)
				}
			}
			b := m.Buffers[0][:m.N]
			now := s.now()
			v, count := s.handle(b, from, now)
			s.record(v, m.N)
			if s.cfg.Trace != nil {
				trace = append(trace, Event{From: from, Len: m.N, Verdict: v})
			}
			if v != Echoed && v != Reflected && v != Malformed && v != Reported {
				continue
			}
			if v == Reflected {
				recv := now
				if t, ok := parseRxTime(oob); ok && !t.After(now) {
					recv = t
				}
				_ = qoswire.Reflect(b, recv.UnixNano(), 0, count)
				reflected = append(reflected, len(out))
			}
			k := len(out)
			addrs[k] = net.UDPAddr{IP: from.Addr().AsSlice(), Port: int(from.Port()), Zone: from.Addr().Zone()}
			out = append(out, ipv4.Message{Buffers: [][]byte{b}, Addr: &addrs[k]})
		}
		// Stamp the send times as late as possible: just before the batch leaves.
		if len(reflected) > 0 {
			sendNs := s.now().UnixNano()
			for _, k := range reflected {
				qoswire.SetReflSend(out[k].Buffers[0], sendNs)
			}
		}
		if err := s.writeBatch(ctx, bc, out); err != nil {
			return nil // closed
		}
		for _, ev := range trace {
			s.cfg.Trace(ev)
		}
	}
}

// writeBatch sends out, counting what left; it returns an error only when
// the socket is closed (or ctx over). A datagram that cannot be sent (the
// destination gone) is skipped, as a single write would be.
func (s *Server) writeBatch(ctx context.Context, bc batchConn, out []ipv4.Message) error {
	for len(out) > 0 {
		k, err := bc.WriteBatch(out, 0)
		for _, m := range out[:max(k, 0)] {
			n := len(m.Buffers[0])
			s.bytesOut.Add(uint64(n))
			if s.metrics != nil {
				s.metrics.bytesOut.Add(float64(n))
			}
		}
		out = out[max(k, 0):]
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return err
			}
			if len(out) > 0 {
				s.log.Debug("udp echo write failed", "to", out[0].Addr, "err", err)
				out = out[1:]
			}
			continue
		}
		if k <= 0 {
			return nil
		}
	}
	return nil
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	return netip.AddrPort{}, false
}
