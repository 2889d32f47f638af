//go:build linux

package udprelay

import (
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// On Linux the relay moves datagrams with recvmmsg/sendmmsg on the raw
// sockets: each wake-up takes up to batchSize datagrams, each session's run
// of them leaves in one call, and nothing is allocated or copied per
// datagram (a received buffer is sent from where it landed).

// batchSize is how many datagrams one recvmmsg/sendmmsg moves at most.
const batchSize = 32

// listenIO is the listening socket's raw access.
type listenIO struct {
	rc     syscall.RawConn
	family int // AF_INET or AF_INET6: how clients' addresses are encoded
}

func newListenIO(c *net.UDPConn) (listenIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return listenIO{}, err
	}
	l := listenIO{rc: rc, family: unix.AF_INET6}
	_ = rc.Control(func(fd uintptr) {
		if f, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			l.family = f
		}
	})
	return l, nil
}

// sessionIO is a session's raw access: its upstream socket, and its
// client's address as sendmmsg takes it.
type sessionIO struct {
	rc syscall.RawConn
	sa sockaddr
}

func (r *Relay) newSessionIO(conn *net.UDPConn, client netip.AddrPort) (sessionIO, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return sessionIO{}, err
	}
	return sessionIO{rc: rc, sa: makeSockaddr(r.lio.family, client)}, nil
}

// batchWriter sends a batch with sendmmsg through a RawConn. Its callback
// is made once, so a send allocates nothing.
type batchWriter struct {
	r    *Relay
	c    *dirCounters
	up   bool
	s    *session
	hdrs []unix.Mmsghdr
	fn   func(fd uintptr) bool
	gso  gsoState
}

func newBatchWriter(r *Relay, up bool) *batchWriter {
	w := &batchWriter{r: r, c: &r.c.down, up: up}
	if up {
		w.c = &r.c.up
	}
	w.fn = w.write
	w.gso.init()
	return w
}

// send sends hdrs (for s's datagrams) on rc's socket, waiting while its
// send buffer is full and carrying on past a datagram the kernel refuses.
func (w *batchWriter) send(rc syscall.RawConn, s *session, hdrs []unix.Mmsghdr) {
	if len(hdrs) == 0 {
		return
	}
	w.s, w.hdrs = s, hdrs
	if err := rc.Write(w.fn); err != nil {
		// The socket closed under us (the session expired, the relay is
		// stopping): what was not sent is lost.
		w.c.errors.Add(uint64(len(w.hdrs)))
	}
	w.s, w.hdrs = nil, nil
}

func (w *batchWriter) write(fd uintptr) bool {
	for len(w.hdrs) > 0 {
		if g, size, total := w.gso.run(w.hdrs); g > 1 {
			switch e := w.gso.send(int(fd), w.hdrs, g, size); e {
			case 0:
				w.c.sent.Add(uint64(g))
				w.c.sentBytes.Add(uint64(total))
				w.hdrs = w.hdrs[g:]
				continue
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			default:
				// Segmentation refused (segment larger than the path's
				// MTU, no offload on the route, an old kernel) or a
				// pending error (ICMP port unreachable): send this run
				// one datagram at a time below.
				w.gso.refused(e, size)
			}
		}
		n, e := sendmmsg(int(fd), w.hdrs)
		if n > 0 {
			var b uint64
			for i := range n {
				b += uint64(w.hdrs[i].Len)
			}
			w.c.sent.Add(uint64(n))
			w.c.sentBytes.Add(b)
			w.hdrs = w.hdrs[n:]
		}
		switch e {
		case 0, unix.EINTR:
		case unix.EAGAIN:
			return false // send buffer full: wait until it drains
		default:
			// Upstream not listening (ICMP port unreachable), say: it
			// concerns this datagram, not the rest.
			w.c.errors.Add(1)
			w.r.log.Debug("udp relay send", "client", w.s.client.String(), "up", w.up, "err", e)
			w.hdrs = w.hdrs[1:]
		}
	}
	return true
}

// readClients is the client → upstream loop. It reads up to batchSize
// datagrams per system call and sends each session's run of consecutive
// datagrams with one call too (when that direction is not impaired).
func (r *Relay) readClients() error {
	in := newMmsgs(batchSize, true)
	out := newMmsgs(batchSize, false)
	w := newBatchWriter(r, true)
	var (
		n    int
		rerr unix.Errno
	)
	recv := func(fd uintptr) bool {
		for {
			n, rerr = in.recv(int(fd))
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN // nothing yet: wait
			}
		}
	}
	for {
		if err := r.lio.rc.Read(recv); err != nil {
			return err
		}
		if rerr != 0 {
			r.log.Debug("udp relay read", "err", rerr)
			continue
		}
		var run *session // the session of the datagrams in out
		k := 0
		for i := range n {
			from, ok := in.from(i)
			if !ok {
				continue
			}
			p := in.payload(i)
			s := r.handleUp(from, p)
			if s == nil {
				continue
			}
			if s != run {
				if run != nil {
					w.send(run.sio.rc, run, out.hdrs[:k])
				}
				run, k = s, 0
			}
			out.setSend(k, p, nil)
			k++
		}
		if run != nil {
			w.send(run.sio.rc, run, out.hdrs[:k])
		}
	}
}

// replyPool holds receive batches for the sessions' readers. A reader
// takes one only while replies are ready (see downReader.recv), so 10000
// idle sessions hold none: only a goroutine and a socket each.
var replyPool = sync.Pool{New: func() any { return newMmsgs(batchSize, true) }}

// downReader is one session's upstream → client loop state.
type downReader struct {
	r   *Relay
	s   *session
	m   *mmsgs // the batch of the last wake-up, nil if none
	n   int
	err unix.Errno
	fn  func(fd uintptr) bool
	w   *batchWriter
}

// readUpstream relays s's upstream replies until its socket closes. Each
// wake-up takes up to batchSize replies, which leave to the client in one
// sendmmsg when nothing impairs them.
func (r *Relay) readUpstream(s *session) {
	d := &downReader{r: r, s: s, w: newBatchWriter(r, false)}
	d.fn = d.recv
	for {
		d.m, d.n, d.err = nil, 0, 0
		if err := s.sio.rc.Read(d.fn); err != nil { // closed
			return
		}
		if d.err != 0 {
			// ECONNREFUSED after an ICMP port unreachable from an upstream
			// that is down: it concerned an earlier datagram.
			r.log.Debug("udp relay read", "client", s.client.String(), "err", d.err)
			continue
		}
		r.handleDownBatch(d, d.m, d.n)
		replyPool.Put(d.m)
	}
}

func (d *downReader) recv(fd uintptr) bool {
	m := replyPool.Get().(*mmsgs)
	for {
		n, e := m.recv(int(fd))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			replyPool.Put(m)
			return false // nothing yet: wait, holding no buffer
		case 0:
			d.m, d.n = m, n
		default:
			replyPool.Put(m)
			d.err = e
		}
		return true
	}
}

// handleDownBatch forwards k replies from m to d's client.
func (r *Relay) handleDownBatch(d *downReader, m *mmsgs, k int) {
	s := d.s
	if r.downLink.Active() {
		for i := range k {
			r.handleDown(s, m.payload(i))
		}
		return
	}
	var b uint64
	for i := range k {
		p := m.payload(i)
		b += uint64(len(p))
		m.setSend(i, p, &s.sio.sa)
	}
	r.c.down.packets.Add(uint64(k))
	r.c.down.bytes.Add(b)
	s.last.Store(r.now().UnixNano())
	s.markReplied()
	d.w.send(r.lio.rc, s, m.hdrs[:k])
}
