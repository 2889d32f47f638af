//go:build !linux

package udprelay

import (
	"errors"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg moves at most.
const batchSize = 32

// batchConn is the batched I/O x/net offers for IPv4 and IPv6 sockets
// (recvmmsg/sendmmsg on Linux, one datagram per call elsewhere). Both
// packages' Message is the same type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// listenIO is the listening socket's batched I/O.
type listenIO struct{ bc batchConn }

func newListenIO(c *net.UDPConn) (listenIO, error) { return listenIO{newBatchConn(c)}, nil }

// sessionIO is a session socket's batched I/O, and its client's address
// for the batched send, made once.
type sessionIO struct {
	bc         batchConn
	clientAddr *net.UDPAddr
}

func (r *Relay) newSessionIO(c *net.UDPConn, client netip.AddrPort) (sessionIO, error) {
	return sessionIO{newBatchConn(c), net.UDPAddrFromAddrPort(client)}, nil
}

func newBatchConn(c *net.UDPConn) batchConn {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

// readClients is the client → upstream loop. It reads up to batchSize
// datagrams per system call and sends each session's run of consecutive
// datagrams with one call too (when that direction is not impaired).
func (r *Relay) readClients() error {
	bc := r.lio.bc
	in := make([]ipv4.Message, batchSize)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, bufSize)}
	}
	out := make([]ipv4.Message, 0, batchSize)
	var run *session // the session of the datagrams in out
	flush := func() {
		if len(out) > 0 {
			r.sendBatch(run, out)
		}
		out, run = out[:0], nil
	}
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// An ICMP error for an earlier reply surfaces here on some
			// systems; it concerns one client, not the relay.
			r.log.Debug("udp relay read", "err", err)
			continue
		}
		for i := range in[:n] {
			from, ok := addrPort(in[i].Addr)
			if !ok {
				continue
			}
			p := in[i].Buffers[0][:in[i].N]
			s := r.handleUp(from, p)
			if s == nil {
				continue
			}
			if s != run {
				flush()
				run = s
			}
			out = append(out, ipv4.Message{Buffers: [][]byte{p}})
		}
		flush()
	}
}

// sendBatch sends ms on s's upstream socket, carrying on past a datagram
// that fails.
func (r *Relay) sendBatch(s *session, ms []ipv4.Message) {
	c := &r.c.up
	for len(ms) > 0 {
		if len(ms) == 1 {
			r.send(s, true, ms[0].Buffers[0])
			return
		}
		n, err := s.sio.bc.WriteBatch(ms, 0)
		for _, m := range ms[:n] {
			c.sent.Add(1)
			c.sentBytes.Add(uint64(len(m.Buffers[0])))
		}
		ms = ms[n:]
		if err != nil {
			c.errors.Add(1)
			r.log.Debug("udp relay send", "client", s.client.String(), "up", true, "err", err)
			if len(ms) > 0 {
				ms = ms[1:]
			}
		}
	}
}
