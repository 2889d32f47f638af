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

// groMaxSegments is the most datagrams the kernel coalesces into one read
// (UDP_GRO_CNT_MAX).
const groMaxSegments = 64

// batchLoop is one serving loop's buffers, made once.
type batchLoop struct {
	s         *Server
	sh        *shard
	in        []ipv4.Message
	out       []ipv4.Message // answers, a prefix of outs
	outs      []ipv4.Message // each with its one buffer and address, made once
	addrs     []net.UDPAddr
	trace     []Event
	reflected []int // indexes into out of probes to stamp at send time
	kernTime  bool
	gro       bool

	// Segmented answers (gso): out grouped into runs to one address, each
	// run one message; starts[m] is the index in out of run m's first.
	gso    bool
	runs   []ipv4.Message
	starts []int
	iov    [][]byte // the runs' buffers, by index in out
	ctrls  []byte   // each run's UDP_SEGMENT control message, by its first's index in out
}

func (s *Server) newBatchLoop(sh *shard, kernelTime, gro bool) *batchLoop {
	per := 1
	if gro {
		per = groMaxSegments
	}
	l := &batchLoop{s: s, sh: sh, in: make([]ipv4.Message, batchSize), outs: make([]ipv4.Message, batchSize*per),
		addrs: make([]net.UDPAddr, batchSize*per), reflected: make([]int, 0, batchSize*per), kernTime: kernelTime, gro: gro}
	l.runs, l.starts, l.iov = make([]ipv4.Message, 0, len(l.outs)), make([]int, 0, len(l.outs)), make([][]byte, len(l.outs))
	l.ctrls = make([]byte, len(l.outs)*gsoControlSize)
	for i := range l.outs {
		l.outs[i].Buffers = [][]byte{nil}
		l.outs[i].Addr = &l.addrs[i]
		l.addrs[i].IP = make(net.IP, 0, net.IPv6len)
	}
	l.out = l.outs[:0]
	for i := range l.in {
		l.in[i].Buffers = [][]byte{make([]byte, 64<<10)}
		if kernelTime || gro {
			l.in[i].OOB = make([]byte, oobSize)
		}
	}
	return l
}

// serveBatch is a serving loop for a UDP socket: it reads up to batchSize
// datagrams (or coalesced trains, with GRO) per system call and sends the
// answers with one call, so the reflector is not the ceiling of a gigabit
// test. Each datagram is judged exactly as one at a time would be.
func (s *Server) serveBatch(ctx context.Context, uc *net.UDPConn, sh *shard) error {
	kernelTime := s.cfg.Now == nil && rxTimestamps(uc)
	gro := s.cfg.GRO && enableGRO(uc)
	if s.cfg.GRO && !gro {
		s.log.Warn("udp echo: the kernel refused coalesced receive (UDP_GRO); reading one datagram at a time", "addr", uc.LocalAddr())
	}
	bc := newBatchConn(uc)
	l := s.newBatchLoop(sh, kernelTime, gro)
	l.gso = gsoAvailable(uc)
	for {
		n, err := bc.ReadBatch(l.in, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp echo read on %s: %w", uc.LocalAddr(), err)
		}
		l.out, l.trace, l.reflected = l.out[:0], l.trace[:0], l.reflected[:0]
		s.srcMu.Lock()
		for i := range l.in[:n] {
			l.message(&l.in[i])
		}
		s.srcMu.Unlock()
		// Stamp the send times as late as possible: just before the batch leaves.
		if len(l.reflected) > 0 {
			sendNs := s.now().UnixNano()
			for _, k := range l.reflected {
				qoswire.SetReflSend(l.out[k].Buffers[0], sendNs)
			}
		}
		if err := l.send(ctx, bc); err != nil {
			return nil // closed
		}
		for _, ev := range l.trace {
			s.cfg.Trace(ev)
		}
	}
}

// message handles one read: a datagram, or with GRO a train of datagrams
// of seg bytes each (the last may be shorter) in one buffer.
func (l *batchLoop) message(m *ipv4.Message) {
	from, ok := addrPort(m.Addr)
	if !ok {
		return
	}
	var oob []byte
	if m.OOB != nil {
		oob = m.OOB[:m.NN]
		if d, ok := parseRxDrops(oob); ok {
			l.sh.noteRxDrops(d)
		}
	}
	b := m.Buffers[0][:m.N]
	seg := len(b)
	if l.gro {
		if g, ok := parseGRO(oob); ok && g < len(b) {
			seg = g
			l.s.groTrains.Add(1)
		}
	}
	for { // once at least: an empty datagram is echoed too
		k := min(seg, len(b))
		l.datagram(b[:k:k], from, oob)
		if b = b[k:]; len(b) == 0 {
			return
		}
	}
}

// datagram judges one datagram and queues its answer, if any.
func (l *batchLoop) datagram(b []byte, from netip.AddrPort, oob []byte) {
	s := l.s
	now := s.now()
	v, count := l.sh.handle(b, from, now)
	s.record(v, len(b))
	if s.cfg.Trace != nil {
		l.trace = append(l.trace, Event{From: from, Len: len(b), Verdict: v})
	}
	if v != Echoed && v != Reflected && v != Malformed && v != Reported {
		return
	}
	if v == Reflected {
		recv := now
		if t, ok := parseRxTime(oob); ok && !t.After(now) {
			recv = t
		}
		_ = qoswire.Reflect(b, recv.UnixNano(), 0, count)
		l.reflected = append(l.reflected, len(l.out))
	}
	k := len(l.out)
	a := &l.addrs[k]
	if ip := from.Addr(); ip.Is4() {
		v4 := ip.As4()
		a.IP = append(a.IP[:0], v4[:]...)
	} else {
		v6 := ip.As16()
		a.IP = append(a.IP[:0], v6[:]...)
	}
	a.Port, a.Zone = int(from.Port()), from.Addr().Zone()
	l.out = l.out[:k+1]
	l.out[k].Buffers[0] = b
}

// send writes the batch's answers: where the kernel segments UDP, each run
// of answers to one address (a GRO train, or a sender's burst) as one
// segmented message, else one message each. A refused segmented send turns
// segmentation off for this loop and the rest goes one datagram each.
func (l *batchLoop) send(ctx context.Context, bc batchConn) error {
	if !l.gso || len(l.out) < 2 {
		return l.s.writeBatch(ctx, bc, l.out)
	}
	l.buildRuns()
	msgs := l.runs
	for len(msgs) > 0 {
		k, err := bc.WriteBatch(msgs, 0)
		for _, m := range msgs[:max(k, 0)] {
			l.s.countOut(&m)
		}
		msgs = msgs[max(k, 0):]
		if err == nil {
			if k <= 0 {
				return nil
			}
			continue
		}
		if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return err
		}
		if len(msgs) == 0 {
			continue
		}
		if msgs[0].OOB != nil && gsoRefused(err) {
			l.gso = false
			l.s.log.Warn("udp echo: the kernel refused segmented sends (UDP_SEGMENT); answering one datagram per message", "err", err)
			return l.s.writeBatch(ctx, bc, l.out[l.starts[len(l.runs)-len(msgs)]:])
		}
		l.s.log.Debug("udp echo write failed", "to", msgs[0].Addr, "err", err)
		msgs = msgs[1:]
	}
	return nil
}

// buildRuns groups out into runs: consecutive answers to one address, all
// of the first one's size but the last, which may be shorter, at most
// gsoMaxSegments and gsoMaxBytes.
func (l *batchLoop) buildRuns() {
	l.runs, l.starts = l.runs[:0], l.starts[:0]
	for i := 0; i < len(l.out); {
		size := len(l.out[i].Buffers[0])
		j, total := i+1, size
		for size > 0 && j < len(l.out) && j-i < gsoMaxSegments {
			n := len(l.out[j].Buffers[0])
			if n > size || n == 0 || total+n > gsoMaxBytes || !sameAddr(&l.addrs[i], &l.addrs[j]) {
				break
			}
			total += n
			j++
			if n < size {
				break // a shorter one ends the run
			}
		}
		m := ipv4.Message{Addr: l.out[i].Addr, Buffers: l.out[i].Buffers}
		if j-i >= 2 {
			for k := i; k < j; k++ {
				l.iov[k] = l.out[k].Buffers[0]
			}
			c := l.ctrls[i*gsoControlSize : (i+1)*gsoControlSize]
			putGSOControl(c, size)
			m.Buffers, m.OOB = l.iov[i:j:j], c
		}
		l.runs = append(l.runs, m)
		l.starts = append(l.starts, i)
		i = j
	}
}

func sameAddr(a, b *net.UDPAddr) bool {
	return a.Port == b.Port && a.Zone == b.Zone && a.IP.Equal(b.IP)
}

// countOut counts a message that left: its bytes, and a segmented send.
func (s *Server) countOut(m *ipv4.Message) {
	n := 0
	for _, b := range m.Buffers {
		n += len(b)
	}
	s.bytesOut.Add(uint64(n))
	if s.metrics != nil {
		s.metrics.bytesOut.Add(float64(n))
	}
	if m.OOB != nil {
		s.gsoSends.Add(1)
	}
}

// writeBatch sends out, one datagram per message, counting what left; it
// returns an error only when the socket is closed (or ctx over). A
// datagram that cannot be sent (the destination gone) is skipped, as a
// single write would be.
func (s *Server) writeBatch(ctx context.Context, bc batchConn, out []ipv4.Message) error {
	for len(out) > 0 {
		k, err := bc.WriteBatch(out, 0)
		for i := range out[:max(k, 0)] {
			s.countOut(&out[i])
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
